//! Unit tests of the Redis storage that need no server; tests/redis.rs has the rest.

use super::*;

#[test]
fn keys_are_named_by_prefix_and_chat() {
    let keys = Keys::new("scar-guide");
    assert_eq!(
        keys.session(ChatId(-1001234)),
        "scar-guide:session:-1001234"
    );
    assert_eq!(keys.index, "scar-guide:sessions");
    assert_eq!(keys.expired, "scar-guide:expired");
}

#[test]
fn ttl_is_whole_seconds_rounded_up_at_least_one() {
    assert_eq!(ttl_secs(Duration::from_secs(86_400)), 86_400);
    assert_eq!(ttl_secs(Duration::from_millis(1_500)), 2);
    assert_eq!(ttl_secs(Duration::from_millis(1)), 1);
    assert_eq!(ttl_secs(Duration::ZERO), 1);
}

#[test]
fn open_does_not_connect() {
    // Nothing listens on port 1; opening must still succeed.
    let url = RedisUrl::parse("redis://127.0.0.1:1").expect("a valid URL");
    let storage = RedisStorage::open(&url, Duration::from_secs(60));
    assert_eq!(Arc::strong_count(&storage), 1);
}
