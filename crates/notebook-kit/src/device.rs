//! Which devices this process can train on, and making CUDA visible inside evcxr.
//!
//! evcxr compiles each cell into a cdylib without tch's `-Wl,--no-as-needed` link flags, so
//! the linker drops `libtorch_cuda.so` and libtorch reports no CUDA even on a GPU machine
//! (tch-rs #907, #964, #988). [`load_cuda`] dlopens it with `RTLD_GLOBAL` from the directory
//! the already-loaded `libtorch_cpu.so` came from, which registers the CUDA backend before
//! the first device query. Every function here calls it first.
//!
//! [`mkl`]: which of MKL's kernels libtorch's CPU matmul runs (AVX-512 on AMD too).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tch::Device;

use crate::error::{Error, Result};
use crate::numbers::gib;

pub mod mkl;
pub(crate) mod packed;
pub use mkl::{mkl_kernels, mkl_summary, MklKernels};

/// Outcome of trying to load libtorch's CUDA backend into this process.
#[derive(Debug, Clone)]
pub enum CudaLoad {
    /// `libtorch_cuda.so` is loaded (now or already at start-up).
    Loaded(PathBuf),
    /// libtorch here has no CUDA backend (a CPU-only build).
    NotBuilt(String),
    /// The library exists but could not be loaded.
    Failed(String),
}

static CUDA_LOAD: OnceLock<CudaLoad> = OnceLock::new();

/// Loads `libtorch_cuda.so` once per process; later calls return the first outcome.
pub fn load_cuda() -> &'static CudaLoad {
    CUDA_LOAD.get_or_init(load_cuda_once)
}

fn load_cuda_once() -> CudaLoad {
    let Some(dir) = torch_lib_dir() else {
        return CudaLoad::NotBuilt("libtorch_cpu.so is not loaded in this process".into());
    };
    let path = dir.join("libtorch_cuda.so");
    if !path.exists() {
        return CudaLoad::NotBuilt(format!(
            "{} does not exist (CPU-only libtorch)",
            path.display()
        ));
    }
    // SAFETY: loading libtorch_cuda runs its static initialisers, which register the CUDA
    // backend with the libtorch already in this process; that is what we want. The handle
    // is leaked on purpose: unloading a backend libtorch has registered would be unsound.
    let flags = libloading::os::unix::RTLD_NOW | libloading::os::unix::RTLD_GLOBAL;
    match unsafe { libloading::os::unix::Library::open(Some(&path), flags) } {
        Ok(lib) => {
            std::mem::forget(lib);
            CudaLoad::Loaded(path)
        }
        Err(e) => CudaLoad::Failed(format!("{}: {e}", path.display())),
    }
}

/// Directory of the `libtorch_cpu.so` mapped into this process, read from `/proc/self/maps`.
pub fn torch_lib_dir() -> Option<PathBuf> {
    // Touch libtorch so that it is certainly mapped before we look for it.
    let _ = tch::utils::has_cuda();
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|p| {
            Path::new(p)
                .file_name()
                .is_some_and(|f| f == "libtorch_cpu.so")
        })
        .and_then(|p| Path::new(p).parent().map(Path::to_path_buf))
}

/// The PyTorch version of the loaded libtorch, e.g. `2.11.0+cu130`, read from the
/// `torch/version.py` beside it (the PyPI wheel layout).
pub fn torch_version() -> Option<String> {
    let version_py = torch_lib_dir()?.parent()?.join("version.py");
    let text = std::fs::read_to_string(version_py).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("__version__ = "))
        .map(|v| v.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
}

/// Like `tf.test.is_built_with_cuda()`: does this libtorch carry a CUDA backend?
pub fn is_built_with_cuda() -> bool {
    matches!(load_cuda(), CudaLoad::Loaded(_))
}

/// Is at least one CUDA GPU usable right now?
pub fn cuda_is_available() -> bool {
    load_cuda();
    tch::Cuda::is_available()
}

pub fn cuda_device_count() -> i64 {
    if cuda_is_available() {
        tch::Cuda::device_count()
    } else {
        0
    }
}

/// One line saying why there is no GPU and how to get one; `None` when CUDA works.
pub fn why_no_cuda() -> Option<String> {
    if cuda_is_available() {
        return None;
    }
    let reason = match load_cuda() {
        CudaLoad::Loaded(_) => {
            "libtorch has CUDA support but sees no GPU (no NVIDIA driver or device on this machine)"
                .to_string()
        }
        CudaLoad::NotBuilt(why) => format!("this libtorch has no CUDA support: {why}"),
        CudaLoad::Failed(why) => format!("libtorch_cuda.so failed to load: {why}"),
    };
    Some(format!(
        "{reason}. To train on a GPU, use a machine with an NVIDIA GPU and driver; \
         `./kernel-setup.sh --check` shows what this setup sees."
    ))
}

/// Returns `device` if it can be used here, or an error a notebook can print.
pub fn require(device: Device) -> Result<Device> {
    crate::error::install_panic_hook();
    match device {
        Device::Cuda(i) => {
            if let Some(why) = why_no_cuda() {
                return Err(Error::CudaUnavailable(why));
            }
            let count = tch::Cuda::device_count();
            if i >= count as usize {
                return Err(Error::CudaUnavailable(format!(
                    "GPU {i} was asked for, but this machine has {count} GPU(s) (0..{})",
                    count - 1
                )));
            }
            Ok(device)
        }
        Device::Cpu => Ok(device),
        other => Err(Error::invalid(format!(
            "device {other:?} is not supported by this kit"
        ))),
    }
}

/// The first GPU, or an error saying why there is none.
pub fn gpu() -> Result<Device> {
    require(Device::Cuda(0))
}

/// Runs `cell` with the first GPU, like the lesson's `with tf.device('/GPU:0'):`, or
/// prints one line saying why there is none and returns `Ok(None)`:
///
/// ```no_run
/// # use notebook_kit::prelude::*;
/// # fn get_model(_: Device) -> Result<Sequential> { unimplemented!() }
/// # fn cell(x: &Tensor, y: &Tensor, results: &mut Comparison) -> Result<()> {
/// with_gpu(|gpu| {
///     let gpu_1 = timeit!(n = 1, r = 1, { get_model(gpu)?.fit(x, y, Fit::epochs(1))?; });
///     results.add("1 epoch", gpu, &gpu_1);
///     Ok(())
/// })?;
/// # Ok(()) }
/// ```
pub fn with_gpu<T>(cell: impl FnOnce(Device) -> Result<T>) -> Result<Option<T>> {
    match gpu() {
        Ok(device) => cell(device).map(Some),
        Err(no_gpu) => {
            println!("GPU run skipped: {no_gpu}");
            Ok(None)
        }
    }
}

/// Waits for all queued CUDA work; a no-op without CUDA. Timers call this before reading
/// the clock, because CUDA kernels run asynchronously to the host.
pub fn synchronize() {
    if matches!(load_cuda(), CudaLoad::Loaded(_)) && tch::Cuda::is_available() {
        for i in 0..tch::Cuda::device_count() {
            tch::Cuda::synchronize(i);
        }
    }
}

/// Waits for the queued work of one device (no-op for the CPU).
pub fn synchronize_device(device: Device) {
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i as i64);
    }
}

/// A device as `tf.config.list_physical_devices()` lists it, with its real name.
#[derive(Clone, PartialEq)]
pub struct PhysicalDevice {
    /// `/physical_device:CPU:0`, `/physical_device:GPU:0`, ...
    pub name: String,
    pub device_type: &'static str,
    /// CPU model or GPU product name.
    pub description: String,
    /// GPU memory in bytes, or the machine's RAM for the CPU.
    pub memory_bytes: Option<u64>,
    pub device: Device,
}

impl fmt::Debug for PhysicalDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PhysicalDevice(name='{}', device_type='{}', description='{}'",
            self.name, self.device_type, self.description
        )?;
        if let Some(bytes) = self.memory_bytes {
            write!(f, ", memory='{}'", gib(bytes, 1))?;
        }
        write!(f, ")")
    }
}

/// Every device this process can use: the CPU first, then each CUDA GPU.
pub fn devices() -> Vec<PhysicalDevice> {
    crate::error::install_panic_hook();
    let mut out = vec![PhysicalDevice {
        name: "/physical_device:CPU:0".into(),
        device_type: "CPU",
        description: format!(
            "{} ({} threads for libtorch{})",
            cpu_model(),
            tch::get_num_threads(),
            mkl_kernels()
                .map(|k| format!(", MKL {}", k.instruction_set()))
                .unwrap_or_default()
        ),
        memory_bytes: mem_total_bytes(),
        device: Device::Cpu,
    }];
    for i in 0..cuda_device_count() {
        let info = cuda_driver::device_info(i as i32);
        out.push(PhysicalDevice {
            name: format!("/physical_device:GPU:{i}"),
            device_type: "GPU",
            description: info
                .as_ref()
                .map(|d| d.0.clone())
                .unwrap_or_else(|| "CUDA GPU".into()),
            memory_bytes: info.map(|d| d.1),
            device: Device::Cuda(i as usize),
        });
    }
    out
}

/// Product name of GPU `index`, with its memory, when the CUDA driver can tell.
pub fn gpu_name(index: usize) -> Option<String> {
    cuda_driver::device_info(index as i32)
        .map(|(name, bytes)| format!("{name} ({})", gib(bytes, 0)))
}

/// Human name of a device: the CPU model, or the GPU's product name.
pub fn describe(device: Device) -> String {
    match device {
        Device::Cuda(i) => gpu_name(i).unwrap_or_else(|| format!("CUDA GPU {i}")),
        _ => cpu_model(),
    }
}

/// The CPU's model name from `/proc/cpuinfo`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn mem_total_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = text
        .lines()
        .find(|l| l.starts_with("MemTotal:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// GPU names and memory through the CUDA driver API (`libcuda.so.1`), which libtorch
/// does not expose. Loaded only when libtorch already reported a GPU.
mod cuda_driver {
    use std::ffi::{c_char, c_int, CStr};

    type CuInit = unsafe extern "C" fn(u32) -> c_int;
    type CuDeviceGet = unsafe extern "C" fn(*mut c_int, c_int) -> c_int;
    type CuDeviceGetName = unsafe extern "C" fn(*mut c_char, c_int, c_int) -> c_int;
    type CuDeviceTotalMem = unsafe extern "C" fn(*mut usize, c_int) -> c_int;

    pub fn device_info(index: i32) -> Option<(String, u64)> {
        // SAFETY: these are the CUDA driver API's documented C signatures; buffers are
        // sized as passed, and the library stays loaded for the process lifetime.
        unsafe {
            let lib = libloading::Library::new("libcuda.so.1").ok()?;
            let init: libloading::Symbol<CuInit> = lib.get(b"cuInit\0").ok()?;
            let get: libloading::Symbol<CuDeviceGet> = lib.get(b"cuDeviceGet\0").ok()?;
            let name_of: libloading::Symbol<CuDeviceGetName> =
                lib.get(b"cuDeviceGetName\0").ok()?;
            let mem_of: libloading::Symbol<CuDeviceTotalMem> =
                lib.get(b"cuDeviceTotalMem_v2\0").ok()?;
            if init(0) != 0 {
                return None;
            }
            let mut dev: c_int = 0;
            if get(&mut dev, index) != 0 {
                return None;
            }
            let mut buf = [0 as c_char; 256];
            if name_of(buf.as_mut_ptr(), buf.len() as c_int, dev) != 0 {
                return None;
            }
            let mut bytes: usize = 0;
            if mem_of(&mut bytes, dev) != 0 {
                return None;
            }
            let name = CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned();
            std::mem::forget(lib);
            Some((name, bytes as u64))
        }
    }
}
