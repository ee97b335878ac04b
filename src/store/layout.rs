//! Where things live: the database's folder, a run's folder beside it, and
//! every path inside a run folder (sample grids, checkpoints, their state
//! files). Runner, sinks, commands, report and sweep all ask this module.

use std::path::{Path, PathBuf};

use crate::util::paths::{self, PathError};

/// The folder that holds the database (and, inside it, the run folders).
pub fn db_folder(db: &Path) -> PathBuf {
    db.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The folder of a run from its stored `run_dir` (relative to the
/// database's folder), refused when the stored text would lead outside it.
pub fn run_folder(db: &Path, run_dir: &str) -> Result<PathBuf, PathError> {
    paths::join_inside(&db_folder(db), run_dir)
}

/// The folder of sweep `sweep`'s database shards, one per Slurm array
/// task: `<db folder>/shards/<sweep>/`, with the run folders beside them.
pub fn shard_folder(db: &Path, sweep: &str) -> Result<PathBuf, PathError> {
    Ok(db_folder(db).join("shards").join(paths::component(sweep)?))
}

/// The database shard of run `index` of sweep `sweep`: `<db folder>/shards/<sweep>/<index>.sqlite`.
pub fn shard(db: &Path, sweep: &str, index: usize) -> Result<PathBuf, PathError> {
    Ok(shard_folder(db, sweep)?.join(format!("{index}.sqlite")))
}

/// For a shard (`.../shards/<sweep>/<index>.sqlite`), the folder that holds
/// it and the other shards of its sweep; `None` for any other database.
pub fn shard_siblings(db: &Path) -> Option<PathBuf> {
    let folder = db.parent()?;
    let is_index =
        db.extension()? == "sqlite" && db.file_stem()?.to_str()?.parse::<usize>().is_ok();
    (is_index && folder.parent()?.file_name()? == "shards").then(|| folder.to_path_buf())
}

/// Which checkpoint of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checkpoint {
    /// The newest one, written on cadence, on Ctrl-C and at the end.
    Last,
    /// The one with the best primary score so far.
    Best,
    /// The one of this step, kept by `checkpoint.keep_every` (or the last or
    /// best one when it is of this step).
    Step(u64),
}

/// The paths inside one run folder.
#[derive(Clone, Debug)]
pub struct RunLayout {
    pub root: PathBuf,
}

const STATE_FILE: &str = "state.json";
/// Kept checkpoints are `checkpoints/step-NNNNNN`.
const KEPT_PREFIX: &str = "step-";

impl RunLayout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The layout of a recorded run, from its stored `run_dir`.
    pub fn of(db: &Path, run_dir: &str) -> Result<Self, PathError> {
        Ok(Self::new(run_folder(db, run_dir)?))
    }

    /// The sample grid of `step`, relative to the run folder (as recorded).
    pub fn sample_rel(step: u64) -> String {
        format!("samples/step-{step:06}.png")
    }

    pub fn sample(&self, step: u64) -> PathBuf {
        self.root.join(Self::sample_rel(step))
    }

    /// A checkpoint folder relative to the run folder (as recorded).
    pub fn checkpoint_rel(which: Checkpoint) -> String {
        match which {
            Checkpoint::Last => "checkpoints/last".into(),
            Checkpoint::Best => "checkpoints/best".into(),
            Checkpoint::Step(step) => format!("checkpoints/{KEPT_PREFIX}{step:06}"),
        }
    }

    pub fn checkpoint(&self, which: Checkpoint) -> PathBuf {
        self.root.join(Self::checkpoint_rel(which))
    }

    /// Where a kept checkpoint is assembled before it is renamed into place.
    pub fn kept_incoming(&self) -> PathBuf {
        self.root.join("checkpoints/kept-incoming")
    }

    /// The steps of the complete checkpoints of a run, each with the folder
    /// that holds it: `last`, `best` and the kept ones, by step (a step held
    /// by several names once, preferring a kept folder, then last).
    pub fn checkpoints_by_step(&self) -> Vec<(u64, PathBuf)> {
        let mut found: Vec<(u64, PathBuf)> = Vec::new();
        if let Ok(entries) = std::fs::read_dir(self.root.join("checkpoints")) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let Some(step) = name.strip_prefix(KEPT_PREFIX) else {
                    continue;
                };
                if let (Ok(step), Some(state_step)) =
                    (step.parse::<u64>(), Self::checkpoint_step(&entry.path()))
                    && step == state_step
                {
                    found.push((step, entry.path()));
                }
            }
        }
        for which in [Checkpoint::Last, Checkpoint::Best] {
            let dir = self.checkpoint(which);
            if let Some(step) = Self::checkpoint_step(&dir)
                && !found.iter().any(|(s, _)| *s == step)
            {
                found.push((step, dir));
            }
        }
        found.sort_by_key(|(step, _)| *step);
        found
    }

    /// Where a new last checkpoint is written before it is swapped in.
    pub fn incoming(&self) -> PathBuf {
        self.root.join("checkpoints/incoming")
    }

    /// Where the previous last checkpoint waits while the new one is swapped in.
    pub fn previous(&self) -> PathBuf {
        self.root.join("checkpoints/previous")
    }

    /// Where a new best checkpoint is assembled.
    pub fn best_incoming(&self) -> PathBuf {
        self.root.join("checkpoints/best-incoming")
    }

    /// The state file (step, seed, score) of a checkpoint folder.
    pub fn state_file(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// The state of a checkpoint folder, if it is complete.
    pub fn state(dir: &Path) -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(Self::state_file(dir)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// The step of a checkpoint folder.
    pub fn checkpoint_step(dir: &Path) -> Option<u64> {
        Self::state(dir)?.get("step")?.as_u64()
    }

    /// The score of the best checkpoint so far.
    pub fn best_score(&self) -> Option<f64> {
        Self::state(&self.checkpoint(Checkpoint::Best))?
            .get("score")?
            .as_f64()
    }

    /// The newest complete checkpoint and its step (the previous one counts
    /// when a crash came between the two renames of a swap).
    pub fn last_checkpoint(&self) -> Option<(PathBuf, u64)> {
        [self.checkpoint(Checkpoint::Last), self.previous()]
            .into_iter()
            .find_map(|dir| {
                let step = Self::checkpoint_step(&dir)?;
                Some((dir, step))
            })
    }
}
