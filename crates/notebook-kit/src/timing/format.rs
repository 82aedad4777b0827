//! IPython's way of writing durations, ported exactly so that `timeit!` prints the line a
//! reader of the Keras lesson expects. Sources: `IPython/core/magics/execution.py`
//! (`_format_time`, `TimeitResult`) in IPython 9, and CPython's `math.fsum` and `%g`.

/// A duration the way IPython's `_format_time` writes it: `44.5 s`, `1.23 ms`, `45.6 μs`,
/// `12.3 ns`; from one minute on `1min 1s`, `1h 2min 5s`, `1d 1h`.
///
/// `precision` is the number of significant digits (IPython's `-p`, default 3). The micro
/// sign is IPython's: Greek mu, U+03BC.
pub fn format_time(seconds: f64, precision: usize) -> String {
    if seconds >= 60.0 {
        return format_long(seconds);
    }
    const UNITS: [&str; 4] = ["s", "ms", "\u{3bc}s", "ns"];
    const SCALING: [f64; 4] = [1.0, 1e3, 1e6, 1e9];
    // IPython: order = min(-int(floor(log10(t)) // 3), 3), with Python's floor division.
    let order = if seconds > 0.0 {
        let exponent = seconds.log10().floor() as i64;
        (-exponent.div_euclid(3)).clamp(0, 3) as usize
    } else {
        3
    };
    format!(
        "{} {}",
        format_g(seconds * SCALING[order], precision),
        UNITS[order]
    )
}

/// `1min 1s`, `1h 2min 5s`: whole units, largest first, stopping once under a second.
fn format_long(seconds: f64) -> String {
    const PARTS: [(&str, f64); 4] = [("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0)];
    let mut parts = Vec::new();
    let mut leftover = seconds;
    for (suffix, length) in PARTS {
        let value = (leftover / length) as i64;
        if value > 0 {
            leftover %= length;
            parts.push(format!("{value}{suffix}"));
        }
        if leftover < 1.0 {
            break;
        }
    }
    parts.join(" ")
}

/// Python's `"%.*g" % (precision, value)`: `precision` significant digits, trailing zeros
/// dropped, scientific notation (`1e+03`) when the exponent is below -4 or not below
/// `precision`.
pub(crate) fn format_g(value: f64, precision: usize) -> String {
    if !value.is_finite() {
        return if value.is_nan() {
            "nan".into()
        } else if value > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let precision = precision.max(1);
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // The exponent after rounding to `precision` digits decides the notation, as in C.
    let scientific = format!("{:.*e}", precision - 1, value);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    if (-4..precision as i64).contains(&exponent) {
        let decimals = (precision as i64 - 1 - exponent) as usize;
        strip_zeros(&format!("{value:.decimals$}")).to_string()
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip_zeros(mantissa), exponent.abs())
    }
}

fn strip_zeros(number: &str) -> &str {
    if number.contains('.') {
        number.trim_end_matches('0').trim_end_matches('.')
    } else {
        number
    }
}

/// Python's `math.fsum`: the correctly rounded sum (Shewchuk's algorithm, as in CPython).
/// IPython averages with it, and a naive sum can differ in the last bit, which can flip
/// the third printed digit.
pub(crate) fn fsum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut partials: Vec<f64> = Vec::new();
    for mut x in values {
        let mut kept = 0;
        for i in 0..partials.len() {
            let mut y = partials[i];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        partials.truncate(kept);
        partials.push(x);
    }
    let Some(mut n) = partials.len().checked_sub(1) else {
        return 0.0;
    };
    let mut hi = partials[n];
    let mut lo = 0.0;
    while n > 0 {
        let x = hi;
        n -= 1;
        let y = partials[n];
        hi = x + y;
        let yr = hi - x;
        lo = y - yr;
        if lo != 0.0 {
            break;
        }
    }
    // Round half-way cases the way a single exact addition would.
    if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
        let y = lo * 2.0;
        let x = hi + y;
        if y == x - hi {
            hi = x;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g_format_matches_python() {
        // Each right-hand side printed by CPython 3.11 for "%.3g" % value.
        let cases = [
            (44.5, "44.5"),
            (100.0, "100"),
            (999.5, "1e+03"),
            (0.000123456, "0.000123"),
            (0.0000123456, "1.23e-05"),
            (1234.0, "1.23e+03"),
            (0.5, "0.5"),
            (1.0, "1"),
            (0.0, "0"),
        ];
        for (value, expected) in cases {
            assert_eq!(format_g(value, 3), expected, "{value}");
        }
        assert_eq!(format_g(1.23456, 5), "1.2346");
        assert_eq!(format_g(1.6, 0), "2");
        assert_eq!(format_g(f64::NAN, 3), "nan");
    }

    #[test]
    fn fsum_is_exact_where_a_naive_sum_is_not() {
        assert_eq!(fsum([0.1; 10]), 1.0);
        assert_ne!([0.1; 10].iter().sum::<f64>(), 1.0);
        assert_eq!(fsum([1e100, 1.0, -1e100, 1e-100]), 1.0);
        assert_eq!(fsum([]), 0.0);
    }
}
