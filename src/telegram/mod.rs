//! The Telegram face: translates updates into [`Input`]s and [`Outcome`]s into messages.
//!
//! - [`schema`] is the handler tree, used by `main` and by the tests alike.
//! - [`callback`] is the callback-data codec, [`storage`] the expiring per-chat state,
//!   [`run`] start-up (retries, bot commands) and shutdown (SIGINT and SIGTERM).
//!
//! Menus are edited in place when a button is tapped; advice cards are new messages so they
//! stay in the chat; after typed input a new menu message is sent. The id of the one current
//! menu message is kept with the state, so a tap on any other (older) menu is answered as
//! expired and a fresh menu is sent.

pub mod callback;
pub mod delivery;
pub mod group;
pub mod http;
pub mod inline;
pub mod intake;
pub mod metrics;
pub mod redis;
pub mod run;
pub mod share;
pub mod storage;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use teloxide::RequestError;
use teloxide::dispatching::dialogue::ErasedStorage;
use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, MaybeInaccessibleMessage, Me, MessageId,
    MessageKind, ParseMode, User,
};

use self::delivery::{Api, Delivery, Policy};
use crate::content::{Content, Pack, html};
use crate::conversation::{Conversation, Input, Outcome, Screen, State};

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

pub type SessionStorage = ErasedStorage<Session>;
pub type SessionDialogue = Dialogue<Session, SessionStorage>;
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type HandlerResult = Result<(), HandlerError>;

/// A command in a message: `/name[@bot] [argument]`.
pub(crate) struct CommandLine<'a> {
    name: &'a str,
    argument: &'a str,
    /// `Some(true)` when it names this bot, `Some(false)` another bot, `None` no bot at all.
    addressed: Option<bool>,
}

impl<'a> CommandLine<'a> {
    fn parse(text: &'a str, me: &Me) -> Option<Self> {
        let text = text.strip_prefix('/')?;
        let (head, argument) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let (name, addressed) = match head.split_once('@') {
            Some((name, bot)) => {
                let mine = me.user.username.as_deref();
                (
                    name,
                    Some(mine.is_some_and(|m| bot.eq_ignore_ascii_case(m))),
                )
            }
            None => (head, None),
        };
        Some(Self {
            name,
            argument: argument.trim(),
            addressed,
        })
    }

    fn input(&self) -> Input {
        match self.addressed {
            Some(false) => Input::UnknownCommand,
            _ => Input::command(self.name, self.argument).unwrap_or(Input::UnknownCommand),
        }
    }
}

/// A private chat's conversation, loaded from the storage for one update.
#[derive(Clone)]
pub(crate) struct Loaded {
    dialogue: SessionDialogue,
    session: Session,
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
                        log::warn!(
                            "could not say the storage is down: {}",
                            run::error_kind(&err)
                        );
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
                        .endpoint(receive_message::<R>),
                ),
        )
        .branch(
            Update::filter_edited_message().branch(
                private
                    .chain(load_session::<R>())
                    .endpoint(receive_edited_message::<R>),
            ),
        )
        .branch(Update::filter_callback_query().endpoint(receive_callback::<R>))
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

/// What a private message means to the conversation.
fn message_input(msg: &Message, me: &Me) -> Input {
    match msg.text() {
        Some(text) => match CommandLine::parse(text, me) {
            Some(command) => command.input(),
            None => Input::Text(text.to_owned()),
        },
        None => Input::Media,
    }
}

/// The chat's language: the one chosen with /settings, else the user's Telegram language, else
/// the one their Telegram reported last (updates do not always carry it), else the default.
fn pack_for<'c>(content: &'c Content, session: &Session, user: Option<&User>) -> &'c Pack {
    let code = session
        .lang
        .as_deref()
        .or_else(|| user.and_then(|u| u.language_code.as_deref()))
        .or(session.seen_lang.as_deref());
    content.pack(code)
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

/// What one private update needs from its surroundings to answer.
struct Reply<'a, R> {
    bot: &'a R,
    delivery: &'a Delivery,
    me: &'a Me,
    content: &'a Content,
    chat_id: ChatId,
    /// The language the update is answered in.
    pack: &'a Pack,
}

impl<'a, R: Api> Reply<'a, R> {
    fn new(
        (bot, delivery): (&'a R, &'a Delivery),
        me: &'a Me,
        content: &'a Content,
        chat_id: ChatId,
        pack: &'a Pack,
    ) -> Self {
        Self {
            bot,
            delivery,
            me,
            content,
            chat_id,
            pack,
        }
    }

    /// Steps the conversation and sends the outcome as new messages; returns the new session.
    async fn step_as_new(
        &self,
        session: &Session,
        user: Option<&User>,
        input: Input,
    ) -> Result<Session, HandlerError> {
        let outcome = Conversation::new(self.content, self.pack).step(&session.state, input);
        let menu = self
            .deliver_new(&outcome, outcome.notice.as_deref())
            .await?;
        Ok(next_session(session, user, outcome, menu))
    }

    /// Sends the notice and the screen: together, or the notice first when it is to stay.
    async fn deliver_new(
        &self,
        outcome: &Outcome,
        notice: Option<&str>,
    ) -> Result<Option<MessageId>, HandlerError> {
        // A language chosen in this very step is the one to speak from now on.
        let pack = match outcome.language {
            Some(code) => self.content.pack(Some(code.as_str())),
            None => self.pack,
        };
        let notice = match notice {
            // Information to keep gets its own message; the menu below it is edited freely.
            Some(n) if outcome.lasting && outcome.screen.is_some() => {
                let request = self
                    .bot
                    .send_message(self.chat_id, n)
                    .parse_mode(ParseMode::Html);
                self.delivery.send(Some(self.chat_id), request).await?;
                None
            }
            other => other,
        };
        let text = match (notice, &outcome.screen) {
            (Some(n), Some(s)) => format!("{n}\n\n{}", s.text),
            (None, Some(s)) => s.text.clone(),
            (Some(n), None) => n.to_owned(),
            (None, None) => return Ok(None),
        };
        let mut request = self
            .bot
            .send_message(self.chat_id, text)
            .parse_mode(ParseMode::Html);
        if let Some(screen) = &outcome.screen {
            request = request.reply_markup(keyboard(screen, self.me, pack)?);
        }
        let sent = self.delivery.send(Some(self.chat_id), request).await?;
        Ok(outcome.screen.as_ref().map(|_| sent.id))
    }
}

/// The session after an outcome: its state, its menu message and the languages kept.
fn next_session(
    session: &Session,
    user: Option<&User>,
    outcome: Outcome,
    menu: Option<MessageId>,
) -> Session {
    Session {
        state: outcome.state,
        menu,
        lang: outcome
            .language
            .map(|code| code.as_str().to_owned())
            .or_else(|| session.lang.clone()),
        seen_lang: user
            .and_then(|u| u.language_code.clone())
            .or_else(|| session.seen_lang.clone()),
        album: None,
    }
}

async fn receive_message<R: Api>(
    bot: R,
    msg: Message,
    me: Me,
    loaded: Loaded,
    content: Arc<Content>,
    delivery: Arc<Delivery>,
) -> HandlerResult {
    let Loaded { dialogue, session } = loaded;
    let album = msg.media_group_id().map(|id| id.0.clone());
    if album.is_some() && album == session.album {
        log::debug!("another item of an album already answered");
        return Ok(());
    }
    let input = message_input(&msg, &me);
    log::debug!("chat message of kind {}", input_kind(&input));
    let pack = pack_for(&content, &session, msg.from.as_ref());
    let reply = Reply::new((&bot, &delivery), &me, &content, msg.chat.id, pack);
    let next = reply
        .step_as_new(&session, msg.from.as_ref(), input)
        .await?;
    save(&dialogue, &delivery, Session { album, ..next }).await
}

async fn receive_edited_message<R: Api>(
    bot: R,
    msg: Message,
    me: Me,
    loaded: Loaded,
    content: Arc<Content>,
    delivery: Arc<Delivery>,
) -> HandlerResult {
    let Loaded { dialogue, session } = loaded;
    let pack = pack_for(&content, &session, msg.from.as_ref());
    let reply = Reply::new((&bot, &delivery), &me, &content, msg.chat.id, pack);
    let next = reply
        .step_as_new(&session, msg.from.as_ref(), Input::Edited)
        .await?;
    save(&dialogue, &delivery, next).await
}

async fn receive_callback<R: Api>(
    bot: R,
    q: CallbackQuery,
    me: Me,
    storage: Arc<SessionStorage>,
    content: Arc<Content>,
    delivery: Arc<Delivery>,
) -> HandlerResult {
    if let Some(tap) = q.data.as_deref().and_then(callback::parse_group) {
        let pack = content.pack(language_of(&storage, &q.from).await.as_deref());
        return group::receive_tap((&bot, &delivery), &q, tap, &me, &content, pack).await;
    }
    let message = match &q.message {
        Some(MaybeInaccessibleMessage::Regular(m)) => Some((m.chat.id, m.id, m.chat.is_private())),
        Some(MaybeInaccessibleMessage::Inaccessible(m)) => {
            Some((m.chat.id, m.message_id, m.chat.is_private()))
        }
        None => None,
    };
    // Every callback query is answered, or the button keeps spinning in the client.
    let Some((chat_id, message_id, true)) = message else {
        let pack = content.pack(language_of(&storage, &q.from).await.as_deref());
        let answer = bot
            .answer_callback_query(q.id.clone())
            .text(toast(&pack.ui.hints.group));
        answer_or_log(delivery.send(None, answer).await);
        return Ok(());
    };
    let dialogue = SessionDialogue::new(storage, chat_id);
    let session = match dialogue.get().await {
        Ok(session) => session.unwrap_or_default(),
        Err(_) => {
            // Redis is down: say so on the button, and leave the menu as it is.
            delivery.metrics().storage_error();
            log::warn!("conversation storage unreachable; asked the user to retry");
            let pack = content.pack(q.from.language_code.as_deref());
            let answer = bot
                .answer_callback_query(q.id.clone())
                .text(toast(&pack.ui.hints.busy));
            answer_or_log(delivery.send(Some(chat_id), answer).await);
            return Ok(());
        }
    };
    let pack = pack_for(&content, &session, Some(&q.from));
    let input = match q.data.as_deref().map(callback::parse) {
        Some(Some(_)) if session.menu != Some(message_id) => Input::Stale,
        Some(Some(action)) => Input::Tap(action),
        _ => Input::Forged,
    };
    log::debug!("callback of kind {}", input_kind(&input));
    let outcome = Conversation::new(&content, pack).step(&session.state, input.clone());
    // A new language is said in the new menu message rather than in a pop-up.
    let mut answer = bot.answer_callback_query(q.id.clone());
    if let Some(notice) = outcome
        .notice
        .as_ref()
        .filter(|_| outcome.language.is_none())
    {
        answer = answer.text(toast(notice));
    }
    // A tap answered too late ("query is too old", after downtime) is still acted on.
    answer_or_log(delivery.send(Some(chat_id), answer).await);

    let reply = Reply::new((&bot, &delivery), &me, &content, chat_id, pack);
    let menu = match input {
        // The tapped menu is current: edit it in place (questions and answers alike).
        Input::Tap(_) if outcome.language.is_none() => {
            if let Some(screen) = &outcome.screen {
                let markup = keyboard(screen, &me, pack)?;
                edit_menu((&bot, &delivery), chat_id, message_id, &screen.text, markup).await?;
            }
            Some(message_id)
        }
        Input::Tap(_) => {
            // A new language: its confirmation and a fresh menu below it, then the old menu's
            // buttons are retired (after, so a failed send leaves them usable).
            let notice = outcome.language.and(outcome.notice.as_deref());
            let menu = reply.deliver_new(&outcome, notice).await?;
            retire_buttons((&bot, &delivery), chat_id, message_id).await;
            menu
        }
        // Expired or invalid: the notice was the pop-up; retire the old buttons so they are
        // not pressed again, and show the current question anew.
        _ => {
            retire_buttons((&bot, &delivery), chat_id, message_id).await;
            reply.deliver_new(&outcome, None).await?
        }
    };
    save(
        &dialogue,
        &delivery,
        next_session(&session, Some(&q.from), outcome, menu),
    )
    .await
}

async fn edit_menu<R: Api>(
    (bot, delivery): (&R, &Delivery),
    chat_id: ChatId,
    message_id: MessageId,
    text: &str,
    markup: InlineKeyboardMarkup,
) -> Result<(), RequestError> {
    let request = bot
        .edit_message_text(chat_id, message_id, text)
        .parse_mode(ParseMode::Html)
        .reply_markup(markup);
    delivery::edit(delivery, chat_id, request).await
}

/// A callback answer that fails (too old, network) must not stop the tap from being acted on.
pub(crate) fn answer_or_log<T>(result: Result<T, RequestError>) {
    if let Err(err) = result {
        log::warn!("could not answer a button press: {}", run::error_kind(&err));
    }
}

/// Removes a menu message's buttons. Best effort: the message may be gone or too old to edit.
async fn retire_buttons<R: Api>(
    (bot, delivery): (&R, &Delivery),
    chat_id: ChatId,
    message_id: MessageId,
) {
    let request = bot
        .edit_message_reply_markup(chat_id, message_id)
        .reply_markup(InlineKeyboardMarkup::default());
    if let Err(err) = delivery::edit(delivery, chat_id, request).await {
        log::debug!("could not retire an old menu: {}", run::error_kind(&err));
    }
}

/// Stores the new session, or erases the chat when the conversation went idle (`/forget`).
///
/// A failure (Redis down) is counted and logged, not returned: the reply is already out, and
/// the next tap on this menu will be answered as expired with the question anew.
async fn save(dialogue: &SessionDialogue, delivery: &Delivery, session: Session) -> HandlerResult {
    let result = if session.state == State::Idle {
        dialogue.exit().await
    } else {
        dialogue.update(session).await
    };
    if result.is_err() {
        delivery.metrics().storage_error();
        log::warn!("could not store a conversation: storage unreachable");
    }
    Ok(())
}

/// The inline keyboard for a screen: its buttons, and under an answer worth sharing the share
/// row (Telegram's share sheet and posting into another chat) above the navigation row.
pub fn keyboard(
    screen: &Screen,
    me: &Me,
    pack: &Pack,
) -> Result<InlineKeyboardMarkup, url::ParseError> {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = screen
        .buttons
        .iter()
        .map(|row| {
            row.iter()
                .map(|b| {
                    InlineKeyboardButton::callback(b.label.clone(), callback::encode(b.action))
                })
                .collect()
        })
        .collect();
    if let Some(link) = screen.share {
        let at = rows.len().saturating_sub(1);
        rows.insert(at, share::share_row(me, pack, link)?);
    }
    Ok(InlineKeyboardMarkup::new(rows))
}

/// Callback answers are plain text of at most 200 characters.
pub(crate) fn toast(html_text: &str) -> String {
    html::to_plain(html_text).chars().take(200).collect()
}

/// A log-safe name for an input: never the text itself.
fn input_kind(input: &Input) -> &'static str {
    match input {
        Input::Start => "start",
        Input::Open(_) => "deep link",
        Input::Settings => "settings",
        Input::Help => "help",
        Input::Cancel => "cancel",
        Input::Privacy => "privacy",
        Input::Forget => "forget",
        Input::UnknownCommand => "unknown command",
        Input::Tap(_) => "tap",
        Input::Stale => "stale tap",
        Input::Forged => "invalid callback",
        Input::Text(_) => "text",
        Input::Media => "media",
        Input::Edited => "edit",
    }
}
