//! The Redis storage against a real redis-server: expiry, sharing, outages and recovery.

use super::*;

#[tokio::test]
async fn a_session_written_by_one_instance_is_read_by_another() {
    let Some(server) = redis_server() else { return };
    let first = storage(&server, HOUR, "shared");
    let second = storage(&server, HOUR, "shared");

    put(&first, 7, session()).await;
    assert_eq!(get::<Session>(&second, 7).await, Some(session()));

    let later = Session {
        state: State::MainMenu,
        ..session()
    };
    put(&second, 7, later.clone()).await;
    assert_eq!(get::<Session>(&first, 7).await, Some(later));
    assert_eq!(get::<Session>(&first, 8).await, None, "another chat");

    let mut raw = server.raw();
    let json: String = redis::cmd("GET")
        .arg("shared:session:7")
        .query(&mut raw)
        .expect("GET");
    assert!(
        serde_json::from_str::<Session>(&json).is_ok(),
        "stored as JSON: {json}"
    );
    assert_eq!(
        stats(&first).await,
        StorageStats {
            active: 1,
            expired: 0
        }
    );
}

#[tokio::test]
async fn sessions_expire_after_the_ttl_and_reads_renew_it() {
    let Some(server) = redis_server() else { return };
    let storage = storage(&server, Duration::from_secs(2), "expiry");
    let mut raw = server.raw();
    let (read_key, idle_key) = ("expiry:session:1", "expiry:session:2");

    put(&storage, 1, session()).await;
    put(&storage, 2, session()).await;
    let ttl: i64 = redis::cmd("TTL")
        .arg(idle_key)
        .query(&mut raw)
        .expect("TTL");
    assert!((1..=2).contains(&ttl), "the key's TTL is {ttl}");
    assert_eq!(
        stats(&storage).await,
        StorageStats {
            active: 2,
            expired: 0
        }
    );

    // Reading chat 1 halfway renews its two seconds; chat 2 stays idle.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(get::<Session>(&storage, 1).await, Some(session()));
    let pttl: i64 = redis::cmd("PTTL")
        .arg(read_key)
        .query(&mut raw)
        .expect("PTTL");
    assert!(
        pttl > 1_500,
        "a read renews the TTL, but {pttl} ms are left"
    );

    wait_until_gone(&mut raw, idle_key).await;
    assert!(
        exists(&mut raw, read_key),
        "the chat read later is still there"
    );
    assert_eq!(
        stats(&storage).await,
        StorageStats {
            active: 1,
            expired: 1
        }
    );
    assert_eq!(get::<Session>(&storage, 2).await, None);

    wait_until_gone(&mut raw, read_key).await;
    assert_eq!(get::<Session>(&storage, 1).await, None);
    assert_eq!(
        stats(&storage).await,
        StorageStats {
            active: 0,
            expired: 2
        },
        "each expiry is counted once, whether a read or a scrape saw it first"
    );
}

#[tokio::test]
async fn writes_sweep_the_index_without_a_scrape() {
    let Some(server) = redis_server() else { return };
    let storage = storage(&server, Duration::from_secs(1), "sweep");
    let mut raw = server.raw();
    for chat in 1..=3 {
        put(&storage, chat, 0_u32).await;
    }
    wait_until_gone(&mut raw, "sweep:session:3").await;
    // Every 256th write sweeps; these are writes 4 to 259.
    for n in 0..256 {
        put(&storage, 100, n).await;
    }
    let listed: u64 = redis::cmd("ZCARD")
        .arg("sweep:sessions")
        .query(&mut raw)
        .expect("ZCARD");
    let expired: u64 = redis::cmd("GET")
        .arg("sweep:expired")
        .query(&mut raw)
        .expect("GET");
    assert_eq!((listed, expired), (1, 3));
}

#[tokio::test]
async fn remove_deletes_the_key_and_is_idempotent() {
    let Some(server) = redis_server() else { return };
    let storage = storage(&server, HOUR, "forget");
    let mut raw = server.raw();

    put(&storage, 5, session()).await;
    put(&storage, 6, session()).await;
    remove(&storage, 5).await;
    assert!(!exists(&mut raw, "forget:session:5"));
    assert_eq!(get::<Session>(&storage, 5).await, None);
    remove(&storage, 5).await;
    remove(&storage, 999).await;
    assert_eq!(get::<Session>(&storage, 6).await, Some(session()));
    assert_eq!(
        stats(&storage).await,
        StorageStats {
            active: 1,
            expired: 0
        },
        "a forgotten chat is not an expired one"
    );
}

#[tokio::test]
async fn prefixes_do_not_see_each_other() {
    let Some(server) = redis_server() else { return };
    let blue = storage(&server, HOUR, "blue");
    let green = storage(&server, HOUR, "green");

    put(&blue, 1, 10_u32).await;
    assert_eq!(get::<u32>(&green, 1).await, None);
    put(&green, 1, 20_u32).await;
    put(&green, 2, 30_u32).await;
    assert_eq!(get::<u32>(&blue, 1).await, Some(10));
    assert_eq!(get::<u32>(&green, 1).await, Some(20));
    remove(&green, 1).await;
    assert_eq!(get::<u32>(&blue, 1).await, Some(10));
    assert_eq!(stats(&blue).await.active, 1);
    assert_eq!(stats(&green).await.active, 1);
}

#[tokio::test]
async fn calls_fail_fast_while_redis_is_down_and_recover_when_it_is_back() {
    let Some(mut server) = redis_server() else {
        return;
    };
    let storage = storage(&server, HOUR, "outage");
    put(&storage, 1, session()).await;
    assert!(storage.ping().await);

    server.kill();
    let got = quickly(
        "get while down",
        Storage::<Session>::get_dialogue(storage.clone(), ChatId(1)),
    )
    .await;
    assert!(matches!(got, Err(ref e) if e.is_unreachable()), "{got:?}");
    let put_down = quickly(
        "update while down",
        storage.clone().update_dialogue(ChatId(1), session()),
    )
    .await;
    assert!(put_down.is_err());
    let removed = quickly(
        "remove while down",
        Storage::<Session>::remove_dialogue(storage.clone(), ChatId(1)),
    )
    .await;
    assert!(removed.is_err());
    assert!(quickly("stats while down", storage.stats()).await.is_err());
    assert!(!quickly("ping while down", storage.ping()).await);
    let err = storage.stats().await.expect_err("still down");
    assert!(
        !format!("{err} {err:?}").contains("127.0.0.1"),
        "{err} {err:?}"
    );

    // The connection manager reconnects in the background after a failure; let that attempt
    // fail too, so the first call below meets a connection that is known to be broken.
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The same storage, no restart of the bot: the very first call after Redis is back works.
    server.restart();
    put(&storage, 1, session()).await;
    assert!(storage.ping().await);
    assert_eq!(get::<Session>(&storage, 1).await, Some(session()));
}

#[tokio::test]
async fn a_hung_redis_does_not_stall_calls() {
    let Some(server) = redis_server() else { return };
    let storage = storage(&server, HOUR, "hung");
    put(&storage, 1, 1_u32).await;

    server.hang();
    let got = quickly(
        "get from a hung Redis",
        Storage::<u32>::get_dialogue(storage.clone(), ChatId(1)),
    )
    .await;
    assert!(
        matches!(got, Err(RedisStorageError::Unreachable(_))),
        "{got:?}"
    );
    assert!(!quickly("ping a hung Redis", storage.ping()).await);

    server.resume();
    assert_eq!(get::<u32>(&storage, 1).await, Some(1));
    assert!(storage.ping().await);
}

#[tokio::test]
async fn redis_down_at_start_up_is_not_fatal() {
    let Some(mut server) = redis_server() else {
        return;
    };
    server.kill();
    let storage = storage(&server, HOUR, "late");
    assert!(!quickly("ping before Redis starts", storage.ping()).await);
    assert!(
        quickly("stats before Redis starts", storage.stats())
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.restart();
    put(&storage, 3, session()).await;
    assert_eq!(get::<Session>(&storage, 3).await, Some(session()));
}

#[tokio::test]
async fn a_refused_handshake_is_tried_again_on_the_next_call() {
    let Some(server) = redis_server() else { return };
    // The URL's password is wrong until the server is given it: a deploy that sets the
    // password on both sides in the wrong order.
    let url = format!("redis://:s3cret@127.0.0.1:{}", server.port);
    let url = RedisUrl::parse(&url).expect("a valid Redis URL");
    let storage = RedisStorage::with_prefix(&url, HOUR, "auth");
    let err = quickly("stats with a refused password", storage.stats())
        .await
        .expect_err("the password is refused");
    assert!(!format!("{err} {err:?}").contains("s3cret"), "{err:?}");
    assert!(!storage.ping().await);

    let mut raw = server.raw();
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("s3cret")
        .exec(&mut raw)
        .expect("CONFIG SET requirepass");
    put(&storage, 1, 1_u32).await;
    assert!(storage.ping().await);
}
