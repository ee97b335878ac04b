//! Flags that several commands share: the compute device, `--set`
//! overrides of a spec, and the run selection of `report` and `serve`.

use clap::Args;

use crate::context::Context;
use crate::device::DeviceChoice;

/// `--device`: the compute device of the commands that train.
#[derive(Args, Clone, Copy, Debug)]
pub struct DeviceArg {
    /// Compute device: flex (CPU, default), ndarray, wgpu or cuda (the last three need the cargo feature of that name)
    #[arg(long, value_enum, default_value = "flex", ignore_case = true)]
    pub device: DeviceChoice,
}

impl DeviceArg {
    /// The shared settings, on this device.
    pub fn on(self, ctx: &Context) -> Context {
        Context {
            device: self.device,
            ..ctx.clone()
        }
    }
}

/// `--set PATH=VALUE`: overrides of a spec's fields.
#[derive(Args, Clone, Debug)]
pub struct Overrides {
    /// Override a spec field, e.g. --set train.steps=200 (repeatable)
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
}

/// The runs a report shows: named ones, or all of an experiment or sweep.
#[derive(Args, Clone, Debug)]
pub struct SelectionArgs {
    /// Runs to include: ids, unique id prefixes or unique names (default: all matching)
    #[arg(long, num_args = 1..)]
    pub runs: Vec<String>,
    /// Only runs of this experiment
    #[arg(long)]
    pub experiment: Option<String>,
    /// Only runs of this sweep
    #[arg(long)]
    pub sweep: Option<String>,
}

impl SelectionArgs {
    pub fn selection(&self) -> crate::report::Selection {
        crate::report::Selection {
            runs: self.runs.clone(),
            experiment: self.experiment.clone(),
            sweep: self.sweep.clone(),
        }
    }
}
