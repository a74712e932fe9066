//! Network sizes from the command line, and whether a run fits the machine:
//! the memory it will need against the memory there is, checked before
//! anything is allocated.

use std::path::Path;

use anyhow::Result;
use micrograd::nn::parameter_count;
use micrograd::train::{Footprint, Hidden, TrainConfig};

use crate::usage::usage;

/// `--hidden`'s widths, `16,16`, as the settings read them.
pub fn parse_hidden(s: &str) -> Result<Hidden, String> {
    s.parse()
}

/// Refuses a run of an MLP of `widths` on `points` samples with `config`
/// that the tape cannot number or the machine cannot hold.
pub fn check_fits(widths: &[usize], points: usize, config: &TrainConfig) -> Result<()> {
    let network = widths
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("-");
    let need = Footprint::of(widths, points, config);
    let most = u32::MAX;
    let parameters = parameter_count(widths);
    if parameters >= most as usize {
        return usage(format!(
            "a network {network} has {parameters} parameters, more than a tape holds ({most} nodes): \
             use fewer or narrower layers"
        ));
    }
    if !need.fits_a_tape() {
        return usage(format!(
            "a network {network} on {points} points needs {} nodes and {} operands on one tape, \
             more than it holds ({most} each): use fewer or narrower layers, or --batch",
            need.nodes, need.operands
        ));
    }
    if let Some(short) = Room::now().short_of(need.bytes, need.reserved) {
        let threads = if config.thread_count() > 1 {
            ", or fewer --threads"
        } else {
            ""
        };
        let (need, room) = if short.address_space {
            (
                need.bytes + need.reserved,
                "of address space (what the threads reserve included); ulimit -v leaves",
            )
        } else {
            (need.bytes, "of memory;")
        };
        return usage(format!(
            "a network {network} on {points} points needs about {} {room} {} available: \
             use fewer or narrower layers, fewer points or --batch{threads}",
            human(need),
            human(short.bytes)
        ));
    }
    Ok(())
}

/// Refuses, before it is read, a data or model file whose contents the
/// memory there is could not hold: its bytes, and the numbers parsed from
/// them (a row `1,1,1` of six bytes becomes about 64 bytes of vectors).
pub fn check_file_fits(path: &Path) -> Result<()> {
    // A file that cannot be read is for the reader to report.
    let Ok(metadata) = std::fs::metadata(path) else {
        return Ok(());
    };
    let bytes = metadata.len();
    let need = bytes.saturating_mul(12);
    if let Some(short) = Room::now().short_of(need, 0) {
        return usage(format!(
            "{}: a file of {} would need about {} of memory to read; {} is available",
            path.display(),
            human(bytes),
            human(need),
            human(short.bytes)
        ));
    }
    Ok(())
}

/// Sets the threads of a run on every core (`threads: None`) to every
/// core, or where the threads' reservations would not fit the room there
/// is (under `ulimit -v`), to the most that fit, or one. A number the user
/// gave is kept.
pub fn fit_threads(widths: &[usize], points: usize, config: &mut TrainConfig) {
    if config.threads.is_none() {
        config.threads = Some(threads_that_fit(widths, points, config));
    }
}

fn threads_that_fit(widths: &[usize], points: usize, config: &TrainConfig) -> usize {
    let room = Room::now();
    let fits = |threads: usize| {
        let config = TrainConfig {
            threads: Some(threads),
            ..config.clone()
        };
        let need = Footprint::of(widths, points, &config);
        room.short_of(need.bytes, need.reserved).is_none()
    };
    let cores = config.thread_count();
    (1..=cores).rev().find(|&t| fits(t)).unwrap_or(1)
}

/// The bench's check: its workloads are micrograd's demo step. Returns
/// the threads to use: `threads`, or as many as fit of every core.
pub fn check_run(widths: &[usize], points: usize, threads: Option<usize>) -> Result<usize> {
    let mut config = TrainConfig {
        threads,
        ..TrainConfig::micrograd_demo(1)
    };
    fit_threads(widths, points, &mut config);
    check_fits(widths, points, &config)?;
    Ok(config.thread_count())
}

/// `12.3 GB`, `456 MB`.
fn human(bytes: u64) -> String {
    let mb = bytes as f64 / 1e6;
    if mb >= 1000.0 {
        format!("{:.1} GB", mb / 1000.0)
    } else {
        format!("{mb:.0} MB")
    }
}

/// The memory this process may still use.
struct Room {
    /// What the system has available and its cgroup still allows: the
    /// resident memory a run may add.
    resident: Option<u64>,
    /// What its address-space limit (`ulimit -v`) leaves, which counts
    /// reserved memory too.
    address_space: Option<u64>,
}

/// The room a footprint did not fit: how much there was, and whether it
/// was the address space.
struct Short {
    bytes: u64,
    address_space: bool,
}

impl Room {
    /// The room now; a limit that cannot be read (not Linux) is `None`.
    fn now() -> Room {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        // A value in kB from a `Key:   1234 kB` line.
        let kb = |text: &str, key: &str| -> Option<u64> {
            let line = text.lines().find(|l| l.starts_with(key))?;
            line.split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
                .map(|k| k * 1024)
        };
        let system = read("/proc/meminfo").and_then(|m| kb(&m, "MemAvailable:"));
        let cgroup = (|| {
            let max: u64 = read("/sys/fs/cgroup/memory.max")?.trim().parse().ok()?;
            let current: u64 = read("/sys/fs/cgroup/memory.current")?.trim().parse().ok()?;
            Some(max.saturating_sub(current))
        })();
        let address_space = (|| {
            let limits = read("/proc/self/limits")?;
            let line = limits
                .lines()
                .find(|l| l.starts_with("Max address space"))?;
            let soft: u64 = line.split_whitespace().nth(3)?.parse().ok()?;
            let used = read("/proc/self/status").and_then(|s| kb(&s, "VmSize:"))?;
            Some(soft.saturating_sub(used))
        })();
        Room {
            resident: [system, cgroup].into_iter().flatten().min(),
            address_space,
        }
    }

    /// The room that `bytes` used and `reserved` more of address space
    /// do not fit, if any: the bytes against the resident memory there
    /// is, both against the address space.
    fn short_of(&self, bytes_needed: u64, reserved: u64) -> Option<Short> {
        if let Some(bytes) = self.address_space
            && bytes_needed + reserved > bytes
        {
            return Some(Short {
                bytes,
                address_space: true,
            });
        }
        match self.resident {
            Some(bytes) if bytes_needed > bytes => Some(Short {
                bytes,
                address_space: false,
            }),
            _ => None,
        }
    }
}
