//! What is kept per chat between updates: the conversation's state and the few facts the
//! Telegram face needs about the chat.
//!
//! It sits below both the Telegram adapter ([`crate::telegram`], which reads and writes it) and
//! the service runtime ([`crate::service`], whose storages keep it), so neither imports the
//! other for it.

use serde::{Deserialize, Serialize};
use teloxide::dispatching::dialogue::ErasedStorage;
use teloxide::types::MessageId;

use crate::conversation::State;

/// What is kept per chat: the conversation and which message holds its current menu.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub state: State,
    pub menu: Option<MessageId>,
    /// The language chosen with /settings; `None` follows the user's Telegram language.
    #[serde(default)]
    pub lang: Option<String>,
    /// The language code Telegram reported last, for updates that come without one.
    #[serde(default)]
    pub seen_lang: Option<String>,
    /// The album (media group) last answered: an album of ten photos gets one reply, not ten.
    #[serde(default)]
    pub album: Option<String>,
}

/// The per-chat storage as the handlers see it, whichever backend keeps it.
pub type SessionStorage = ErasedStorage<Session>;
