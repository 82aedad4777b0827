//! How much arithmetic one epoch is, counted from the layer sizes.
//!
//! Counting analytically (rather than with a profiler) makes the GFLOP/s column comparable
//! across devices and implementations: every implementation of the same model does at
//! least this work. Only the matrix products and the optimizer update are counted; biases,
//! activations and the loss are under 1 % of the lesson model's work.

/// FLOPs per parameter of one plain SGD update: `w -= lr * g` (a multiply and a subtract).
pub const SGD_UPDATE: f64 = 2.0;
/// FLOPs per parameter of one Adam update, roughly: both moment averages (3 + 4), the
/// bias-corrected step `lr * m / (sqrt(v) + eps)` and the subtraction (5).
pub const ADAM_UPDATE: f64 = 12.0;

/// The Dense layers of a model as (inputs, units), and its optimizer's cost per parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {
    pub dense: Vec<(i64, i64)>,
    pub update_flops_per_param: f64,
}

impl Architecture {
    /// Matrix-product FLOPs of one sample's forward and backward pass.
    ///
    /// Per layer: forward `2 * in * out`; the weight gradient `2 * in * out`; the input
    /// gradient `2 * in * out`, except for the first layer, whose input is the data and
    /// needs no gradient.
    pub fn per_sample(&self) -> f64 {
        self.dense
            .iter()
            .enumerate()
            .map(|(i, &(inputs, units))| {
                let product = 2.0 * inputs as f64 * units as f64;
                let passes = if i == 0 { 2.0 } else { 3.0 };
                passes * product
            })
            .sum()
    }

    /// Weights and biases.
    pub fn parameters(&self) -> f64 {
        self.dense
            .iter()
            .map(|&(inputs, units)| (inputs * units + units) as f64)
            .sum()
    }

    /// FLOPs of one optimizer step (once per batch, whatever the batch size).
    pub fn per_update(&self) -> f64 {
        self.parameters() * self.update_flops_per_param
    }

    /// FLOPs of one epoch over `samples` samples in batches of `batch_size`.
    pub fn per_epoch(&self, samples: usize, batch_size: usize) -> f64 {
        samples as f64 * self.per_sample()
            + steps_per_epoch(samples, batch_size) as f64 * self.per_update()
    }
}

/// Batches per epoch; the last one may be short.
pub fn steps_per_epoch(samples: usize, batch_size: usize) -> usize {
    samples.div_ceil(batch_size.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson() -> Architecture {
        Architecture {
            dense: vec![(3072, 3000), (3000, 1000), (1000, 10)],
            update_flops_per_param: SGD_UPDATE,
        }
    }

    #[test]
    fn lesson_model_matches_the_stack_notes() {
        // 54.9 MFLOP per sample, 2.78 TFLOP per epoch of 50,000 samples (benches/README.md).
        let arch = lesson();
        assert_eq!(arch.per_sample(), 54_924_000.0);
        assert_eq!(arch.parameters(), 12_230_010.0);
        assert_eq!(steps_per_epoch(50_000, 32), 1563);
        let epoch = arch.per_epoch(50_000, 32);
        assert!((epoch / 1e12 - 2.784).abs() < 0.001, "{epoch}");
    }

    #[test]
    fn first_layer_has_no_input_gradient() {
        let one = Architecture {
            dense: vec![(10, 10)],
            update_flops_per_param: 0.0,
        };
        assert_eq!(one.per_sample(), 400.0);
        let two = Architecture {
            dense: vec![(10, 10), (10, 10)],
            update_flops_per_param: 0.0,
        };
        assert_eq!(two.per_sample(), 400.0 + 600.0);
    }
}
