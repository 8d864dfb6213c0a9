//! An emulated Telegram: its users, what it records, and the knobs a test turns.

use super::*;

/// The token the tests give the bot; its secret part must never reach a log.
pub const TOKEN: &str = "123456:TESTTOKENsecretvalue";
pub const TOKEN_SECRET: &str = "TESTTOKENsecretvalue";

/// The client timeout the contract gives the bot by default (`API_TIMEOUT`).
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

/// Telegram's answers that tests look for.
pub const NOT_MODIFIED: &str = "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";
pub const QUERY_TOO_OLD: &str =
    "Bad Request: query is too old and response timeout expired or query ID is invalid";
pub const BLOCKED: &str = "Forbidden: bot was blocked by the user";

/// The bot's reply calls: what a user sees. Only these meet [`Faults`].
const REPLY_METHODS: [&str; 6] = [
    "sendmessage",
    "editmessagetext",
    "editmessagereplymarkup",
    "answercallbackquery",
    "answerinlinequery",
    "deletemessage",
];

/// A person talking to the bot in a private chat (whose id is the user's id).
#[derive(Debug, Clone)]
pub struct TgUser {
    pub id: i64,
    pub first_name: String,
    /// The language code their Telegram reports.
    pub language: String,
}

impl TgUser {
    pub fn new(id: i64, first_name: &str, language: &str) -> Self {
        Self {
            id,
            first_name: first_name.to_owned(),
            language: language.to_owned(),
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "is_bot": false,
            "first_name": self.first_name,
            "language_code": self.language,
        })
    }

    pub fn private_chat(&self) -> Value {
        json!({ "id": self.id, "type": "private", "first_name": self.first_name })
    }
}

/// Something a reply call did, as the user would see it: the call reached Telegram and took
/// effect. A call refused or failed (429, 5xx, dropped before processing, "not modified",
/// "too old") is no delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The lowercased method: sendmessage, editmessagetext, editmessagereplymarkup,
    /// answercallbackquery, answerinlinequery or deletemessage.
    pub method: String,
    /// The chat it happened in (for a callback answer, the chat of the tapped message).
    pub chat: i64,
    /// The message sent, edited or deleted.
    pub message_id: Option<i64>,
    /// The message text (sends and text edits) or the pop-up text (callback answers).
    pub text: Option<String>,
    /// The keyboard the message has now; `Null` when it has none.
    pub markup: Value,
    /// The callback query answered.
    pub query_id: Option<String>,
    /// Whether the bot got Telegram's answer. False when the connection was dropped after
    /// processing or the answer came after the client's timeout: only then may the bot rightly
    /// send the same thing again.
    pub answered: bool,
    pub at: Instant,
}

/// A message the bot sent, as it stands now.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub text: String,
    /// `Null` when it has no keyboard.
    pub markup: Value,
}

/// How the fake answers getMe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetMe {
    Bot,
    /// 500 Internal Server Error, until the test changes it.
    Failing,
}

/// How the fake answers a setup call (getMe, setWebhook, deleteWebhook…) instead of as
/// Telegram would, until the test changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// A JSON error with this code (HTTP status and `error_code`) and description.
    Error(u16, &'static str),
    /// The proxy's 502 page, not JSON.
    BadGateway,
    /// The usual answer, only after this long.
    Late(Duration),
    /// No answer: the connection is closed.
    HangUp,
}

/// Everything the emulated Telegram knows.
struct World {
    /// Updates for getUpdates, each with its `update_id`; confirmed ones (below the requested
    /// `offset`) are dropped, as Telegram does.
    updates: VecDeque<Value>,
    next_update_id: i64,
    next_message_id: i64,
    next_query: u64,
    /// The private chats of the users that wrote, by chat id.
    chats: HashMap<i64, Value>,
    messages: HashMap<(i64, i64), SentMessage>,
    /// Callback queries by id: their chat, and whether they were answered.
    queries: HashMap<String, (i64, bool)>,
    deliveries: Vec<Delivery>,
    /// The parameters of the last setWebhook, until deleteWebhook.
    webhook: Option<Value>,
    get_me: GetMe,
    /// Setup calls answered otherwise, by lowercased method.
    setup: HashMap<String, Setup>,
    /// The next setup calls of a method answered otherwise, once each, before `setup`.
    setup_once: VecDeque<(String, Setup)>,
    /// Chats whose user blocked the bot: sends and edits there answer 403.
    blocked: HashSet<i64>,
    /// Methods answered late (after processing), for every call.
    slow: HashMap<String, Duration>,
    /// Faults for the next calls of a method, before any random ones.
    scripted: VecDeque<(String, Fault)>,
    /// The random fault stream of each chat.
    streams: HashMap<i64, XorShift>,
    /// Faults injected so far, by kind.
    injected: Vec<(Instant, String, i64, Fault)>,
    /// Methods the fake does not know.
    unknown: Vec<String>,
    /// Telegram's message limits, when enforced.
    limits: Option<limits::Enforcer>,
}

struct Shared {
    world: Mutex<World>,
    /// Wakes a held getUpdates when an update is queued.
    queued: Condvar,
    faults: Option<Faults>,
    client_timeout: Duration,
}

/// An emulated Telegram Bot API on [`FakeApi`] (see the module doc). The test plays the users
/// by queueing updates (or posting them to a webhook) and observes the deliveries.
pub struct FakeTelegram {
    api: FakeApi,
    shared: Arc<Shared>,
}

impl FakeTelegram {
    /// A Telegram that never fails.
    pub fn start() -> Self {
        Self::with_faults(None, DEFAULT_CLIENT_TIMEOUT)
    }

    /// A Telegram that fails reply calls with `faults`, for a bot whose requests time out
    /// after `client_timeout` (its `API_TIMEOUT`): an answer later than that is never seen.
    pub fn with_faults(faults: Option<Faults>, client_timeout: Duration) -> Self {
        let shared = Arc::new(Shared {
            world: Mutex::new(World {
                updates: VecDeque::new(),
                next_update_id: 1,
                next_message_id: 100,
                next_query: 1,
                chats: HashMap::new(),
                messages: HashMap::new(),
                queries: HashMap::new(),
                deliveries: Vec::new(),
                webhook: None,
                get_me: GetMe::Bot,
                setup: HashMap::new(),
                setup_once: VecDeque::new(),
                blocked: HashSet::new(),
                slow: HashMap::new(),
                scripted: VecDeque::new(),
                streams: HashMap::new(),
                injected: Vec::new(),
                unknown: Vec::new(),
                limits: None,
            }),
            queued: Condvar::new(),
            faults,
            client_timeout,
        });
        let api = {
            let shared = shared.clone();
            FakeApi::start(move |method, params| shared.answer(method, params))
        };
        Self { api, shared }
    }

    /// The value for TELOXIDE_API_URL.
    pub fn url(&self) -> String {
        self.api.url()
    }

    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.shared.world.lock().expect("world lock")
    }

    // --- Knobs ---

    pub fn set_get_me(&self, get_me: GetMe) {
        self.world().get_me = get_me;
    }

    /// From now on the setup call `method` (lowercased, e.g. "setwebhook") is answered with
    /// `setup`; `None` answers it as Telegram would again.
    pub fn answer_setup(&self, method: &str, setup: Option<Setup>) {
        let mut world = self.world();
        match setup {
            Some(setup) => world.setup.insert(method.to_owned(), setup),
            None => world.setup.remove(method),
        };
    }

    /// The next call of the setup call `method` (lowercased) is answered with `setup`, the
    /// ones after it as before.
    pub fn answer_setup_once(&self, method: &str, setup: Setup) {
        self.world()
            .setup_once
            .push_back((method.to_owned(), setup));
    }

    /// The user of `chat` blocks the bot (`true`) or unblocks it.
    pub fn set_blocked(&self, chat: i64, blocked: bool) {
        let mut world = self.world();
        if blocked {
            world.blocked.insert(chat);
        } else {
            world.blocked.remove(&chat);
        }
    }

    /// Every call of `method` is processed at once and answered after `delay`.
    pub fn answer_late(&self, method: &str, delay: Duration) {
        self.world().slow.insert(method.to_owned(), delay);
    }

    /// From now on messages over `limits` are refused with 429, as a strict Telegram would.
    pub fn enforce_limits(&self, limits: Limits) {
        self.world().limits = Some(limits::Enforcer::new(limits));
    }

    /// How many messages were refused for going over the enforced limits.
    pub fn refused_over_limits(&self) -> usize {
        self.world().limits.as_ref().map_or(0, |l| l.refused)
    }

    /// The next call of `method` (a reply method) meets `fault`.
    pub fn fail_next(&self, method: &str, fault: Fault) {
        self.world().scripted.push_back((method.to_owned(), fault));
    }

    // --- The users ---

    /// Queues an update for getUpdates (its `update_id` is assigned here) and returns its id.
    pub fn push_update(&self, mut update: Value) -> i64 {
        let mut world = self.world();
        let id = world.next_update_id;
        world.next_update_id += 1;
        update["update_id"] = json!(id);
        world.updates.push_back(update);
        self.shared.queued.notify_all();
        id
    }

    /// The message of `user` sending `text` in their private chat.
    fn user_message(&self, user: &TgUser, text: &str) -> Value {
        let mut world = self.world();
        world.chats.insert(user.id, user.private_chat());
        world.next_message_id += 1;
        let mut message = json!({
            "message_id": world.next_message_id,
            "date": unix_now(),
            "chat": user.private_chat(),
            "from": user.json(),
            "text": text,
        });
        if text.starts_with('/') {
            let length = text
                .split_whitespace()
                .next()
                .unwrap_or(text)
                .encode_utf16()
                .count();
            message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": length }]);
        }
        message
    }

    /// The update of `user` sending `text` in their private chat, with its `update_id`, not
    /// queued (to post it to a webhook).
    pub fn message_update(&self, user: &TgUser, text: &str) -> Value {
        let message = self.user_message(user, text);
        let mut world = self.world();
        let id = world.next_update_id;
        world.next_update_id += 1;
        json!({ "update_id": id, "message": message })
    }

    /// `user` sends `text` in their private chat; returns the update id.
    pub fn user_sends(&self, user: &TgUser, text: &str) -> i64 {
        let message = self.user_message(user, text);
        self.push_update(json!({ "message": message }))
    }

    /// `user` taps the button with callback `data` under the bot's message `message_id` in
    /// their private chat; returns the callback query id.
    pub fn user_taps(&self, user: &TgUser, message_id: i64, data: &str) -> String {
        let (id, message) = {
            let mut world = self.world();
            let id = format!("{}{:04}", user.id, world.next_query);
            world.next_query += 1;
            world.queries.insert(id.clone(), (user.id, false));
            let message = world
                .messages
                .get(&(user.id, message_id))
                .map(|sent| world.message_json(user.id, message_id, sent));
            (id, message)
        };
        let message =
            message.unwrap_or_else(|| panic!("no message {message_id} in chat {}", user.id));
        self.push_update(json!({
            "callback_query": {
                "id": id,
                "from": user.json(),
                "message": message,
                "chat_instance": format!("-{}", user.id),
                "data": data,
            }
        }));
        id
    }

    // --- What happened ---

    pub fn calls(&self) -> Vec<Call> {
        self.api.calls()
    }

    /// Waits until the calls satisfy `done`, or fails naming `what`.
    pub fn wait_for_call<T>(
        &self,
        what: &str,
        deadline: Duration,
        done: impl Fn(&[Call]) -> Option<T>,
    ) -> T {
        self.api.wait_for(what, deadline, done)
    }

    /// The deliveries in one chat.
    /// Every delivery so far, in every chat.
    #[allow(
        dead_code,
        reason = "benches/burst.rs reads it; the tests look chat by chat"
    )]
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.world().deliveries.clone()
    }

    pub fn deliveries_in(&self, chat: i64) -> Vec<Delivery> {
        self.world()
            .deliveries
            .iter()
            .filter(|d| d.chat == chat)
            .cloned()
            .collect()
    }

    /// A message the bot sent, as it stands now.
    pub fn message(&self, chat: i64, message_id: i64) -> Option<SentMessage> {
        self.world().messages.get(&(chat, message_id)).cloned()
    }

    /// The parameters of the webhook the bot set, if any.
    pub fn webhook(&self) -> Option<Value> {
        self.world().webhook.clone()
    }

    /// The faults injected so far: when, the method, the chat and the fault.
    pub fn injected(&self) -> Vec<(Instant, String, i64, Fault)> {
        self.world().injected.clone()
    }

    /// Methods the bot called that the fake does not know.
    pub fn unknown_methods(&self) -> Vec<String> {
        self.world().unknown.clone()
    }

    /// A one-line summary of the faults injected, by kind.
    pub fn fault_summary(&self) -> String {
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        for (_, _, _, fault) in self.injected() {
            match counts.iter_mut().find(|(k, _)| *k == fault.kind()) {
                Some((_, n)) => *n += 1,
                None => counts.push((fault.kind(), 1)),
            }
        }
        counts.sort();
        let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        format!("{} faults ({})", self.injected().len(), parts.join(", "))
    }
}

/// A `message_reaction` update in `user`'s private chat with neither `user` nor `actor_chat`:
/// Telegram should never send one, but a local Bot API server or a forged webhook post can.
/// Unpatched teloxide-core 0.13 panicked while deserializing it.
pub fn reaction_without_actor(user: &TgUser) -> Value {
    json!({ "message_reaction": {
        "chat": user.private_chat(),
        "message_id": 101,
        "date": unix_now(),
        "old_reaction": [],
        "new_reaction": [{ "type": "emoji", "emoji": "👍" }],
    }})
}

/// The bot's own user, as getMe returns it.
pub fn bot_user() -> Value {
    json!({
        "id": 123_456,
        "is_bot": true,
        "first_name": "Scar Guide",
        "username": "scar_guide_test_bot",
    })
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

// Spelled out for benches/faults.rs; see the note in fake_api.rs.
#[path = "telegram/world.rs"]
mod world;
