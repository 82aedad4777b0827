//! Optimizers with Keras's defaults and Keras's update formulas.

use tch::Tensor;

use super::adam_cpu::{self, AdamStep};
use crate::error::{Error, Result};

/// Stochastic gradient descent, Keras's `SGD` (default learning rate 0.01).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sgd {
    pub learning_rate: f64,
    pub momentum: f64,
    pub nesterov: bool,
}

impl Default for Sgd {
    fn default() -> Self {
        Sgd {
            learning_rate: 0.01,
            momentum: 0.0,
            nesterov: false,
        }
    }
}

impl Sgd {
    pub fn new(learning_rate: f64) -> Self {
        Sgd {
            learning_rate,
            ..Sgd::default()
        }
    }

    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }
}

/// Keras's `Adam` (learning rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adam {
    pub learning_rate: f64,
    pub beta_1: f64,
    pub beta_2: f64,
    pub epsilon: f64,
}

impl Default for Adam {
    fn default() -> Self {
        Adam {
            learning_rate: 0.001,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        }
    }
}

impl Adam {
    pub fn new(learning_rate: f64) -> Self {
        Adam {
            learning_rate,
            ..Adam::default()
        }
    }
}

/// The `optimizer=` of `compile`: `Sgd::default().into()` or `Adam::default().into()`;
/// `compile` takes either directly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    Sgd(Sgd),
    Adam(Adam),
}

impl From<Sgd> for Optimizer {
    fn from(o: Sgd) -> Self {
        Optimizer::Sgd(o)
    }
}

impl From<Adam> for Optimizer {
    fn from(o: Adam) -> Self {
        Optimizer::Adam(o)
    }
}

impl Optimizer {
    pub(crate) fn validate(&self) -> Result<()> {
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        let valid = match *self {
            Optimizer::Sgd(s) => ok(s.learning_rate) && ok(s.momentum) && s.momentum < 1.0,
            Optimizer::Adam(a) => {
                ok(a.learning_rate)
                    && (0.0..1.0).contains(&a.beta_1)
                    && (0.0..1.0).contains(&a.beta_2)
                    && ok(a.epsilon)
            }
        };
        if valid {
            Ok(())
        } else {
            Err(Error::invalid(format!(
                "invalid optimizer settings {self:?}: rates must be finite and >= 0, momentum \
                 and betas in [0, 1)"
            )))
        }
    }

    /// Plain SGD updates `w -= lr * g`, which the fused path can fold into its matmuls.
    pub(crate) fn plain_sgd_rate(&self) -> Option<f64> {
        match *self {
            Optimizer::Sgd(s) if s.momentum == 0.0 => Some(s.learning_rate),
            _ => None,
        }
    }
}

/// What an optimizer remembers between steps, one tensor per weight.
#[derive(Debug)]
enum Slots {
    /// Plain SGD remembers nothing.
    None,
    /// SGD with momentum: each weight's velocity.
    Velocity(Vec<Tensor>),
    /// Adam: each weight's first and second moment estimates.
    Moments { m: Vec<Tensor>, v: Vec<Tensor> },
}

/// An optimizer with its per-weight state and step count.
#[derive(Debug)]
pub(crate) struct OptimizerState {
    pub config: Optimizer,
    slots: Slots,
    step: i64,
    /// For the fused path: one reusable buffer per weight, for its gradient and then the
    /// update's temporaries, so that no step allocates (and first-touches) fresh memory.
    scratch: Vec<Option<Tensor>>,
}

impl OptimizerState {
    pub fn new(config: Optimizer, params: &[Tensor]) -> Result<Self> {
        config.validate()?;
        let zeros = || -> Result<Vec<Tensor>> {
            params
                .iter()
                .map(|p| Ok(p.f_zeros_like()?.f_detach()?))
                .collect()
        };
        let slots = match config {
            Optimizer::Sgd(s) if s.momentum == 0.0 => Slots::None,
            Optimizer::Sgd(_) => Slots::Velocity(zeros()?),
            Optimizer::Adam(_) => Slots::Moments {
                m: zeros()?,
                v: zeros()?,
            },
        };
        Ok(OptimizerState {
            config,
            slots,
            step: 0,
            scratch: Vec::new(),
        })
    }

    /// Applies one update to every weight, in place, given its gradient. Takes the
    /// gradients by value and reuses their memory for temporaries. Call under `no_grad`.
    pub fn apply(&mut self, params: &mut [Tensor], grads: Vec<Tensor>) -> Result<()> {
        self.step += 1;
        match (self.config, &mut self.slots) {
            (Optimizer::Sgd(s), Slots::None) => {
                for (p, mut g) in params.iter_mut().zip(grads) {
                    let _ = g.f_mul_scalar_(s.learning_rate)?;
                    let _ = p.f_sub_(&g)?;
                }
            }
            (Optimizer::Sgd(s), Slots::Velocity(velocities)) => {
                for ((p, mut g), v) in params.iter_mut().zip(grads).zip(velocities) {
                    let _ = g.f_mul_scalar_(s.learning_rate)?; // g is now lr * g
                                                               // Keras: v = momentum * v - lr * g; then w += v, or with Nesterov
                                                               // w += momentum * v - lr * g.
                    let _ = v.f_mul_scalar_(s.momentum)?;
                    let _ = v.f_sub_(&g)?;
                    if s.nesterov {
                        let _ = p.f_add_(&v.f_mul_scalar(s.momentum)?)?;
                        let _ = p.f_sub_(&g)?;
                    } else {
                        let _ = p.f_add_(v)?;
                    }
                }
            }
            (Optimizer::Adam(a), Slots::Moments { m, v }) => {
                let alpha = a.step_size(self.step);
                for (((p, g), m), v) in params.iter_mut().zip(grads).zip(m).zip(v) {
                    adam_update(p, g, m, v, &a, alpha)?;
                }
            }
            (config, _) => {
                return Err(Error::invalid(format!(
                    "internal: optimizer state does not match {config:?}"
                )))
            }
        }
        Ok(())
    }
}

impl OptimizerState {
    /// Starts a fused step: counts it, as [`OptimizerState::apply`] does for a whole step.
    pub fn begin_fused_step(&mut self) {
        self.step += 1;
    }

    /// The reusable buffer for weight `index`, shaped like `like` (made on first use).
    pub fn scratch(&mut self, index: usize, like: &Tensor) -> Result<Tensor> {
        if self.scratch.len() <= index {
            self.scratch.resize_with(index + 1, || None);
        }
        if let Some(buffer) = &self.scratch[index] {
            if buffer.size() == like.size() {
                return Ok(buffer.shallow_clone());
            }
        }
        let buffer = like.f_empty_like()?;
        self.scratch[index] = Some(buffer.shallow_clone());
        Ok(buffer)
    }

    /// Updates weight `index` in place from its gradient `grad`, which may be overwritten
    /// (it is the weight's scratch buffer on the fused path). Same formulas as
    /// [`OptimizerState::apply`]; Adam on CPU weights runs as one loop (`adam_cpu.rs`).
    /// Call under `no_grad`, after `begin_fused_step`.
    pub fn update_one(&mut self, index: usize, param: &Tensor, grad: &mut Tensor) -> Result<()> {
        let mut p = param.shallow_clone();
        match (self.config, &mut self.slots) {
            (Optimizer::Sgd(s), Slots::None) => {
                let _ = p.f_sub_(&grad.f_mul_scalar_(s.learning_rate)?)?;
            }
            (Optimizer::Sgd(s), Slots::Velocity(velocities)) => {
                let v = &mut velocities[index];
                let _ = grad.f_mul_scalar_(s.learning_rate)?;
                let _ = v.f_mul_scalar_(s.momentum)?;
                let _ = v.f_sub_(grad)?;
                if s.nesterov {
                    // w += momentum * v - lr * g, with g's buffer as the temporary
                    let _ = grad.f_neg_()?;
                    let _ = grad.f_add_(&v.f_mul_scalar(s.momentum)?)?;
                    let _ = p.f_add_(grad)?;
                } else {
                    let _ = p.f_add_(v)?;
                }
            }
            (Optimizer::Adam(a), Slots::Moments { m, v }) => {
                let (m, v) = (&mut m[index], &mut v[index]);
                let step = AdamStep {
                    one_minus_beta_1: (1.0 - a.beta_1) as f32,
                    one_minus_beta_2: (1.0 - a.beta_2) as f32,
                    epsilon: a.epsilon as f32,
                    step_size: a.step_size(self.step) as f32,
                };
                if adam_cpu::update(&p, grad, m, v, step) {
                    return Ok(());
                }
                let _ = m.f_lerp_(grad, 1.0 - a.beta_1)?;
                let _ = grad.f_square_()?;
                let _ = v.f_lerp_(grad, 1.0 - a.beta_2)?;
                // grad's buffer now becomes -(sqrt(v) + eps) / alpha, so that one addcdiv_
                // gives w - alpha * m / (sqrt(v) + eps) without a temporary.
                let _ = v.f_sqrt_out(grad)?;
                let _ = grad.f_add_scalar_(a.epsilon)?;
                let _ = grad.f_div_scalar_(-a.step_size(self.step))?;
                let _ = p.f_addcdiv_(m, grad)?;
            }
            (config, _) => {
                return Err(Error::invalid(format!(
                    "internal: optimizer state does not match {config:?}"
                )))
            }
        }
        Ok(())
    }
}

impl Adam {
    /// Keras folds both bias corrections into the step size of step `t` (from 1).
    pub(crate) fn step_size(&self, t: i64) -> f64 {
        let t = t as f64;
        self.learning_rate * (1.0 - self.beta_2.powf(t)).sqrt() / (1.0 - self.beta_1.powf(t))
    }
}

/// Keras's Adam step for one weight: `m += (g - m)(1 - b1)`, `v += (g² - v)(1 - b2)`,
/// `w -= alpha * m / (sqrt(v) + eps)`. `lerp_` computes exactly `m + (g - m) * w`; doing
/// the update in place, in 8 passes over memory instead of 12 with 8 temporaries, makes
/// Adam's share of a small model's step about half as large.
fn adam_update(
    p: &mut Tensor,
    mut g: Tensor,
    m: &mut Tensor,
    v: &mut Tensor,
    a: &Adam,
    alpha: f64,
) -> Result<()> {
    let _ = m.f_lerp_(&g, 1.0 - a.beta_1)?;
    let _ = g.f_square_()?;
    let _ = v.f_lerp_(&g, 1.0 - a.beta_2)?;
    let mut denom = v.f_sqrt()?;
    let _ = denom.f_add_scalar_(a.epsilon)?;
    let mut step = m.f_div(&denom)?;
    let _ = step.f_mul_scalar_(alpha)?;
    let _ = p.f_sub_(&step)?;
    Ok(())
}
