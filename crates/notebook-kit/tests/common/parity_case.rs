//! A parity *case* as `benches/parity.py` writes it: a model's settings, its initial
//! weights, the data and the order of the batches; and the per-step losses notebook-kit
//! gives on it. Shared by the parity test and `examples/parity.rs`.

use std::path::Path;

use notebook_kit::model::{Loss, Optimizer, ProbabilityRule};
use notebook_kit::prelude::*;

pub struct Case {
    pub input_shape: Vec<i64>,
    pub hidden: Vec<i64>,
    pub output_units: i64,
    pub optimizer: Optimizer,
    pub loss: Loss,
    pub steps: usize,
    /// `[n, ...input_shape]` float32; `[n, classes]` one-hot float32 or `[n]` int64
    /// class numbers, as the loss takes them.
    pub x: Tensor,
    pub y: Tensor,
    /// `[steps, batch]`: the rows of `x` each step trains on.
    pub order: Tensor,
    /// Keras's layout: kernel `[inputs, units]`, bias `[units]`, layer by layer.
    pub weights: Vec<Tensor>,
}

fn field<'a>(config: &'a serde_json::Value, name: &str) -> Result<&'a serde_json::Value> {
    config
        .get(name)
        .ok_or_else(|| Error::InvalidArgument(format!("config.json has no '{name}'")))
}

fn numbers(value: &serde_json::Value) -> Vec<i64> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect())
        .unwrap_or_default()
}

impl Case {
    pub fn load(dir: &Path) -> Result<Case> {
        let text = std::fs::read_to_string(dir.join("config.json")).map_err(|e| Error::Io {
            path: dir.join("config.json"),
            source: e,
        })?;
        let config: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::InvalidArgument(format!("config.json: {e}")))?;
        if *field(&config, "hidden_activation")? != "relu"
            || *field(&config, "output_activation")? != "sigmoid"
        {
            return Err(Error::InvalidArgument(
                "only relu hidden layers and a sigmoid output are supported".into(),
            ));
        }
        let loss = match field(&config, "loss")?.as_str() {
            Some("categorical_crossentropy") => CategoricalCrossentropy,
            Some("sparse_categorical_crossentropy") => SparseCategoricalCrossentropy,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "config.json: loss {other:?} is not a cross-entropy notebook-kit has"
                )))
            }
        };
        let learning_rate = field(&config, "learning_rate")?
            .as_f64()
            .unwrap_or(f64::NAN);
        // The lesson's cases were written before the field existed: absent means SGD.
        let optimizer = match config.get("optimizer").and_then(|o| o.as_str()) {
            None | Some("sgd") => Sgd::new(learning_rate).into(),
            Some("adam") => Adam::new(learning_rate).into(),
            Some(other) => {
                return Err(Error::InvalidArgument(format!(
                    "config.json: optimizer '{other}' is neither sgd nor adam"
                )))
            }
        };
        let mut named = Tensor::read_npz(dir.join("weights.npz"))?;
        named.sort_by_key(|(name, _)| {
            let (kind, index) = name.split_once('_').unwrap_or((name.as_str(), "0"));
            (
                index.parse::<usize>().unwrap_or(usize::MAX),
                kind != "kernel",
            )
        });
        Ok(Case {
            input_shape: numbers(field(&config, "input_shape")?),
            hidden: numbers(field(&config, "hidden")?),
            output_units: field(&config, "output_units")?.as_i64().unwrap_or(0),
            optimizer,
            loss,
            steps: field(&config, "steps")?.as_u64().unwrap_or(0) as usize,
            x: Tensor::read_npy(dir.join("x.npy"))?,
            y: Tensor::read_npy(dir.join("y.npy"))?,
            order: Tensor::read_npy(dir.join("order.npy"))?,
            weights: named.into_iter().map(|(_, t)| t).collect(),
        })
    }

    /// notebook-kit's loss at each of the first `steps` steps (before each step's update),
    /// from the case's weights, with the case's loss read by `rule`, on the fused or the
    /// autograd path.
    #[allow(dead_code)] // the device tests use `losses_on`
    pub fn losses(&self, rule: ProbabilityRule, steps: usize, fused: bool) -> Result<Vec<f64>> {
        self.losses_on(Device::Cpu, rule, steps, fused)
    }

    /// As [`Case::losses`], with the model on `device`.
    pub fn losses_on(
        &self,
        device: Device,
        rule: ProbabilityRule,
        steps: usize,
        fused: bool,
    ) -> Result<Vec<f64>> {
        let mut builder = Sequential::new().add(Flatten::new(&self.input_shape));
        for &units in &self.hidden {
            builder = builder.add(Dense::new(units, Relu));
        }
        let mut model = builder
            .add(Dense::new(self.output_units, Sigmoid))
            .build(device)?;
        let loss = match rule {
            ProbabilityRule::AsInTheLesson => self.loss.as_in_the_lesson(),
            ProbabilityRule::AsInTodaysKeras => self.loss.as_in_todays_keras(),
        };
        model.compile(self.optimizer, loss, Accuracy)?;
        model.set_weights(&self.weights)?;
        model.set_fused(fused);
        let mut losses = Vec::with_capacity(steps);
        for step in 0..steps.min(self.steps) as i64 {
            let rows = self.order.get(step);
            let (xb, yb) = (self.x.index_select(0, &rows), self.y.index_select(0, &rows));
            losses.push(model.train_on_batch(&xb, &yb)?.0);
        }
        Ok(losses)
    }
}

/// The losses `benches/parity.py` recorded for run `name` (`tf_keras`, `keras3`,
/// `numpy_lesson`, ...) in the case folder `dir`.
#[allow(dead_code)] // used by the tests, not by examples/parity.rs
pub fn recorded_losses(dir: &Path, name: &str) -> Vec<f64> {
    let text = std::fs::read_to_string(dir.join("losses.json")).unwrap();
    let all: serde_json::Value = serde_json::from_str(&text).unwrap();
    all[name]
        .as_array()
        .unwrap_or_else(|| panic!("losses.json has no {name}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// The largest of `|ours - theirs| / |theirs|` over the steps.
#[allow(dead_code)] // used by the tests, not by examples/parity.rs
pub fn largest_relative_difference(ours: &[f64], theirs: &[f64]) -> f64 {
    assert_eq!(ours.len(), theirs.len());
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| ((a - b) / b).abs())
        .fold(0.0, f64::max)
}
