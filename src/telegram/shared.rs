//! What the handlers share: their error types, the session of a private chat loaded for one
//! update, the language a person reads, and the answer to a button press.

use std::sync::Arc;

use teloxide::RequestError;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::User;

use super::delivery::{Api, Delivery, error_kind};
use crate::content::{Content, html};
use crate::session::{Session, SessionStorage};

pub type SessionDialogue = Dialogue<Session, SessionStorage>;
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type HandlerResult = Result<(), HandlerError>;

/// A private chat's conversation, loaded from the storage for one update.
#[derive(Clone)]
pub(crate) struct Loaded {
    pub(crate) dialogue: SessionDialogue,
    pub(crate) session: Session,
}

/// Loads the chat's session for a private message. When the storage is unreachable (Redis
/// down) the user is asked to try again in a moment and the update goes no further.
pub(crate) fn load_session<R: Api>() -> UpdateHandler<HandlerError> {
    dptree::filter_map_async(
        |msg: Message,
         bot: R,
         storage: Arc<SessionStorage>,
         content: Arc<Content>,
         delivery: Arc<Delivery>| async move {
            let dialogue = SessionDialogue::new(storage, msg.chat.id);
            match dialogue.get().await {
                Ok(session) => Some(Loaded {
                    dialogue,
                    session: session.unwrap_or_default(),
                }),
                Err(_) => {
                    delivery.metrics().storage_error();
                    log::warn!("conversation storage unreachable; asked the user to retry");
                    let pack =
                        content.pack(msg.from.as_ref().and_then(|u| u.language_code.as_deref()));
                    let request = bot.send_message(msg.chat.id, &pack.ui.hints.busy);
                    if let Err(err) = delivery.send(Some(msg.chat.id), request).await {
                        log::warn!("could not say the storage is down: {}", error_kind(&err));
                    }
                    None
                }
            }
        },
    )
}

/// The language a person reads outside their private chat (groups, inline mode): the one they
/// chose there with /settings (a user's private chat id is their user id), else their
/// Telegram language.
pub(crate) async fn language_of(storage: &Arc<SessionStorage>, user: &User) -> Option<String> {
    let private_chat = ChatId(i64::try_from(user.id.0).unwrap_or_default());
    let session = storage
        .clone()
        .get_dialogue(private_chat)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    session
        .lang
        .or_else(|| user.language_code.clone())
        .or(session.seen_lang)
}

/// A callback answer that fails (too old, network) must not stop the tap from being acted on.
pub(crate) fn answer_or_log<T>(result: Result<T, RequestError>) {
    if let Err(err) = result {
        log::warn!("could not answer a button press: {}", error_kind(&err));
    }
}

/// Callback answers are plain text of at most 200 characters.
pub fn toast(html_text: &str) -> String {
    html::to_plain(html_text).chars().take(200).collect()
}
