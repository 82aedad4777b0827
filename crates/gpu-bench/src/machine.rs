//! Facts about the machine that belong next to any timing: which CPU and GPU, which
//! library versions, how busy the machine was, and when.

use notebook_kit::device;
use notebook_kit::numbers::gib;

/// One CUDA GPU.
#[derive(Debug, Clone)]
pub struct Gpu {
    pub index: usize,
    pub name: String,
    pub memory_bytes: Option<u64>,
}

impl Gpu {
    pub fn describe(&self) -> String {
        match self.memory_bytes {
            Some(bytes) => format!("{} ({})", self.name, gib(bytes, 0)),
            None => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Machine {
    pub cpu_model: String,
    pub logical_cpus: usize,
    /// Threads libtorch uses for CPU work (its default is the physical core count).
    pub torch_threads: i32,
    /// Which of MKL's kernels libtorch's CPU matmul runs (`device::mkl_summary`).
    pub cpu_matmul: Option<String>,
    pub gpus: Vec<Gpu>,
    /// Why there is no GPU, when there is none.
    pub no_gpu_reason: Option<String>,
    pub torch_version: Option<String>,
    pub tch_version: &'static str,
    /// `/proc/loadavg`'s first three fields, e.g. `0.52 0.80 1.02`.
    pub load_average: String,
    /// UTC, ISO 8601, e.g. `2026-11-27T09:40:37Z`.
    pub date: String,
}

impl Machine {
    pub fn inspect() -> Machine {
        let gpus = device::devices()
            .into_iter()
            .filter_map(|d| match d.device {
                tch::Device::Cuda(index) => Some(Gpu {
                    index,
                    name: d.description,
                    memory_bytes: d.memory_bytes,
                }),
                _ => None,
            })
            .collect();
        Machine {
            cpu_model: device::cpu_model(),
            logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            torch_threads: tch::get_num_threads(),
            cpu_matmul: device::mkl_summary(),
            gpus,
            no_gpu_reason: device::why_no_cuda(),
            torch_version: device::torch_version(),
            tch_version: env!("TCH_VERSION"),
            load_average: load_average(),
            date: utc_now(),
        }
    }
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// Seconds since this process started, from the kernel's records (10 ms resolution).
/// Read first thing in `main`, it is the start-up cost: the dynamic loader mapping
/// libtorch's libraries and running their initialisers, which no in-process clock sees.
pub fn process_age() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces; fields are counted after its ')'.
    let after_name = stat.rsplit_once(')')?.1;
    // Field 22, starttime, is the 20th after the name: clock ticks after boot.
    let start_ticks: f64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // SAFETY: sysconf only reads a system constant.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks_per_second <= 0 {
        return None;
    }
    Some((uptime - start_ticks / ticks_per_second as f64).max(0.0))
}

/// The current time in UTC as `YYYY-MM-DDThh:mm:ssZ`.
pub fn utc_now() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    format_utc(seconds)
}

fn format_utc(unix_seconds: i64) -> String {
    let (days, secs) = (
        unix_seconds.div_euclid(86_400),
        unix_seconds.rem_euclid(86_400),
    );
    // Howard Hinnant's civil_from_days: days since 1970-01-01 to (year, month, day).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_798_364_437), "2026-12-27T09:40:37Z");
    }

    #[test]
    fn process_age_is_small_and_positive() {
        let age = process_age().expect("/proc is readable on Linux");
        assert!((0.0..3600.0).contains(&age), "{age}");
    }
}
