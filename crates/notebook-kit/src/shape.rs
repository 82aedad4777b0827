//! Shapes printed the way NumPy and Keras print them: `(50000, 32, 32, 3)`, and which
//! dtypes count as integers.

use std::fmt;

/// A tensor's dimensions. Its `Debug` and `Display` are NumPy's tuple syntax, so a
/// notebook cell ending in `x_train.shape()` reads like the lesson.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Shape(pub Vec<i64>);

impl Shape {
    pub fn dims(&self) -> &[i64] {
        &self.0
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "({one},)"),
            dims => {
                let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
                write!(f, "({})", parts.join(", "))
            }
        }
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl PartialEq<[i64]> for Shape {
    fn eq(&self, other: &[i64]) -> bool {
        self.0 == other
    }
}

impl<const N: usize> PartialEq<[i64; N]> for Shape {
    fn eq(&self, other: &[i64; N]) -> bool {
        self.0 == other
    }
}

/// `.shape()` on a `tch::Tensor`, NumPy style.
pub trait TensorShape {
    fn shape(&self) -> Shape;
}

impl TensorShape for tch::Tensor {
    fn shape(&self) -> Shape {
        Shape(self.size())
    }
}

/// Is `kind` one of the integer dtypes labels and pixels come in (`u8`, `i8`, `i16`,
/// `i32`, `i64`)?
pub(crate) fn is_integer(kind: tch::Kind) -> bool {
    use tch::Kind;
    matches!(
        kind,
        Kind::Uint8 | Kind::Int8 | Kind::Int16 | Kind::Int | Kind::Int64
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_numpy() {
        assert_eq!(
            Shape(vec![50000, 32, 32, 3]).to_string(),
            "(50000, 32, 32, 3)"
        );
        assert_eq!(format!("{:?}", Shape(vec![50000, 1])), "(50000, 1)");
        assert_eq!(Shape(vec![60000]).to_string(), "(60000,)");
        assert_eq!(Shape(vec![]).to_string(), "()");
    }
}
