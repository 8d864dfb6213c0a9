//! `/forget` erases first: the answers a conversation holds (pregnancy, warning signs) go even
//! when the confirmation cannot be delivered.

use super::process::wait_until_stored;
use super::*;
use crate::fake_api::Fault;
use crate::harness::InProcess;
use scar_guide::conversation::Input;

#[test]
fn forget_erases_the_conversation_while_the_bot_api_fails() {
    let Some(server) = redis_server() else { return };
    let api = FakeTelegram::start();
    let url = server.url();
    let _bot = InProcess::start(&api, &[("STORAGE_URL", url.as_str()), ("RETRY_FOR", "1s")]);
    let mut raw = server.raw();
    let mut chat = PrivateChat::new(TgUser::new(5_580_001, "Ada", "en"));
    chat.deadline = Duration::from_secs(60);
    chat.send(&api, "/start");
    chat.tap(&api, Pick::Action(Action::Topic(Topic::Identify)));
    chat.tap(&api, Pick::Action(Action::Toggle(ScarKind::Dents)));
    wait_until_stored(&mut raw, &chat);

    // From now on every message fails before Telegram processes it.
    for _ in 0..50 {
        api.fail_next("sendmessage", Fault::DroppedBefore);
    }
    api.user_sends(&chat.user, "/forget");
    let key = format!("scar-guide:session:{}", chat.id());
    wait_until(
        Duration::from_secs(30),
        || format!("{key} erased"),
        || {
            let exists: bool = redis::cmd("EXISTS").arg(&key).query(&mut raw).ok()?;
            (!exists).then_some(())
        },
    );
    // The confirmation was tried, and failed: the erasing did not wait for it.
    wait_until(
        Duration::from_secs(30),
        || "a failed attempt at the confirmation".to_owned(),
        || {
            api.injected()
                .iter()
                .any(|(_, method, id, _)| method == "sendmessage" && *id == chat.id())
                .then_some(())
        },
    );
    let confirmation = chat
        .conversation()
        .step(&chat.state, Input::Forget)
        .notice
        .expect("/forget says what it did");
    assert!(
        !api.deliveries_in(chat.id())
            .iter()
            .any(|d| d.text.as_deref() == Some(confirmation.as_str())),
        "the confirmation could not have been delivered"
    );
}
