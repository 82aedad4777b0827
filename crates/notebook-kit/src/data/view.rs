//! Borrowing a tensor's memory: as an `ndarray` view for the caller, and as a byte slice for
//! the loaders, which read files straight into tensor memory to avoid a second 180 MB copy.

use crate::{Error, Result};
use ndarray::{ArrayViewD, IxDyn};
use tch::{Device, Kind, Tensor};

/// A zero-copy `ndarray` view of a contiguous CPU `u8` tensor, e.g. `x_train` as loaded.
///
/// The view borrows `t`. Do not modify the tensor through another handle (such as a
/// `shallow_clone`) while the view is alive.
pub fn view_u8(t: &Tensor) -> Result<ArrayViewD<'_, u8>> {
    view(t, Kind::Uint8, "view_u8")
}

/// A zero-copy `ndarray` view of a contiguous CPU `f32` tensor, e.g. the output of `scale`.
///
/// The same caveat as [`view_u8`] applies.
pub fn view_f32(t: &Tensor) -> Result<ArrayViewD<'_, f32>> {
    view(t, Kind::Float, "view_f32")
}

fn view<'a, T>(t: &'a Tensor, kind: Kind, func: &str) -> Result<ArrayViewD<'a, T>> {
    check_plain_cpu(t, kind, func)?;
    let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
    let ptr = data_ptr::<T>(t);
    // SAFETY: `t` is a defined, contiguous CPU tensor of element type T (checked above), so
    // `ptr` addresses `numel` initialised, aligned values in row-major order, and they stay
    // alive as long as the borrow of `t` does.
    let view = unsafe { ArrayViewD::from_shape_ptr(IxDyn(&shape), ptr) };
    Ok(view)
}

/// The bytes of a contiguous CPU `u8` tensor, for filling it in place.
///
/// Only for tensors the caller has just created: a `&mut Tensor` does not rule out other
/// handles to the same storage.
pub(crate) fn bytes_mut(t: &mut Tensor) -> Result<&mut [u8]> {
    check_plain_cpu(t, Kind::Uint8, "bytes_mut")?;
    let len = t.numel();
    let ptr = data_ptr::<u8>(t) as *mut u8;
    // SAFETY: as in `view`; the exclusive borrow of `t` stands for exclusive access.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// Asks Linux to back a large, freshly allocated buffer with 2 MiB pages before it is first
/// written. Filling 180 MB of fresh 4 KiB pages costs ~45 000 page faults, about a third of
/// CIFAR-10's load time. Only a hint: where it is unsupported nothing changes.
pub(crate) fn advise_huge_pages(bytes: &mut [u8]) {
    #[cfg(target_os = "linux")]
    {
        extern "C" {
            fn madvise(addr: *mut std::ffi::c_void, len: usize, advice: i32) -> i32;
        }
        const MADV_HUGEPAGE: i32 = 14;
        const PAGE: usize = 4096;
        // madvise wants a page-aligned start; the buffer's first partial page is left out.
        let addr = bytes.as_mut_ptr() as usize;
        let start = addr.next_multiple_of(PAGE);
        let len = (bytes.len().saturating_sub(start - addr)) / PAGE * PAGE;
        if len > 0 {
            // SAFETY: the range lies inside `bytes`; MADV_HUGEPAGE changes no contents.
            unsafe { madvise(start as *mut std::ffi::c_void, len, MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = bytes;
}

/// Read-only bytes of a contiguous CPU `u8` tensor.
pub(crate) fn bytes(t: &Tensor) -> Result<&[u8]> {
    check_plain_cpu(t, Kind::Uint8, "bytes")?;
    // SAFETY: as in `view`.
    Ok(unsafe { std::slice::from_raw_parts(data_ptr::<u8>(t), t.numel()) })
}

fn check_plain_cpu(t: &Tensor, kind: Kind, func: &str) -> Result<()> {
    if !t.defined() {
        return Err(Error::invalid(format!("{func}: the tensor is undefined")));
    }
    let actual = t.f_kind()?;
    if actual != kind {
        return Err(Error::shape(format!(
            "{func} needs a {kind:?} tensor, got {actual:?}; convert it with `.to_kind(Kind::{kind:?})`"
        )));
    }
    if t.device() != Device::Cpu {
        return Err(Error::invalid(format!(
            "{func} needs a CPU tensor, this one is on {:?}; move it with `.to_device(Device::Cpu)`",
            t.device()
        )));
    }
    if !t.is_contiguous() {
        return Err(Error::invalid(format!(
            "{func} needs a contiguous tensor (this one is a strided view, e.g. after permute or \
             transpose); make a copy with `.contiguous()`"
        )));
    }
    Ok(())
}

/// libtorch may hand out a null pointer for an empty tensor; ndarray and slices need a
/// non-null, aligned one even for zero elements.
fn data_ptr<T>(t: &Tensor) -> *const T {
    if t.numel() == 0 {
        std::ptr::NonNull::<T>::dangling().as_ptr()
    } else {
        t.data_ptr() as *const T
    }
}
