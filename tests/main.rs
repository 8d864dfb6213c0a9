//! All integration tests compile into one binary sharing the harness in `util.rs`.

mod util;

mod binary;
mod console;
mod content;
mod inline;
mod sharing;
mod telegram;
mod walk;
