//! Which of Intel MKL's matrix kernels libtorch's CPU matmul runs, and letting it use its
//! AVX-512 kernels on AMD processors that have AVX-512.
//!
//! libtorch's CPU matmul is MKL's, linked into `libtorch_cpu.so`. Before choosing its kernels
//! MKL asks `mkl_serv_intel_cpu_true()` whether the processor is Intel's, and on any other
//! vendor it never takes its AVX-512 kernels, even where the CPU has AVX-512 (AMD Zen 4 and
//! 5). On the 2-core Zen 5 development machine that costs more than half the speed of every
//! product: a 4096³ matmul runs at 214 GFLOP/s with MKL's own choice and at 500 with its
//! AVX-512 kernels, the lesson's weight-gradient product at 158 and 428 (`benches/README.md`).
//! TensorFlow, whose oneDNN picks kernels by CPU features alone, uses AVX-512 on the same
//! machine.
//!
//! `libtorch_cpu.so` calls that function through the dynamic linker, so a definition that the
//! linker finds first answers instead: the one below, when it is in the program's dynamic
//! symbol table (gpu-bench and this crate's tests and examples export it from their build
//! scripts) or in the library that loaded libtorch (an evcxr cell: a cdylib exports every
//! `#[no_mangle]` function of its dependencies). It answers "Intel" only where that is true
//! or where the CPU has AVX-512F; MKL then chooses among its kernels by the CPU's features as
//! it does on Intel's processors. `NOTEBOOK_KIT_MKL_AVX512=0` keeps MKL's own choice.
//! [`mkl_kernels`] asks MKL which kernels it took, so a report never assumes.

use std::ffi::c_int;
use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};

/// The environment variable that, set to `0`, keeps MKL's own kernel choice.
pub const MKL_AVX512_ENV: &str = "NOTEBOOK_KIT_MKL_AVX512";

/// MKL's question "is this an Intel processor?", answered for it (see the module's text).
/// MKL may ask more than once, from any thread, so the answer is worked out once and kept.
#[no_mangle]
pub extern "C" fn mkl_serv_intel_cpu_true() -> c_int {
    static ANSWER: AtomicI32 = AtomicI32::new(-1);
    let known = ANSWER.load(Ordering::Relaxed);
    if known >= 0 {
        return known;
    }
    let answer = c_int::from(is_intel_cpu() || (avx512_wanted() && cpu_has_avx512f()));
    ANSWER.store(answer, Ordering::Relaxed);
    answer
}

fn avx512_wanted() -> bool {
    std::env::var(MKL_AVX512_ENV).map_or(true, |v| v.trim() != "0")
}

#[cfg(target_arch = "x86_64")]
fn is_intel_cpu() -> bool {
    // SAFETY: CPUID leaf 0 exists on every x86-64 processor. (`__cpuid` is a safe function
    // from Rust 1.94 on; the block keeps older compilers, down to rust-version, building.)
    #[allow(unused_unsafe)]
    let id = unsafe { std::arch::x86_64::__cpuid(0) };
    let vendor: Vec<u8> = [id.ebx, id.edx, id.ecx]
        .iter()
        .flat_map(|r| r.to_le_bytes())
        .collect();
    vendor == b"GenuineIntel"
}

#[cfg(not(target_arch = "x86_64"))]
fn is_intel_cpu() -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
fn cpu_has_avx512f() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

#[cfg(not(target_arch = "x86_64"))]
fn cpu_has_avx512f() -> bool {
    false
}

/// The kernels MKL chose for this process, as its reproducibility API names them
/// (`mkl_cbwr_get_auto_branch`, values from `mkl_cbwr.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MklKernels {
    /// MKL's dispatch for processors it does not take for Intel's (AVX2 at most).
    NonIntel,
    Avx2,
    Avx512,
    /// Another branch code (older instruction sets, or one this list does not know).
    Other(i32),
}

impl MklKernels {
    fn from_branch(code: c_int) -> MklKernels {
        match code {
            2 => MklKernels::NonIntel, // MKL_CBWR_AUTO: no Intel branch was chosen
            10 => MklKernels::Avx2,
            12 | 14 => MklKernels::Avx512, // MKL_CBWR_AVX512, MKL_CBWR_AVX512_E1
            other => MklKernels::Other(other),
        }
    }
}

impl MklKernels {
    /// The instruction set alone, e.g. `AVX-512`, for a short description.
    pub fn instruction_set(&self) -> String {
        match self {
            MklKernels::NonIntel => "non-Intel (AVX2 at most)".into(),
            MklKernels::Avx2 => "AVX2".into(),
            MklKernels::Avx512 => "AVX-512".into(),
            MklKernels::Other(code) => format!("branch {code}"),
        }
    }
}

impl fmt::Display for MklKernels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MklKernels::NonIntel => write!(f, "MKL's non-Intel kernels (AVX2 at most)"),
            MklKernels::Avx2 => write!(f, "MKL's AVX2 kernels"),
            MklKernels::Avx512 => write!(f, "MKL's AVX-512 kernels"),
            MklKernels::Other(code) => write!(f, "MKL kernel branch {code}"),
        }
    }
}

/// Which kernels MKL took, asked of the MKL inside the loaded `libtorch_cpu.so`; `None`
/// where that library has no MKL (not an x86-64 build) or is not loaded.
pub fn mkl_kernels() -> Option<MklKernels> {
    let path = super::torch_lib_dir()?.join("libtorch_cpu.so");
    // SAFETY: the library is already loaded (torch_lib_dir found it mapped), so opening it
    // again only returns a handle and runs no initialisers; the handle is dropped at the end.
    let lib = unsafe { libloading::Library::new(&path) }.ok()?;
    // SAFETY: MKL's own (unprefixed in libtorch: `mkl_serv_`) reproducibility query, which
    // takes no arguments and returns a branch code.
    let branch = unsafe {
        let query: libloading::Symbol<unsafe extern "C" fn() -> c_int> =
            lib.get(b"mkl_serv_cbwr_get_auto_branch\0").ok()?;
        query()
    };
    Some(MklKernels::from_branch(branch))
}

/// One line for a report, e.g. "MKL's AVX-512 kernels (vendor check answered by
/// notebook-kit)", or why it is MKL's own choice.
pub fn mkl_summary() -> Option<String> {
    let kernels = mkl_kernels()?;
    let note = if is_intel_cpu() {
        ""
    } else if kernels == MklKernels::Avx512 {
        " (vendor check answered by notebook-kit)"
    } else if !avx512_wanted() {
        " (MKL's own choice: NOTEBOOK_KIT_MKL_AVX512=0)"
    } else if !cpu_has_avx512f() {
        " (this CPU has no AVX-512)"
    } else {
        " (notebook-kit's answer to MKL's vendor check is not linked in: see device::mkl)"
    };
    Some(format!("{kernels}{note}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_codes_name_the_kernels() {
        assert_eq!(MklKernels::from_branch(2), MklKernels::NonIntel);
        assert_eq!(MklKernels::from_branch(10), MklKernels::Avx2);
        assert_eq!(MklKernels::from_branch(14), MklKernels::Avx512);
        assert_eq!(MklKernels::from_branch(9), MklKernels::Other(9));
    }
}
