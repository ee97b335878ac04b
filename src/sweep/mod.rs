//! `gan-lab sweep`: many runs from one sweep spec, trained in parallel
//! processes, tracked under one sweep id, resumable.
//!
//! The flow: [`spec`] expands the file into planned runs; [`plan`] matches
//! them with the database (by configuration hash) to decide what each needs;
//! [`pool`] runs `gan-lab run ... --sweep ID` or `gan-lab resume RUN` child
//! processes; [`rank`] orders the configurations for the summary. Each run
//! applies the [`stopping`] rule itself, reading the other runs' scores from
//! the shared database. `values` gives the swept parameters their values
//! (grid points, random draws); `output` is what a sweep prints; [`shards`]
//! and [`slurm`] hand a sweep to Slurm as a job array.
//!
//! May import: `util`, `spec`, `store`, `eval` (the scores a sweep ranks by),
//! `train` (the stopping rule is the runner's [`EarlyStop`](crate::train::runner::EarlyStop)),
//! and the commands' shared settings (`context`, `device`). Never `report`
//! or `commands`.

mod output;
pub mod plan;
pub mod pool;
pub mod rank;
pub mod shards;
pub mod slurm;
pub mod spec;
pub mod stopping;
mod values;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::context::Context;
use crate::store::tracker::{SweepRecord, Tracker};
use output::{Printer, headline, plan_table, summary};
use plan::{Action, Step};
use spec::Sweep;

/// Why a sweep could not run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Spec(#[from] spec::SweepSpecError),
    #[error(transparent)]
    Tracker(#[from] crate::store::tracker::TrackerError),
    #[error(transparent)]
    Scoring(#[from] crate::eval::scoring::ScoringError),
    #[error(transparent)]
    Path(#[from] crate::util::paths::PathError),
    #[error(transparent)]
    Slurm(#[from] slurm::SlurmError),
    /// Another process runs this sweep.
    #[error("{0}")]
    Busy(String),
    #[error("could not write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl SweepError {
    /// Whether the user can fix it (the spec, the database, a busy sweep).
    pub fn is_user_error(&self) -> bool {
        match self {
            SweepError::Spec(_)
            | SweepError::Path(_)
            | SweepError::Busy(_)
            | SweepError::Slurm(_) => true,
            SweepError::Tracker(e) => e.is_user_error(),
            SweepError::Scoring(e) => e.is_user_error(),
            SweepError::Io { .. } => false,
        }
    }
}

pub type Result<T, E = SweepError> = std::result::Result<T, E>;

/// How `gan-lab sweep` runs.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Runs trained at once.
    pub jobs: usize,
    /// Print the plan only.
    pub dry_run: bool,
    /// Start failed runs again.
    pub retry_failed: bool,
}

/// How a sweep invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepOutcome {
    /// Every run is done (finished or stopped early), or the plan was printed.
    Complete,
    /// Some runs failed, are still running elsewhere, or were never started.
    Incomplete,
    /// Stopped by Ctrl-C; running children were checkpointed.
    Interrupted,
}

/// `gan-lab sweep SPEC`: plans, trains what is missing, and summarises.
pub fn sweep(
    ctx: &Context,
    path: &Path,
    options: &SweepOptions,
    out: &mut dyn Write,
) -> Result<SweepOutcome> {
    let sweep = spec::load(path)?;
    let tracker = Tracker::open(&ctx.db)?;
    let steps = plan::plan(&tracker, &sweep, options.retry_failed)?;
    let name = &sweep.spec.name;
    let io = |source| SweepError::Io {
        path: PathBuf::from("<stdout>"),
        source,
    };
    writeln!(out, "{}", headline(&sweep, &steps)).map_err(io)?;
    if options.dry_run {
        write!(out, "{}", plan_table(&sweep, &steps)).map_err(io)?;
        writeln!(out, "dry run: nothing was trained or recorded").map_err(io)?;
        return Ok(SweepOutcome::Complete);
    }
    // The spec's name passed paths::component when the spec was read.
    let folder = crate::util::paths::component(name)?;
    let logs = crate::store::layout::db_folder(&ctx.db)
        .join("sweeps")
        .join(folder);
    let _lock = SweepLock::take(&logs)?;
    tracker.upsert_sweep(&record(&sweep))?;

    let jobs: Vec<pool::Job> = steps
        .iter()
        .filter(|s| s.action.needs_work())
        .map(|s| pool::Job {
            index: s.run.index,
            args: child_args(ctx, &sweep, s),
            log: logs.join(format!("run-{:03}.log", s.run.index)),
        })
        .collect();
    if !jobs.is_empty() {
        crate::eval::scoring::ensure_evaluator(ctx)?;
        writeln!(
            out,
            "training {} run(s), {} at a time; logs in {}",
            jobs.len(),
            options.jobs.max(1),
            logs.display()
        )
        .map_err(io)?;
    }
    let program = std::env::current_exe().map_err(|source| SweepError::Io {
        path: PathBuf::from("<the gan-lab executable>"),
        source,
    })?;
    let mut observer = Printer {
        out,
        tracker: &tracker,
        sweep: &sweep,
        total: jobs.len(),
        done: 0,
    };
    let left = pool::run(&program, jobs, options.jobs, &ctx.stop, &mut observer);

    let steps = plan::plan(&tracker, &sweep, false)?;
    write!(out, "\n{}", summary(&tracker, &sweep, &steps)?).map_err(io)?;
    let interrupted = ctx.stop.load(std::sync::atomic::Ordering::SeqCst);
    if interrupted {
        writeln!(
            out,
            "interrupted: {} run(s) not started; run the same command again to continue",
            left.len()
        )
        .map_err(io)?;
        return Ok(SweepOutcome::Interrupted);
    }
    let complete = steps.iter().all(|s| s.action == Action::Done);
    Ok(if complete {
        SweepOutcome::Complete
    } else {
        SweepOutcome::Incomplete
    })
}

/// The sweep's entry in the sweep registry.
pub fn record(sweep: &Sweep) -> SweepRecord {
    SweepRecord {
        id: sweep.spec.name.clone(),
        spec_text: sweep.text.clone(),
        score: sweep.spec.score.clone(),
        lower_is_better: sweep.lower_is_better,
        stopping: sweep
            .spec
            .stopping
            .as_ref()
            .map(|r| serde_json::to_string(r).expect("a rule serialises")),
        created_at: 0.0,
        updated_at: 0.0,
    }
}

/// How `gan-lab sweep --slurm` hands the sweep to Slurm.
#[derive(Debug, Clone, Default)]
pub struct SlurmRequest {
    pub options: slurm::SlurmOptions,
    /// Only the runs whose task failed or never ran.
    pub retry_failed: bool,
    /// Print the script only.
    pub dry_run: bool,
    /// Submit it with sbatch.
    pub submit: bool,
}

/// `gan-lab sweep SPEC --slurm`: writes the sbatch script of a job array
/// (one task per run of the plan, or per failed run with `retry_failed`)
/// beside the shards, and submits it.
pub fn slurm(
    ctx: &Context,
    path: &Path,
    request: &SlurmRequest,
    out: &mut dyn Write,
) -> Result<()> {
    let sweep = spec::load(path)?;
    let name = &sweep.spec.name;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SweepError::Io { path, source }
    };
    let stdout = Path::new("<stdout>");
    let indices: Vec<usize> = if request.retry_failed {
        let states = slurm::task_states(name);
        shards::status(&ctx.db, &sweep, &states)?
            .iter()
            .filter(|t| t.state.needs_retry())
            .map(|t| t.index)
            .collect()
    } else {
        (0..sweep.runs.len()).collect()
    };
    if indices.is_empty() {
        writeln!(
            out,
            "sweep '{name}': no task failed or is missing; nothing to submit (see `gan-lab sweep {} --status`)",
            path.display()
        )
        .map_err(io(stdout))?;
        return Ok(());
    }
    let folder = absolute(&crate::store::layout::shard_folder(&ctx.db, name)?)?;
    let logs = folder.join("logs");
    let workdir = absolute(Path::new("."))?;
    let program = std::env::current_exe().map_err(io(Path::new("<the gan-lab executable>")))?;
    let mut command: Vec<OsString> = vec![program.into(), "--db".into(), absolute(&ctx.db)?.into()];
    if let Some(dir) = ctx.data_dir.clone().or_else(crate::data::env_dir) {
        command.extend(["--data-dir".into(), absolute(&dir)?.into()]);
    }
    command.extend([
        "--cache-dir".into(),
        absolute(&ctx.cache)?.into(),
        "sweep-task".into(),
        absolute(path)?.into(),
        "--device".into(),
        ctx.device.to_string().into(),
    ]);
    if request.retry_failed {
        command.push("--retry-failed".into());
    }
    let job = slurm::Job {
        sweep: name,
        indices: &indices,
        logs: &logs,
        workdir: &workdir,
        command,
    };
    let text = slurm::script(&job, &request.options);
    if request.dry_run {
        write!(out, "{text}").map_err(io(stdout))?;
        writeln!(out, "# dry run: nothing was written or submitted").map_err(io(stdout))?;
        return Ok(());
    }
    std::fs::create_dir_all(&logs).map_err(io(&logs))?;
    let script = folder.join(if request.retry_failed {
        "retry.sbatch"
    } else {
        "sweep.sbatch"
    });
    std::fs::write(&script, &text).map_err(io(&script))?;
    // Tasks would each train the evaluator at once: train it here first.
    if sweep.runs.iter().any(|r| r.spec.eval.is_some()) {
        crate::eval::scoring::ensure_evaluator(ctx)?;
    }
    let spec_arg = path.display();
    let db = ctx.db.display();
    if request.submit {
        let id = slurm::submit(&script)?;
        writeln!(
            out,
            "submitted job array {id}: {} task(s) of sweep '{name}' (array {}), script {}\n\
             watch:  gan-lab --db {db} sweep {spec_arg} --status   (or squeue -j {id})\n\
             merge:  gan-lab --db {db} merge {}\n\
             report: gan-lab --db {db} report --sweep {name}",
            indices.len(),
            slurm::array_spec(&indices),
            script.display(),
            folder.display()
        )
        .map_err(io(stdout))?;
    } else {
        writeln!(
            out,
            "wrote {} ({} task(s) of sweep '{name}'); submit it with: sbatch {}",
            script.display(),
            indices.len(),
            script.display()
        )
        .map_err(io(stdout))?;
    }
    Ok(())
}

/// `gan-lab sweep SPEC --status`: each run's task, from the shards, the
/// main database and Slurm.
pub fn status(ctx: &Context, path: &Path, out: &mut dyn Write) -> Result<Vec<shards::TaskStatus>> {
    let sweep = spec::load(path)?;
    let states = slurm::task_states(&sweep.spec.name);
    let tasks = shards::status(&ctx.db, &sweep, &states)?;
    let io = |source| SweepError::Io {
        path: PathBuf::from("<stdout>"),
        source,
    };
    writeln!(
        out,
        "sweep '{}': {} run(s); shards in {}{}",
        sweep.spec.name,
        sweep.runs.len(),
        crate::store::layout::shard_folder(&ctx.db, &sweep.spec.name)?.display(),
        if states.is_empty() {
            " (squeue/sacct know no task of it)"
        } else {
            ""
        }
    )
    .map_err(io)?;
    write!(out, "{}", shards::render(&tasks)).map_err(io)?;
    Ok(tasks)
}

fn absolute(path: &Path) -> Result<PathBuf> {
    let resolved = crate::util::paths::resolve(path);
    if resolved.is_absolute() {
        return Ok(resolved);
    }
    Err(SweepError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other("the current folder cannot be read"),
    })
}

/// One `gan-lab sweep` per sweep at a time: a lock file holding the pid,
/// taken over when that process is gone, removed when the sweep ends.
struct SweepLock {
    path: PathBuf,
}

impl SweepLock {
    fn take(folder: &Path) -> Result<SweepLock> {
        let path = folder.join("lock");
        let io = |source| SweepError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(folder).map_err(io)?;
        if let Ok(text) = std::fs::read_to_string(&path)
            && let Ok(pid) = text.trim().parse::<u32>()
            && pid != std::process::id()
            && crate::util::process::is_alive(pid)
        {
            return Err(SweepError::Busy(format!(
                "this sweep is already running in process {pid} (lock file {}); wait for it, or stop it with Ctrl-C",
                path.display()
            )));
        }
        std::fs::write(&path, std::process::id().to_string()).map_err(io)?;
        Ok(SweepLock { path })
    }
}

impl Drop for SweepLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The arguments of the child process for one step.
fn child_args(ctx: &Context, sweep: &Sweep, step: &Step) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--quiet".into(), "--db".into(), ctx.db.clone().into()];
    // A GAN_LAB_DATA given relative is passed on resolved, like every path.
    if let Some(dir) = ctx.data_dir.clone().or_else(crate::data::env_dir) {
        args.extend(["--data-dir".into(), dir.into()]);
    }
    args.extend(["--cache-dir".into(), ctx.cache.clone().into()]);
    if let Some(dir) = &ctx.evaluator {
        args.extend(["--evaluator".into(), dir.clone().into()]);
    }
    match (&step.action, &step.record) {
        (Action::Resume, Some(record)) => {
            args.extend(["resume".into(), record.id.clone().into()]);
        }
        _ => {
            args.extend(["run".into(), sweep.base.clone().into()]);
            for o in &step.run.overrides {
                args.extend(["--set".into(), o.into()]);
            }
            args.extend(["--sweep".into(), sweep.spec.name.clone().into()]);
            args.extend(["--device".into(), ctx.device.to_string().into()]);
        }
    }
    args
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_lock_refuses_a_live_owner_and_takes_over_from_a_dead_one() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("lock");
        let mut owner = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        std::fs::write(&lock, owner.id().to_string()).unwrap();
        let err = SweepLock::take(dir.path()).err().expect("a live owner");
        assert!(err.to_string().contains("already running"), "{err}");
        owner.kill().unwrap();
        owner.wait().unwrap();
        let taken = SweepLock::take(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&lock).unwrap(),
            std::process::id().to_string()
        );
        drop(taken);
        assert!(!lock.exists(), "released at the end");
    }
}
