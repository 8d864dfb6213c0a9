//! Keyboards: the buttons under a menu, the share row under answers, and the deep links they
//! and every other face carry.
//!
//! A link is `https://t.me/<bot>?start=<payload>` ([`Link::payload`]); the bot's username comes
//! from getMe, so the same build works for any bot account.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, Me};
use url::{ParseError, Url};

use super::callback;
use crate::content::{Pack, html};
use crate::conversation::Screen;
use crate::knowledge::Link;

/// The inline keyboard for a screen: its buttons, and under an answer worth sharing the share
/// row (Telegram's share sheet and posting into another chat) above the navigation row.
pub fn keyboard(screen: &Screen, me: &Me, pack: &Pack) -> Result<InlineKeyboardMarkup, ParseError> {
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
        rows.insert(at, share_row(me, pack, link)?);
    }
    Ok(InlineKeyboardMarkup::new(rows))
}

/// `https://t.me/<bot>`: the private chat with the bot. Every bot has a username; were it
/// missing, this is an error rather than `Me::username`'s panic.
pub fn bot_link(me: &Me) -> Result<Url, ParseError> {
    let username = me.user.username.as_deref().ok_or(ParseError::EmptyHost)?;
    Url::parse(&format!("https://t.me/{username}"))
}

/// The deep link that opens `link` in a private chat with the bot.
pub fn deep_link(me: &Me, link: Link) -> Result<Url, ParseError> {
    let mut url = bot_link(me)?;
    url.query_pairs_mut().append_pair("start", &link.payload());
    Ok(url)
}

/// The one-line text shared with a card: its title and the tagline.
pub fn share_text(pack: &Pack, link: Link) -> String {
    let title = pack.link_title(link);
    format!("{} — {}", html::to_plain(title), pack.ui.share.tagline)
}

/// Telegram's share sheet for a card: pick a chat, and the link and summary are posted there.
pub fn share_url(me: &Me, pack: &Pack, link: Link) -> Result<Url, ParseError> {
    let mut url = Url::parse("https://t.me/share/url")?;
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("url", deep_link(me, link)?.as_str())
        .append_pair("text", &share_text(pack, link))
        .finish();
    // Form encoding writes spaces as '+', which not every client turns back into spaces; a
    // literal '+' is already "%2B", so this swap is exact.
    url.set_query(Some(&query.replace('+', "%20")));
    Ok(url)
}

/// The share row under an answer: the share sheet, and posting the answer into another chat
/// through inline mode (the query is the answer's title, which finds it first).
pub fn share_row(
    me: &Me,
    pack: &Pack,
    link: Link,
) -> Result<Vec<InlineKeyboardButton>, ParseError> {
    let title = html::to_plain(pack.link_title(link));
    Ok(vec![
        InlineKeyboardButton::url(pack.ui.share.button.clone(), share_url(me, pack, link)?),
        InlineKeyboardButton::switch_inline_query(pack.ui.share.inline_button.clone(), title),
    ])
}
