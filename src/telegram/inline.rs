//! Inline mode: `@bot words` in any chat lists matching advice cards.
//!
//! Each result posts a compact card ([`Conversation::compact_card`]) with one button, "Open the
//! full guide", a deep link (`t.me/<bot>?start=<payload>`) that opens the full card in the
//! private chat. An empty query lists every card (the main topics). Answers depend only on the
//! query (see [`language_for`]), never on who asks, so Telegram may cache and share them
//! ([`CACHE_TIME_SECS`]).
//!
//! The query text is never logged: it is something a person typed.

use std::sync::Arc;

use super::delivery::{Api, Delivery};
use super::keyboards;
use super::shared::{HandlerResult, language_of};
use crate::content::{Content, Pack};
use crate::conversation::Conversation;
use crate::session::SessionStorage;
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResult, InlineQueryResultArticle,
    InlineQueryResultsButton, InlineQueryResultsButtonKind, InputMessageContent,
    InputMessageContentText, Me, ParseMode,
};

/// How long Telegram may keep an answer and show it again for the same query, in seconds
/// (Telegram's default). The content only changes with a new release.
pub const CACHE_TIME_SECS: u32 = 300;

/// The start parameter of the button above the results: it names no topic, so the bot opens
/// with its greeting and main menu (`/start inline`). 1-64 characters of `A-Za-z0-9_-`.
pub const OPEN_BOT_PARAMETER: &str = "inline";

/// Answers an inline query with the advice cards it finds.
///
/// A failure to answer (the query is too old, the network is down) is returned for the error
/// handler to log by kind; nothing else depends on it.
pub async fn answer<R: Api>(
    bot: R,
    q: InlineQuery,
    me: Me,
    content: Arc<Content>,
    storage: Arc<SessionStorage>,
    delivery: Arc<Delivery>,
) -> HandlerResult {
    let asker = language_of(&storage, &q.from).await;
    let (pack, personal) = language_for(&content, &q.query, asker.as_deref());
    let conversation = Conversation::new(&content, pack);
    let results = results(&conversation, &me, &q.query);
    log::debug!("inline query answered with {} results", results.len());
    let request = bot
        .answer_inline_query(q.id, results)
        .cache_time(CACHE_TIME_SECS)
        .is_personal(personal)
        .button(InlineQueryResultsButton {
            text: pack.ui.inline.open_bot.clone(),
            kind: InlineQueryResultsButtonKind::StartParameter(OPEN_BOT_PARAMETER.to_owned()),
        });
    delivery.send(None, request).await?;
    Ok(())
}

/// The language of the answer to `query`, and whether the answer is personal.
///
/// Telegram hands a non-personal answer to anyone who types the same query, so an answer that
/// is the same for every user must follow from the query alone: it comes in the first language
/// whose cards match the query, trying the default language first for queries in plain ASCII
/// ("keloid") and the other languages first for anything else ("ケロイド"). Only the empty
/// query matches every language; it lists the topics in the asker's language, and that answer
/// is personal when there is more than one language.
pub fn language_for<'c>(
    content: &'c Content,
    query: &str,
    asker: Option<&str>,
) -> (&'c Pack, bool) {
    // Punctuation alone ("?") matches nothing either: treat it as the empty query.
    if crate::content::text::normalize(query).is_empty() {
        return (content.pack(asker), content.packs().nth(1).is_some());
    }
    let default = content.pack(None);
    let others = content.packs().filter(|p| p.code != default.code);
    let order: Vec<&Pack> = if query.is_ascii() {
        std::iter::once(default).chain(others).collect()
    } else {
        others.chain(std::iter::once(default)).collect()
    };
    let found = order
        .into_iter()
        .find(|pack| !Conversation::new(content, pack).search(query).is_empty());
    (found.unwrap_or(default), false)
}

/// The inline results for `query`: one article per card found, best first.
pub fn results(conversation: &Conversation<'_>, me: &Me, query: &str) -> Vec<InlineQueryResult> {
    let open_full = &conversation.pack.ui.inline.open_full;
    conversation
        .search(query)
        .into_iter()
        .map(|link| {
            let card = InputMessageContentText::new(conversation.compact_card(link))
                .parse_mode(ParseMode::Html);
            let mut article = InlineQueryResultArticle::new(
                link.payload(),
                crate::content::html::to_plain(conversation.link_title(link)),
                InputMessageContent::Text(card),
            )
            .description(conversation.link_summary(link));
            // Bots always have a username; were it missing, the card still posts, just
            // without its button.
            if let Ok(url) = keyboards::deep_link(me, link) {
                article =
                    article.reply_markup(InlineKeyboardMarkup::new([[InlineKeyboardButton::url(
                        open_full.clone(),
                        url,
                    )]]));
            }
            InlineQueryResult::Article(article)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::Link;

    #[test]
    fn a_bot_without_a_username_posts_cards_without_the_button() {
        let content = Content::embedded().expect("dialogues/ is valid");
        let conversation = Conversation::new(&content, content.pack(None));
        let mut me: Me = serde_json::from_str(
            r#"{"id": 1, "is_bot": true, "first_name": "Bot", "username": "scar_bot",
                "can_join_groups": false, "can_read_all_group_messages": false,
                "supports_inline_queries": true,
                "can_connect_to_business": false, "has_main_web_app": false}"#,
        )
        .expect("a valid Me");
        let with = results(&conversation, &me, "keloid");
        me.user.username = None;
        let without = results(&conversation, &me, "keloid");
        assert_eq!(with.len(), without.len());
        let markup = |r: &InlineQueryResult| match r {
            InlineQueryResult::Article(a) => a.reply_markup.clone(),
            _ => None,
        };
        assert!(with.iter().all(|r| markup(r).is_some()));
        assert!(without.iter().all(|r| markup(r).is_none()));
    }

    #[test]
    fn the_open_bot_parameter_names_no_topic() {
        assert!(Link::parse(OPEN_BOT_PARAMETER).is_none());
        assert!(
            OPEN_BOT_PARAMETER
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        );
    }
}
