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
//! - [`shared`] holds what the handlers share (error types, the loaded session, a person's
//!   language), so they import it rather than this module.
//!
//! Every screen, question or answer, is one menu message edited in place when a button is
//! tapped; after typed input a new menu message is sent. The id of the one current
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
pub mod photos;
pub mod private;
pub mod shared;

use std::sync::Arc;

use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{Me, MessageKind};

use self::callback::ButtonKey;
use self::delivery::{Api, Delivery, Policy};
use self::photos::Photos;
use self::shared::load_session;
use crate::content::Content;
pub use crate::session::{Session, SessionStorage};
pub use keyboards::keyboard;
pub use shared::{HandlerError, SessionDialogue, toast};

/// The handler tree, for any Bot API client (`Bot` in tests, `CacheMe<Bot>` in production).
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
        .branch(
            Update::filter_callback_query()
                .branch(dptree::filter_map(group::press).endpoint(group::receive_tap::<R>))
                .endpoint(private::receive_callback::<R>),
        )
        .branch(Update::filter_inline_query().endpoint(inline::answer::<R>))
}

/// The token [`dependencies`] keys the group buttons with (tests).
pub const TEST_TOKEN: &str = "1234567890:test-token-for-the-group-buttons";

/// Builds the dependency map the handler tree needs, with the default retry policy, counters
/// nobody reads, picture ids cached in memory and group buttons keyed by [`TEST_TOKEN`]
/// (tests).
pub fn dependencies(content: Arc<Content>, storage: Arc<SessionStorage>) -> DependencyMap {
    let delivery = Delivery::new(Policy::default(), Arc::default(), storage.clone());
    let key = ButtonKey::from_token(TEST_TOKEN);
    dependencies_with(content, storage, delivery, Photos::in_memory(), key)
}

/// Builds the dependency map the handler tree needs. `photos` holds the pictures rendered at
/// start-up and the cache of their Telegram ids, whichever backend the runtime chose; `key`
/// tags the group buttons (from the bot token: [`ButtonKey::from_token`]).
pub fn dependencies_with(
    content: Arc<Content>,
    storage: Arc<SessionStorage>,
    delivery: Arc<Delivery>,
    photos: Photos,
    key: ButtonKey,
) -> DependencyMap {
    dptree::deps![content, storage, delivery, photos, Arc::new(key)]
}
