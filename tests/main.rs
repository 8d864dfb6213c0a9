//! All integration tests compile into one binary sharing the harness in `util.rs`, the fake
//! Bot API server in `fake_api/` (a `mod.rs`, so the benchmarks can load it by path too) and the harness for running the binary in `harness.rs`.

mod fake_api;
mod harness;
mod util;

mod binary;
mod console;
mod content;
mod deep_links;
mod doctor_summary;
mod fuzz;
mod groups;
mod inline;
mod languages;
mod pictures;
mod redis;
mod robustness;
mod service;
mod share;
mod telegram;
mod walk;
