//! Scar Guide: a Telegram bot that explains acne scars and what helps, from one sourced article.
//!
//! # Layout
//! - [`config`]: environment and `.env` → [`config::Config`] (the token never prints).
//! - [`knowledge`]: the closed sets the advice is about (scar kinds, acne kinds, treatments…).
//! - [`content`]: `dialogues/` → validated [`content::Content`]; errors name file, item and fix.
//! - [`conversation`]: the pure state machine, `step(state, input) → outcome`.
//! - [`telegram`]: the teloxide adapter: handler tree, callback codec, expiring storage, start-up.
//! - [`console`]: the same conversation over stdin/stdout, buttons as numbers.

pub mod config;
pub mod console;
pub mod content;
pub mod conversation;
pub mod knowledge;
pub mod telegram;
