//! Runs a sweep's jobs as separate `gan-lab` processes, at most `jobs` at a
//! time, so that one crashing run cannot take the others down. Each child
//! writes its output to a log file; the pool reports each start and end.
//!
//! Children run in their own process group, so a Ctrl-C in the terminal
//! reaches only the sweep, which then asks each child once (SIGINT) to stop
//! after its current step with a checkpoint, and waits for them.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One process to run.
#[derive(Debug, Clone)]
pub struct Job {
    /// Index of the run in the sweep.
    pub index: usize,
    pub args: Vec<OsString>,
    pub log: PathBuf,
}

/// How a job ended.
#[derive(Debug)]
pub struct Ended {
    pub index: usize,
    /// `None` when the process could not be started.
    pub status: Option<ExitStatus>,
    pub seconds: f64,
    pub log: PathBuf,
    pub spawn_error: Option<String>,
}

/// What the pool tells its caller as it goes.
pub trait Observer {
    fn started(&mut self, job: &Job, pid: u32);
    fn ended(&mut self, ended: &Ended);
}

/// Runs `jobs` with `program`, `parallel` at a time, until all ended or
/// `stop` is set (then the running ones are asked to stop and awaited, and
/// the rest are not started). Returns the jobs never started.
pub fn run(
    program: &std::path::Path,
    jobs: Vec<Job>,
    parallel: usize,
    stop: &Arc<AtomicBool>,
    observer: &mut dyn Observer,
) -> Vec<Job> {
    let mut queue: VecDeque<Job> = jobs.into();
    let mut running: Vec<(Job, Child, Instant)> = Vec::new();
    let mut asked_to_stop = false;
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        while !stopping && running.len() < parallel.max(1) {
            let Some(job) = queue.pop_front() else { break };
            match spawn(program, &job) {
                Ok(child) => {
                    observer.started(&job, child.id());
                    running.push((job, child, Instant::now()));
                }
                Err(e) => observer.ended(&Ended {
                    index: job.index,
                    status: None,
                    seconds: 0.0,
                    log: job.log.clone(),
                    spawn_error: Some(e.to_string()),
                }),
            }
        }
        if stopping && !asked_to_stop {
            asked_to_stop = true;
            for (_, child, _) in &running {
                interrupt(child);
            }
        }
        if running.is_empty() {
            break;
        }
        let mut i = 0;
        while i < running.len() {
            match running[i].1.try_wait() {
                Ok(Some(status)) => {
                    let (job, _, started) = running.remove(i);
                    observer.ended(&Ended {
                        index: job.index,
                        status: Some(status),
                        seconds: started.elapsed().as_secs_f64(),
                        log: job.log,
                        spawn_error: None,
                    });
                }
                Ok(None) => i += 1,
                Err(e) => {
                    let (job, _, started) = running.remove(i);
                    observer.ended(&Ended {
                        index: job.index,
                        status: None,
                        seconds: started.elapsed().as_secs_f64(),
                        log: job.log,
                        spawn_error: Some(format!("lost track of the process: {e}")),
                    });
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    queue.into()
}

fn spawn(program: &std::path::Path, job: &Job) -> std::io::Result<Child> {
    if let Some(dir) = job.log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&job.log)?;
    let mut command = Command::new(program);
    command
        .args(&job.args)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        // A sweep started in the background by a script inherits SIGINT as
        // ignored, and would pass that on: children start with the default
        // action, so the stop request reaches them.
        // SAFETY: only an async-signal-safe call between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            });
        }
    }
    command.spawn()
}

/// Asks a child to stop after its current step (as Ctrl-C would).
#[cfg(unix)]
fn interrupt(child: &Child) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    if let Ok(pid) = i32::try_from(child.id()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
    }
}

#[cfg(not(unix))]
fn interrupt(_child: &Child) {
    // Without signals the children run to the end; the sweep waits for them.
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Record {
        started: Vec<usize>,
        ended: Vec<(usize, Option<i32>)>,
        most_at_once: usize,
        now: usize,
    }

    impl Observer for Record {
        fn started(&mut self, job: &Job, _pid: u32) {
            self.started.push(job.index);
            self.now += 1;
            self.most_at_once = self.most_at_once.max(self.now);
        }
        fn ended(&mut self, ended: &Ended) {
            self.now = self.now.saturating_sub(1);
            self.ended
                .push((ended.index, ended.status.and_then(|s| s.code())));
        }
    }

    fn job(dir: &std::path::Path, index: usize, script: &str) -> Job {
        Job {
            index,
            args: vec!["-c".into(), script.into()],
            log: dir.join(format!("{index}.log")),
        }
    }

    #[test]
    fn runs_everything_at_most_n_at_once_and_isolates_failures() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = vec![
            job(dir.path(), 0, "sleep 0.3; echo zero"),
            job(dir.path(), 1, "exit 3"),
            job(dir.path(), 2, "sleep 0.2; echo two"),
            job(dir.path(), 3, "kill -9 $$"),
            job(dir.path(), 4, "echo four"),
        ];
        let mut record = Record::default();
        let left = run(
            std::path::Path::new("/bin/sh"),
            jobs,
            2,
            &Arc::new(AtomicBool::new(false)),
            &mut record,
        );
        assert!(left.is_empty());
        assert_eq!(record.started, vec![0, 1, 2, 3, 4]);
        assert_eq!(record.most_at_once, 2);
        let mut ended = record.ended.clone();
        ended.sort();
        assert_eq!(
            ended,
            vec![
                (0, Some(0)),
                (1, Some(3)),
                (2, Some(0)),
                (3, None),
                (4, Some(0))
            ]
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("0.log")).unwrap(),
            "zero\n"
        );
    }

    #[test]
    fn a_stop_interrupts_the_running_and_starts_no_more() {
        let dir = tempfile::tempdir().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let logs = [dir.path().join("0.log"), dir.path().join("1.log")];
        // Stop once both running children have set their trap (under load
        // that can take a while, and an early SIGINT would just kill them).
        let setter = std::thread::spawn(move || {
            let ready =
                |p: &std::path::Path| std::fs::read_to_string(p).is_ok_and(|t| t.contains("ready"));
            while !logs.iter().all(|p| ready(p)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            flag.store(true, Ordering::SeqCst);
        });
        let script = "trap 'echo interrupted; exit 130' INT; echo ready; sleep 20 & wait";
        let jobs = (0..4).map(|i| job(dir.path(), i, script)).collect();
        let mut record = Record::default();
        let left = run(std::path::Path::new("/bin/sh"), jobs, 2, &stop, &mut record);
        setter.join().unwrap();
        assert_eq!(left.iter().map(|j| j.index).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(record.ended.len(), 2);
        // 130 comes only from the trap: the children were interrupted, not waited out.
        assert!(
            record.ended.iter().all(|(_, code)| *code == Some(130)),
            "{:?}",
            record.ended
        );
    }
}
