//! Ranking a sweep's configurations by their score: the mean over seeds of
//! each run's final score, with the spread. Used by the end-of-sweep summary
//! and by the report.

use crate::store::tracker::RunStatus;

/// One run's contribution: its configuration, status and final score.
#[derive(Debug, Clone, PartialEq)]
pub struct RunScore {
    /// The swept values that make the configuration, `(path, value)`.
    pub values: Vec<(String, String)>,
    pub status: RunStatus,
    /// The score at the run's last evaluation, if it had one.
    pub score: Option<f64>,
}

/// A configuration, ranked.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigRank {
    pub values: Vec<(String, String)>,
    pub runs: usize,
    /// Runs that finished all their steps.
    pub finished: usize,
    /// Runs the median rule stopped.
    pub stopped: usize,
    pub mean: Option<f64>,
    /// Population standard deviation over the runs with a score.
    pub std: Option<f64>,
    pub scored: usize,
}

impl ConfigRank {
    /// `2/2 finished`, or `1/2 finished, 1 stopped early`.
    pub fn runs_summary(&self) -> String {
        let mut text = format!("{}/{} finished", self.finished, self.runs);
        if self.stopped > 0 {
            text += &format!(", {} stopped early", self.stopped);
        }
        text
    }

    /// Whether every run of the configuration finished.
    pub fn complete(&self) -> bool {
        self.finished == self.runs
    }
}

/// Configurations ranked: complete ones first, by mean score (best first);
/// then configurations with stopped or unfinished runs; unscored last.
pub fn rank(runs: &[RunScore], lower_is_better: bool) -> Vec<ConfigRank> {
    let mut configs: Vec<ConfigRank> = Vec::new();
    let mut scores: Vec<Vec<f64>> = Vec::new();
    for run in runs {
        let i = match configs.iter().position(|c| c.values == run.values) {
            Some(i) => i,
            None => {
                configs.push(ConfigRank {
                    values: run.values.clone(),
                    runs: 0,
                    finished: 0,
                    stopped: 0,
                    mean: None,
                    std: None,
                    scored: 0,
                });
                scores.push(Vec::new());
                configs.len() - 1
            }
        };
        let c = &mut configs[i];
        c.runs += 1;
        c.finished += usize::from(run.status == RunStatus::Finished);
        c.stopped += usize::from(run.status == RunStatus::Stopped);
        if let Some(s) = run.score.filter(|s| s.is_finite()) {
            scores[i].push(s);
        }
    }
    for (c, s) in configs.iter_mut().zip(&scores) {
        c.scored = s.len();
        if !s.is_empty() {
            let n = s.len() as f64;
            let mean = s.iter().sum::<f64>() / n;
            c.mean = Some(mean);
            c.std = Some((s.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt());
        }
    }
    let sign = if lower_is_better { 1.0 } else { -1.0 };
    configs.sort_by(|a, b| {
        let key = |c: &ConfigRank| (!c.complete(), c.mean.is_none());
        key(a).cmp(&key(b)).then_with(|| {
            let (x, y) = (a.mean.unwrap_or(0.0) * sign, b.mean.unwrap_or(0.0) * sign);
            x.total_cmp(&y)
        })
    });
    configs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lr: &str, status: RunStatus, score: Option<f64>) -> RunScore {
        RunScore {
            values: vec![("train.lr_d".into(), lr.into())],
            status,
            score,
        }
    }

    #[test]
    fn ranks_by_mean_over_seeds_complete_first() {
        use RunStatus::*;
        let runs = [
            run("1e-4", Finished, Some(300.0)),
            run("1e-4", Finished, Some(200.0)),
            run("2e-4", Finished, Some(240.0)),
            run("2e-4", Finished, Some(240.0)),
            run("4e-4", Stopped, Some(100.0)),
            run("4e-4", Finished, Some(150.0)),
            run("8e-4", Failed, None),
        ];
        let ranked = rank(&runs, true);
        let order: Vec<&str> = ranked.iter().map(|c| c.values[0].1.as_str()).collect();
        assert_eq!(order, ["2e-4", "1e-4", "4e-4", "8e-4"]);
        assert_eq!(ranked[1].mean, Some(250.0));
        assert_eq!(ranked[1].std, Some(50.0));
        assert_eq!((ranked[2].stopped, ranked[2].complete()), (1, false));
        assert_eq!(ranked[3].mean, None);
        let ranked = rank(&runs, false);
        assert_eq!(ranked[0].values[0].1, "1e-4");
    }
}
