//! A sweep handed to a real Slurm: a single-node cluster (munged,
//! slurmctld and slurmd as local processes, a minimal slurm.conf in a temp
//! folder, no cgroups) runs a 4-run sweep as a job array with `--submit`;
//! the shards are merged into the main database twice, the second time
//! changing nothing. If the daemons cannot start, the test fails and says
//! why. Needs root and Debian's slurm-wlm and munge (`.ci/run` installs them).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use gan_lab::store::tracker::{RunFilter, RunStatus, Tracker};

use crate::common::*;

const STEPS: u64 = 40;

/// The daemons of a one-node cluster, stopped on drop (also when the test fails).
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
}

fn run(cmd: &mut Command) -> Result<Output, String> {
    cmd.output()
        .map_err(|e| format!("could not run {:?}: {e}", cmd.get_program()))
}

fn must(cmd: &mut Command) -> Result<String, String> {
    let out = run(cmd)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A TCP port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// Starts the three daemons with everything under `dir`; on failure,
    /// says which step failed and shows the end of the daemons' logs.
    fn start(dir: &Path) -> Result<Cluster, String> {
        let cluster = Cluster {
            dir: dir.to_path_buf(),
            conf: dir.join("slurm.conf"),
        };
        cluster
            .boot()
            .map_err(|why| format!("{why}\n{}", cluster.logs()))?;
        Ok(cluster)
    }

    fn boot(&self) -> Result<(), String> {
        let d = &self.dir;
        for program in [
            "munged",
            "mungekey",
            "slurmctld",
            "slurmd",
            "sbatch",
            "squeue",
            "sinfo",
        ] {
            if run(Command::new("which").arg(program))?.status.code() != Some(0) {
                return Err(format!(
                    "`{program}` is not installed: apt-get install -y slurm-wlm munge (.ci/run does this)"
                ));
            }
        }
        let munge = d.join("munge");
        for sub in ["munge", "state", "spool", "log"] {
            std::fs::create_dir_all(d.join(sub)).map_err(|e| format!("mkdir {sub}: {e}"))?;
        }
        // munged refuses a socket folder that others cannot enter.
        must(Command::new("chmod").args(["755"]).arg(d).arg(&munge))?;
        let key = munge.join("munge.key");
        must(Command::new("mungekey").arg("-c").arg("-k").arg(&key))?;
        must(Command::new("chmod").arg("600").arg(&key))?;
        let socket = munge.join("munge.socket");
        must(
            Command::new("munged")
                .arg(format!("--socket={}", socket.display()))
                .arg(format!("--key-file={}", key.display()))
                .arg(format!("--log-file={}", munge.join("munged.log").display()))
                .arg(format!("--pid-file={}", munge.join("munged.pid").display()))
                .arg(format!(
                    "--seed-file={}",
                    munge.join("munged.seed").display()
                )),
        )?;
        let cred = must(Command::new("munge").arg("-S").arg(&socket).arg("-n"))?;
        let mut unmunge = Command::new("unmunge");
        unmunge
            .arg("-S")
            .arg(&socket)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null());
        let mut child = unmunge.spawn().map_err(|e| format!("unmunge: {e}"))?;
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), cred.as_bytes())
            .map_err(|e| format!("unmunge: {e}"))?;
        if !child.wait().map_err(|e| format!("unmunge: {e}"))?.success() {
            return Err("munge credentials do not round-trip (munge | unmunge)".into());
        }

        // The node line copies `slurmd -C` whole.
        let hw = must(Command::new("slurmd").arg("-C"))?;
        let node = hw.lines().next().unwrap_or("").to_string();
        let host = node
            .strip_prefix("NodeName=")
            .and_then(|s| s.split_whitespace().next())
            .ok_or(format!("unexpected `slurmd -C` output: {hw}"))?
            .to_string();
        let conf = format!(
            "ClusterName=ganlabtest\nSlurmctldHost={host}\nSlurmUser=root\nSlurmdUser=root\n\
             SlurmctldPort={}\nSlurmdPort={}\nAuthType=auth/munge\nCredType=cred/munge\n\
             AuthInfo=socket={}\nMpiDefault=none\nMailProg=/bin/true\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n\
             JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\n\
             JobCompType=jobcomp/filetxt\nJobCompLoc={d}/log/jobcomp.txt\n\
             SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\nReturnToService=2\n\
             StateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/log/slurmctld.log\nSlurmdLogFile={d}/log/slurmd.log\n\
             {node} State=UNKNOWN\n\
             PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            free_port(),
            free_port(),
            socket.display(),
            d = d.display(),
        );
        std::fs::write(&self.conf, conf).map_err(|e| format!("writing slurm.conf: {e}"))?;
        must(self.slurm("slurmctld").arg("-c"))?;
        must(&mut self.slurm("slurmd"))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let state = run(self.slurm("sinfo").args(["-h", "-n", &host, "-o", "%T"]))?;
            let state = String::from_utf8_lossy(&state.stdout).trim().to_string();
            if state == "idle" {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "node {host} not idle after 60 s (state: '{state}')"
                ));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// A Slurm command (or daemon) pointed at this cluster's slurm.conf.
    fn slurm(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("SLURM_CONF", &self.conf);
        cmd
    }

    /// The last lines of every daemon log.
    fn logs(&self) -> String {
        let mut text = String::new();
        for log in ["munge/munged.log", "log/slurmctld.log", "log/slurmd.log"] {
            let body = std::fs::read_to_string(self.dir.join(log)).unwrap_or_default();
            let lines: Vec<&str> = body.lines().collect();
            text += &format!(
                "--- {log} (last lines)\n{}\n",
                lines[lines.len().saturating_sub(15)..].join("\n")
            );
        }
        text
    }

    /// Whether job `id` has tasks pending or running.
    fn busy(&self, id: &str) -> bool {
        run(self
            .slurm("squeue")
            .args(["-h", "-j", id, "-t", "PD,R,CG,CF"]))
        .map(|o| !String::from_utf8_lossy(&o.stdout).trim().is_empty())
        .unwrap_or(false)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Ok(out) = run(self.slurm("squeue").args(["-h", "-o", "%A"])) {
            for job in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = run(self.slurm("scancel").arg(job));
            }
        }
        for pidfile in ["slurmd.pid", "slurmctld.pid", "munge/munged.pid"] {
            let Ok(pid) = std::fs::read_to_string(self.dir.join(pidfile)) else {
                continue;
            };
            let pid = pid.trim().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let proc = PathBuf::from(format!("/proc/{pid}"));
            let deadline = Instant::now() + Duration::from_secs(10);
            while proc.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            if proc.exists() {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
            }
        }
    }
}

fn sweep_files(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("base.ron"),
        format!(
            "(name: \"base\", variant: Vanilla(arch: Mlp, loss: NonSaturating),\n \
             train: (steps: {STEPS}, batch_size: 8),\n \
             samples: (every: {STEPS}), checkpoint: (every: {STEPS}),\n \
             eval: (every: {STEPS}, samples: 100, metrics: [Fid]))\n"
        ),
    )
    .unwrap();
    let sweep = dir.join("sweep.ron");
    std::fs::write(
        &sweep,
        "(name: \"lr\", base: \"base.ron\",\n \
         grid: {\"train.lr_d\": [1e-4, 1e-3]},\n \
         seeds: [1, 2],\n \
         score: \"fid\")\n",
    )
    .unwrap();
    sweep
}

/// Every row the merge writes, as text: runs, metrics, artifacts, tags, sweeps.
fn contents(db: &Path) -> Vec<String> {
    let t = Tracker::open_read_only(db).unwrap();
    let mut lines = Vec::new();
    for run in t.list_runs(&RunFilter::default()).unwrap() {
        lines.push(format!("{run:?}"));
        for (key, _) in t
            .latest_metrics(&run.id)
            .unwrap()
            .iter()
            .map(|m| (m.key.clone(), ()))
        {
            lines.push(format!(
                "{} {key} {:?}",
                run.id,
                t.metric_series(&run.id, &key).unwrap()
            ));
        }
        lines.push(format!("{:?}", t.artifacts(&run.id).unwrap()));
        lines.push(format!("{:?}", t.tags(&run.id).unwrap()));
    }
    lines.push(format!("{:?}", t.sweep("lr").unwrap()));
    lines
}

#[test]
fn a_sweep_runs_as_a_slurm_job_array_and_merges_back() {
    let started = Instant::now();
    let lab = Lab::with_fake_data(400);
    let sweep = sweep_files(lab.path());
    let spec = sweep.to_str().unwrap();
    let cluster = match Cluster::start(&lab.path().join("slurm")) {
        Ok(c) => c,
        Err(why) => panic!("the Slurm daemons could not start here: {why}"),
    };
    eprintln!("slurm up in {:.1} s", started.elapsed().as_secs_f64());

    // The script first, without submitting.
    let script = lab.ok(&["sweep", spec, "--slurm", "--max-parallel", "2", "--dry-run"]);
    assert!(script.contains("#SBATCH --array=0-3%2\n"), "{script}");
    assert!(script.contains("sweep-task"), "{script}");

    let out = lab
        .process(&["sweep", spec, "--slurm", "--max-parallel", "2", "--submit"])
        .env("SLURM_CONF", &cluster.conf)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job = text
        .split("submitted job array ")
        .nth(1)
        .and_then(|s| s.split(':').next())
        .unwrap_or_else(|| panic!("no job id in: {text}"))
        .to_string();
    assert!(text.contains("gan-lab --db"), "{text}");

    let shards = lab.path().join("runs/shards/lr");
    let deadline = Instant::now() + Duration::from_secs(600);
    while cluster.busy(&job) {
        assert!(
            Instant::now() < deadline,
            "the array did not finish in 10 min\n{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("array done at {:.1} s", started.elapsed().as_secs_f64());
    let mut task_logs = String::new();
    for entry in std::fs::read_dir(shards.join("logs")).unwrap() {
        let path = entry.unwrap().path();
        task_logs += &format!(
            "--- {}\n{}\n",
            path.display(),
            std::fs::read_to_string(&path).unwrap_or_default()
        );
    }
    // Each task's log holds plain progress lines (its stderr is a file).
    assert!(
        task_logs
            .matches(&format!("step {STEPS}/{STEPS} (100%)"))
            .count()
            == 4,
        "{task_logs}"
    );

    let status = lab
        .process(&["sweep", spec, "--status"])
        .env("SLURM_CONF", &cluster.conf)
        .output()
        .unwrap();
    let status_text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(status.status.success(), "{status_text}\n{task_logs}");
    assert!(
        status_text.contains("4 task(s): 4 finished"),
        "{status_text}"
    );
    for i in 0..4 {
        assert!(shards.join(format!("{i}.sqlite")).is_file(), "{task_logs}");
    }

    let merged = lab.ok(&["merge", shards.to_str().unwrap()]);
    assert!(
        merged.contains("4 shard(s) into")
            && merged.contains("4 run(s) added, 0 updated, 0 unchanged"),
        "{merged}"
    );
    let tracker = lab.tracker();
    let runs = tracker
        .list_runs(&RunFilter {
            sweep_id: Some("lr".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(runs.len(), 4);
    for run in &runs {
        assert_eq!(run.status, RunStatus::Finished, "{}", run.name);
        let steps: Vec<u64> = tracker
            .metric_series(&run.id, "loss_d")
            .unwrap()
            .iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(steps, (1..=STEPS).collect::<Vec<_>>(), "{}", run.name);
        let fid = tracker.metric_series(&run.id, "fid").unwrap();
        assert_eq!(fid.len(), 1, "{}", run.name);
        assert!(fid[0].1.is_finite(), "{}", run.name);
        // The samples stay beside the shard, reachable from the main database.
        let folder = gan_lab::store::layout::run_folder(&lab.db(), &run.run_dir).unwrap();
        assert!(folder.starts_with(&shards), "{}", folder.display());
        for artifact in tracker.artifacts(&run.id).unwrap() {
            if artifact.kind == "samples" {
                assert!(folder.join(&artifact.path).is_file(), "{}", artifact.path);
            }
        }
    }
    drop(tracker);
    // The same names as a local sweep plans.
    let plan = lab.ok(&["sweep", spec, "--dry-run"]);
    assert!(plan.contains("4 done"), "{plan}");

    let before = contents(&lab.db());
    let again = lab.ok(&["merge", shards.to_str().unwrap()]);
    assert!(
        again.contains("0 run(s) added, 0 updated, 4 unchanged"),
        "{again}"
    );
    assert_eq!(contents(&lab.db()), before);

    let report = lab.ok(&["report", "--sweep", "lr", "--out", "report"]);
    assert!(report.contains("report written to"), "{report}");
    let page = std::fs::read_to_string(lab.path().join("report/index.html")).unwrap();
    for run in &runs {
        assert!(
            page.contains(&run.name),
            "{} missing in the report",
            run.name
        );
    }
    if let Ok(keep) = std::env::var("GAN_LAB_KEEP_SLURM_REPORT") {
        let _ = std::fs::copy(lab.path().join("report/index.html"), keep);
    }
    drop(cluster);
    eprintln!(
        "slurm test wall time: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
