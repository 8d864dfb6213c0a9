//! The Telegram adapter: what runs once per update. It translates updates into [`Input`]s and
//! [`Outcome`]s into messages, and knows nothing of how the process is started, fed or served
//! (that is [`crate::service`]).
//!
//! - [`schema`] is the handler tree, used by [`crate::service::run`] and by the tests alike.
//! - [`private`] answers private chats (the questionnaire), [`group`] groups, [`inline`] inline
//!   queries.
//! - [`callback`] is the callback-data codec, [`commands`] the command line and the command
//!   menus, [`keyboards`] the menu keyboards, share buttons and deep links.
//! - [`delivery`] sends every reply, with retries; [`delivery::error_kind`] names a failure
//!   for the log.
//!
//! Menus are edited in place when a button is tapped; advice cards are new messages so they
//! stay in the chat; after typed input a new menu message is sent. The id of the one current
//! menu message is kept with the state ([`Session`]), so a tap on any other (older) menu is
//! answered as expired and a fresh menu is sent.
//!
//! [`Input`]: crate::conversation::Input
//! [`Outcome`]: crate::conversation::Outcome

pub mod callback;
pub mod commands;
pub mod delivery;
pub mod group;
pub mod inline;
pub mod keyboards;
pub mod private;

use std::sync::Arc;

use teloxide::RequestError;
use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{Me, MessageKind, User};

use self::delivery::{Api, Delivery, Policy, error_kind};
use crate::content::{Content, html};
pub use crate::session::{Session, SessionStorage};
pub use keyboards::keyboard;

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
fn load_session<R: Api>() -> UpdateHandler<HandlerError> {
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

/// The handler tree, for any Bot API client (`Bot` in tests, `Throttle<Bot>` in production).
pub fn schema<R: Api>() -> UpdateHandler<HandlerError> {
    // Only what a person wrote: service messages (a pin, a timer change) and the bot's own
    // inline cards posted into the chat are not answers to the current question.
    let from_a_person = |msg: Message, me: Me| {
        // What a person sends: ordinary messages, and the few other kinds a person can send
        // (a dice, a shared contact or chat, web-app data, a forwarded giveaway), which get
        // the polite "I can't look at that". Everything else is a service message.
        matches!(
            msg.kind,
            MessageKind::Common(_)
                | MessageKind::Dice(_)
                | MessageKind::ChatShared(_)
                | MessageKind::UsersShared(_)
                | MessageKind::WebAppData(_)
                | MessageKind::PassportData(_)
                | MessageKind::Giveaway(_)
        ) && msg.via_bot.as_ref().is_none_or(|b| b.id != me.id)
    };
    let private =
        dptree::filter(move |msg: Message, me: Me| msg.chat.is_private() && from_a_person(msg, me));
    let group = dptree::filter(|msg: Message| !msg.chat.is_private());

    dptree::entry()
        .branch(
            Update::filter_message()
                .branch(group.clone().endpoint(group::receive_message::<R>))
                .branch(
                    private
                        .clone()
                        .chain(load_session::<R>())
                        .endpoint(private::receive_message::<R>),
                ),
        )
        .branch(
            Update::filter_edited_message().branch(
                private
                    .chain(load_session::<R>())
                    .endpoint(private::receive_edited_message::<R>),
            ),
        )
        .branch(Update::filter_callback_query().endpoint(private::receive_callback::<R>))
        .branch(Update::filter_inline_query().endpoint(inline::answer::<R>))
}

/// Builds the dependency map the handler tree needs, with the default retry policy and
/// counters nobody reads (tests).
pub fn dependencies(content: Arc<Content>, storage: Arc<SessionStorage>) -> DependencyMap {
    let delivery = Delivery::new(Policy::default(), Arc::default(), storage.clone());
    dependencies_with(content, storage, delivery)
}

/// Builds the dependency map the handler tree needs.
pub fn dependencies_with(
    content: Arc<Content>,
    storage: Arc<SessionStorage>,
    delivery: Arc<Delivery>,
) -> DependencyMap {
    dptree::deps![content, storage, delivery]
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
