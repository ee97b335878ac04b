//! Whether a process is still alive, by its pid: how the tracker tells a
//! running run from one whose process died, and how a sweep tells its lock
//! holder from a stale lock file.

/// Whether process `pid` exists and is not a zombie (an orphaned zombie
/// may never be reaped in a container without an init process).
#[cfg(target_os = "linux")]
pub fn is_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

/// Whether process `pid` exists.
#[cfg(all(unix, not(target_os = "linux")))]
pub fn is_alive(pid: u32) -> bool {
    use nix::errno::Errno;
    use nix::sys::signal::kill;
    use nix::unistd::Pid;
    // Pid 0 would name our own process group.
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // No signal checks existence and permission without sending anything.
    matches!(kill(Pid::from_raw(pid), None), Ok(()) | Err(Errno::EPERM))
}

/// Without a way to check, every process is taken as alive.
#[cfg(not(unix))]
pub fn is_alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn live_zombie_and_reaped_processes() {
        assert!(is_alive(std::process::id()));
        assert!(!is_alive(0));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not yet waited for: once it exits it is a zombie, which counts as dead.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while is_alive(pid) {
            assert!(std::time::Instant::now() < deadline, "`true` never exited");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok(),
            "still a zombie, not reaped"
        );
        child.wait().unwrap();
        assert!(!is_alive(pid));
    }
}
