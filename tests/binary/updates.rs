//! Updates teloxide cannot read, in polling mode: teloxide parses getUpdates itself, so a
//! panic there would be on the dispatcher's task and end the process.

use super::*;
use crate::fake_api::reaction_without_actor;

/// A reaction update with no actor (unpatched teloxide-core panicked on it, and the bot then
/// died on every restart, the offset never moving past it) is skipped with its id; the /start
/// after it is answered and the bot keeps running.
#[test]
fn a_reaction_update_without_an_actor_is_skipped_and_the_next_start_answered() {
    let api = FakeTelegram::start();
    let ada = ada();
    let reaction = api.push_update(reaction_without_actor(&ada));
    let start = api.user_sends(&ada, "/start");
    let mut bot = BotProcess::start(&api, &[]);

    let sent = wait_for_greeting(&api);
    let expected = expected_messages(&conversation().step(&State::Idle, Input::Start));
    assert_eq!(sent_texts(&sent), expected);
    // The next getUpdates confirms both updates: the offset moved past the reaction.
    wait_for(&api, "getUpdates past both updates", |calls| {
        calls
            .iter()
            .any(|c| c.method == "getupdates" && c.body["offset"] == json!(start + 1))
            .then_some(())
    });
    assert!(bot.is_running(), "the bot died:\n{}", bot.output());
    let output = bot.stop_cleanly(DEADLINE);
    assert!(
        output.contains(&format!(
            "skipped update {reaction} that teloxide cannot parse"
        )),
        "{output}"
    );
    assert!(!output.contains("panicked"), "{output}");
}

/// The fixture above reaches the actor check and nothing else: it reads once given a `user`,
/// and without one it fails with the patched error (where 0.13 as published panicked).
#[test]
fn the_reaction_fixture_lacks_only_its_actor() {
    use teloxide::types::MessageReactionUpdated;
    let ada = ada();
    let reaction = reaction_without_actor(&ada)["message_reaction"].clone();
    let err = serde_json::from_str::<MessageReactionUpdated>(&reaction.to_string())
        .expect_err("a reaction without an actor");
    assert!(
        err.to_string().contains("expected `user` or `actor_chat`"),
        "{err}"
    );
    let mut with_user = reaction;
    with_user["user"] = ada.json();
    let read = serde_json::from_str::<MessageReactionUpdated>(&with_user.to_string())
        .expect("a reaction with a user");
    assert_eq!(read.user().map(|u| u.id.0), Some(USER_ID as u64));
}
