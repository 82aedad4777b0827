//! `view_u8` / `view_f32`: zero-copy ndarray views, and their refusals.

use notebook_kit::data::{view_f32, view_u8};
use notebook_kit::prelude::*;

#[test]
fn u8_view_shares_memory_and_keeps_the_shape() {
    let t = Tensor::arange(24, (Kind::Int64, Device::Cpu))
        .to_kind(Kind::Uint8)
        .reshape([2, 3, 4]);
    let v = view_u8(&t).unwrap();
    assert_eq!(v.shape(), [2, 3, 4]);
    assert_eq!(v[[1, 2, 3]], 23);
    assert_eq!(v.as_ptr() as usize, t.data_ptr() as usize, "no copy");
}

#[test]
fn f32_view_of_a_narrowed_tensor_starts_at_its_offset() {
    let t = Tensor::arange(10, (Kind::Float, Device::Cpu));
    let tail = t.narrow(0, 4, 3); // contiguous, with a storage offset
    let v = view_f32(&tail).unwrap();
    assert_eq!(v.iter().copied().collect::<Vec<f32>>(), [4.0, 5.0, 6.0]);
}

#[test]
fn empty_tensor_gives_an_empty_view() {
    let t = Tensor::zeros([0, 3], (Kind::Uint8, Device::Cpu));
    assert_eq!(view_u8(&t).unwrap().shape(), [0, 3]);
}

#[test]
fn refuses_other_dtypes_and_strided_tensors() {
    let t = Tensor::zeros([2, 3], (Kind::Float, Device::Cpu));
    let err = view_u8(&t).unwrap_err().to_string();
    assert!(err.contains("Uint8") && err.contains("Float"), "{err}");

    let transposed = Tensor::zeros([2, 3], (Kind::Uint8, Device::Cpu)).transpose(0, 1);
    let err = view_u8(&transposed).unwrap_err().to_string();
    assert!(err.contains("contiguous"), "{err}");
    assert!(view_u8(&transposed.contiguous()).is_ok());
}
