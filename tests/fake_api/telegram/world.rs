//! How the emulated Telegram answers each call, and its long poll.

use super::*;

/// A keyboard as the fake keeps it: `Null` for none or an empty one.
fn normalized_markup(markup: &Value) -> Value {
    let empty = markup.is_null()
        || markup["inline_keyboard"]
            .as_array()
            .is_some_and(|rows| rows.iter().all(|r| r.as_array().is_none_or(Vec::is_empty)));
    if empty { Value::Null } else { markup.clone() }
}

impl World {
    fn chat_json(&self, chat: i64) -> Value {
        self.chats
            .get(&chat)
            .cloned()
            .unwrap_or_else(|| json!({ "id": chat, "type": "private", "first_name": "User" }))
    }

    /// A bot message as the Bot API returns it.
    pub(super) fn message_json(&self, chat: i64, message_id: i64, sent: &SentMessage) -> Value {
        let mut message = json!({
            "message_id": message_id,
            "date": unix_now(),
            "chat": self.chat_json(chat),
            "from": bot_user(),
            "text": sent.text,
        });
        if !sent.markup.is_null() {
            message["reply_markup"] = sent.markup.clone();
        }
        message
    }

    /// The chat a reply call is about.
    fn chat_of(&self, method: &str, params: &Value) -> i64 {
        match method {
            "answercallbackquery" => params["callback_query_id"]
                .as_str()
                .and_then(|id| self.queries.get(id))
                .map_or(0, |(chat, _)| *chat),
            _ => params["chat_id"].as_i64().unwrap_or(0),
        }
    }

    /// Carries out a reply call as Telegram would, recording a delivery when it takes effect.
    fn process(&mut self, method: &str, params: &Value, answered: bool) -> Reply {
        let chat = self.chat_of(method, params);
        let mut delivery = Delivery {
            method: method.to_owned(),
            chat,
            message_id: None,
            text: None,
            markup: Value::Null,
            query_id: None,
            answered,
            at: Instant::now(),
        };
        let reply = match method {
            "sendmessage" => {
                self.next_message_id += 1;
                let id = self.next_message_id;
                let sent = SentMessage {
                    text: params["text"].as_str().unwrap_or_default().to_owned(),
                    markup: normalized_markup(&params["reply_markup"]),
                };
                let reply = Reply::ok(self.message_json(chat, id, &sent));
                delivery.message_id = Some(id);
                delivery.text = Some(sent.text.clone());
                delivery.markup = sent.markup.clone();
                self.messages.insert((chat, id), sent);
                reply
            }
            "editmessagetext" | "editmessagereplymarkup" => {
                let id = params["message_id"].as_i64().unwrap_or(0);
                let Some(current) = self.messages.get(&(chat, id)).cloned() else {
                    return Reply::error(400, "Bad Request: message to edit not found");
                };
                let edited = SentMessage {
                    text: match method {
                        "editmessagetext" => params["text"].as_str().unwrap_or_default().to_owned(),
                        _ => current.text.clone(),
                    },
                    // Telegram drops the keyboard of a text edit that carries none.
                    markup: normalized_markup(&params["reply_markup"]),
                };
                if edited == current {
                    return Reply::error(400, NOT_MODIFIED);
                }
                let mut message = self.message_json(chat, id, &edited);
                message["edit_date"] = json!(unix_now());
                delivery.message_id = Some(id);
                delivery.text = Some(edited.text.clone());
                delivery.markup = edited.markup.clone();
                self.messages.insert((chat, id), edited);
                Reply::ok(message)
            }
            "answercallbackquery" => {
                let id = params["callback_query_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                match self.queries.get_mut(&id) {
                    Some((_, answered @ false)) => *answered = true,
                    _ => return Reply::error(400, QUERY_TOO_OLD),
                }
                delivery.text = params["text"].as_str().map(str::to_owned);
                delivery.query_id = Some(id);
                Reply::ok(json!(true))
            }
            "answerinlinequery" => Reply::ok(json!(true)),
            "deletemessage" => {
                let id = params["message_id"].as_i64().unwrap_or(0);
                if self.messages.remove(&(chat, id)).is_none() {
                    return Reply::error(400, "Bad Request: message to delete not found");
                }
                delivery.message_id = Some(id);
                Reply::ok(json!(true))
            }
            _ => unreachable!("not a reply method: {method}"),
        };
        self.deliveries.push(delivery);
        reply
    }
}

impl Shared {
    /// The reply to one call: what Telegram would answer, or an injected fault.
    pub(super) fn answer(&self, method: &str, params: &Value) -> Reply {
        let setup = {
            let mut world = self.world.lock().expect("world lock");
            let once = world.setup_once.iter().position(|(m, _)| m == method);
            match once {
                Some(i) => world.setup_once.remove(i).map(|(_, s)| s),
                None => world.setup.get(method).copied(),
            }
        };
        match setup {
            Some(Setup::HangUp) => Reply::hang_up(),
            Some(Setup::Error(code, description)) => Reply::error(code, description),
            Some(Setup::BadGateway) => Reply::bad_gateway(),
            Some(Setup::Late(delay)) => self.as_telegram(method, params).after(delay),
            None => self.as_telegram(method, params),
        }
    }

    /// What Telegram would answer, or a fault injected into a reply call.
    fn as_telegram(&self, method: &str, params: &Value) -> Reply {
        let result = match method {
            "getupdates" => return self.updates(params),
            "getme" if self.world.lock().expect("world lock").get_me == GetMe::Failing => {
                return Reply::error(500, "Internal Server Error");
            }
            "getme" => {
                let mut me = bot_user();
                let extra = json!({
                    "can_join_groups": true,
                    "can_read_all_group_messages": false,
                    "supports_inline_queries": true,
                    "can_connect_to_business": false,
                    "has_main_web_app": false,
                });
                me.as_object_mut()
                    .expect("an object")
                    .extend(extra.as_object().expect("an object").clone());
                me
            }
            "setwebhook" => {
                self.world.lock().expect("world lock").webhook = Some(params.clone());
                json!(true)
            }
            "deletewebhook" => {
                self.world.lock().expect("world lock").webhook = None;
                json!(true)
            }
            "getwebhookinfo" => {
                let world = self.world.lock().expect("world lock");
                let url = world
                    .webhook
                    .as_ref()
                    .map_or(json!(""), |w| w["url"].clone());
                json!({ "url": url, "has_custom_certificate": false, "pending_update_count": 0 })
            }
            "setmycommands" | "deletemycommands" | "setmydescription" | "setmyshortdescription" => {
                json!(true)
            }
            m if REPLY_METHODS.contains(&m) => return self.reply_call(method, params),
            _ => {
                self.world
                    .lock()
                    .expect("world lock")
                    .unknown
                    .push(method.to_owned());
                // Not "Not Found": teloxide reads that description as an invalid token.
                return Reply::error(
                    400,
                    "Bad Request: method not implemented by the fake Bot API",
                );
            }
        };
        Reply::ok(result)
    }

    /// A call the user would see: maybe refused for a blocked chat, maybe failed on purpose.
    fn reply_call(&self, method: &str, params: &Value) -> Reply {
        let mut world = self.world.lock().expect("world lock");
        let chat = world.chat_of(method, params);
        if world.blocked.contains(&chat) && method != "answercallbackquery" {
            return Reply::error(403, BLOCKED);
        }
        if method == "sendmessage"
            && world
                .limits
                .as_mut()
                .is_some_and(|limits| !limits.admit(chat))
        {
            return Reply::retry_after(1);
        }
        let scripted = world.scripted.iter().position(|(m, _)| m == method);
        let fault = match scripted {
            Some(i) => world.scripted.remove(i).map(|(_, f)| f),
            None => self.faults.and_then(|faults| {
                world
                    .streams
                    .entry(chat)
                    .or_insert_with(|| faults.stream(chat))
                    .fault(faults.rate)
            }),
        };
        if let Some(fault) = fault {
            world
                .injected
                .push((Instant::now(), method.to_owned(), chat, fault));
        }
        let too_slow = self.client_timeout + Duration::from_secs(1);
        match fault {
            Some(Fault::RateLimited) => Reply::retry_after(1),
            Some(Fault::ServerError) => Reply::error(500, "Internal Server Error"),
            Some(Fault::BadGateway) => Reply::bad_gateway(),
            Some(Fault::DroppedBefore) => Reply::hang_up(),
            Some(Fault::DroppedAfter) => {
                world.process(method, params, false);
                Reply::hang_up()
            }
            Some(Fault::TooSlow) => world.process(method, params, false).after(too_slow),
            Some(Fault::Unreadable) => {
                world.process(method, params, true);
                Reply::ok(json!({ "message_id": "a shape teloxide cannot read" }))
            }
            Some(Fault::Slow(delay)) => world.process(method, params, true).after(delay),
            None => {
                let delay = world.slow.get(method).copied().unwrap_or_default();
                let answered = delay < self.client_timeout;
                world.process(method, params, answered).after(delay)
            }
        }
    }

    /// getUpdates: the queued updates from `offset` on, held briefly while there are none.
    /// Refused while a webhook is set, as Telegram does.
    fn updates(&self, params: &Value) -> Reply {
        let world = self.world.lock().expect("world lock");
        if world.webhook.is_some() {
            return Reply::error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            );
        }
        Reply::ok(long_poll(world, &self.queued, params, |w| &mut w.updates))
    }
}

/// getUpdates for a fake holding its queue in `state`: forgets the updates below `offset`,
/// holds an empty answer briefly (long polling, shortened, so the client does not spin) and
/// answers at most `limit` updates.
pub fn long_poll<S>(
    mut state: MutexGuard<'_, S>,
    queued: &Condvar,
    params: &Value,
    updates: impl Fn(&mut S) -> &mut VecDeque<Value>,
) -> Value {
    let offset = params["offset"].as_i64().unwrap_or(0);
    updates(&mut state).retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
    let hold = Duration::from_secs(params["timeout"].as_u64().unwrap_or(0))
        .min(Duration::from_millis(300));
    let until = Instant::now() + hold;
    while updates(&mut state).is_empty() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        state = queued.wait_timeout(state, left).expect("fake API lock").0;
    }
    let limit = params["limit"].as_u64().unwrap_or(100).clamp(1, 100) as usize;
    Value::Array(updates(&mut state).iter().take(limit).cloned().collect())
}

#[test]
fn a_fault_stream_replays_from_its_seed_and_keeps_to_its_rate() {
    let faults = Faults {
        rate: 0.2,
        seed: 42,
    };
    let draw = |chat| {
        let mut stream = faults.stream(chat);
        (0..2000)
            .map(|_| stream.fault(faults.rate))
            .collect::<Vec<_>>()
    };
    let first = draw(7);
    assert_eq!(
        first,
        draw(7),
        "the same seed and chat give the same faults"
    );
    assert_ne!(first, draw(8), "another chat has its own stream");
    let failed = first.iter().flatten().count();
    assert!(
        (300..500).contains(&failed),
        "{failed} of 2000 calls failed at 20%"
    );
    for kind in [
        "429",
        "500",
        "502",
        "slow",
        "too slow",
        "dropped before",
        "dropped after",
    ] {
        assert!(
            first.iter().flatten().any(|f| f.kind() == kind),
            "no {kind} fault in 2000 calls"
        );
    }
}
