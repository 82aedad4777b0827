// A plain binary linked against the torch wheel loses libtorch_cuda.so: the linker's
// --as-needed drops it because no symbol is referenced directly, and CUDA then reads as
// unavailable on a GPU machine (tch-rs #980). Link libtorch (which pulls in the CUDA
// backend when present) with --no-as-needed, and add an rpath so the binary runs here
// without LD_LIBRARY_PATH.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        println!("cargo:rustc-link-arg=-L{lib}");
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
