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
pub mod run;
pub mod storage;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use teloxide::dispatching::dialogue::{self, ErasedStorage};
use teloxide::dispatching::{DpHandlerDescription, UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, MaybeInaccessibleMessage, Me, MessageId, ParseMode,
};
use teloxide::utils::command::BotCommands;
use teloxide::{ApiError, RequestError};

use crate::content::{Content, html};
use crate::conversation::{Conversation, Input, Outcome, Screen, State};

/// What is kept per chat: the conversation and which message holds its current menu.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub state: State,
    pub menu: Option<MessageId>,
}

pub type SessionStorage = ErasedStorage<Session>;
pub type SessionDialogue = Dialogue<Session, SessionStorage>;
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
type HandlerResult = Result<(), HandlerError>;

/// The commands the bot answers (and registers with setMyCommands).
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    Start(String),
    Help,
    Cancel,
    Privacy,
    Forget,
}

impl Command {
    fn input(self) -> Input {
        match self {
            Self::Start(_) => Input::Start,
            Self::Help => Input::Help,
            Self::Cancel => Input::Cancel,
            Self::Privacy => Input::Privacy,
            Self::Forget => Input::Forget,
        }
    }
}

/// The handler tree.
pub fn schema() -> UpdateHandler<HandlerError> {
    let private = dptree::filter(|msg: Message| msg.chat.is_private());
    let group = dptree::filter(|msg: Message| !msg.chat.is_private());
    let dialogue_entry = || dialogue::enter::<Update, SessionStorage, Session, _>();

    dptree::entry()
        .branch(
            Update::filter_message()
                .branch(group.clone().endpoint(receive_group_message))
                .branch(
                    private
                        .clone()
                        .chain(dialogue_entry())
                        .endpoint(receive_message),
                ),
        )
        .branch(
            Update::filter_edited_message().branch(
                private
                    .chain(dialogue_entry())
                    .endpoint(receive_edited_message),
            ),
        )
        .branch(Update::filter_callback_query().endpoint(receive_callback))
}

/// Builds the dependency map the handler tree needs.
pub fn dependencies(content: Arc<Content>, storage: Arc<SessionStorage>) -> DependencyMap {
    dptree::deps![content, storage]
}

/// What a private message means to the conversation.
fn message_input(msg: &Message, me: &Me) -> Input {
    match msg.text() {
        Some(text) if text.starts_with('/') => match Command::parse(text, me.username()) {
            Ok(command) => command.input(),
            Err(_) => Input::UnknownCommand,
        },
        Some(text) => Input::Text(text.to_owned()),
        None => Input::Media,
    }
}

async fn receive_message(
    bot: Bot,
    msg: Message,
    me: Me,
    session: Session,
    dialogue: SessionDialogue,
    content: Arc<Content>,
) -> HandlerResult {
    let input = message_input(&msg, &me);
    log::debug!("chat message of kind {}", input_kind(&input));
    let pack = content.pack(msg.from.as_ref().and_then(|u| u.language_code.as_deref()));
    let outcome = Conversation::new(&content, pack).step(&session.state, input);
    let menu = deliver_as_new(&bot, msg.chat.id, &outcome).await?;
    save(&dialogue, outcome.state, menu).await
}

async fn receive_edited_message(
    bot: Bot,
    msg: Message,
    session: Session,
    dialogue: SessionDialogue,
    content: Arc<Content>,
) -> HandlerResult {
    let pack = content.pack(msg.from.as_ref().and_then(|u| u.language_code.as_deref()));
    let outcome = Conversation::new(&content, pack).step(&session.state, Input::Edited);
    let menu = deliver_as_new(&bot, msg.chat.id, &outcome).await?;
    save(&dialogue, outcome.state, menu).await
}

/// In groups the questionnaire does not run: several people would share one state. Commands
/// addressed to the bot get a pointer to the private chat; everything else is ignored.
async fn receive_group_message(
    bot: Bot,
    msg: Message,
    me: Me,
    content: Arc<Content>,
) -> HandlerResult {
    let Some(text) = msg.text() else {
        return Ok(());
    };
    if !text.starts_with('/') || Command::parse(text, me.username()).is_err() {
        return Ok(());
    }
    let pack = content.pack(msg.from.as_ref().and_then(|u| u.language_code.as_deref()));
    bot.send_message(msg.chat.id, &pack.ui.hints.group)
        .parse_mode(ParseMode::Html)
        .await?;
    Ok(())
}

async fn receive_callback(
    bot: Bot,
    q: CallbackQuery,
    storage: Arc<SessionStorage>,
    content: Arc<Content>,
) -> HandlerResult {
    let pack = content.pack(q.from.language_code.as_deref());
    let message = match &q.message {
        Some(MaybeInaccessibleMessage::Regular(m)) => Some((m.chat.id, m.id, m.chat.is_private())),
        Some(MaybeInaccessibleMessage::Inaccessible(m)) => {
            Some((m.chat.id, m.message_id, m.chat.is_private()))
        }
        None => None,
    };
    // Every callback query is answered, or the button keeps spinning in the client.
    let Some((chat_id, message_id, true)) = message else {
        bot.answer_callback_query(q.id.clone())
            .text(toast(&pack.ui.hints.group))
            .await?;
        return Ok(());
    };
    let dialogue = SessionDialogue::new(storage, chat_id);
    let session = dialogue.get().await?.unwrap_or_default();
    let input = match q.data.as_deref().map(callback::parse) {
        Some(Some(_)) if session.menu != Some(message_id) => Input::Stale,
        Some(Some(action)) => Input::Tap(action),
        _ => Input::Forged,
    };
    log::debug!("callback of kind {}", input_kind(&input));
    let outcome = Conversation::new(&content, pack).step(&session.state, input.clone());
    let mut answer = bot.answer_callback_query(q.id.clone());
    if let Some(notice) = &outcome.notice {
        answer = answer.text(toast(notice));
    }
    answer.await?;

    let menu = match input {
        // The tapped menu is current: edit it in place, unless cards must come first.
        Input::Tap(_) if outcome.cards.is_empty() => {
            if let Some(screen) = &outcome.screen {
                edit_menu(&bot, chat_id, message_id, screen).await?;
            }
            Some(message_id)
        }
        Input::Tap(_) => {
            // Retire the old menu's buttons so the advice reads top to bottom, then post the
            // cards and a fresh menu below them.
            ignore_not_modified(
                bot.edit_message_reply_markup(chat_id, message_id)
                    .reply_markup(InlineKeyboardMarkup::default())
                    .await
                    .map(drop),
            )?;
            deliver_new(&bot, chat_id, &outcome, None).await?
        }
        // Expired or invalid: the notice was the pop-up; show the current question anew.
        _ => deliver_new(&bot, chat_id, &outcome, None).await?,
    };
    save(&dialogue, outcome.state, menu).await
}

/// Sends the outcome as new messages: cards, then the notice and the screen together.
async fn deliver_as_new(
    bot: &Bot,
    chat_id: ChatId,
    outcome: &Outcome,
) -> Result<Option<MessageId>, RequestError> {
    deliver_new(bot, chat_id, outcome, outcome.notice.as_deref()).await
}

async fn deliver_new(
    bot: &Bot,
    chat_id: ChatId,
    outcome: &Outcome,
    notice: Option<&str>,
) -> Result<Option<MessageId>, RequestError> {
    for card in &outcome.cards {
        bot.send_message(chat_id, card)
            .parse_mode(ParseMode::Html)
            .await?;
    }
    let text = match (notice, &outcome.screen) {
        (Some(n), Some(s)) => format!("{n}\n\n{}", s.text),
        (None, Some(s)) => s.text.clone(),
        (Some(n), None) => n.to_owned(),
        (None, None) => return Ok(None),
    };
    let mut request = bot.send_message(chat_id, text).parse_mode(ParseMode::Html);
    if let Some(screen) = &outcome.screen {
        request = request.reply_markup(keyboard(screen));
    }
    let sent = request.await?;
    Ok(outcome.screen.as_ref().map(|_| sent.id))
}

async fn edit_menu(
    bot: &Bot,
    chat_id: ChatId,
    message_id: MessageId,
    screen: &Screen,
) -> Result<(), RequestError> {
    ignore_not_modified(
        bot.edit_message_text(chat_id, message_id, &screen.text)
            .parse_mode(ParseMode::Html)
            .reply_markup(keyboard(screen))
            .await
            .map(drop),
    )
}

/// Editing to identical content is a 400 "message is not modified": the menu is already right.
fn ignore_not_modified(result: Result<(), RequestError>) -> Result<(), RequestError> {
    match result {
        Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
        other => other,
    }
}

/// Stores the new state, or erases the chat when the conversation went idle (`/forget`).
async fn save(dialogue: &SessionDialogue, state: State, menu: Option<MessageId>) -> HandlerResult {
    if state == State::Idle {
        dialogue.exit().await?;
    } else {
        dialogue.update(Session { state, menu }).await?;
    }
    Ok(())
}

/// The inline keyboard for a screen.
pub fn keyboard(screen: &Screen) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(screen.buttons.iter().map(|row| {
        row.iter()
            .map(|b| InlineKeyboardButton::callback(b.label.clone(), callback::encode(b.action)))
            .collect::<Vec<_>>()
    }))
}

/// Callback answers are plain text of at most 200 characters.
fn toast(html_text: &str) -> String {
    html::to_plain(html_text).chars().take(200).collect()
}

/// A log-safe name for an input: never the text itself.
fn input_kind(input: &Input) -> &'static str {
    match input {
        Input::Start => "start",
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

/// Keeps the handler description type in one place for `run`.
pub type Handler = dptree::Handler<'static, HandlerResult, DpHandlerDescription>;
