//! Integration tests, one binary (so the crate links once): a module per area.

mod cli;
mod common;
mod conditional;
mod cyclegan;
mod evaluation;
mod report;
mod sweep;
mod training;
