//! The batches of a pass over the data: in order, each batch a view of the data; shuffled,
//! each batch a view of a group of rows gathered at once.
//!
//! Why groups: gathering a shuffled batch is one operation for the inputs and one for each
//! label tensor. On a GPU each operation is a kernel launch, and at batch 32 a training
//! step's time there is mostly such fixed costs. Gathering ~1,024 rows at once and taking
//! the batches as views of them gives the same rows in the same order with one gather per
//! group (a CIFAR-10 group is 12.6 MB).

use tch::{Device, Kind, Tensor};

use super::loss::Labels;
use crate::error::Result;

/// Shuffled rows gathered at once, rounded down to whole batches (at least one).
const GROUP_ROWS: i64 = 1024;

/// Batches of `batch_size` rows out of `n`; the last one may be shorter.
pub(crate) fn batches(n: i64, batch_size: usize) -> impl Iterator<Item = (i64, i64)> {
    let bs = batch_size as i64;
    (0..n)
        .step_by(batch_size)
        .map(move |start| (start, bs.min(n - start)))
}

/// One epoch's batches of `x` and `labels`, in order or in a random order drawn once.
pub(crate) struct EpochBatches<'a> {
    x: &'a Tensor,
    labels: &'a Labels,
    /// The epoch's row order, on the data's device; `None` keeps the data's order.
    order: Option<Tensor>,
    /// Rows per gather: whole batches.
    group: i64,
    /// The group gathered last: its first position in `order`, its inputs and labels.
    gathered: Option<(i64, Tensor, Labels)>,
}

impl<'a> EpochBatches<'a> {
    /// The permutation is drawn on the CPU with libtorch's global generator (so a seed gives
    /// the same order on every device) and moved to `device`.
    pub(crate) fn new(
        x: &'a Tensor,
        labels: &'a Labels,
        batch_size: usize,
        shuffle: bool,
        device: Device,
    ) -> Result<Self> {
        let n = x.size()[0];
        let order = match shuffle {
            true => Some(Tensor::f_randperm(n, (Kind::Int64, Device::Cpu))?.f_to_device(device)?),
            false => None,
        };
        let bs = batch_size as i64;
        Ok(EpochBatches {
            x,
            labels,
            order,
            group: (GROUP_ROWS / bs).max(1) * bs,
            gathered: None,
        })
    }

    /// The `len` rows at positions `begin..begin + len` of the epoch's order, as one batch
    /// of inputs and labels. Cheapest when asked for in order, as `batches` gives them.
    pub(crate) fn get(&mut self, begin: i64, len: i64) -> Result<(Tensor, Labels)> {
        let Some(order) = &self.order else {
            return Ok((
                self.x.f_narrow(0, begin, len)?,
                self.labels.narrow(begin, len)?,
            ));
        };
        let start = begin - begin % self.group;
        let (start, x, labels) = match self.gathered.take() {
            Some(group) if group.0 == start => group,
            _ => {
                let rows = self.group.min(self.x.size()[0] - start);
                let index = order.f_narrow(0, start, rows)?;
                let x = self.x.f_index_select(0, &index)?;
                (start, x, self.labels.rows(&index)?)
            }
        };
        let batch = (
            x.f_narrow(0, begin - start, len)?,
            labels.narrow(begin - start, len)?,
        );
        self.gathered = Some((start, x, labels));
        Ok(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Loss;

    /// Every batch, shuffled or not, holds the rows a per-batch gather of the same
    /// permutation gives, labels and classes included: batch sizes that divide the group,
    /// that do not (100), and that exceed it (1,500), with a short last batch each time.
    #[test]
    fn batches_hold_the_rows_of_the_permutation() -> Result<()> {
        let n = 2_600;
        let x = Tensor::arange(n * 3, (Kind::Float, Device::Cpu)).f_reshape([n, 3])?;
        let classes = Tensor::arange(n, (Kind::Int64, Device::Cpu)).f_remainder(10)?;
        let one_hot = classes.f_one_hot(10)?;
        for (loss, y) in [
            (Loss::CategoricalCrossentropy, &one_hot),
            (Loss::SparseCategoricalCrossentropy, &classes),
        ] {
            let labels = loss.prepare_labels(y, 10, Device::Cpu)?;
            for batch_size in [32, 100, 1_500] {
                for shuffle in [true, false] {
                    let mut epoch =
                        EpochBatches::new(&x, &labels, batch_size, shuffle, Device::Cpu)?;
                    // Its own order, read back: other tests draw from the same generator.
                    let order = match &epoch.order {
                        Some(order) => order.shallow_clone(),
                        None => Tensor::arange(n, (Kind::Int64, Device::Cpu)),
                    };
                    assert_eq!(epoch.order.is_some(), shuffle);
                    let sorted = order.f_sort(0, false)?.0;
                    assert!(sorted.equal(&Tensor::arange(n, (Kind::Int64, Device::Cpu))));
                    let mut rows = 0;
                    for (begin, len) in batches(n, batch_size) {
                        let (xb, lb) = epoch.get(begin, len)?;
                        let index = order.f_narrow(0, begin, len)?;
                        let case = format!(
                            "{loss:?}, batch {batch_size}, shuffle {shuffle}, rows {begin}.."
                        );
                        assert!(xb.equal(&x.f_index_select(0, &index)?), "{case}: inputs");
                        let want = labels.rows(&index)?;
                        assert!(lb.target.equal(&want.target), "{case}: targets");
                        assert!(lb.class().equal(want.class()), "{case}: classes");
                        rows += len;
                    }
                    assert_eq!(rows, n);
                }
            }
        }
        Ok(())
    }
}
