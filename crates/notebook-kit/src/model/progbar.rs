//! Keras's `Progbar`: the progress line of `fit`, `evaluate` and `predict`, in Keras 2's
//! format (the one the lesson shows):
//! ` 800/1563 [==============>...............] - ETA: 20s - loss: 1.9123 - accuracy: 0.3012`
//! `1563/1563 [==============================] - 44s 28ms/step - loss: 1.8660 - accuracy: 0.3301`
//!
//! Modelled on Keras's `keras/src/utils/progbar.py`: `verbose` 0 (silent), 1 (the bar) or
//! 2 (one line at the end); a minimum interval between redraws; the time per step, for the
//! ETA and the final line, measured from the end of the first step (which pays one-time
//! costs) when there is more than one.
//!
//! Where the line goes decides how it is drawn ([`Display`]):
//! - *live*: one line redrawn in place with `\r` and padded so that a shorter line erases a
//!   longer one, a few times per second; a terminal, or a kernel that forwards partial lines;
//! - *lines*: whole lines. Stock evcxr forwards a cell's stdout line by line, so a redraw
//!   would print every frame as a line of its own. A few interim lines are printed instead
//!   ([`Pace`]): enough that the learner sees life within seconds, few enough that ten
//!   epochs fit on a screen.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const BAR_WIDTH: usize = 30;

/// Keras's `verbose`: what a call prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// `verbose=0`: nothing.
    Silent,
    /// `verbose=1`: the progress bar, ending in the full line.
    Bar,
    /// `verbose=2`: one line at the end (per epoch in `fit`).
    OneLine,
}

impl Verbosity {
    /// Keras's numbers 0, 1 and 2; anything else is an error naming the value.
    pub(crate) fn from_keras(verbose: i32) -> crate::Result<Verbosity> {
        match verbose {
            0 => Ok(Verbosity::Silent),
            1 => Ok(Verbosity::Bar),
            2 => Ok(Verbosity::OneLine),
            other => Err(crate::Error::invalid(format!(
                "verbose must be 0 (silent), 1 (progress bar) or 2 (one line per epoch), got {other}"
            ))),
        }
    }
}

/// How the bar reaches the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Display {
    /// Redrawn in place with `\r`.
    Live,
    /// Whole lines only.
    Lines,
}

impl Display {
    /// Live when stdout is a terminal or the kernel says it forwards partial lines (the
    /// evcxr patch in this repository sets `EVCXR_PARTIAL_LINES=1` for the cell process);
    /// lines otherwise. `NOTEBOOK_KIT_PROGRESS=lines|live` overrides the detection.
    pub(crate) fn detect() -> Display {
        match std::env::var("NOTEBOOK_KIT_PROGRESS").as_deref() {
            Ok("lines") => return Display::Lines,
            Ok("live") => return Display::Live,
            _ => {}
        }
        let partial_lines = std::env::var("EVCXR_PARTIAL_LINES").is_ok_and(|v| v == "1");
        if partial_lines || std::io::stdout().is_terminal() {
            Display::Live
        } else {
            Display::Lines
        }
    }
}

/// When whole-line output shows interim lines: the first once `first_after` has passed,
/// then at least `min_gap` apart (more for long runs: a fifth of the projected time), at
/// most `max_lines` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pace {
    pub first_after: Duration,
    pub min_gap: Duration,
    pub max_lines: usize,
}

impl Pace {
    /// A call's first (or only) pass: a first sign of life within 5 seconds.
    pub(crate) const FIRST: Pace = Pace {
        first_after: Duration::from_secs(5),
        min_gap: Duration::from_secs(5),
        max_lines: 4,
    };
    /// Later epochs of a `fit`: the learner has seen the pace and gets a line per epoch,
    /// so interim lines only keep a long epoch from going silent for over a minute.
    pub(crate) const LATER: Pace = Pace {
        first_after: Duration::from_secs(60),
        min_gap: Duration::from_secs(60),
        max_lines: 4,
    };
}

/// Shortest time between two live redraws: a few per second, as a reader can follow and
/// the notebook's message stream can carry.
const LIVE_INTERVAL: Duration = Duration::from_millis(300);

/// One progress bar over `target` steps.
#[derive(Debug)]
pub(crate) struct Progbar {
    target: usize,
    verbosity: Verbosity,
    display: Display,
    pace: Pace,
    start: Instant,
    after_first_step: Option<Instant>,
    last_shown: Option<Instant>,
    interim_lines: usize,
    /// Width of the last live frame, to erase its rest when the next one is shorter.
    prev_width: usize,
}

impl Progbar {
    pub(crate) fn new(target: usize, verbosity: Verbosity, pace: Pace) -> Progbar {
        Progbar::with_display(target, verbosity, pace, Display::detect(), Instant::now())
    }

    pub(crate) fn with_display(
        target: usize,
        verbosity: Verbosity,
        pace: Pace,
        display: Display,
        start: Instant,
    ) -> Progbar {
        Progbar {
            target,
            verbosity,
            display,
            pace,
            start,
            after_first_step: None,
            last_shown: None,
            interim_lines: 0,
            prev_width: 0,
        }
    }

    /// Call after every step: notes when the first one ended, and says whether an interim
    /// update is due now (the caller then reads its running values, which may wait for the
    /// device, and calls [`Progbar::update`]).
    pub(crate) fn tick(&mut self, current: usize) -> bool {
        self.tick_at(current, Instant::now())
    }

    pub(crate) fn tick_at(&mut self, current: usize, now: Instant) -> bool {
        if current == 1 {
            self.after_first_step = Some(now);
        }
        if self.verbosity != Verbosity::Bar || current >= self.target {
            return false;
        }
        match self.display {
            Display::Live => self.last_shown.is_none_or(|t| now - t >= LIVE_INTERVAL),
            Display::Lines => {
                if self.interim_lines >= self.pace.max_lines
                    || now - self.start < self.pace.first_after
                {
                    return false;
                }
                let projected = self.step_seconds(current, now) * self.target as f64;
                let gap = self
                    .pace
                    .min_gap
                    .max(Duration::from_secs_f64(projected / 5.0));
                self.last_shown.is_none_or(|t| now - t >= gap)
            }
        }
    }

    /// Shows the bar at step `current` with the running `values` (e.g. loss, accuracy).
    pub(crate) fn update(&mut self, current: usize, values: &[(&str, f64)]) {
        let text = self.update_at(current, values, Instant::now());
        show(&text);
    }

    /// The text an update prints (empty when nothing is shown).
    pub(crate) fn update_at(
        &mut self,
        current: usize,
        values: &[(&str, f64)],
        now: Instant,
    ) -> String {
        if self.verbosity != Verbosity::Bar {
            return String::new();
        }
        self.last_shown = Some(now);
        let step_seconds = self.step_seconds(current, now);
        let remaining = step_seconds * self.target.saturating_sub(current) as f64;
        let line = format!(
            "{}{}{}",
            bar(current, self.target),
            eta(remaining),
            format_values(values)
        );
        match self.display {
            Display::Live => self.redraw(line),
            Display::Lines => {
                self.interim_lines += 1;
                line + "\n"
            }
        }
    }

    /// Ends the bar with the final line: `values` and Keras's timing.
    pub(crate) fn finish(&mut self, values: &[(&str, f64)]) {
        let text = self.finish_at(values, Instant::now());
        show(&text);
    }

    pub(crate) fn finish_at(&mut self, values: &[(&str, f64)], now: Instant) -> String {
        let seconds = (now - self.start).as_secs_f64();
        let values = format_values(values);
        match self.verbosity {
            Verbosity::Silent => String::new(),
            Verbosity::OneLine => {
                let digits = digits(self.target);
                format!(
                    "{:>digits$}/{} - {seconds:.0}s{values}\n",
                    self.target, self.target
                )
            }
            Verbosity::Bar => {
                let per_step = per_step(self.step_seconds(self.target, now));
                let line = format!(
                    "{} - {seconds:.0}s {per_step}/step{values}",
                    bar(self.target, self.target)
                );
                match self.display {
                    Display::Live => self.redraw(line) + "\n",
                    Display::Lines => line + "\n",
                }
            }
        }
    }

    /// Ends a bar that will not finish (an interrupted call): a live bar's line is closed,
    /// so the error that follows starts on a line of its own.
    pub(crate) fn abandon(&mut self) {
        if self.display == Display::Live && self.prev_width > 0 {
            show("\n");
            self.prev_width = 0;
        }
    }

    /// `\r`, the line, and spaces over whatever the previous frame had beyond it.
    fn redraw(&mut self, line: String) -> String {
        let width = line.chars().count();
        let pad = self.prev_width.saturating_sub(width);
        self.prev_width = width;
        format!("\r{line}{}", " ".repeat(pad))
    }

    /// Seconds per step so far, leaving out the first step when later ones exist (it pays
    /// for warming up, so it would inflate the ETA).
    fn step_seconds(&self, current: usize, now: Instant) -> f64 {
        match (current, self.after_first_step) {
            (0, _) => 0.0,
            (c, Some(first)) if c > 1 => (now - first).as_secs_f64() / (c - 1) as f64,
            (c, _) => (now - self.start).as_secs_f64() / c as f64,
        }
    }
}

fn show(text: &str) {
    if !text.is_empty() {
        print!("{text}");
        let _ = std::io::stdout().flush();
    }
}

fn digits(n: usize) -> usize {
    n.max(1).to_string().len()
}

/// `current/target [=====>....]`, Keras's bar with `width=30`.
fn bar(current: usize, target: usize) -> String {
    let digits = digits(target);
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
fn eta(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    if seconds > 3600.0 {
        format!(" - ETA: {}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else if seconds > 60.0 {
        format!(" - ETA: {}:{:02}", s / 60, s % 60)
    } else {
        format!(" - ETA: {s}s")
    }
}

/// `28ms`: a time per step in s, ms or us, as Keras prints it.
fn per_step(seconds: f64) -> String {
    if seconds >= 1.0 || seconds == 0.0 {
        format!("{seconds:.0}s")
    } else if seconds >= 1e-3 {
        format!("{:.0}ms", seconds * 1e3)
    } else {
        format!("{:.0}us", seconds * 1e6)
    }
}

/// ` - loss: 1.8660 - accuracy: 0.3301`.
pub(crate) fn format_values(values: &[(&str, f64)]) -> String {
    values.iter().map(|(name, v)| value(name, *v)).collect()
}

/// ` - loss: 1.8660`: four decimals, or scientific below 1e-3 (Keras's rule).
fn value(name: &str, v: f64) -> String {
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

    const VALUES: &[(&str, f64)] = &[("loss", 1.86604), ("accuracy", 0.33012)];

    fn at(start: Instant, seconds: f64) -> Instant {
        start + Duration::from_secs_f64(seconds)
    }

    #[test]
    fn pieces_look_like_keras() {
        assert_eq!(
            bar(1563, 1563),
            "1563/1563 [==============================]"
        );
        assert_eq!(bar(800, 1563), " 800/1563 [==============>...............]");
        assert_eq!(bar(0, 10), " 0/10 [..............................]");
        assert_eq!(eta(20.7), " - ETA: 20s");
        assert_eq!(eta(65.0), " - ETA: 1:05");
        assert_eq!(eta(3725.0), " - ETA: 1:02:05");
        assert_eq!(per_step(0.0283), "28ms");
        assert_eq!(per_step(2.4), "2s");
        assert_eq!(per_step(0.0004), "400us");
        assert_eq!(value("loss", 0.0001234), " - loss: 1.2340e-04");
        assert_eq!(format_values(VALUES), " - loss: 1.8660 - accuracy: 0.3301");
    }

    #[test]
    fn final_lines_for_verbose_1_and_2() {
        let start = Instant::now();
        let mut one =
            Progbar::with_display(1563, Verbosity::Bar, Pace::FIRST, Display::Lines, start);
        one.tick_at(1, at(start, 0.028));
        assert_eq!(
            one.finish_at(VALUES, at(start, 44.2)),
            "1563/1563 [==============================] - 44s 28ms/step - loss: 1.8660 - accuracy: 0.3301\n"
        );
        let mut two =
            Progbar::with_display(1563, Verbosity::OneLine, Pace::FIRST, Display::Lines, start);
        assert!(!two.tick_at(800, at(start, 30.0)), "verbose 2 shows no bar");
        assert_eq!(
            two.finish_at(VALUES, at(start, 44.2)),
            "1563/1563 - 44s - loss: 1.8660 - accuracy: 0.3301\n"
        );
        let mut zero =
            Progbar::with_display(10, Verbosity::Silent, Pace::FIRST, Display::Live, start);
        assert!(!zero.tick_at(5, at(start, 100.0)));
        assert_eq!(zero.finish_at(VALUES, at(start, 100.0)), "");
    }

    #[test]
    fn eta_leaves_out_the_slow_first_step() {
        let start = Instant::now();
        let mut bar =
            Progbar::with_display(101, Verbosity::Bar, Pace::FIRST, Display::Lines, start);
        bar.tick_at(1, at(start, 10.0)); // a 10 s first step (warm-up), then 0.1 s per step
        assert!(bar.tick_at(51, at(start, 15.0)));
        let line = bar.update_at(51, VALUES, at(start, 15.0));
        assert_eq!(line, " 51/101 [==============>...............] - ETA: 5s - loss: 1.8660 - accuracy: 0.3301\n");
    }

    /// Whole lines: a first line within 5 s, then a fifth of the epoch apart, at most 4.
    #[test]
    fn whole_lines_are_few() {
        let start = Instant::now();
        let steps = 1563;
        let seconds_per_step = 30.0 / steps as f64; // a 30 s epoch
        let mut bar =
            Progbar::with_display(steps, Verbosity::Bar, Pace::FIRST, Display::Lines, start);
        let mut shown = Vec::new();
        for step in 1..=steps {
            let now = at(start, step as f64 * seconds_per_step);
            if bar.tick_at(step, now) {
                bar.update_at(step, VALUES, now);
                shown.push(now - start);
            }
        }
        assert!(shown.len() <= 4, "{shown:?}");
        assert!(
            shown[0] <= Duration::from_secs_f64(5.1),
            "first line after {:?}",
            shown[0]
        );
        for pair in shown.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_secs(6), "{shown:?}");
        }

        // A later epoch of the same length prints no interim line at all.
        let mut later =
            Progbar::with_display(steps, Verbosity::Bar, Pace::LATER, Display::Lines, start);
        let due = (1..=steps)
            .filter(|&s| later.tick_at(s, at(start, s as f64 * seconds_per_step)))
            .count();
        assert_eq!(due, 0);
    }

    /// The lesson's 10-epoch cell, as `fit` paces it, stays well under 50 lines, on this
    /// machine (25 s epochs) and on one four times slower.
    #[test]
    fn ten_epochs_fit_on_a_screen() {
        for epoch_seconds in [25.0, 100.0] {
            let steps = 1563;
            let mut lines = 0;
            for epoch in 1..=10 {
                let start = Instant::now();
                let pace = if epoch == 1 { Pace::FIRST } else { Pace::LATER };
                let mut bar =
                    Progbar::with_display(steps, Verbosity::Bar, pace, Display::Lines, start);
                lines += 2; // "Epoch k/10" and the final line
                for step in 1..=steps {
                    let now = at(start, step as f64 * epoch_seconds / steps as f64);
                    if bar.tick_at(step, now) {
                        bar.update_at(step, VALUES, now);
                        lines += 1;
                    }
                }
            }
            assert!(lines < 50, "{lines} lines for {epoch_seconds} s epochs");
        }
    }

    #[test]
    fn live_frames_redraw_in_place_and_erase_longer_ones() {
        let start = Instant::now();
        let mut bar = Progbar::with_display(100, Verbosity::Bar, Pace::FIRST, Display::Live, start);
        assert!(bar.tick_at(1, at(start, 0.01)));
        let first = bar.update_at(1, &[("loss", 10.123456)], at(start, 0.01));
        assert!(
            first.starts_with('\r') && !first.ends_with('\n'),
            "{first:?}"
        );
        assert!(
            !bar.tick_at(2, at(start, 0.1)),
            "at most a few frames per second"
        );
        assert!(bar.tick_at(50, at(start, 0.5)));
        let second = bar.update_at(50, &[("loss", 1.0)], at(start, 0.5));
        assert_eq!(
            second.chars().count(),
            first.chars().count(),
            "padded to erase the longer frame"
        );
        let last = bar.finish_at(&[("loss", 1.0)], at(start, 1.0));
        assert!(
            last.starts_with("\r100/100 [") && last.ends_with('\n'),
            "{last:?}"
        );
    }

    #[test]
    fn verbose_numbers_follow_keras() {
        assert_eq!(Verbosity::from_keras(0).unwrap(), Verbosity::Silent);
        assert_eq!(Verbosity::from_keras(1).unwrap(), Verbosity::Bar);
        assert_eq!(Verbosity::from_keras(2).unwrap(), Verbosity::OneLine);
        let err = Verbosity::from_keras(3).unwrap_err().to_string();
        assert!(err.contains("got 3"), "{err}");
    }
}
