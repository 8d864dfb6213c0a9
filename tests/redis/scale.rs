//! Several instances on one Redis behave as one bot: they share Telegram's limits (a burst gets
//! no 429 from a Bot API that enforces them) and never lose a tap when two of one chat arrive
//! at two instances at once. In-process instances (`service::run`) behind one webhook each.

use std::sync::Barrier;

use scar_guide::config::RateLimits;
use scar_guide::conversation::{Conversation, Input};
use scar_guide::pacing::{Budget, Rates};
use scar_guide::service::budget::{PACE_DEADLINE, SharedBudget};
use scar_guide::telegram::callback;
use serde_json::Value;

use super::process::wait_until_stored;
use super::*;
use crate::fake_api::Limits;
use crate::harness::{InProcess, callback_buttons, tap_update};
use crate::util::{content, expected_buttons, expected_messages};

const SECRET: &str = "scale_webhook_secret-0123456789_abcdefgh";

/// An instance on the Redis at `redis`, in webhook mode, ready to take updates.
fn instance(api: &FakeTelegram, redis: &str) -> (InProcess, Webhook) {
    let addr = free_addr();
    let bot = InProcess::start(
        api,
        &[
            ("STORAGE_URL", redis),
            ("WEBHOOK_URL", "https://example.test/tg/hook"),
            ("WEBHOOK_SECRET", SECRET),
            ("LISTEN_ADDR", &addr),
        ],
    );
    // Start-up renders the pictures: seconds on a loaded machine.
    wait_for_http(&addr, "/healthz", Duration::from_secs(60), "200", |r| {
        r.status == 200
    });
    let webhook = Webhook {
        addr,
        path: "/tg/hook".to_owned(),
        secret: SECRET.to_owned(),
    };
    (bot, webhook)
}

/// Posts every `(webhook, update)` at the same moment, one thread each.
fn post_at_once(posts: Vec<(Webhook, Value)>) {
    let barrier = Arc::new(Barrier::new(posts.len()));
    let threads: Vec<_> = posts
        .into_iter()
        .map(|(webhook, update)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                webhook.post(&update);
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a post");
    }
}

#[test]
fn two_taps_of_one_chat_at_two_instances_at_once_are_both_kept() {
    let Some(server) = redis_server() else { return };
    let api = FakeTelegram::start();
    let (_a, hook_a) = instance(&api, &server.url());
    let (_b, hook_b) = instance(&api, &server.url());
    let mut raw = server.raw();
    // Each round is a fresh chance for the two handlers to overlap; without the lease, both
    // read the same state and the later write erases the other tick (seen in every round).
    for round in 0..6 {
        let mut chat = PrivateChat::new(TgUser::new(5_560_000 + round, "Ada", "en"));
        chat.via(Some(&hook_a));
        chat.send(&api, "/start");
        chat.tap(&api, Pick::Action(Action::Topic(Topic::Identify)));
        wait_until_stored(&mut raw, &chat);
        let menu = chat.menu.expect("the identify menu");
        let shown = api
            .message(chat.id(), menu)
            .expect("the menu is in the chat");
        let mut queries = Vec::new();
        let posts = [(&hook_a, ScarKind::Dents), (&hook_b, ScarKind::Redness)]
            .into_iter()
            .map(|(hook, kind)| {
                let data = callback::encode(Action::Toggle(kind));
                let query = api.user_taps(&chat.user, menu, &data);
                queries.push(query.clone());
                (
                    hook.clone(),
                    tap_update(&chat.user, menu, &shown, &query, &data),
                )
            })
            .collect();
        post_at_once(posts);
        let key = format!("scar-guide:session:{}", chat.id());
        wait_until(
            DEADLINE,
            || format!("round {round}: both ticks stored in {key}"),
            || {
                let json: Option<String> = redis::cmd("GET").arg(&key).query(&mut raw).ok()?;
                let session: Session = serde_json::from_str(&json?).ok()?;
                matches!(&session.state, State::Identify { picked }
                    if picked.contains(&ScarKind::Dents) && picked.contains(&ScarKind::Redness))
                .then_some(())
            },
        );
        // Both taps were answered, and the menu shows both ticks: what one instance shows.
        let deliveries = api.deliveries_in(chat.id());
        for query in &queries {
            assert!(
                deliveries
                    .iter()
                    .any(|d| d.query_id.as_deref() == Some(query.as_str()) && d.answered),
                "round {round}: tap {query} not answered"
            );
        }
        let both = State::Identify {
            picked: [ScarKind::Dents, ScarKind::Redness].into_iter().collect(),
        };
        // The screen of that state, as the core shows it anew.
        let outcome = chat.conversation().step(&both, Input::Stale);
        let screen = outcome.screen.as_ref().expect("the identify question");
        let current = api.message(chat.id(), menu).expect("the menu");
        assert_eq!(current.text, screen.text, "round {round}: the menu's text");
        assert_eq!(
            callback_buttons(&current.markup),
            expected_buttons(&outcome),
            "round {round}: the menu's buttons"
        );
    }
}

#[test]
fn a_burst_at_two_instances_on_one_redis_keeps_within_telegrams_limits() {
    let Some(server) = redis_server() else { return };
    let api = FakeTelegram::start();
    api.enforce_limits(Limits::TELEGRAM);
    // The default limits (30 a second), as in production.
    let (_a, hook_a) = instance(&api, &server.url());
    let (_b, hook_b) = instance(&api, &server.url());
    let content = content();
    let pack = content.pack(Some("en"));
    let expected =
        expected_messages(&Conversation::new(&content, pack).step(&State::Idle, Input::Start));
    let users: Vec<TgUser> = (0..60)
        .map(|i| TgUser::new(5_570_000 + i, "Ada", "en"))
        .collect();
    let posts = users
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let hook = if i % 2 == 0 { &hook_a } else { &hook_b };
            (hook.clone(), api.message_update(user, "/start"))
        })
        .collect();
    let started = Instant::now();
    post_at_once(posts);
    wait_until(
        Duration::from_secs(60),
        || "every user's greeting and menu".to_owned(),
        || {
            users
                .iter()
                .all(|u| {
                    api.deliveries_in(u.id)
                        .iter()
                        .filter(|d| d.method == "sendmessage" && d.answered)
                        .count()
                        >= expected.len()
                })
                .then_some(())
        },
    );
    let span = started.elapsed();
    for user in &users {
        let texts: Vec<String> = api
            .deliveries_in(user.id)
            .into_iter()
            .filter(|d| d.method == "sendmessage")
            .filter_map(|d| d.text)
            .collect();
        assert_eq!(texts, expected, "what user {} got", user.id);
    }
    crate::util::note(&format!(
        "{} messages from two instances in {span:.1?}",
        users.len() * expected.len()
    ));
    assert_eq!(api.refused_over_limits(), 0, "messages refused with 429");
}

#[test]
fn instances_share_one_budget_and_pace_alone_while_redis_is_down() {
    let Some(mut server) = redis_server() else {
        return;
    };
    let rates = Rates::new(RateLimits::default());
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let a = SharedBudget::new(storage(&server, HOUR, "pace-test"), rates);
        let b = SharedBudget::new(storage(&server, HOUR, "pace-test"), rates);
        // 60 messages into 60 chats, asked alternately by two instances: the slots they get
        // are one bot's, spaced 1/30 s apart, not two bots' side by side.
        let mut slots = Vec::new();
        for chat in 0..60 {
            let budget = if chat % 2 == 0 { &a } else { &b };
            let asked = Instant::now();
            slots.push(asked + budget.reserve(ChatId(chat)).await);
        }
        let (first, last) = (slots.iter().min(), slots.iter().max());
        let span = last.expect("slots").duration_since(*first.expect("slots"));
        assert!(
            span >= Duration::from_millis(59 * 33),
            "60 messages of one bot spread over {span:?}"
        );
        server.kill();
        let asked = Instant::now();
        let wait = a.reserve(ChatId(1)).await;
        assert!(
            asked.elapsed() < PACE_DEADLINE + FAST,
            "a reservation with Redis down took {:?}",
            asked.elapsed()
        );
        assert!(wait < Duration::from_secs(5), "paced alone: {wait:?}");
    });
}
