//! gan-lab: run, track and compare GAN experiments on Fashion-MNIST.
//!
//! Data flows one way: a RON spec ([`spec`]) becomes a planned run, the
//! [`runner`] trains a variant from the `gan-lab-variants` crate on batches
//! from the [`loader`], and emits [`events`] to sinks ([`sinks`]): the SQLite
//! [`tracker`], sample files and the progress bar. [`commands`] holds the commands;
//! [`sweep`] runs many of them as child processes; [`report`] reads the
//! tracker back into an HTML page.

pub mod commands;
pub mod context;
pub mod data;
pub mod device;
pub mod evaluator;
pub mod events;
pub mod fsutil;
pub mod grid;
pub mod layout;
pub mod loader;
pub mod metrics;
pub mod paths;
pub mod process;
pub mod report;
pub mod runner;
pub mod scoring;
pub mod sinks;
pub mod spec;
pub mod sweep;
pub mod table;
pub mod tracker;
