//! Keras 2's progress-bar lines, printed whole.
//!
//! evcxr forwards stdout to the notebook line by line and cannot redraw a line with `\r`,
//! so instead of Keras's live bar we print a progress line at most every
//! [`PROGRESS_INTERVAL`] and one final line per epoch, in Keras's exact format:
//! ` 800/1563 [==============>...............] - ETA: 20s - loss: 1.9123 - accuracy: 0.3012`
//! `1563/1563 [==============================] - 44s 28ms/step - loss: 1.8660 - accuracy: 0.3301`

use std::time::Duration;

/// How often a long epoch prints a progress line (and reads its running loss, which makes
/// the host wait for the device).
pub(crate) const PROGRESS_INTERVAL: Duration = Duration::from_secs(5);

const BAR_WIDTH: usize = 30;

/// `current/target [=====>....]`, Keras's `Progbar` with `width=30`.
pub(crate) fn bar(current: usize, target: usize) -> String {
    let digits = target.max(1).to_string().len();
    let filled = (BAR_WIDTH * current)
        .checked_div(target)
        .unwrap_or(BAR_WIDTH)
        .min(BAR_WIDTH);
    let mut bar = format!("{current:>digits$}/{target} [");
    if filled > 0 {
        bar.push_str(&"=".repeat(filled - 1));
        bar.push(if current < target { '>' } else { '=' });
    }
    bar.push_str(&".".repeat(BAR_WIDTH - filled));
    bar.push(']');
    bar
}

/// ` - ETA: 20s`, ` - ETA: 1:05` or ` - ETA: 1:02:03`, as Keras formats it.
pub(crate) fn eta(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    if seconds > 3600.0 {
        format!(" - ETA: {}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else if seconds > 60.0 {
        format!(" - ETA: {}:{:02}", s / 60, s % 60)
    } else {
        format!(" - ETA: {s}s")
    }
}

/// ` - 44s 28ms/step`: total seconds, then time per step in s, ms or us.
pub(crate) fn elapsed(total_seconds: f64, steps: usize) -> String {
    let per_step = if steps == 0 {
        0.0
    } else {
        total_seconds / steps as f64
    };
    let per = if per_step >= 1.0 || per_step == 0.0 {
        format!("{per_step:.0}s")
    } else if per_step >= 1e-3 {
        format!("{:.0}ms", per_step * 1e3)
    } else {
        format!("{:.0}us", per_step * 1e6)
    };
    format!(" - {total_seconds:.0}s {per}/step")
}

/// ` - loss: 1.8660`: four decimals, or scientific below 1e-3 (Keras's rule).
pub(crate) fn value(name: &str, v: f64) -> String {
    if v.abs() > 1e-3 || !v.is_finite() {
        format!(" - {name}: {v:.4}")
    } else {
        format!(" - {name}: {}", python_exp(v))
    }
}

/// `%.4e` as Python prints it: `1.2340e-04` (Rust would print `1.2340e-4`).
fn python_exp(v: f64) -> String {
    let rust = format!("{v:.4e}");
    match rust.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => rust,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_look_like_keras() {
        assert_eq!(
            bar(1563, 1563),
            "1563/1563 [==============================]"
        );
        assert_eq!(bar(800, 1563), " 800/1563 [==============>...............]");
        assert_eq!(bar(0, 10), " 0/10 [..............................]");
        assert_eq!(elapsed(44.2, 1563), " - 44s 28ms/step");
        assert_eq!(eta(20.7), " - ETA: 20s");
        assert_eq!(eta(65.0), " - ETA: 1:05");
        assert_eq!(value("loss", 1.86604), " - loss: 1.8660");
        assert_eq!(value("loss", 0.0001234), " - loss: 1.2340e-04");
    }
}
