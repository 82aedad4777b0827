//! notebook-kit's side of the parity harness (`benches/parity.py`): trains a case's model
//! from its initial weights over its batch order and prints the per-step losses as JSON.
//!
//! ```text
//! cargo run --release -p notebook-kit --example parity -- --case DIR --rule lesson|logits [--steps N] [--autograd]
//! ```
//! `--rule lesson`: TensorFlow 2.2's rule for a sigmoid output (the default loss);
//! `--rule logits`: today's Keras (`.as_in_todays_keras()` on the case's loss).

#[path = "../tests/common/parity_case.rs"]
mod parity_case;

use std::path::PathBuf;
use std::process::ExitCode;

use notebook_kit::model::ProbabilityRule;
use parity_case::Case;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut case, mut rule, mut steps, mut fused) = (None, None, usize::MAX, true);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--case" => case = args.next().map(PathBuf::from),
            "--rule" => rule = args.next(),
            "--steps" => steps = args.next().and_then(|s| s.parse().ok()).unwrap_or(0),
            "--autograd" => fused = false,
            other => {
                eprintln!("parity: unknown argument '{other}' (see the source's header)");
                return ExitCode::from(64);
            }
        }
    }
    let probability_rule = match rule.as_deref() {
        Some("lesson") => ProbabilityRule::AsInTheLesson,
        Some("logits") => ProbabilityRule::AsInTodaysKeras,
        _ => {
            eprintln!("parity: --rule must be lesson or logits");
            return ExitCode::from(64);
        }
    };
    let Some(dir) = case else {
        eprintln!("parity: --case DIR is required");
        return ExitCode::from(64);
    };
    let losses = Case::load(&dir).and_then(|case| case.losses(probability_rule, steps, fused));
    match losses {
        Ok(losses) => {
            let json = serde_json::json!({ "rule": rule, "losses": losses });
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("parity: {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
