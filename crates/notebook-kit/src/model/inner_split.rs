//! A Dense layer's forward product for a few rows on the CPU (one training batch), computed
//! as MKL computes it, without MKL's wait in the middle.
//!
//! For `bias + x @ kernel` with 32 rows and two threads, MKL splits the inner dimension in
//! halves, each thread multiplies its half, and the halves are added, the bias with the
//! first: for the lesson's first layer (32 x 3072 x 3000) exactly those bits. The same split
//! written as one batched product (`baddbmm` over the halves, then their sum) lets each
//! thread run its half through and took that product from 1.97 ms to 1.43 ms, a twelfth of
//! a training step (2-core Zen 5 development VM, MKL's AVX-512 kernels, 2026-11-28).
//!
//! MKL does not split every shape this way (not 32 x 3000 x 1000, for one), and other
//! thread counts or MKL versions may split differently. So the split is used for a layer
//! and a row count only after it gave MKL's own bits there, checked once on values made
//! from the kernel itself: training, and with it the parity with Keras, stays bit for bit
//! what it was, only faster.

use std::collections::HashMap;
use std::sync::Mutex;

use tch::{Device, Kind, Tensor};

use crate::error::Result;

/// Products with more rows than this are left to MKL (the split measured slower at 256).
const MAX_ROWS: i64 = 128;
/// Each thread's part of the inner dimension is at least this long.
const MIN_PART: i64 = 256;

/// The per-layer memory of which row counts the split reproduces MKL for.
#[derive(Debug, Default)]
pub(crate) struct InnerSplit {
    /// `(rows, threads)` -> whether the split gave MKL's bits.
    checked: Mutex<HashMap<(i64, i64), bool>>,
}

impl InnerSplit {
    /// `bias + x @ kernel` through the split where it was found to give MKL's bits for this
    /// row count; `None` where the caller should multiply as usual.
    pub(crate) fn pre_activation(
        &self,
        x: &Tensor,
        kernel: &Tensor,
        bias: &Tensor,
    ) -> Result<Option<Tensor>> {
        let Some(parts) = parts(x, kernel) else {
            return Ok(None);
        };
        let key = (x.size()[0], parts);
        let same_bits = {
            let mut checked = self
                .checked
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match checked.get(&key) {
                Some(&same) => same,
                None => {
                    let same = gives_mkls_bits(kernel, key.0, parts)?;
                    checked.insert(key, same);
                    same
                }
            }
        };
        if !same_bits {
            return Ok(None);
        }
        Ok(Some(split_product(x, kernel, bias, parts)?))
    }
}

/// Into how many parts to split: one per libtorch thread, for a float CPU product with few
/// rows and a long enough inner dimension; `None` otherwise.
fn parts(x: &Tensor, kernel: &Tensor) -> Option<i64> {
    let threads = i64::from(tch::get_num_threads());
    let (rows, inner) = (*x.size().first()?, *kernel.size().first()?);
    let fits = x.device() == Device::Cpu
        && x.kind() == Kind::Float
        && kernel.kind() == Kind::Float
        && x.dim() == 2
        && kernel.dim() == 2
        && (1..=MAX_ROWS).contains(&rows)
        && threads >= 2
        && inner % threads == 0
        && inner / threads >= MIN_PART;
    fits.then_some(threads)
}

/// `bias + x @ kernel` as `parts` products over consecutive slices of the inner dimension,
/// the bias added into the first, then summed.
fn split_product(x: &Tensor, kernel: &Tensor, bias: &Tensor, parts: i64) -> Result<Tensor> {
    let (rows, inner) = (x.size()[0], x.size()[1]);
    let units = kernel.size()[1];
    let slice = inner / parts;
    let x_parts = x.f_reshape([rows, parts, slice])?.f_permute([1, 0, 2])?;
    let kernel_parts = kernel.f_reshape([parts, slice, units])?;
    let start = Tensor::f_cat(
        &[
            bias.f_expand([1, rows, units], false)?,
            Tensor::f_zeros([parts - 1, rows, units], (Kind::Float, Device::Cpu))?,
        ],
        0,
    )?;
    Ok(start
        .f_baddbmm(&x_parts, &kernel_parts, 1.0, 1.0)?
        .f_sum_dim_intlist(0, false, None)?)
}

/// Does the split give MKL's `bias + x @ kernel` bit for bit for `rows` rows? Checked on
/// values taken from the kernel (its columns as inputs, its first row as the bias), so that
/// no random numbers are drawn and a zero bias or input cannot hide a difference.
fn gives_mkls_bits(kernel: &Tensor, rows: i64, parts: i64) -> Result<bool> {
    let _no_grad = tch::no_grad_guard();
    let (inner, units) = (kernel.size()[0], kernel.size()[1]);
    let columns = kernel.f_tr()?.f_contiguous()?;
    let x = columns
        .f_repeat([(rows + units - 1) / units, 1])?
        .f_narrow(0, 0, rows)?
        .f_contiguous()?;
    let bias = kernel.f_select(0, 0)?.f_add_scalar(1.0)?;
    debug_assert_eq!(x.size(), [rows, inner]);
    let mkl = bias.f_addmm(&x, kernel)?;
    let split = split_product(&x, kernel, &bias, parts)?;
    Ok(split.f_equal(&mkl)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_product_is_the_product() -> Result<()> {
        let _no_grad = tch::no_grad_guard();
        tch::manual_seed(4);
        let opts = (Kind::Float, Device::Cpu);
        let x = Tensor::randn([16, 1024], opts);
        let kernel = Tensor::randn([1024, 300], opts);
        let bias = Tensor::randn([300], opts);
        let expected = bias.addmm(&x, &kernel);
        for parts in [1, 2, 4] {
            let split = split_product(&x, &kernel, &bias, parts)?;
            let diff = (&split - &expected).abs().max().double_value(&[]);
            assert!(diff < 1e-3, "{parts} parts: max difference {diff}");
        }
        Ok(())
    }

    #[test]
    fn the_split_is_used_only_where_it_gives_mkls_bits() -> Result<()> {
        let _no_grad = tch::no_grad_guard();
        tch::manual_seed(5);
        let opts = (Kind::Float, Device::Cpu);
        let kernel = Tensor::randn([1024, 600], opts) * 0.05;
        let bias = Tensor::randn([600], opts);
        let split = InnerSplit::default();
        for rows in [32, 7] {
            let x = Tensor::rand([rows, 1024], opts);
            let expected = bias.addmm(&x, &kernel);
            // Where it is used, it is MKL's result to the bit, not only to rounding; it is
            // not used with one thread or where it does not reproduce MKL.
            if let Some(product) = split.pre_activation(&x, &kernel, &bias)? {
                assert!(product.equal(&expected), "{rows} rows");
            }
        }
        // Where it was measured (two threads, MKL's AVX-512 kernels), the lesson's first
        // layer at batch 32 takes the split, and its last batch of 16 rows as well.
        let measured_here = tch::get_num_threads() == 2
            && crate::device::mkl_kernels() == Some(crate::device::MklKernels::Avx512);
        if measured_here {
            let split = InnerSplit::default();
            let kernel = Tensor::randn([3072, 3000], opts) * 0.02;
            let bias = Tensor::randn([3000], opts) * 0.1;
            for rows in [32, 16] {
                let x = Tensor::rand([rows, 3072], opts);
                let product = split
                    .pre_activation(&x, &kernel, &bias)?
                    .unwrap_or_else(|| panic!("{rows} rows: the split should apply"));
                assert!(product.equal(&bias.addmm(&x, &kernel)), "{rows} rows");
            }
        }
        // Too many rows, a GPU-sized batch: never split.
        let x = Tensor::rand([MAX_ROWS + 1, 1024], opts);
        assert!(split.pre_activation(&x, &kernel, &bias)?.is_none());
        Ok(())
    }
}
