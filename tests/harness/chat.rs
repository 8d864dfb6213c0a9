//! A private chat played by the test: it sends and taps, asks the conversation core what each
//! action should produce, and checks that exactly that was delivered.

use super::*;

/// Which button of the current menu to tap.
#[derive(Debug, Clone, Copy)]
pub enum Pick {
    /// The button with this action; the menu must have it.
    Action(Action),
    /// The first button, whatever it is.
    First,
}

/// One user in their private chat with the bot, played by the test.
///
/// Each action waits until the bot has done what the conversation core says it should: the
/// messages sent (the `n`-th time a text is expected, the `n`-th *answered* send of it), the
/// menu edited, the old menu's buttons retired, the button press answered. [`Self::check`]
/// then compares everything delivered in the chat with what was expected.
pub struct PrivateChat {
    pub user: TgUser,
    /// The language the bot speaks here: the user's, until /settings changes it.
    lang: String,
    /// Where the conversation is, per the conversation core.
    pub state: State,
    /// The message with the bot's current menu, as the bot knows it.
    pub menu: Option<i64>,
    /// How long the bot may take over one action.
    pub deadline: Duration,
    /// The bot's log, shown when a wait fails.
    log: Option<Log>,
    /// Texts the bot should have sent so far, with how many times.
    sent: HashMap<String, usize>,
    /// Text edits that should have changed a message.
    edits: usize,
    /// Old menus whose buttons should have been removed.
    retired: usize,
    /// The callback queries of the taps so far.
    queries: Vec<String>,
    /// Where the user's updates go: a bot's webhook, or (`None`) the fake's getUpdates queue.
    route: Option<Webhook>,
}

/// The real content, for the packs the chats speak.
fn shared_content() -> &'static Content {
    static CONTENT: OnceLock<Arc<Content>> = OnceLock::new();
    CONTENT.get_or_init(content)
}

/// The pack the bot uses for a language code.
pub fn pack(lang: &str) -> &'static Pack {
    shared_content().pack(Some(lang))
}

/// The callback buttons of a keyboard in JSON: `(label, callback data)`.
pub fn callback_buttons(markup: &Value) -> Vec<(String, String)> {
    markup["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|b| {
            Some((
                b["text"].as_str()?.to_owned(),
                b["callback_data"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// What the bot makes of a text message.
pub fn input_of(text: &str) -> Input {
    if text.starts_with('/') {
        Input::from_command_line(text)
    } else {
        Input::Text(text.to_owned())
    }
}

impl PrivateChat {
    pub fn new(user: TgUser) -> Self {
        let lang = user.language.clone();
        Self {
            user,
            lang,
            state: State::Idle,
            menu: None,
            deadline: Duration::from_secs(30),
            log: None,
            sent: HashMap::new(),
            edits: 0,
            retired: 0,
            queries: Vec::new(),
            route: None,
        }
    }

    /// From now on the user's messages and taps are posted to `webhook` (`None`: queued for
    /// getUpdates again), so a test can hand each action to a bot instance of its choice.
    pub fn via(&mut self, webhook: Option<&Webhook>) {
        self.route = webhook.cloned();
    }

    /// Shows the tail of `bot`'s log when a wait fails.
    pub fn watch(&mut self, bot: &BotProcess) {
        self.log = Some(bot.log());
    }

    pub fn id(&self) -> i64 {
        self.user.id
    }

    /// The conversation in the language the bot speaks here.
    pub fn conversation(&self) -> Conversation<'static> {
        Conversation::new(shared_content(), pack(&self.lang))
    }

    /// The user sends `text`; waits for the bot's reply.
    pub fn send(&mut self, api: &FakeTelegram, text: &str) -> Outcome {
        self.send_all(api, &[text]).pop().expect("one outcome")
    }

    /// The user sends all `texts` at once; waits for the bot's replies to all of them.
    pub fn send_all(&mut self, api: &FakeTelegram, texts: &[&str]) -> Vec<Outcome> {
        for text in texts {
            match &self.route {
                Some(webhook) => webhook.post(&api.message_update(&self.user, text)),
                None => {
                    api.user_sends(&self.user, text);
                }
            }
        }
        self.expect_replies(api, texts)
    }

    /// The bot received `texts` from this user some other way (a webhook POST): waits for the
    /// replies.
    pub fn expect_replies(&mut self, api: &FakeTelegram, texts: &[&str]) -> Vec<Outcome> {
        let mut expected = Vec::new();
        let mut menu = None;
        let mut outcomes = Vec::new();
        for text in texts {
            let outcome = self.conversation().step(&self.state, input_of(text));
            let messages = expected_messages(&outcome);
            menu = outcome
                .screen
                .as_ref()
                .map(|_| (expected.len() + messages.len() - 1, outcome.clone()));
            expected.extend(messages);
            self.advance(&outcome);
            outcomes.push(outcome);
        }
        let what = format!("the replies to {texts:?}");
        let sends = self.wait_for_sends(api, &what, &expected, |_| true);
        self.menu = menu.map(|(i, outcome)| {
            let sent = &sends[i];
            assert_eq!(
                callback_buttons(&sent.markup),
                expected_buttons(&outcome),
                "the menu's buttons after {texts:?}"
            );
            sent.message_id.expect("a sent message has an id")
        });
        outcomes
    }

    /// The user taps a button of the bot's current menu; waits for the answer and the reply.
    pub fn tap(&mut self, api: &FakeTelegram, pick: Pick) -> Outcome {
        let menu = self.menu.expect("the bot showed a menu to tap");
        let shown = api
            .message(self.id(), menu)
            .unwrap_or_else(|| panic!("the menu {menu} is not in the chat"));
        let buttons = callback_buttons(&shown.markup);
        let data = match pick {
            Pick::Action(action) => {
                let data = callback::encode(action);
                assert!(
                    buttons.iter().any(|(_, d)| *d == data),
                    "the menu has no button {action:?}: {buttons:?}"
                );
                data
            }
            Pick::First => buttons.first().expect("the menu has buttons").1.clone(),
        };
        let action = callback::parse(&data)
            .unwrap_or_else(|| panic!("{data:?} is not a button the bot makes"));
        let outcome = self.conversation().step(&self.state, Input::Tap(action));
        // Also queued for getUpdates, where no one polls while a webhook is set (Telegram
        // refuses getUpdates then).
        let query = api.user_taps(&self.user, menu, &data);
        if let Some(webhook) = &self.route {
            webhook.post(&tap_update(&self.user, menu, &shown, &query, &data));
        }
        self.queries.push(query.clone());
        let what = format!("the reply to a tap on {action:?}");
        // Every tap edits the menu in place, but for a new language, which comes as a new menu.
        let in_place = outcome.language.is_none();
        if in_place {
            let screen = outcome.screen.as_ref().expect("a tap shows a screen");
            let buttons = expected_buttons(&outcome);
            let is_shown =
                |m: &SentMessage| m.text == screen.text && callback_buttons(&m.markup) == buttons;
            if !is_shown(&shown) {
                self.edits += 1;
            }
            self.wait(api, &what, || {
                let done = api.message(self.id(), menu).is_some_and(|m| is_shown(&m))
                    && answered(&api.deliveries_in(self.id()), &query);
                done.then_some(())
            });
        } else {
            // A new language comes as a new menu, then the old menu loses its buttons; it is
            // said in the new menu rather than in the pop-up.
            let delivered = Outcome {
                notice: outcome.language.and(outcome.notice.clone()),
                ..outcome.clone()
            };
            let expected = expected_messages(&delivered);
            self.retired += 1;
            let id = self.id();
            let sends = self.wait_for_sends(api, &what, &expected, |deliveries| {
                answered(deliveries, &query)
                    && api.message(id, menu).is_some_and(|m| m.markup.is_null())
            });
            self.menu = outcome.screen.as_ref().map(|_| {
                let sent = sends.last().expect("the menu was sent");
                assert_eq!(
                    callback_buttons(&sent.markup),
                    expected_buttons(&outcome),
                    "{what}: the new menu's buttons"
                );
                sent.message_id.expect("a sent message has an id")
            });
        }
        let pop_up = outcome
            .notice
            .as_ref()
            .filter(|_| outcome.language.is_none())
            .map(|n| toast(n));
        let answer = api
            .deliveries_in(self.id())
            .into_iter()
            .find(|d| d.query_id.as_deref() == Some(query.as_str()))
            .expect("the tap was answered");
        assert_eq!(answer.text, pop_up, "{what}: the pop-up");
        self.advance(&outcome);
        outcome
    }

    /// Checks everything delivered in this chat against what the actions expected: every
    /// expected text was delivered *and answered* exactly as often as expected (extra copies
    /// only where the fake gave the bot no answer), nothing else was sent, each text edit and
    /// each retired menu was delivered once, and each tap was answered exactly once. Returns
    /// how many sends were repeated after no answer.
    pub fn check(&self, api: &FakeTelegram) -> usize {
        let deliveries = api.deliveries_in(self.id());
        let sends: Vec<&Delivery> = deliveries
            .iter()
            .filter(|d| d.method == "sendmessage")
            .collect();
        let text_of = |d: &Delivery| d.text.clone().unwrap_or_default();
        for send in &sends {
            assert!(
                self.sent.contains_key(&text_of(send)),
                "chat {}: the bot sent {:?}, which no action asked for",
                self.id(),
                text_of(send)
            );
        }
        for (text, times) in &self.sent {
            let answered = sends
                .iter()
                .filter(|d| d.answered && text_of(d) == *text)
                .count();
            assert_eq!(
                answered,
                *times,
                "chat {}: {text:?} was sent and answered {answered} times, expected {times}; \
                 a send the bot got an answer for must not be repeated",
                self.id()
            );
        }
        let count = |method: &str| deliveries.iter().filter(|d| d.method == method).count();
        assert_eq!(
            count("editmessagetext"),
            self.edits,
            "chat {}: menu edits delivered",
            self.id()
        );
        assert_eq!(
            count("editmessagereplymarkup"),
            self.retired,
            "chat {}: old menus retired",
            self.id()
        );
        for query in &self.queries {
            let answers = deliveries
                .iter()
                .filter(|d| d.query_id.as_deref() == Some(query.as_str()))
                .count();
            assert_eq!(answers, 1, "chat {}: answers to tap {query}", self.id());
        }
        assert_eq!(
            count("answercallbackquery"),
            self.queries.len(),
            "chat {}: button answers",
            self.id()
        );
        sends.iter().filter(|d| !d.answered).count()
    }

    /// Moves the expected conversation on by one outcome.
    fn advance(&mut self, outcome: &Outcome) {
        self.state = outcome.state.clone();
        if let Some(code) = outcome.language {
            code.as_str().clone_into(&mut self.lang);
        }
    }

    /// Expects `texts` to be sent, in this order, on top of everything sent before; waits
    /// until each was delivered and answered (and `also` holds), and returns those deliveries.
    fn wait_for_sends(
        &mut self,
        api: &FakeTelegram,
        what: &str,
        texts: &[String],
        also: impl Fn(&[Delivery]) -> bool,
    ) -> Vec<Delivery> {
        // The n-th time a text is expected, the n-th answered send of it is the one.
        let targets: Vec<(String, usize)> = texts
            .iter()
            .map(|text| {
                let n = self.sent.entry(text.clone()).or_default();
                *n += 1;
                (text.clone(), *n)
            })
            .collect();
        let id = self.id();
        let found = self.wait(api, what, || {
            let deliveries = api.deliveries_in(id);
            let found: Option<Vec<(usize, Delivery)>> = targets
                .iter()
                .map(|(text, n)| {
                    deliveries
                        .iter()
                        .enumerate()
                        .filter(|(_, d)| {
                            d.method == "sendmessage" && d.answered && d.text.as_ref() == Some(text)
                        })
                        .nth(n - 1)
                        .map(|(i, d)| (i, d.clone()))
                })
                .collect();
            found.filter(|_| also(&deliveries))
        });
        let order: Vec<usize> = found.iter().map(|(i, _)| *i).collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "{what}: sent out of order (positions {order:?}) in chat {id}"
        );
        found.into_iter().map(|(_, d)| d).collect()
    }

    /// Waits up to this chat's deadline, failing with what happened in the chat.
    fn wait<T>(&self, api: &FakeTelegram, what: &str, check: impl FnMut() -> Option<T>) -> T {
        wait_until(self.deadline, || self.describe(api, what), check)
    }

    /// What happened in this chat, for a failure message.
    fn describe(&self, api: &FakeTelegram, what: &str) -> String {
        let id = self.id();
        let mut text = format!("{what} in chat {id}\ndelivered there:\n");
        for d in api.deliveries_in(id) {
            let what = d.text.as_deref().unwrap_or_default();
            let what: String = what.chars().take(60).collect();
            text.push_str(&format!(
                "  {} {}{} {what:?}{}\n",
                d.method,
                d.message_id.map(|m| format!("#{m}")).unwrap_or_default(),
                d.query_id.as_deref().unwrap_or_default(),
                if d.answered { "" } else { " (no answer)" }
            ));
        }
        let faults: Vec<String> = api
            .injected()
            .into_iter()
            .filter(|(_, _, chat, _)| *chat == id)
            .map(|(_, method, _, fault)| format!("{method}: {fault:?}"))
            .collect();
        text.push_str(&format!("faults injected there: {faults:?}\n"));
        if let Some(log) = &self.log {
            text.push_str(&format!("the bot's log ends:\n{}", log.tail(30)));
        }
        text
    }
}

/// Whether callback query `query` was answered (delivered).
fn answered(deliveries: &[Delivery], query: &str) -> bool {
    deliveries
        .iter()
        .any(|d| d.query_id.as_deref() == Some(query))
}
