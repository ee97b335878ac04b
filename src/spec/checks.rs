//! Range and combination checks of a parsed spec: every problem with the
//! field it concerns and how to fix it ([`validate`]), located in the file
//! or at the `--set` that changed the field ([`check`]).

use std::collections::BTreeSet;

use super::ron_text;
use super::{MAX_NAME_CHARS, Place, Problem, Result, Source, Spec, SpecError, name_problem};

/// Range and combination checks; `overridden` holds the paths set with `--set`.
pub(super) fn check(spec: &Spec, source: &Source, overridden: &BTreeSet<String>) -> Result<()> {
    let problems: Vec<Problem> = validate(spec)
        .into_iter()
        .map(|(field, message)| {
            let location = if overridden.contains(&field) {
                format!("--set {field}")
            } else {
                let keys: Vec<&str> = field.split('.').collect();
                let offset = ron_text::offset_of(&source.text, &keys);
                Place::at(&source.path, &source.text, offset).to_string()
            };
            Problem {
                location,
                field,
                message,
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(SpecError::Invalid(problems))
    }
}

/// All problems as (field path, message with the fix).
pub fn validate(spec: &Spec) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = Vec::new();
    let mut bad = |field: &str, msg: String| p.push((field.to_string(), msg));
    if let Some(problem) = name_problem(&spec.name, MAX_NAME_CHARS) {
        bad("name", problem);
    }
    if let Some(problem) = spec
        .experiment
        .as_deref()
        .and_then(|e| name_problem(e, MAX_NAME_CHARS))
    {
        bad("experiment", problem);
    }
    let t = &spec.train;
    if t.steps == 0 {
        bad(
            "train.steps",
            "steps is 0; train for at least 1 step (5000 is a good start)".into(),
        );
    }
    if t.batch_size == 0 || t.batch_size > 8192 {
        bad(
            "train.batch_size",
            format!(
                "batch_size is {}; use 1 to 8192 (64 is usual)",
                t.batch_size
            ),
        );
    }
    for (field, lr) in [("train.lr_g", t.lr_g), ("train.lr_d", t.lr_d)] {
        if !(lr.is_finite() && lr > 0.0 && lr <= 1.0) {
            bad(
                field,
                format!(
                    "learning rate is {lr}; use a positive value up to 1 (2e-4 is usual for Adam)"
                ),
            );
        }
    }
    for (field, beta) in [("train.beta1", t.beta1), ("train.beta2", t.beta2)] {
        if !(0.0..1.0).contains(&beta) {
            bad(
                field,
                format!(
                    "Adam beta is {beta}; use a value in [0, 1) (beta1 0.5, beta2 0.999 are usual for GANs)"
                ),
            );
        }
    }
    // Larger than the run is fine: the grid and the checkpoint are also written at the end.
    if spec.samples.every == 0 {
        bad("samples.every", "samples.every is 0; give a step count such as 500 (a grid is always written at the end)".into());
    }
    if spec.checkpoint.every == 0 {
        bad("checkpoint.every", "checkpoint.every is 0; give a step count such as 1000 (a checkpoint is always written at the end)".into());
    }
    if let Some(keep) = spec.checkpoint.keep_every
        && (keep == 0 || spec.checkpoint.every == 0 || keep % spec.checkpoint.every != 0)
    {
        bad(
            "checkpoint.keep_every",
            format!(
                "keep_every is {keep}, which is not a positive multiple of checkpoint.every ({}); use for example Some({})",
                spec.checkpoint.every,
                spec.checkpoint.every.max(1) * 2
            ),
        );
    }
    if spec.data.limit == Some(0) {
        bad(
            "data.limit",
            "limit is 0; leave it out to use all images, or give a positive count".into(),
        );
    }
    if let Some(classes) = &spec.data.classes {
        if classes.is_empty() {
            bad(
                "data.classes",
                "the class list is empty; leave it out for all classes or list indices 0-9".into(),
            );
        }
        if let Some(c) = classes.iter().find(|&&c| c > 9) {
            bad(
                "data.classes",
                format!(
                    "class {c} does not exist; Fashion-MNIST classes are 0-9 (0 T-shirt/top ... 9 Ankle boot)"
                ),
            );
        }
    }
    if let Some(eval) = &spec.eval {
        if eval.every == 0 || eval.every > t.steps.max(1) {
            bad(
                "eval.every",
                format!(
                    "eval.every is {} but the run has {} steps; use 1 to {} (an evaluation also runs at the end)",
                    eval.every,
                    t.steps,
                    t.steps.max(1)
                ),
            );
        }
        if !(100..=60_000).contains(&eval.samples) {
            bad(
                "eval.samples",
                format!(
                    "eval.samples is {}; use 100 to 60000 (5000 is a good balance, 10000 for final numbers)",
                    eval.samples
                ),
            );
        }
        if eval.metrics.is_empty() {
            bad("eval.metrics", "no metrics listed; use some of [Fid, Kid, Is, Coverage, PrecisionRecall] or remove eval".into());
        }
    }
    for (field, message) in spec.variant.validate() {
        p.push((format!("variant.{field}"), message));
    }
    if let Some(allowed) = &spec.data.classes {
        for (field, set) in spec.variant.config().class_sets() {
            if let Some(c) = set.iter().find(|c| !allowed.contains(c)) {
                p.push((
                    format!("variant.{field}"),
                    format!(
                        "class {c} is not among data.classes {allowed:?}, so it would have no training images; add it there or leave data.classes out"
                    ),
                ));
            }
        }
    }
    p
}
