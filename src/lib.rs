//! Scar Guide: a Telegram bot that explains acne scars and what helps, from one sourced article.
//!
//! # Layout
//! - [`config`]: environment and `.env` → [`config::Config`] (the token never prints, the
//!   Redis URL is validated once into [`config::RedisUrl`]).
//! - [`knowledge`]: the closed sets the advice is about (scar kinds, acne kinds, treatments…).
//! - [`content`]: `dialogues/` → validated [`content::Content`]; errors name file, item and fix;
//!   [`content::text`] holds the text rules (normalizing, matching words).
//! - [`conversation`]: the pure state machine, `step(state, input) → outcome`, and the
//!   [`conversation::Command`] set.
//! - [`session`]: what is kept per chat between updates, below both the adapter and the runtime.
//! - [`telegram`]: the Telegram adapter, what runs once per update: the handler tree, private
//!   chats, groups, inline mode, callback codec, keyboards and share links, command menus,
//!   and the delivery layer (retries).
//! - [`service`]: the runtime, what runs once per process: [`service::run`] with start-up and
//!   shutdown, the intake (flood control), the HTTP server (webhook, `/healthz`, `/metrics`),
//!   the counters, and the storages (memory, Redis).
//! - [`pacing`]: Telegram's message limits as slots each message reserves (GCRA), and the
//!   [`pacing::Budget`] the delivery layer takes them from.
//! - [`pictures`]: `dialogues/pictures/` SVGs → PNG (resvg), checked and rendered once.
//! - [`console`]: the same conversation over stdin/stdout, buttons as numbers.
//!
//! Imports go one way: `service` → `telegram` → `session` → `conversation` → `content` →
//! `knowledge`; `config` imports none of them, `pacing` only `config`. The one exception is [`service::metrics`], a
//! leaf of counters the adapter's delivery layer counts into.

pub mod config;
pub mod console;
pub mod content;
pub mod conversation;
pub mod knowledge;
pub mod pacing;
pub mod pictures;
pub mod service;
pub mod session;
pub mod telegram;
