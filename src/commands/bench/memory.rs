//! The peak resident memory of a training process: `gan-lab run` of the
//! first spec for a few steps, as a child whose `/proc/PID/status` is read
//! while it runs.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{BenchOptions, Memory, measure::temp_dir};
use crate::commands::error::{AppError, Result};
use crate::context::Context;

/// The peak resident memory of `gan-lab run` of the first spec for a few
/// steps (no evaluation), as a separate process.
pub(super) fn peak(ctx: &Context, options: &BenchOptions) -> Result<Memory> {
    let spec = options
        .specs
        .first()
        .ok_or_else(|| AppError::Usage("no experiment specs to benchmark".into()))?;
    let dir = temp_dir("memory")?;
    let exe = std::env::current_exe().map_err(|source| AppError::Io {
        path: PathBuf::from("gan-lab"),
        source,
    })?;
    let mut cmd = Command::new(exe);
    cmd.arg("--db")
        .arg(dir.path().join("bench.sqlite"))
        .arg("--quiet")
        .arg("--cache-dir")
        .arg(&ctx.cache);
    if let Some(data) = &ctx.data_dir {
        cmd.arg("--data-dir").arg(data);
    }
    cmd.arg("run")
        .arg(spec)
        .args(["--device", &ctx.device.to_string()])
        .args(["--set", &format!("train.steps={}", options.memory_steps)])
        .args(["--set", "eval=None", "--set", "name=\"bench-memory\""])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|source| AppError::Io {
        path: PathBuf::from("gan-lab"),
        source,
    })?;
    // Read while it runs: a child that fills the pipe would otherwise block.
    let stderr = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    });
    let (code, maxrss_kib) = wait_with_peak(&mut child);
    let stderr = stderr
        .and_then(|reader| reader.join().ok())
        .unwrap_or_default();
    if code != Some(0) {
        return Err(AppError::Usage(format!(
            "the training run for the memory measurement failed ({}): {}",
            code.map_or("killed".to_string(), |c| format!("exit {c}")),
            stderr.trim()
        )));
    }
    Ok(Memory {
        spec: spec.display().to_string(),
        steps: options.memory_steps,
        peak_rss_mib: maxrss_kib as f64 / 1024.0,
    })
}

/// Waits for a child and returns its exit code and peak resident memory in
/// KiB: the largest `VmHWM` of `/proc/PID/status` read every 10 ms while it
/// runs. Not `wait4`'s `ru_maxrss`, which on Linux starts from the parent's
/// high-water mark at the fork (a bench that has trained every spec reported
/// 1.8 GiB for a run that peaks at 350 MiB).
fn wait_with_peak(child: &mut Child) -> (Option<i32>, i64) {
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0i64;
    loop {
        if let Some(hwm) = std::fs::read_to_string(&status_file)
            .ok()
            .as_deref()
            .and_then(high_water_kib)
        {
            peak = peak.max(hwm);
        }
        match child.try_wait() {
            Ok(Some(status)) => return (status.code(), peak),
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => return (None, peak),
        }
    }
}

/// `VmHWM` (peak resident set, KiB) from the text of `/proc/PID/status`.
fn high_water_kib(status: &str) -> Option<i64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_peak_resident_set_from_proc_status() {
        let status = "Name:\tgan-lab\nVmPeak:\t 1234 kB\nVmHWM:\t  360352 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(high_water_kib(status), Some(360_352));
        assert_eq!(high_water_kib("Name:\tx\n"), None);
        let own = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(high_water_kib(&own).is_some_and(|kib| kib > 0));
    }

    #[test]
    fn a_child_s_peak_is_its_own_not_the_parent_s() {
        // Make this process's high-water mark large, then measure a small child.
        let ballast = vec![1u8; 512 << 20];
        std::hint::black_box(&ballast);
        let mut child = Command::new("sleep").arg("0.3").spawn().unwrap();
        let (code, peak) = wait_with_peak(&mut child);
        assert_eq!(code, Some(0));
        assert!(peak > 0, "no peak read while the child ran");
        assert!(
            peak < 256 << 10,
            "child peak {peak} KiB includes the parent's"
        );
    }

    #[test]
    fn a_child_that_writes_more_than_a_pipe_holds_is_read_while_it_runs() {
        // 1 MiB on stderr: more than a pipe buffer (64 KiB on Linux).
        let mut child = Command::new("sh")
            .args(["-c", "head -c 1048576 /dev/zero | tr '\\0' x >&2"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pipe = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).unwrap();
            text
        });
        let (code, _) = wait_with_peak(&mut child);
        assert_eq!(code, Some(0));
        assert_eq!(reader.join().unwrap().len(), 1 << 20);
    }
}
