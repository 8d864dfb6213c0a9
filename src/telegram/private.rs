//! Private chats: the questionnaire. One handler per kind of update (a message, an edited
//! message, a button tap); each loads the chat's [`Session`], steps the conversation and sends
//! the outcome, then stores the new session.

use std::sync::Arc;
use std::time::Duration;

use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardMarkup, MaybeInaccessibleMessage, Me, MessageId, ParseMode, User,
};

use super::callback;
use super::commands::CommandLine;
use super::delivery::{self, Api, Delivery, error_kind};
use super::keyboards;
use super::photos::{ChatSender, Photos};
use super::shared::{
    HandlerError, HandlerResult, Loaded, SessionDialogue, answer_or_log, language_of, toast,
};
use crate::content::{Content, MAX_CAPTION, Pack, html};
use crate::conversation::{Conversation, Input, Outcome, State, picture_of};
use crate::pictures::Picture;
use crate::session::{Session, SessionStorage};

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

/// What one private update needs from its surroundings to answer.
struct Reply<'a, R> {
    bot: &'a R,
    delivery: &'a Delivery,
    photos: &'a Photos,
    me: &'a Me,
    content: &'a Content,
    chat_id: ChatId,
    /// The language the update is answered in.
    pack: &'a Pack,
}

impl<'a, R: Api> Reply<'a, R> {
    fn new(
        (bot, delivery, photos): (&'a R, &'a Delivery, &'a Photos),
        me: &'a Me,
        content: &'a Content,
        chat_id: ChatId,
        pack: &'a Pack,
    ) -> Self {
        Self {
            bot,
            delivery,
            photos,
            me,
            content,
            chat_id,
            pack,
        }
    }

    /// Steps the conversation and sends the outcome as new messages; returns the new session.
    async fn step_as_new(
        &self,
        dialogue: &SessionDialogue,
        session: &Session,
        user: Option<&User>,
        input: Input,
    ) -> Result<Session, HandlerError> {
        let outcome = Conversation::new(self.content, self.pack).step(&session.state, input);
        erase_first(dialogue, self.delivery, &outcome).await;
        let menu = self
            .deliver(
                &outcome,
                outcome.notice.as_deref(),
                picture_of(&session.state),
            )
            .await?;
        Ok(next_session(session, user, outcome, menu))
    }

    /// The picture to send before the menu: the screen's, unless the screen before (`before`)
    /// had the same one, which is still above in the chat.
    fn new_picture(outcome: &Outcome, before: Option<Picture>) -> Option<Picture> {
        outcome
            .screen
            .as_ref()
            .and_then(|s| s.picture)
            .filter(|p| Some(*p) != before)
    }

    /// The outcome as new messages: a new picture first (a photo with its caption), then the
    /// notice and the menu ([`Reply::deliver_new`]). Still at most two messages: a notice to
    /// keep rides on the photo's caption, or, when the two do not fit Telegram's caption
    /// limit, in the menu. A picture that cannot be sent is left out, and the rest goes as if
    /// there were none.
    async fn deliver(
        &self,
        outcome: &Outcome,
        notice: Option<&str>,
        before: Option<Picture>,
    ) -> Result<Option<MessageId>, HandlerError> {
        let Some(picture) = Self::new_picture(outcome, before) else {
            return self.deliver_new(outcome, notice).await;
        };
        let pack = match outcome.language {
            Some(code) => self.content.pack(Some(code.as_str())),
            None => self.pack,
        };
        let caption = Conversation::new(self.content, pack).caption(picture);
        let lasting = notice.filter(|_| outcome.lasting);
        let on_photo = lasting
            .map(|n| format!("{n}\n\n{caption}"))
            .filter(|c| html::telegram_len(c) <= MAX_CAPTION);
        let sender = ChatSender {
            bot: self.bot,
            delivery: self.delivery,
            chat_id: self.chat_id,
        };
        let sent = self
            .photos
            .send(&sender, picture, on_photo.as_deref().unwrap_or(caption))
            .await;
        match (sent.is_sent(), lasting, on_photo) {
            (true, Some(_), Some(_)) => self.deliver_new(outcome, None).await,
            (true, Some(_), None) => {
                let glued = Outcome {
                    lasting: false,
                    ..outcome.clone()
                };
                self.deliver_new(&glued, notice).await
            }
            _ => self.deliver_new(outcome, notice).await,
        }
    }

    /// Sends a message to keep: no buttons, so it can be forwarded as it is.
    async fn send_kept(&self, text: &str) -> Result<(), HandlerError> {
        let request = self
            .bot
            .send_message(self.chat_id, text)
            .parse_mode(ParseMode::Html);
        self.delivery.send(Some(self.chat_id), request).await?;
        Ok(())
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
        if let Some(keep) = &outcome.keep {
            self.send_kept(keep).await?;
        }
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
            request = request.reply_markup(keyboards::keyboard(screen, self.me, pack)?);
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

pub(crate) async fn receive_message<R: Api>(
    bot: R,
    msg: Message,
    me: Me,
    loaded: Loaded,
    content: Arc<Content>,
    delivery: Arc<Delivery>,
    photos: Photos,
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
    let reply = Reply::new((&bot, &delivery, &photos), &me, &content, msg.chat.id, pack);
    let next = reply
        .step_as_new(&dialogue, &session, msg.from.as_ref(), input)
        .await?;
    save(&dialogue, &delivery, Session { album, ..next }).await
}

pub(crate) async fn receive_edited_message<R: Api>(
    bot: R,
    msg: Message,
    me: Me,
    loaded: Loaded,
    content: Arc<Content>,
    delivery: Arc<Delivery>,
    photos: Photos,
) -> HandlerResult {
    let Loaded { dialogue, session } = loaded;
    let pack = pack_for(&content, &session, msg.from.as_ref());
    let reply = Reply::new((&bot, &delivery, &photos), &me, &content, msg.chat.id, pack);
    let next = reply
        .step_as_new(&dialogue, &session, msg.from.as_ref(), Input::Edited)
        .await?;
    save(&dialogue, &delivery, next).await
}

pub(crate) async fn receive_callback<R: Api>(
    bot: R,
    q: CallbackQuery,
    me: Me,
    storage: Arc<SessionStorage>,
    content: Arc<Content>,
    delivery: Arc<Delivery>,
    photos: Photos,
) -> HandlerResult {
    // Group buttons on group messages went to `group::receive_tap`; group data on a private
    // menu is invalid here, like any forgery.
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
    erase_first(&dialogue, &delivery, &outcome).await;
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

    let reply = Reply::new((&bot, &delivery, &photos), &me, &content, chat_id, pack);
    // The picture above the tapped menu, if its screen had one.
    let before = picture_of(&session.state);
    let menu = match input {
        // The tapped menu is current: edit it in place (questions and answers alike).
        // A message to keep (the summary for the dermatologist) is its own message below;
        // the menu above it stays as it is.
        Input::Tap(_) if outcome.keep.is_some() => {
            if let Some(keep) = &outcome.keep {
                reply.send_kept(keep).await?;
            }
            Some(message_id)
        }
        // A screen with a new picture: the photo, then the menu below it as a new message, and
        // the old menu's buttons retired (after, so a failed send leaves them usable).
        Input::Tap(_)
            if outcome.language.is_none()
                && Reply::<R>::new_picture(&outcome, before).is_some() =>
        {
            let menu = reply.deliver(&outcome, None, before).await?;
            retire_buttons((&bot, &delivery), chat_id, message_id).await;
            menu
        }
        Input::Tap(_) if outcome.language.is_none() => {
            if let Some(screen) = &outcome.screen {
                let markup = keyboards::keyboard(screen, &me, pack)?;
                edit_menu((&bot, &delivery), chat_id, message_id, &screen.text, markup).await?;
            }
            Some(message_id)
        }
        Input::Tap(_) => {
            // A new language: its confirmation and a fresh menu below it, then the old menu's
            // buttons are retired (after, so a failed send leaves them usable).
            let notice = outcome.language.and(outcome.notice.as_deref());
            let menu = reply.deliver(&outcome, notice, before).await?;
            retire_buttons((&bot, &delivery), chat_id, message_id).await;
            menu
        }
        // Expired or invalid: the notice was the pop-up; retire the old buttons so they are
        // not pressed again, and show the current question anew.
        _ => {
            retire_buttons((&bot, &delivery), chat_id, message_id).await;
            reply.deliver(&outcome, None, before).await?
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
        log::debug!("could not retire an old menu: {}", error_kind(&err));
    }
}

/// Erases the chat before anything is said when the step ends the conversation (`/forget`):
/// the answers it held (pregnancy, warning signs) must go even if the confirmation cannot be
/// delivered. [`save`] erases again at the end, which retries a failed erase.
async fn erase_first(dialogue: &SessionDialogue, delivery: &Delivery, outcome: &Outcome) {
    if outcome.state == State::Idle && dialogue.exit().await.is_err() {
        delivery.metrics().storage_error();
        log::warn!(
            "could not erase a conversation yet: storage unreachable; trying again after the reply"
        );
    }
}

/// Attempts at storing a session, and the pause before the second (doubled for the third).
const SAVE_ATTEMPTS: u32 = 3;
const SAVE_PAUSE: Duration = Duration::from_millis(100);

/// Stores the new session, or erases the chat when the conversation went idle (`/forget`).
///
/// The reply is already out, so a failed store (a Redis blip) is tried again a few times: a
/// lost store would answer the next tap on this menu as expired. A failure after that is
/// counted and logged, not returned.
async fn save(dialogue: &SessionDialogue, delivery: &Delivery, session: Session) -> HandlerResult {
    let mut pause = SAVE_PAUSE;
    for attempt in 1..=SAVE_ATTEMPTS {
        let result = if session.state == State::Idle {
            dialogue.exit().await
        } else {
            dialogue.update(session.clone()).await
        };
        if result.is_ok() {
            return Ok(());
        }
        delivery.metrics().storage_error();
        if attempt < SAVE_ATTEMPTS {
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }
    log::warn!("could not store a conversation: storage unreachable");
    Ok(())
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
