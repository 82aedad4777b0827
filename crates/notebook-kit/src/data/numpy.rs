//! Printing a tensor the way NumPy's `repr` does, so a cell like `np(&y_train.narrow(0, 0, 3))`
//! shows what the lesson shows for `y_train[:3]`:
//!
//! ```text
//! array([[6],
//!        [9],
//!        [9]], dtype=uint8)
//! ```
//!
//! This follows NumPy 2.4's `array_repr` with default print options (line width 75, threshold
//! 1000, 3 edge items, floats in "maxprec" mode with precision 8), including `shape=` for
//! summarized arrays (new in NumPy 2.2). The layout logic mirrors NumPy's `_formatArray`.

use crate::shape::Shape;
use crate::{Error, Result};
use std::fmt;
use tch::{Device, Kind, Tensor};

const LINE_WIDTH: usize = 75;
const THRESHOLD: usize = 1000;
const EDGE_ITEMS: usize = 3;
const FLOAT_PRECISION: usize = 8;
const PREFIX: &str = "array(";

/// A snapshot of a tensor that prints as NumPy's `repr`. Made by [`np`].
///
/// Only the values that get printed are copied (at most 6 per dimension for large tensors),
/// so `np(&x_train)` is cheap.
#[derive(Clone)]
pub struct NpArray {
    repr: String,
}

/// Snapshots `t` for NumPy-style printing: `println!("{:?}", np(&y_train_categorical.narrow(0, 0, 5)))`.
pub fn np(t: &Tensor) -> NpArray {
    crate::error::install_panic_hook();
    let repr = match Snapshot::take(t) {
        Ok(snapshot) => snapshot.repr(),
        Err(e) => format!("<cannot print this tensor: {e}>"),
    };
    NpArray { repr }
}

impl fmt::Display for NpArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr)
    }
}

impl fmt::Debug for NpArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr)
    }
}

/// The printed values in NumPy's terms.
enum Values {
    Int(Vec<i64>),
    /// float32 (and float16 / bfloat16, widened): printed with f32's shortest digits.
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
}

/// The part of a tensor that gets printed, with what is needed to lay it out.
struct Snapshot {
    shape: Vec<usize>,
    dtype: &'static str,
    /// Whether dimensions longer than 6 were cut to their first and last 3 items.
    summarized: bool,
    /// The shape of `values` (equal to `shape` unless summarized).
    kept_shape: Vec<usize>,
    values: Values,
}

impl Snapshot {
    fn take(t: &Tensor) -> Result<Self> {
        if !t.defined() {
            return Err(Error::invalid("the tensor is undefined"));
        }
        let kind = t.f_kind()?;
        let dtype = numpy_dtype(kind)?;
        let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        let summarized = shape.iter().product::<usize>() > THRESHOLD;

        // Cut each long dimension to its first and last EDGE_ITEMS, like NumPy's _leading_trailing.
        let mut kept = t.shallow_clone();
        if summarized {
            for (dim, &len) in shape.iter().enumerate() {
                if len > 2 * EDGE_ITEMS {
                    let (dim, len, edge) = (dim as i64, len as i64, EDGE_ITEMS as i64);
                    let head = kept.f_narrow(dim, 0, edge)?;
                    let tail = kept.f_narrow(dim, len - edge, edge)?;
                    kept = Tensor::f_cat(&[head, tail], dim)?;
                }
            }
        }
        let kept_shape: Vec<usize> = kept.size().iter().map(|&d| d as usize).collect();
        let flat = kept
            .f_to_device(Device::Cpu)?
            .f_contiguous()?
            .f_reshape([-1])?;
        let values = match kind {
            Kind::Float | Kind::Half | Kind::BFloat16 => Values::F32(to_vec(&flat, Kind::Float)?),
            Kind::Double => Values::F64(to_vec(&flat, Kind::Double)?),
            Kind::Bool => Values::Bool(
                to_vec::<i64>(&flat, Kind::Int64)?
                    .into_iter()
                    .map(|v| v != 0)
                    .collect(),
            ),
            _ => Values::Int(to_vec(&flat, Kind::Int64)?),
        };
        Ok(Snapshot {
            shape,
            dtype,
            summarized,
            kept_shape,
            values,
        })
    }

    fn size(&self) -> usize {
        self.shape.iter().product()
    }

    /// `array(...)` with `shape=` and `dtype=` where NumPy adds them.
    fn repr(&self) -> String {
        let body = if self.size() == 0 {
            "[]".to_string()
        } else {
            self.body()
        };
        let mut extras = Vec::new();
        if (self.size() == 0 && self.shape != [0]) || self.size() > THRESHOLD {
            let dims: Vec<i64> = self.shape.iter().map(|&d| d as i64).collect();
            extras.push(format!("shape={}", Shape(dims)));
        }
        // NumPy leaves out the dtype when the values imply it (the defaults float64, int64, bool).
        let implied = matches!(self.dtype, "float64" | "int64" | "bool");
        if !implied || self.size() == 0 {
            extras.push(format!("dtype={}", self.dtype));
        }
        if extras.is_empty() {
            return format!("{PREFIX}{body})");
        }
        let head = format!("{PREFIX}{body},");
        let extra = format!("{})", extras.join(", "));
        let last_line_len = head.len() - head.rfind('\n').map_or(0, |i| i + 1);
        let spacer = if last_line_len + extra.len() + 1 > LINE_WIDTH {
            format!("\n{}", " ".repeat(PREFIX.len()))
        } else {
            " ".to_string()
        };
        format!("{head}{spacer}{extra}")
    }

    /// The bracketed values, laid out like NumPy's `_formatArray`.
    fn body(&self) -> String {
        let words = self.words();
        if self.shape.is_empty() {
            return words[0].clone();
        }
        let strides: Vec<usize> = (0..self.kept_shape.len())
            .map(|d| self.kept_shape[d + 1..].iter().product())
            .collect();
        let layout = Layout {
            snapshot: self,
            words: &words,
            strides: &strides,
        };
        // The hanging indent skips "array(" and "[". The width leaves room for the closing ")".
        layout.recurse(0, 0, &" ".repeat(PREFIX.len() + 1), LINE_WIDTH - 1)
    }

    /// Every kept value formatted to a common width.
    fn words(&self) -> Vec<String> {
        match &self.values {
            Values::Int(v) => {
                let width = v.iter().map(|x| x.to_string().len()).max().unwrap_or(0);
                v.iter().map(|x| format!("{x:>width$}")).collect()
            }
            Values::Bool(v) => {
                let yes = if self.shape.is_empty() {
                    "True"
                } else {
                    " True"
                };
                v.iter()
                    .map(|&b| if b { yes } else { "False" }.to_string())
                    .collect()
            }
            Values::F32(v) => {
                let v: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
                FloatFormat::new(&v, true).format_all(&v)
            }
            Values::F64(v) => FloatFormat::new(v, false).format_all(v),
        }
    }
}

struct Layout<'a> {
    snapshot: &'a Snapshot,
    words: &'a [String],
    strides: &'a [usize],
}

impl Layout<'_> {
    fn recurse(&self, axis: usize, offset: usize, hanging: &str, width: usize) -> String {
        let s = self.snapshot;
        let ndim = s.shape.len();
        if axis == ndim {
            return self.words[offset].clone();
        }
        let next_hanging = format!("{hanging} ");
        let next_width = width - 1; // room for this level's "]"
        let kept = s.kept_shape[axis];
        let show_summary = s.summarized && s.shape[axis] > 2 * EDGE_ITEMS;
        // Items before the "...", then the rest (all items when not summarized).
        let (leading, trailing_from) = if show_summary {
            (EDGE_ITEMS, kept - EDGE_ITEMS)
        } else {
            (0, 0)
        };
        let child = |i: usize| {
            self.recurse(
                axis + 1,
                offset + i * self.strides[axis],
                &next_hanging,
                next_width,
            )
        };

        let mut out = String::new();
        if ndim - axis == 1 {
            // The last axis: values separated by ", ", wrapped at the line width.
            let elem_width = width - 1;
            let mut line = hanging.to_string();
            for i in 0..leading {
                extend_line(&mut out, &mut line, &child(i), elem_width, hanging);
                line.push_str(", ");
            }
            if show_summary {
                extend_line(&mut out, &mut line, "...", elem_width, hanging);
                line.push_str(", ");
            }
            for i in trailing_from..kept - 1 {
                extend_line(&mut out, &mut line, &child(i), elem_width, hanging);
                line.push_str(", ");
            }
            extend_line(&mut out, &mut line, &child(kept - 1), elem_width, hanging);
            out.push_str(&line);
        } else {
            // Outer axes: one sub-array per line, and a blank line per extra level of nesting.
            let separator = format!(",{}", "\n".repeat(ndim - axis - 1));
            for i in 0..leading {
                out.push_str(&format!("{hanging}{}{separator}", child(i)));
            }
            if show_summary {
                out.push_str(&format!("{hanging}...{separator}"));
            }
            for i in trailing_from..kept - 1 {
                out.push_str(&format!("{hanging}{}{separator}", child(i)));
            }
            out.push_str(&format!("{hanging}{}", child(kept - 1)));
        }
        format!("[{}]", &out[hanging.len()..])
    }
}

/// NumPy's `_extendLine`: start a new line when the word would pass the width, unless the
/// line holds nothing but the indent (wrapping would not help then).
fn extend_line(out: &mut String, line: &mut String, word: &str, width: usize, indent: &str) {
    if line.len() + word.len() > width && line.len() > indent.len() {
        out.push_str(line.trim_end());
        out.push('\n');
        *line = indent.to_string();
    }
    line.push_str(word);
}

/// NumPy's `FloatingFormat` in its default "maxprec" mode: each value with as few digits as
/// identify it (at most 8 after the point), aligned on the point; scientific notation when
/// the values span too wide a range.
struct FloatFormat {
    single: bool,
    scientific: bool,
    pad_left: usize,
    pad_right: usize,
    /// Scientific only: digits after the point, and digits of the exponent.
    precision: usize,
    exp_digits: usize,
}

impl FloatFormat {
    fn new(values: &[f64], single: bool) -> Self {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let non_zero: Vec<f64> = finite
            .iter()
            .map(|v| v.abs())
            .filter(|&v| v != 0.0)
            .collect();
        let scientific = match (
            non_zero.iter().copied().reduce(f64::max),
            non_zero.iter().copied().reduce(f64::min),
        ) {
            (Some(max), Some(min)) => max >= 1e8 || min < 1e-4 || max / min > 1000.0,
            _ => false,
        };
        let mut format = FloatFormat {
            single,
            scientific,
            pad_left: 0,
            pad_right: 0,
            precision: 0,
            exp_digits: 0,
        };
        if scientific {
            let parts: Vec<(String, String, i32)> =
                finite.iter().map(|&v| format.scientific_parts(v)).collect();
            format.precision = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
            format.exp_digits = parts
                .iter()
                .map(|p| p.2.unsigned_abs().to_string().len().max(2))
                .max()
                .unwrap_or(2);
            format.pad_left = parts.iter().map(|p| p.0.len()).max().unwrap_or(0);
            format.pad_right = format.exp_digits + 2 + format.precision;
        } else if !finite.is_empty() {
            let parts: Vec<(String, String)> =
                finite.iter().map(|&v| format.positional_parts(v)).collect();
            format.pad_left = parts.iter().map(|p| p.0.len()).max().unwrap_or(0);
            format.pad_right = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
        }
        // Room for "nan", "inf", "-inf".
        if finite.len() != values.len() {
            let neg_inf = values.contains(&f64::NEG_INFINITY) as usize;
            let offset = format.pad_right + 1;
            format.pad_left = format
                .pad_left
                .max(3usize.saturating_sub(offset))
                .max((3 + neg_inf).saturating_sub(offset));
        }
        format
    }

    fn format_all(&self, values: &[f64]) -> Vec<String> {
        values.iter().map(|&v| self.format(v)).collect()
    }

    fn format(&self, v: f64) -> String {
        if !v.is_finite() {
            let text = if v.is_nan() {
                "nan"
            } else if v > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            let width = self.pad_left + self.pad_right + 1;
            return format!("{text:>width$}");
        }
        let (pad_left, pad_right) = (self.pad_left, self.pad_right);
        if self.scientific {
            let (int, frac, exp) = self.scientific_parts(v);
            let sign = if exp < 0 { '-' } else { '+' };
            let (precision, exp_digits) = (self.precision, self.exp_digits);
            format!(
                "{int:>pad_left$}.{frac:0<precision$}e{sign}{:0>exp_digits$}",
                exp.unsigned_abs()
            )
        } else {
            let (int, frac) = self.positional_parts(v);
            format!("{int:>pad_left$}.{frac:<pad_right$}")
        }
    }

    /// Shortest digits that identify `v` in its own precision, at most 8 after the point,
    /// split at the point: 0.25 -> ("0", "25"), 1.0 -> ("1", "").
    fn positional_parts(&self, v: f64) -> (String, String) {
        let mut text = self.shortest(v);
        if let Some(dot) = text.find('.') {
            if text.len() - dot - 1 > FLOAT_PRECISION {
                text = if self.single {
                    format!("{:.*}", FLOAT_PRECISION, v as f32)
                } else {
                    format!("{v:.FLOAT_PRECISION$}")
                };
                text = text.trim_end_matches('0').to_string();
            }
        }
        split_at_point(&text)
    }

    /// Like `positional_parts` in scientific notation: 2.5e-1 -> ("2", "5", -1).
    fn scientific_parts(&self, v: f64) -> (String, String, i32) {
        let mut text = if self.single {
            format!("{:e}", v as f32)
        } else {
            format!("{v:e}")
        };
        let mantissa_digits = text
            .find('e')
            .map_or(0, |e| text[..e].split('.').nth(1).map_or(0, str::len));
        if mantissa_digits > FLOAT_PRECISION {
            text = if self.single {
                format!("{:.*e}", FLOAT_PRECISION, v as f32)
            } else {
                format!("{v:.FLOAT_PRECISION$e}")
            };
        }
        let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
        // "{:.8e}" pads with zeros; the shortest digits are wanted.
        let mantissa = if mantissa.contains('.') {
            mantissa.trim_end_matches('0').trim_end_matches('.')
        } else {
            mantissa
        };
        let (int, frac) = split_at_point(mantissa);
        (int, frac, exp.parse().unwrap_or(0))
    }

    fn shortest(&self, v: f64) -> String {
        if self.single {
            format!("{}", v as f32)
        } else {
            format!("{v}")
        }
    }
}

/// "0.25" -> ("0", "25"); "3" -> ("3", "").
fn split_at_point(text: &str) -> (String, String) {
    match text.split_once('.') {
        Some((int, frac)) => (int.to_string(), frac.to_string()),
        None => (text.to_string(), String::new()),
    }
}

fn numpy_dtype(kind: Kind) -> Result<&'static str> {
    Ok(match kind {
        Kind::Uint8 => "uint8",
        Kind::Int8 => "int8",
        Kind::Int16 => "int16",
        Kind::Int => "int32",
        Kind::Int64 => "int64",
        Kind::Half => "float16",
        Kind::BFloat16 => "bfloat16",
        Kind::Float => "float32",
        Kind::Double => "float64",
        Kind::Bool => "bool",
        other => {
            return Err(Error::shape(format!(
                "no NumPy-style printing for {other:?} tensors"
            )))
        }
    })
}

fn to_vec<T: tch::kind::Element + Default + Clone>(flat: &Tensor, kind: Kind) -> Result<Vec<T>> {
    let flat = flat.f_to_kind(kind)?;
    let mut out = vec![T::default(); flat.numel()];
    flat.f_copy_data(&mut out, flat.numel())?;
    Ok(out)
}
