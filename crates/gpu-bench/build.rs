// A plain binary linked against the torch wheel loses libtorch_cuda.so: the linker's
// --as-needed drops it because no symbol is referenced directly, and CUDA then reads as
// unavailable on a GPU machine (tch-rs #980). Link libtorch (which pulls in the CUDA
// backend when present) with --no-as-needed, and add an rpath so the binary runs here
// without LD_LIBRARY_PATH.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    tch_version();
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    // notebook-kit's answer to MKL's vendor check (notebook_kit::device::mkl) must be in the
    // binary's dynamic symbol table for libtorch_cpu.so to find it: -u keeps the function,
    // --export-dynamic-symbol exports it.
    println!("cargo:rustc-link-arg-bins=-Wl,-u,mkl_serv_intel_cpu_true");
    println!("cargo:rustc-link-arg-bins=-Wl,--export-dynamic-symbol=mkl_serv_intel_cpu_true");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        println!("cargo:rustc-link-arg=-L{lib}");
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}

/// Passes the resolved `tch` version (from the workspace's Cargo.lock) to the program as
/// `TCH_VERSION`, for the report header: Cargo gives a binary its own version, not its
/// dependencies'.
fn tch_version() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let lock = std::path::Path::new(&manifest_dir).join("../../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let version = text
        .split("[[package]]")
        .find(|block| block.lines().any(|l| l.trim() == "name = \"tch\""))
        .and_then(|block| {
            block
                .lines()
                .find_map(|l| l.trim().strip_prefix("version = "))
        })
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=TCH_VERSION={version}");
}
