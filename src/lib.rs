//! gan-lab: run, track and compare GAN experiments on Fashion-MNIST.
//!
//! Data flows one way, and each folder is one part of it: a RON spec
//! ([`spec`]) becomes a planned run; [`train`] trains a variant from the
//! `gan-lab-variants` crate on batches of [`data`] and emits events to its
//! sinks: the [`store`] (the SQLite tracker and the run folders), sample files
//! and the progress bar; [`eval`] scores generated images; [`sweep`] runs many
//! runs as child processes; [`report`] reads the store back into an HTML page;
//! [`commands`] holds the commands that tie the parts together; [`util`] holds
//! the leaf helpers every part may use.
//!
//! The parts, lowest first; each imports only the parts before it:
//! `util`, `data`, `spec`, `store`, `eval`, `train`, `sweep`, `report`,
//! `commands`. (`eval` and `sweep` also take the commands' shared settings,
//! `context::Context` and `device::DeviceChoice`, which sit below them.)

pub mod commands;
pub mod context;
pub mod data;
pub mod device;
pub mod eval;
pub mod report;
pub mod spec;
pub mod store;
pub mod sweep;
pub mod train;
pub mod util;
