//! A cdylib that links notebook-kit the way evcxr links a notebook cell: without tch's
//! `-Wl,--no-as-needed` flags, so `libtorch_cuda.so` is not among its loaded libraries.
//! The test in `tests/` dlopens it from a host that does not link libtorch at all, which is
//! evcxr's situation, and checks that `notebook_kit::device` still finds the CUDA backend.
//! Two copies of it loaded side by side stand for two notebook cells, each with its own
//! statics, for the settings that must outlive a cell.

use std::ffi::c_char;

fn cuda_backend_mapped() -> bool {
    std::fs::read_to_string("/proc/self/maps").is_ok_and(|maps| maps.contains("libtorch_cuda.so"))
}

/// Writes `key=value` lines describing CUDA as seen from inside this cdylib into `buf`
/// (NUL-terminated, truncated to `len`); returns the report's length.
///
/// # Safety
/// `buf` must point to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn notebook_kit_cuda_report(buf: *mut c_char, len: usize) -> usize {
    let before = cuda_backend_mapped();
    let load = notebook_kit::device::load_cuda();
    let report = format!(
        "mapped_before={before}\nload={load:?}\nmapped_after={}\nbuilt_with_cuda={}\n\
         cuda_available={}\ndevice_count={}\ntorch_lib_dir={}\nwhy_no_cuda={}\n",
        cuda_backend_mapped(),
        notebook_kit::device::is_built_with_cuda(),
        notebook_kit::device::cuda_is_available(),
        notebook_kit::device::cuda_device_count(),
        notebook_kit::device::torch_lib_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        notebook_kit::device::why_no_cuda().unwrap_or_default(),
    );
    let bytes = report.as_bytes();
    if len == 0 {
        return 0;
    }
    let n = bytes.len().min(len - 1);
    // SAFETY: the caller guarantees `buf` has `len` bytes; we write n + 1 <= len.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
    n
}

/// Sets notebook-kit's epoch cap from inside this copy of the library (0 removes it).
#[no_mangle]
pub extern "C" fn notebook_kit_set_max_epochs(limit: usize) -> bool {
    notebook_kit::model::set_max_epochs((limit > 0).then_some(limit)).is_ok()
}

/// The epoch cap as this copy of the library sees it (0: none).
#[no_mangle]
pub extern "C" fn notebook_kit_max_epochs() -> usize {
    notebook_kit::model::max_epochs()
        .ok()
        .flatten()
        .unwrap_or(0)
}
