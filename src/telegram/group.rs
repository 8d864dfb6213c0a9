//! Group chats: the questionnaire runs only in private chats (a group shares one chat id, so
//! several people would collide in one state). In a group the bot answers only commands
//! addressed to it (`/start@bot`, `/help@bot`, `/redness@bot`…) with a short card and a button
//! into the private chat, ignores everything else, and never writes first.
//!
//! Topic buttons on a group message carry the asker's id and a tag binding it to them
//! ([`GroupTap`]): another member's press, a copy of the data with another id or tag, or a
//! button that is not on the pressed message is answered with a notice instead of changing
//! someone else's answer. Nothing is stored.

use std::sync::Arc;

use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardButtonKind, InlineKeyboardMarkup, MaybeInaccessibleMessage,
    Me, ReplyParameters,
};

use super::callback::{self, ButtonKey, GroupTap};
use super::commands::CommandLine;
use super::delivery::{self, Api, Delivery};
use super::keyboards;
use super::shared::{HandlerResult, answer_or_log, language_of, toast};
use crate::content::{Content, Pack};
use crate::conversation::{Conversation, Input};
use crate::knowledge::{Link, ScarKind, Topic};
use crate::session::SessionStorage;
use teloxide::types::ParseMode;

/// The topics offered as buttons under the group greeting: each one is a card.
fn topic_links() -> impl Iterator<Item = Link> {
    ScarKind::all().map(Link::Scar).chain([Link::Care])
}

/// A message in a group: only a command addressed to this bot gets an answer.
pub async fn receive_message<R: Api>(
    bot: R,
    msg: Message,
    me: Me,
    content: Arc<Content>,
    storage: Arc<SessionStorage>,
    delivery: Arc<Delivery>,
    key: Arc<ButtonKey>,
) -> HandlerResult {
    let Some(command) = msg.text().and_then(|text| CommandLine::parse(text, &me)) else {
        return Ok(());
    };
    if command.addressed != Some(true) {
        return Ok(());
    }
    let Some(asker) = msg.from.as_ref() else {
        return Ok(());
    };
    log::debug!("addressed group command");
    let pack = content.pack(language_of(&storage, asker).await.as_deref());
    let (text, keyboard) = match Input::command(command.name, command.argument) {
        Some(Input::Open(link)) if link.is_card() => card(&me, &content, pack, link)?,
        Some(Input::Open(link)) => (
            pack.ui.group.intro.clone(),
            InlineKeyboardMarkup::new([vec![open_private(&me, pack, Some(link))?]]),
        ),
        Some(Input::Start | Input::Help) => greeting(&me, &key, pack, asker.id)?,
        // /cancel, /privacy, /forget, /settings and unknown commands concern a private chat.
        _ => (
            pack.ui.hints.group.clone(),
            InlineKeyboardMarkup::new([vec![open_private(&me, pack, None)?]]),
        ),
    };
    // A reply to the command, in its forum topic if it has one, so the asker sees it is theirs.
    let mut request = bot
        .send_message(msg.chat.id, text)
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard)
        .reply_parameters(ReplyParameters::new(msg.id).allow_sending_without_reply());
    if let Some(thread) = msg.thread_id {
        request = request.message_thread_id(thread);
    }
    delivery.send(Some(msg.chat.id), request).await?;
    Ok(())
}

/// A group button pressed on a group message, checked against its asker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupPress {
    /// The asker pressed one of the buttons of their own message.
    Asker(GroupTap),
    /// Anyone else, or data that is not a genuine button of the pressed message.
    NotTheirs,
}

/// The check of a press: `None` unless it is group button data on a group message (the
/// private handler answers the rest, group data on a private menu as invalid). It is the
/// asker's only when the tag is genuine, the tag's asker pressed it, and it is one of the
/// pressed message's own buttons, so a member cannot send their own genuine button "on"
/// someone else's message.
pub fn press(q: CallbackQuery, key: Arc<ButtonKey>) -> Option<GroupPress> {
    let message = q.message.as_ref().filter(|m| !m.chat().is_private())?;
    let data = q.data.as_deref()?;
    let tap = callback::parse_group(data)?
        .verified(&key)
        .filter(|tap| tap.asker == q.from.id)
        .filter(|_| match message {
            MaybeInaccessibleMessage::Regular(message) => has_button(message, data),
            // Too old to be shown or edited: nothing to protect, the press is only answered.
            MaybeInaccessibleMessage::Inaccessible(_) => true,
        });
    Some(tap.map_or(GroupPress::NotTheirs, GroupPress::Asker))
}

/// Whether `message` has a button with callback data `data`.
fn has_button(message: &Message, data: &str) -> bool {
    message
        .reply_markup()
        .into_iter()
        .flat_map(|markup| markup.inline_keyboard.iter().flatten())
        .any(|b| matches!(&b.kind, InlineKeyboardButtonKind::CallbackData(d) if d == data))
}

/// A topic button pressed on a group message ([`press`]): the asker's opens its card in place,
/// anyone else's gets a notice.
pub async fn receive_tap<R: Api>(
    bot: R,
    q: CallbackQuery,
    press: GroupPress,
    me: Me,
    content: Arc<Content>,
    storage: Arc<SessionStorage>,
    delivery: Arc<Delivery>,
) -> HandlerResult {
    let pack = content.pack(language_of(&storage, &q.from).await.as_deref());
    let GroupPress::Asker(tap) = press else {
        log::debug!("group button refused: not the asker's");
        let answer = bot
            .answer_callback_query(q.id.clone())
            .text(toast(&pack.ui.group.not_yours));
        answer_or_log(delivery.send(None, answer).await);
        return Ok(());
    };
    answer_or_log(
        delivery
            .send(None, bot.answer_callback_query(q.id.clone()))
            .await,
    );
    if let Some(MaybeInaccessibleMessage::Regular(message)) = &q.message {
        let (text, keyboard) = card(&me, &content, pack, tap.link)?;
        let request = bot
            .edit_message_text(message.chat.id, message.id, text)
            .parse_mode(ParseMode::Html)
            .reply_markup(keyboard);
        delivery::edit(&delivery, message.chat.id, request).await?;
    }
    Ok(())
}

type Answer = (String, InlineKeyboardMarkup);

/// The group greeting: a line about the bot, its topics as buttons for the asker, and the
/// private chat.
fn greeting(
    me: &Me,
    key: &ButtonKey,
    pack: &Pack,
    asker: UserId,
) -> Result<Answer, url::ParseError> {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = topic_links()
        .map(|link| {
            let label = match link {
                Link::Scar(kind) => pack.scars.get(kind).label.clone(),
                _ => pack.topics.get(Topic::Care).clone(),
            };
            vec![InlineKeyboardButton::callback(
                label,
                callback::encode_group(GroupTap { asker, link }, key),
            )]
        })
        .collect();
    rows.push(vec![open_private(me, pack, None)?]);
    Ok((pack.ui.group.intro.clone(), InlineKeyboardMarkup::new(rows)))
}

/// A compact card for the group, with the way to the full guide in private.
fn card(me: &Me, content: &Content, pack: &Pack, link: Link) -> Result<Answer, url::ParseError> {
    let text = Conversation::new(content, pack).compact_card(link);
    let keyboard = InlineKeyboardMarkup::new([vec![open_private(me, pack, Some(link))?]]);
    Ok((text, keyboard))
}

/// The button into the private chat, at `link` when there is one.
fn open_private(
    me: &Me,
    pack: &Pack,
    link: Option<Link>,
) -> Result<InlineKeyboardButton, url::ParseError> {
    let url = match link {
        Some(link) => keyboards::deep_link(me, link)?,
        None => keyboards::bot_link(me)?,
    };
    Ok(InlineKeyboardButton::url(
        pack.ui.group.open_private.clone(),
        url,
    ))
}
