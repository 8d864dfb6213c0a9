//! The shared harness: a chat with the real handler tree over the `teloxide_tests` mock Bot API.
//!
//! Tests read like transcripts: `chat.send("/start")`, `chat.tap(Action::Topic(..))`, then
//! assertions on what the user saw and on the stored session. Expected texts come from the same
//! `Content` and `Conversation` the bot uses, never from copied strings.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use scar_guide::content::{Content, Pack, html};
use scar_guide::conversation::{Action, Conversation, Outcome};
use scar_guide::knowledge::Link;
use scar_guide::service::storage::ExpiringStorage;
use scar_guide::telegram::keyboards as share;
use scar_guide::telegram::{self, HandlerError, Session, callback};
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::{ChatId, InlineKeyboardButtonKind, InlineKeyboardMarkup, Me, Message};
use teloxide_tests::mock_bot::DistributionKey;
use teloxide_tests::server::Responses;
use teloxide_tests::{MockBot, MockCallbackQuery, MockMessageText, MockUser};

/// A `dialogues/` folder to test instead of the embedded copy (a content edit in progress).
const DIALOGUES_OVERRIDE: &str = "SCAR_GUIDE_TEST_DIALOGUES";

/// The real content, loaded once per test binary: the copy built into the bot, or the folder
/// named by `SCAR_GUIDE_TEST_DIALOGUES`.
pub fn content() -> Arc<Content> {
    static CONTENT: OnceLock<Arc<Content>> = OnceLock::new();
    CONTENT
        .get_or_init(|| {
            let content = match std::env::var_os(DIALOGUES_OVERRIDE) {
                Some(dir) => Content::from_dir(Path::new(&dir)),
                None => Content::embedded(),
            };
            Arc::new(content.expect("dialogues/ is valid"))
        })
        .clone()
}

pub fn english() -> &'static Pack {
    static CONTENT: OnceLock<Arc<Content>> = OnceLock::new();
    let content = CONTENT.get_or_init(content);
    content.pack(Some("en"))
}

/// The conversation core over the real English content, for expected texts.
pub fn conversation() -> Conversation<'static> {
    conversation_in("en")
}

/// The real content, for as long as the test binary runs.
pub fn static_content() -> &'static Content {
    static CONTENT: OnceLock<Arc<Content>> = OnceLock::new();
    CONTENT.get_or_init(content)
}

/// The pack of language `code`, which must exist: no fallback to English.
pub fn pack_in(code: &str) -> &'static Pack {
    let pack = static_content().pack(Some(code));
    assert_eq!(pack.code, code, "dialogues/ has no {code:?} pack");
    pack
}

/// The conversation core over the real content in language `code`, which must exist.
pub fn conversation_in(code: &str) -> Conversation<'static> {
    Conversation::new(static_content(), pack_in(code))
}

/// The languages every path is walked in: both must exist.
pub const LANGUAGES: [&str; 2] = ["en", "ja"];

/// The `dialogues/` folder of the repository (or the one named by `SCAR_GUIDE_TEST_DIALOGUES`).
pub fn dialogues_dir() -> PathBuf {
    match std::env::var_os(DIALOGUES_OVERRIDE) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues"),
    }
}

/// Every `.toml` file under `dialogues/` on disk, as `(path relative to dialogues/, text)`,
/// sorted by path.
pub fn dialogue_files() -> Vec<(String, String)> {
    fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("readable entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                collect(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let rel = path
                    .strip_prefix(root)
                    .expect("under dialogues/")
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&path).expect("readable file")));
            }
        }
    }
    let root = dialogues_dir();
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files
}

/// A clock the test moves forward by hand. The mock Bot API runs the handlers on its own
/// runtime, so tokio's paused time in the test would not reach them; this clock does.
#[derive(Clone, Default)]
pub struct TestClock(Arc<std::sync::Mutex<Duration>>);

impl TestClock {
    pub fn now(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + *self.0.lock().expect("clock lock")
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock lock") += by;
    }
}

/// One private chat with the bot.
pub struct Chat {
    pub bot: MockBot<HandlerError, DistributionKey>,
    pub storage: Arc<ExpiringStorage<Session>>,
    /// The last message the bot sent or edited that carries a keyboard.
    pub menu: Option<Message>,
    /// Everything the bot did in the last dispatch.
    pub last: Responses,
}

impl Chat {
    pub fn new() -> Self {
        Self::with_ttl(Duration::from_secs(24 * 60 * 60))
    }

    pub fn with_ttl(ttl: Duration) -> Self {
        Self::with_storage(ExpiringStorage::<Session>::new(ttl, 10_000))
    }

    /// A chat whose storage reads the time from `clock` (see [`TestClock`]).
    pub fn with_clock(ttl: Duration, clock: &TestClock) -> Self {
        let clock = clock.clone();
        Self::with_storage(ExpiringStorage::<Session>::with_clock(
            ttl,
            10_000,
            Arc::new(move || clock.now()),
        ))
    }

    fn with_storage(storage: Arc<ExpiringStorage<Session>>) -> Self {
        let mut bot = MockBot::new(
            MockMessageText::new().text("/start"),
            telegram::schema::<teloxide::Bot>(),
        );
        bot.dependencies(telegram::dependencies(content(), storage.clone().erase()));
        Self {
            bot,
            storage,
            menu: None,
            last: Responses::default(),
        }
    }

    async fn dispatch(&mut self) -> &Responses {
        self.bot.dispatch().await;
        self.last = self.bot.get_responses();
        if let Some(m) = self
            .last
            .sent_messages
            .iter()
            .rev()
            .find(|m| m.reply_markup().is_some())
        {
            self.menu = Some(m.clone());
        } else if let Some(e) = self.last.edited_messages_text.last() {
            self.menu = Some(e.message.clone());
        }
        &self.last
    }

    /// The user sends a text message (commands included).
    pub async fn send(&mut self, text: &str) -> &Responses {
        self.bot.update(MockMessageText::new().text(text));
        self.dispatch().await
    }

    /// The user sends any update (a photo, a sticker, an edited message…).
    pub async fn send_update(&mut self, update: impl teloxide_tests::IntoUpdate) -> &Responses {
        self.bot.update(update);
        self.dispatch().await
    }

    /// The user taps a button of the current menu.
    pub async fn tap(&mut self, action: Action) -> &Responses {
        let menu = self.menu.clone().expect("a menu was shown");
        let data = callback::encode(action);
        assert!(
            buttons(&menu).iter().any(|(_, d)| *d == data),
            "the current menu has no button {action:?}: {:?}",
            buttons(&menu)
        );
        self.tap_raw(&menu, &data).await
    }

    /// The user's client sends callback data `data` from message `on` (forged, stale…).
    pub async fn tap_raw(&mut self, on: &Message, data: &str) -> &Responses {
        self.bot.update(
            MockCallbackQuery::new()
                .message(on.clone())
                .data(data.to_owned()),
        );
        self.dispatch().await
    }

    pub fn chat_id(&self) -> ChatId {
        self.menu
            .as_ref()
            .map(|m| m.chat.id)
            .unwrap_or(ChatId(teloxide_tests::MockUser::ID as i64))
    }

    /// The stored session, `None` when the chat has none.
    pub async fn session(&self) -> Option<Session> {
        self.storage
            .clone()
            .get_dialogue(self.chat_id())
            .await
            .expect("storage is infallible")
    }

    /// The text of the current menu message.
    pub fn menu_text(&self) -> String {
        self.menu
            .as_ref()
            .and_then(|m| m.text())
            .unwrap_or_default()
            .to_owned()
    }

    /// Texts of the new messages sent in the last dispatch, in order.
    pub fn sent_texts(&self) -> Vec<String> {
        self.last
            .sent_messages_text
            .iter()
            .map(|m| m.bot_request.text.clone())
            .collect()
    }

    /// Asserts the last dispatch sent exactly the messages of `outcome` delivered as new
    /// messages ([`expected_messages`]): a lasting notice on its own without buttons, then the
    /// menu message with the outcome's buttons, which is now the current menu.
    pub fn assert_sent(&self, outcome: &Outcome, context: &str) {
        assert_eq!(self.sent_texts(), expected_messages(outcome), "{context}");
        let sent = &self.last.sent_messages;
        if outcome.screen.is_none() {
            return;
        }
        let menu = sent.last().expect("a menu message");
        assert_eq!(
            buttons(menu),
            expected_buttons(outcome),
            "{context}: the menu"
        );
        assert_eq!(
            self.menu.as_ref().map(|m| m.id),
            Some(menu.id),
            "{context}: the last message is the menu"
        );
        if outcome.lasting && outcome.notice.is_some() {
            let notice = &sent[sent.len() - 2];
            assert!(
                notice.reply_markup().is_none(),
                "{context}: the lasting notice {:?} has buttons",
                notice.text()
            );
        }
    }

    /// Callback answers of the last dispatch: their pop-up texts.
    pub fn answers(&self) -> Vec<Option<String>> {
        self.last
            .answered_callback_queries
            .iter()
            .map(|a| a.text.clone())
            .collect()
    }
}

/// `(label, callback data)` of every button of a message.
pub fn buttons(message: &Message) -> Vec<(String, String)> {
    message
        .reply_markup()
        .map(keyboard_buttons)
        .unwrap_or_default()
}

pub fn keyboard_buttons(markup: &InlineKeyboardMarkup) -> Vec<(String, String)> {
    markup
        .inline_keyboard
        .iter()
        .flatten()
        .filter_map(|b| match &b.kind {
            InlineKeyboardButtonKind::CallbackData(d) => Some((b.text.clone(), d.clone())),
            _ => None,
        })
        .collect()
}

/// The texts of the messages the bot sends for an outcome delivered as new messages, in order:
/// a lasting notice (the greeting, help, privacy, a language change) as its own message; then
/// the menu message, the screen's text with a short hint (not lasting) glued in front of it
/// after a blank line. A notice without a screen is one message on its own.
pub fn expected_messages(outcome: &Outcome) -> Vec<String> {
    let mut messages = Vec::new();
    let screen = outcome.screen.as_ref().map(|s| s.text.as_str());
    match (&outcome.notice, screen) {
        (Some(n), Some(s)) if outcome.lasting => {
            messages.push(n.clone());
            messages.push(s.to_owned());
        }
        (Some(n), Some(s)) => messages.push(format!("{n}\n\n{s}")),
        (Some(n), None) => messages.push(n.clone()),
        (None, Some(s)) => messages.push(s.to_owned()),
        (None, None) => {}
    }
    messages
}

/// `(label, callback data)` of every button of an outcome's screen, as [`buttons`] reads them
/// off the sent message.
pub fn expected_buttons(outcome: &Outcome) -> Vec<(String, String)> {
    outcome
        .screen
        .iter()
        .flat_map(|s| s.flat_buttons())
        .map(|b| (b.label.clone(), callback::encode(b.action)))
        .collect()
}

// --- Helpers added for tests/sharing.rs ---------------------------------------------------------

impl Chat {
    /// A chat whose bot uses `content` instead of the real `dialogues/` (a synthetic language).
    pub fn with_content(content: Arc<Content>) -> Self {
        let storage = ExpiringStorage::<Session>::new(Duration::from_secs(24 * 60 * 60), 10_000);
        let mut bot = MockBot::new(
            MockMessageText::new().text("/start"),
            telegram::schema::<teloxide::Bot>(),
        );
        bot.dependencies(telegram::dependencies(content, storage.clone().erase()));
        Self {
            bot,
            storage,
            menu: None,
            last: Responses::default(),
        }
    }
}

/// A note that shows in the test output even when the test passes: it writes to the process's
/// stderr directly, past libtest's capture of `print!`/`eprint!`.
pub fn note(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "NOTE: {text}");
}

// --- The share row under an answer ----------------------------------------------------------------

/// Every button of a message, flattened.
pub fn all_buttons(message: &Message) -> Vec<teloxide::types::InlineKeyboardButton> {
    message
        .reply_markup()
        .map(|m| m.inline_keyboard.iter().flatten().cloned().collect())
        .unwrap_or_default()
}

/// Whether a message carries any share button (share sheet or inline).
pub fn has_share_buttons(message: &Message) -> bool {
    all_buttons(message).iter().any(|b| {
        matches!(
            &b.kind,
            InlineKeyboardButtonKind::SwitchInlineQuery(_) | InlineKeyboardButtonKind::Url(_)
        )
    })
}

/// Checks the share row of an answer for `link`, in `conv`'s language: it is the row above the
/// last (navigation) row, exactly what `share::share_row` builds; the share sheet carries the
/// deep link spelled out and one plain line naming the answer; the send-to-a-chat query finds
/// this very answer first.
pub fn assert_share_row(message: &Message, me: &Me, conv: Conversation<'_>, link: Link) {
    let pack = conv.pack;
    let rows = &message
        .reply_markup()
        .unwrap_or_else(|| panic!("{link:?}: no keyboard"))
        .inline_keyboard;
    assert!(rows.len() >= 2, "{link:?}: {rows:?}");
    let row = &rows[rows.len() - 2];
    assert_eq!(
        *row,
        share::share_row(me, pack, link).expect("a share row"),
        "{link:?}: the share row sits above the navigation row"
    );
    let [sheet, inline] = &row[..] else {
        panic!("{link:?}: the share row has two buttons: {row:?}")
    };
    let InlineKeyboardButtonKind::Url(url) = &sheet.kind else {
        panic!("{link:?}: the share sheet is a URL button")
    };
    assert_eq!(
        (url.scheme(), url.host_str(), url.path()),
        ("https", Some("t.me"), "/share/url")
    );
    assert_eq!(sheet.text, pack.ui.share.button);
    let query: std::collections::BTreeMap<String, String> =
        url.query_pairs().into_owned().collect();
    assert_eq!(
        query["url"],
        format!("https://t.me/{}?start={}", me.username(), link.payload()),
        "{link:?}: the shared link opens this answer"
    );
    let text = &query["text"];
    assert!(
        text.contains(&html::to_plain(pack.link_title(link))),
        "{text:?}"
    );
    assert!(
        !text.contains('\n') && html::to_plain(text) == *text,
        "{text:?}"
    );
    let InlineKeyboardButtonKind::SwitchInlineQuery(q) = &inline.kind else {
        panic!("{link:?}: the second share button posts through inline mode")
    };
    assert_eq!(inline.text, pack.ui.share.inline_button);
    assert_eq!(conv.search(q).first(), Some(&link), "{link:?}: {q:?}");
}

/// The bot's own getMe as the mock Bot API answers it.
pub fn mock_me() -> Me {
    teloxide_tests::MockMe::new().build()
}

// --- Speaking as a user with a Telegram language ------------------------------------------------

/// The user sends `text` with this Telegram `language_code`.
pub async fn send_as(chat: &mut Chat, text: &str, language_code: Option<&str>) {
    let mut user = MockUser::new();
    if let Some(code) = language_code {
        user = user.language_code(code);
    }
    chat.send_update(MockMessageText::new().text(text).from(user.build()))
        .await;
}

/// The user (with this `language_code`) taps `action` on the current menu.
pub async fn tap_as(chat: &mut Chat, action: Action, language_code: Option<&str>) {
    let menu = chat.menu.clone().expect("a menu was shown");
    let data = callback::encode(action);
    assert!(
        buttons(&menu).iter().any(|(_, d)| *d == data),
        "the current menu has no button {action:?}: {:?}",
        buttons(&menu)
    );
    let mut user = MockUser::new();
    if let Some(code) = language_code {
        user = user.language_code(code);
    }
    chat.send_update(
        MockCallbackQuery::new()
            .message(menu)
            .data(data)
            .from(user.build()),
    )
    .await;
}

/// `(label, url)` of every URL button of a keyboard.
pub fn url_buttons(markup: &InlineKeyboardMarkup) -> Vec<(String, url::Url)> {
    markup
        .inline_keyboard
        .iter()
        .flatten()
        .filter_map(|b| match &b.kind {
            InlineKeyboardButtonKind::Url(u) => Some((b.text.clone(), u.clone())),
            _ => None,
        })
        .collect()
}
