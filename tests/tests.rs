//! Integration tests, one binary (so the crate links once): a module per area.

mod bench;
mod cli;
mod common;
mod conditional;
mod cyclegan;
mod evaluation;
mod listing;
mod reliability;
mod report;
mod stackgan;
mod slurm;
mod schema;
mod serve;
mod sweep;
mod training;
