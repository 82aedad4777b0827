//! evcxr compiles every notebook cell into its own library with its own copy of
//! notebook-kit, statics included. Two copies of the probe cdylib, loaded from two paths,
//! stand for two cells: a setting made in the first must hold in the second.

use std::path::{Path, PathBuf};

fn cdylib_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().join("libcdylib_probe.so")
}

/// Loads a private copy of the probe (the dynamic loader shares a library only by path or
/// SONAME, and the probe has no SONAME), as evcxr loads each cell's library.
fn load_copy(dir: &Path, name: &str) -> libloading::Library {
    let copy = dir.join(name);
    std::fs::copy(cdylib_path(), &copy).expect("copying the probe cdylib");
    // SAFETY: our own cdylib; its initialisers only register Rust and libtorch state.
    unsafe { libloading::Library::new(&copy).expect("dlopen of a probe copy") }
}

#[test]
fn the_epoch_cap_set_in_one_cell_holds_in_the_next() {
    let dir = std::env::temp_dir().join(format!("notebook-kit-cells-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let first = load_copy(&dir, "libcell1.so");
    let second = load_copy(&dir, "libcell2.so");
    std::fs::remove_dir_all(&dir).unwrap();

    type Set = unsafe extern "C" fn(usize) -> bool;
    type Get = unsafe extern "C" fn() -> usize;
    // SAFETY: the symbols are the probe's own functions with exactly these signatures.
    unsafe {
        let set_in_first: libloading::Symbol<Set> =
            first.get(b"notebook_kit_set_max_epochs\0").unwrap();
        let get_in_first: libloading::Symbol<Get> =
            first.get(b"notebook_kit_max_epochs\0").unwrap();
        let get_in_second: libloading::Symbol<Get> =
            second.get(b"notebook_kit_max_epochs\0").unwrap();
        let set_in_second: libloading::Symbol<Set> =
            second.get(b"notebook_kit_set_max_epochs\0").unwrap();
        assert_ne!(
            *get_in_first as usize, *get_in_second as usize,
            "both loads gave one library: the test would prove nothing"
        );

        assert!(set_in_first(3));
        assert_eq!(get_in_first(), 3);
        assert_eq!(
            get_in_second(),
            3,
            "the cap set in cell 1 is gone in cell 2"
        );
        assert!(set_in_second(0));
        assert_eq!(
            get_in_first(),
            0,
            "set_max_epochs(None) in cell 2 did not reach cell 1"
        );
    }
    // libtorch must not be unloaded while its threads live.
    std::mem::forget(first);
    std::mem::forget(second);
}
