//! Numbers as reports print them: `12,230,010`, `7.8 GiB`, and the median of repeated
//! measurements. Shared by the model summary, `timeit!`, the device list and gpu-bench.

/// `12230010` as `12,230,010` (Python's `{:,}`).
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in binary gigabytes with `decimals` digits: `gib(8 << 30, 1)` is `8.0 GiB`.
pub fn gib(bytes: u64, decimals: usize) -> String {
    format!("{:.decimals$} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// The middle value (the mean of the two middle ones for an even count); NaN when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_like_python() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(12_230_010), "12,230,010");
        assert_eq!(thousands(-1234), "-1,234");
        assert_eq!(thousands(i64::MIN), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn gib_and_median() {
        assert_eq!(gib(8 << 30, 1), "8.0 GiB");
        assert_eq!(gib(3 << 29, 0), "2 GiB");
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
