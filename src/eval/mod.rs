//! Evaluation: how generated images are scored.
//!
//! Owns the [`evaluator`] (the Fashion-MNIST classifier with its pinned
//! weights file, `evaluator/pinned-v1.bpk`, checked against its SHA-256),
//! [`scoring`] (the test split's reference and the chosen metrics of a
//! generated set against it) and the [`metrics`] math (FID, KID, Inception
//! score, precision/recall) on the evaluator's outputs.
//!
//! May import: `util`, `data`, `spec` (the metric names). [`metrics`]
//! imports nothing of the crate. Never `train`, `store`, `sweep`, `report`
//! or `commands`.

pub mod evaluator;
pub mod metrics;
pub mod scoring;
