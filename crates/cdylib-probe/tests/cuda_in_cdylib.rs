//! Loads notebook-kit as a cdylib from this host process, which does not link libtorch,
//! the way evcxr runs notebook cells, and checks what it reports about CUDA.
//!
//! On a machine without a GPU it proves the mechanism (libtorch_cuda.so absent before,
//! loaded after) and that the "no GPU" message is given. Set NOTEBOOK_KIT_EXPECT_CUDA=1 on
//! a GPU machine to also require that CUDA is available and a device is counted.

use std::collections::HashMap;
use std::ffi::{c_char, CStr};
use std::path::PathBuf;

fn cdylib_path() -> PathBuf {
    // Integration tests live in target/<profile>/deps, beside the cdylib cargo built for them.
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().join("libcdylib_probe.so")
}

fn report() -> HashMap<String, String> {
    let path = cdylib_path();
    assert!(path.exists(), "{} was not built", path.display());
    type Report = unsafe extern "C" fn(*mut c_char, usize) -> usize;
    // SAFETY: the library is our own cdylib; the function has exactly this signature.
    unsafe {
        let lib = libloading::Library::new(&path).expect("dlopen of the probe cdylib");
        let f: libloading::Symbol<Report> = lib.get(b"notebook_kit_cuda_report\0").unwrap();
        let mut buf = vec![0 as c_char; 8192];
        f(buf.as_mut_ptr(), buf.len());
        let text = CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned();
        std::mem::forget(lib); // libtorch must not be unloaded while its threads live
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

#[test]
fn cuda_backend_is_loaded_into_a_cdylib_host() {
    let r = report();
    eprintln!("{r:#?}");
    let lib_dir = PathBuf::from(&r["torch_lib_dir"]);
    assert!(
        lib_dir.join("libtorch_cpu.so").exists(),
        "torch lib dir not found: {r:?}"
    );
    assert!(!std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .is_empty());

    if lib_dir.join("libtorch_cuda.so").exists() {
        // The situation evcxr is in: the link dropped the CUDA backend...
        assert_eq!(
            r["mapped_before"], "false",
            "libtorch_cuda.so was already linked: the test proves nothing"
        );
        // ...and notebook-kit brings it back.
        assert_eq!(
            r["mapped_after"], "true",
            "libtorch_cuda.so was not loaded: {r:?}"
        );
        assert_eq!(r["built_with_cuda"], "true");
    } else {
        assert_eq!(r["built_with_cuda"], "false");
    }

    let expect_gpu = std::env::var("NOTEBOOK_KIT_EXPECT_CUDA").is_ok_and(|v| v == "1");
    if expect_gpu {
        assert_eq!(r["cuda_available"], "true", "a GPU was expected: {r:?}");
        assert_ne!(r["device_count"], "0");
        assert!(r["why_no_cuda"].is_empty());
    } else if r["cuda_available"] == "false" {
        assert_eq!(r["device_count"], "0");
        assert!(
            r["why_no_cuda"].contains("GPU"),
            "the no-GPU message must say why: {r:?}"
        );
    }
}
