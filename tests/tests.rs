//! Integration tests, one binary (so the crate links once): a module per area.

mod architecture;
mod bench;
mod cli;
mod common;
mod compat;
mod conditional;
mod cyclegan;
mod evaluation;
mod listing;
mod reliability;
mod report;
mod schema;
mod serve;
mod slurm;
mod stackgan;
mod sweep;
mod training;
