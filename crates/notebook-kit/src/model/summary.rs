//! `model.summary()`: Keras 2's table, as a value that prints itself.

use crate::numbers::thousands;
use std::fmt;

/// One row of the table: `dense_1 (Dense)`, `(None, 1000)`, 3001000.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    pub layer: String,
    pub output_shape: String,
    pub params: i64,
}

/// What `summary()` returns. `Display` and `Debug` both print Keras's table, so a
/// notebook cell ending in `model.summary()` shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Summary {
    pub model_name: String,
    pub rows: Vec<SummaryRow>,
    pub trainable_params: i64,
    pub non_trainable_params: i64,
}

impl Summary {
    pub fn total_params(&self) -> i64 {
        self.trainable_params + self.non_trainable_params
    }
}

/// Keras's `print_summary` for sequential models: 65 characters wide, columns starting
/// at 0, 29 and 55 (positions `[.45, .85, 1.]`), two spaces between columns.
const LINE: usize = 65;
const COLUMNS: [usize; 3] = [29, 55, 65];

fn row(fields: [&str; 3]) -> String {
    let mut line = String::from(" ");
    let mut start = 0;
    for (i, (field, end)) in fields.iter().zip(COLUMNS).enumerate() {
        let room = end - start - if i + 1 < COLUMNS.len() { 2 } else { 0 };
        line.extend(field.chars().take(room));
        while line.chars().count() < end {
            line.push(' ');
        }
        start = end;
    }
    line
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Model: \"{}\"", self.model_name)?;
        writeln!(f, "{}", "_".repeat(LINE))?;
        writeln!(f, "{}", row(["Layer (type)", "Output Shape", "Param #"]))?;
        writeln!(f, "{}", "=".repeat(LINE))?;
        for r in &self.rows {
            writeln!(
                f,
                "{}",
                row([&r.layer, &r.output_shape, &r.params.to_string()])
            )?;
            writeln!(f, "{}", " ".repeat(LINE))?;
        }
        writeln!(f, "{}", "=".repeat(LINE))?;
        writeln!(f, "Total params: {}", thousands(self.total_params()))?;
        writeln!(f, "Trainable params: {}", thousands(self.trainable_params))?;
        writeln!(
            f,
            "Non-trainable params: {}",
            thousands(self.non_trainable_params)
        )?;
        write!(f, "{}", "_".repeat(LINE))
    }
}

impl fmt::Debug for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_separators() {
        assert_eq!(
            row(["Layer (type)", "Output Shape", "Param #"]),
            " Layer (type)                Output Shape              Param #   "
        );
        assert_eq!(
            row(["dense_1 (Dense)", "(None, 1000)", "3001000"]),
            " dense_1 (Dense)             (None, 1000)              3001000   "
        );
    }
}
