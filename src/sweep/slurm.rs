//! Handing a sweep to Slurm: the sbatch script of a job array (one array
//! task per run of the plan, each `gan-lab sweep-task SPEC --index I`
//! writing its own database shard), submitting it, and reading what
//! `squeue` and `sacct` know about its tasks.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The resources asked for each array task, as sbatch options.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    pub time: Option<String>,
    pub cpus_per_task: Option<u32>,
    pub mem: Option<String>,
    pub gres: Option<String>,
    /// At most this many tasks at once (`%K`).
    pub max_parallel: Option<usize>,
}

/// Everything the script needs besides the resources.
#[derive(Debug, Clone)]
pub struct Job<'a> {
    pub sweep: &'a str,
    /// The array indices (runs of the plan).
    pub indices: &'a [usize],
    /// The Slurm output files' folder.
    pub logs: &'a Path,
    /// The folder each task starts in.
    pub workdir: &'a Path,
    /// `gan-lab` and its arguments, up to the index.
    pub command: Vec<OsString>,
}

/// The job name of sweep `sweep`'s arrays (for `squeue --name`).
pub fn job_name(sweep: &str) -> String {
    format!("gan-lab-{sweep}")
}

/// `0-7`, or `1,4-5` for a subset: consecutive indices as ranges.
pub fn array_spec(indices: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end = indices[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// A value of an `#SBATCH` directive: sbatch reads these lines with its own
/// parser, not a shell, so a plain value (the `%A`/`%a` log patterns
/// included) stays as it is; any other is single-quoted.
fn directive_value(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// A word of the script's shell lines, quoted by `shlex` where bash needs it.
fn shell_word(word: &str) -> String {
    // NUL, the one byte shlex refuses, cannot be in a path or an argument.
    let word = word.replace('\0', "");
    shlex::try_quote(&word)
        .expect("no NUL is left to refuse")
        .into_owned()
}

/// The sbatch script of the job array.
pub fn script(job: &Job, options: &SlurmOptions) -> String {
    let mut array = array_spec(job.indices);
    if let Some(k) = options.max_parallel {
        array += &format!("%{k}");
    }
    let mut lines = vec![
        "#!/bin/bash".to_string(),
        format!(
            "#SBATCH --job-name={}",
            directive_value(&job_name(job.sweep))
        ),
        format!("#SBATCH --array={array}"),
        format!(
            "#SBATCH --output={}",
            directive_value(&job.logs.join("slurm-%A_%a.out").to_string_lossy())
        ),
    ];
    let mut option = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            lines.push(format!("#SBATCH --{name}={}", directive_value(&v)));
        }
    };
    option("partition", options.partition.clone());
    option("time", options.time.clone());
    option(
        "cpus-per-task",
        options.cpus_per_task.map(|n| n.to_string()),
    );
    option("mem", options.mem.clone());
    option("gres", options.gres.clone());
    let command: Vec<String> = job
        .command
        .iter()
        .map(|a| shell_word(&a.to_string_lossy()))
        .collect();
    lines.extend([
        String::new(),
        format!(
            "# gan-lab sweep '{}': one array task per run of the plan. Each task trains",
            job.sweep
        ),
        "# its run into its own database shard (runs/shards/<sweep>/<index>.sqlite);".into(),
        "# merge them afterwards with `gan-lab merge runs/shards/<sweep>`.".into(),
        "set -euo pipefail".into(),
        format!("cd {}", shell_word(&job.workdir.to_string_lossy())),
        format!(
            "exec {} --index \"$SLURM_ARRAY_TASK_ID\"",
            command.join(" ")
        ),
    ]);
    lines.join("\n") + "\n"
}

/// Why Slurm could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error(
        "could not run `{program}`; is Slurm installed here (run this on the cluster's login node)?"
    )]
    Missing {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`sbatch {}` failed ({status}): {stderr}", script.display())]
    Sbatch {
        script: PathBuf,
        status: std::process::ExitStatus,
        stderr: String,
    },
}

pub type Result<T, E = SlurmError> = std::result::Result<T, E>;

/// Submits `script` with `sbatch --parsable`; returns the job id.
pub fn submit(script: &Path) -> Result<String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .arg(script)
        .output()
        .map_err(|source| SlurmError::Missing {
            program: "sbatch".into(),
            source,
        })?;
    if !output.status.success() {
        return Err(SlurmError::Sbatch {
            script: script.to_path_buf(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    // `123` or `123;cluster`.
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text.trim().split(';').next().unwrap_or("").to_string())
}

/// What the scheduler says about the array tasks of sweep `sweep`, by
/// index: Slurm's state name (PENDING, RUNNING, COMPLETED, FAILED,
/// TIMEOUT, ...). `squeue` (which remembers ended tasks a few minutes) and,
/// where accounting runs, `sacct`; empty when neither answers. sacct's
/// newer answer wins.
pub fn task_states(sweep: &str) -> BTreeMap<usize, String> {
    let name = job_name(sweep);
    let mut states = BTreeMap::new();
    let sacct = run_lines(
        "sacct",
        &["-n", "-P", "-X", "--name", &name, "-o", "JobID,State"],
    );
    let squeue = run_lines(
        "squeue",
        &["-h", "-r", "-t", "all", "--name", &name, "-o", "%i|%T"],
    );
    // sacct lists old arrays too, oldest first: later lines overwrite.
    for line in sacct.iter().chain(squeue.iter()) {
        if let Some((index, state)) = parse_task_line(line) {
            states.insert(index, state);
        }
    }
    states
}

/// `1234_5|RUNNING` (or sacct's `1234_5|CANCELLED by 0`) to `(5, "RUNNING")`.
pub fn parse_task_line(line: &str) -> Option<(usize, String)> {
    let (id, state) = line.trim().split_once('|')?;
    let index = id.split_once('_')?.1.parse().ok()?;
    let state = state.split_whitespace().next()?.to_string();
    Some((index, state))
}

fn run_lines(program: &str, args: &[&str]) -> Vec<String> {
    match Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_are_written_as_ranges() {
        assert_eq!(array_spec(&[0, 1, 2, 3]), "0-3");
        assert_eq!(array_spec(&[1, 4, 5, 9]), "1,4-5,9");
        assert_eq!(array_spec(&[7]), "7");
    }

    #[test]
    fn the_script_holds_the_array_the_resources_and_the_task_command() {
        let job = Job {
            sweep: "lr",
            indices: &[0, 1, 2, 3],
            logs: Path::new("/home/me/runs/shards/lr/logs"),
            workdir: Path::new("/home/me/my lab"),
            command: vec![
                "/opt/gan-lab".into(),
                "sweep-task".into(),
                "/home/me/sweep.ron".into(),
            ],
        };
        let options = SlurmOptions {
            partition: Some("gpu".into()),
            time: Some("01:00:00".into()),
            cpus_per_task: Some(4),
            mem: Some("8G".into()),
            gres: Some("gpu:1".into()),
            max_parallel: Some(2),
        };
        let text = script(&job, &options);
        for line in [
            "#!/bin/bash\n",
            "#SBATCH --job-name=gan-lab-lr\n",
            "#SBATCH --array=0-3%2\n",
            "#SBATCH --output=/home/me/runs/shards/lr/logs/slurm-%A_%a.out\n",
            "#SBATCH --partition=gpu\n",
            "#SBATCH --time=01:00:00\n",
            "#SBATCH --cpus-per-task=4\n",
            "#SBATCH --mem=8G\n",
            "#SBATCH --gres=gpu:1\n",
            "cd '/home/me/my lab'\n",
            "exec /opt/gan-lab sweep-task /home/me/sweep.ron --index \"$SLURM_ARRAY_TASK_ID\"\n",
        ] {
            assert!(text.contains(line), "{line:?} missing in:\n{text}");
        }
        let bare = script(&job, &SlurmOptions::default());
        assert!(bare.contains("#SBATCH --array=0-3\n"), "{bare}");
        assert!(!bare.contains("--partition"), "{bare}");
    }

    #[test]
    fn queue_lines_are_read_by_index() {
        assert_eq!(
            parse_task_line("1234_5|RUNNING"),
            Some((5, "RUNNING".into()))
        );
        assert_eq!(
            parse_task_line("77_0|CANCELLED by 0"),
            Some((0, "CANCELLED".into()))
        );
        // The array's own line, before it is split into tasks.
        assert_eq!(parse_task_line("1234_[0-3%2]|PENDING"), None);
        assert_eq!(parse_task_line("garbage"), None);
    }
}
