// notebook-kit's answer to MKL's vendor check (src/device/mkl.rs) only reaches libtorch when
// it is in the program's dynamic symbol table: -u keeps the function, --export-dynamic-symbol
// exports it. This covers the crate's own tests and examples; other programs add the same
// two arguments (gpu-bench's build.rs does), and evcxr's cells need nothing (a cdylib exports
// its dependencies' #[no_mangle] functions).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    for target in ["tests", "examples"] {
        println!("cargo:rustc-link-arg-{target}=-Wl,-u,mkl_serv_intel_cpu_true");
        println!(
            "cargo:rustc-link-arg-{target}=-Wl,--export-dynamic-symbol=mkl_serv_intel_cpu_true"
        );
    }
}
