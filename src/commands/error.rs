//! The error of any command: each module's own error, plus usage mistakes,
//! with the exit code they map to (2 for bad input, 1 otherwise). Only
//! commands return it; the parts below them return their own errors.

use std::path::PathBuf;

use crate::eval::{evaluator, metrics, scoring};
use crate::store::tracker;
use crate::train::loader::TooFewImages;
use crate::train::runner;
use crate::util::paths;
use crate::{data, device, report, spec, sweep};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Spec(#[from] spec::SpecError),
    #[error(transparent)]
    Data(#[from] data::DataError),
    #[error(transparent)]
    Tracker(#[from] tracker::TrackerError),
    #[error(transparent)]
    Device(#[from] device::DeviceError),
    #[error(transparent)]
    Runner(#[from] runner::RunnerError),
    #[error(transparent)]
    Evaluator(#[from] evaluator::EvaluatorError),
    #[error(transparent)]
    Report(#[from] report::ReportError),
    #[error("scoring failed")]
    Metrics(#[from] metrics::MetricsError),
    #[error("scoring failed")]
    Variant(#[from] gan_lab_variants::VariantError),
    #[error(transparent)]
    TooFewImages(#[from] TooFewImages),
    #[error(transparent)]
    SweepSpec(#[from] sweep::spec::SweepSpecError),
    #[error(transparent)]
    Sweep(#[from] sweep::SweepError),
    #[error(transparent)]
    Scoring(#[from] scoring::ScoringError),
    #[error(transparent)]
    Path(#[from] paths::PathError),
    #[error("{0}")]
    Usage(String),
    #[error("could not create {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl AppError {
    /// 2 for bad input (spec, flags, data the user pointed at), 130 when a
    /// stop signal ended the command, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if matches!(
            self,
            AppError::Evaluator(evaluator::EvaluatorError::Stopped)
                | AppError::Scoring(scoring::ScoringError::Evaluator(
                    evaluator::EvaluatorError::Stopped
                ))
        ) {
            return 130;
        }
        let input = match self {
            AppError::Spec(_)
            | AppError::Device(_)
            | AppError::Usage(_)
            | AppError::TooFewImages(_)
            | AppError::SweepSpec(_)
            | AppError::Path(_) => true,
            AppError::Sweep(e) => e.is_user_error(),
            AppError::Scoring(e) => e.is_user_error(),
            AppError::Data(e) => e.is_user_error(),
            AppError::Report(e) => e.is_user_error(),
            AppError::Tracker(e) => e.is_user_error(),
            AppError::Evaluator(e) => e.is_user_error(),
            AppError::Runner(_)
            | AppError::Metrics(_)
            | AppError::Variant(_)
            | AppError::Io { .. } => false,
        };
        if input { 2 } else { 1 }
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;
