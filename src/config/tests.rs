//! The configuration's unit tests.

use super::urls::masked;
use super::*;

fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

fn problems(pairs: &[(&str, &str)]) -> Vec<ConfigError> {
    Config::from_lookup(env(pairs)).unwrap_err()
}

#[test]
fn missing_token_names_the_variable() {
    let err = problems(&[]);
    assert_eq!(err, vec![ConfigError::MissingToken]);
    assert!(err[0].to_string().contains("TELOXIDE_TOKEN"));
}

#[test]
fn token_never_prints() {
    let config = Config::from_lookup(env(&[("TELOXIDE_TOKEN", "123:secret-value")])).unwrap();
    assert!(!format!("{config:?}").contains("secret-value"));
    assert_eq!(config.state_ttl, DEFAULT_STATE_TTL);
    assert_eq!(config.receive, Receive::Polling { metrics_addr: None });
    assert_eq!(config.storage, StorageConfig::Memory);
    assert_eq!(config.rate_limits, RateLimits::default());
    assert_eq!(config.retry_for, DEFAULT_RETRY_FOR);
    assert_eq!(config.http, HttpLimits::default());
}

#[test]
fn reads_api_url_and_ttl() {
    let config = Config::from_lookup(env(&[
        ("TELOXIDE_TOKEN", "123:abc"),
        ("TELOXIDE_API_URL", "http://127.0.0.1:8081"),
        ("STATE_TTL", "30m"),
    ]))
    .unwrap();
    assert_eq!(config.api_url.unwrap().as_str(), "http://127.0.0.1:8081/");
    assert_eq!(config.state_ttl, Duration::from_secs(1800));
}

#[test]
fn reads_the_service_settings() {
    let secret = "s".repeat(40);
    let config = Config::from_lookup(env(&[
        ("TELOXIDE_TOKEN", "123:abc"),
        ("WEBHOOK_URL", "https://bot.example.org/tg/hook"),
        ("LISTEN_ADDR", "0.0.0.0:9000"),
        ("WEBHOOK_SECRET", &secret),
        ("STORAGE_URL", "redis://:pw@127.0.0.1:6379/2"),
        ("RATE_PER_CHAT", "5"),
        ("RETRY_FOR", "2m"),
        ("API_TIMEOUT", "5s"),
        ("SHUTDOWN_GRACE", "0s"),
    ]))
    .unwrap();
    let Receive::Webhook {
        url,
        listen,
        secret: Some(given),
        metrics_addr: None,
    } = &config.receive
    else {
        panic!("{:?}", config.receive)
    };
    assert_eq!(url.path(), "/tg/hook");
    assert_eq!(listen.to_string(), "0.0.0.0:9000");
    assert_eq!(given.expose(), secret);
    assert!(matches!(&config.storage, StorageConfig::Redis(u) if u.expose().ends_with("/2")));
    let printed = format!("{config:?}");
    assert!(
        !printed.contains(&secret) && !printed.contains("pw@"),
        "{printed}"
    );
    assert_eq!(config.rate_limits.per_chat_per_sec, 5);
    assert_eq!(config.retry_for, Duration::from_secs(120));
    assert_eq!(config.api_timeout, Duration::from_secs(5));
    assert_eq!(config.shutdown_grace, Duration::ZERO);
    let polling = Config::from_lookup(env(&[
        ("TELOXIDE_TOKEN", "1:a"),
        ("METRICS_ADDR", "127.0.0.1:9090"),
    ]))
    .unwrap();
    assert_eq!(
        polling.receive,
        Receive::Polling {
            metrics_addr: Some("127.0.0.1:9090".parse().unwrap())
        }
    );
}

#[test]
fn reads_the_http_limits_and_a_metrics_address_in_webhook_mode() {
    let config = Config::from_lookup(env(&[
        ("TELOXIDE_TOKEN", "1:a"),
        ("WEBHOOK_URL", "https://x.org/h"),
        ("LISTEN_ADDR", "0.0.0.0:8080"),
        ("METRICS_ADDR", "127.0.0.1:9090"),
        ("HTTP_HEADER_TIMEOUT", "2s"),
        ("HTTP_BODY_TIMEOUT", "1m"),
        ("HTTP_MAX_CONNECTIONS", "64"),
    ]))
    .unwrap();
    assert!(
        matches!(
            config.receive,
            Receive::Webhook { metrics_addr: Some(addr), .. } if addr.to_string() == "127.0.0.1:9090"
        ),
        "{:?}",
        config.receive
    );
    assert_eq!(
        config.http,
        HttpLimits {
            header_timeout: Duration::from_secs(2),
            body_timeout: Duration::from_secs(60),
            max_connections: 64,
        }
    );
    // The same address twice could not be bound twice.
    assert_eq!(
        problems(&[
            ("TELOXIDE_TOKEN", "1:a"),
            ("WEBHOOK_URL", "https://x.org/h"),
            ("LISTEN_ADDR", "127.0.0.1:8080"),
            ("METRICS_ADDR", "127.0.0.1:8080"),
        ]),
        vec![ConfigError::MetricsOnListenAddr]
    );
}

#[test]
fn rejects_bad_values() {
    let bad = |k, v| {
        let mut errors = problems(&[("TELOXIDE_TOKEN", "1:a"), (k, v)]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        errors.remove(0)
    };
    assert!(matches!(
        bad("TELOXIDE_API_URL", "not a url"),
        ConfigError::BadApiUrl(_)
    ));
    assert!(matches!(
        bad("STATE_TTL", "soon"),
        ConfigError::BadDuration("STATE_TTL", ..)
    ));
    assert!(matches!(
        bad("STATE_TTL", "2000years"),
        ConfigError::BadDuration("STATE_TTL", ..)
    ));
    assert!(matches!(
        bad("STATE_CAPACITY", "0"),
        ConfigError::BadCapacity(_)
    ));
    assert!(matches!(
        bad("WEBHOOK_URL", "http://x.org/h"),
        ConfigError::BadWebhookUrl(_)
    ));
    assert!(matches!(
        bad("WEBHOOK_URL", "https://x.org:8080/h"),
        ConfigError::BadWebhookUrl(_)
    ));
    assert!(matches!(
        bad("WEBHOOK_SECRET", "0123456789abcdef0123456789abcdef"),
        ConfigError::WebhookOnly("WEBHOOK_SECRET")
    ));
    assert!(matches!(
        bad("METRICS_ADDR", "localhost"),
        ConfigError::BadMetricsAddr(_)
    ));
    assert!(matches!(
        bad("WEBHOOK_URL", "https://x.org/:hook"),
        ConfigError::BadWebhookUrl(_)
    ));
    assert!(matches!(
        bad("API_TIMEOUT", "1s"),
        ConfigError::BadDuration("API_TIMEOUT", ..)
    ));
    assert!(matches!(
        bad("STORAGE_URL", "redis://db/not-a-number"),
        ConfigError::BadStorageUrl(_)
    ));
    assert!(matches!(
        bad("STORAGE_URL", "postgres://db"),
        ConfigError::BadStorageUrl(_)
    ));
    assert!(matches!(
        bad("RATE_OVERALL", "0"),
        ConfigError::BadRate("RATE_OVERALL", _)
    ));
    for (var, value) in [
        ("HTTP_HEADER_TIMEOUT", "0s"),
        ("HTTP_HEADER_TIMEOUT", "1h"),
        ("HTTP_BODY_TIMEOUT", "slow"),
    ] {
        assert!(
            matches!(bad(var, value), ConfigError::BadDuration(v, ..) if v == var),
            "{var}={value}"
        );
    }
    for value in ["0", "100000", "many"] {
        assert_eq!(
            bad("HTTP_MAX_CONNECTIONS", value),
            ConfigError::BadMaxConnections(value.to_owned())
        );
    }
    assert!(matches!(
        bad("RETRY_FOR", "forever"),
        ConfigError::BadDuration("RETRY_FOR", ..)
    ));
    assert_eq!(
        problems(&[("TELOXIDE_TOKEN", "hello")]),
        vec![ConfigError::MalformedToken]
    );
    // A redis URL's password is not repeated in the message.
    let err = bad("STORAGE_URL", "rediss://:hunter2@db:6380").to_string();
    assert!(
        err.contains("rediss://") && !err.contains("hunter2"),
        "{err}"
    );
}

#[test]
fn accepts_redis_urls() {
    for url in [
        "redis://127.0.0.1",
        "redis://127.0.0.1:6379",
        "redis://localhost:6379/2",
        "redis://:secret@redis.internal:6380/0",
        "redis://user:secret@[::1]:6379",
    ] {
        assert!(
            matches!(storage(Some(url.to_owned())), Ok(StorageConfig::Redis(_))),
            "{url}"
        );
    }
}

#[test]
fn refuses_other_redis_urls_without_repeating_their_password() {
    for url in [
        "",
        "127.0.0.1:6379",
        "memory",
        "http://127.0.0.1:6379",
        "rediss://:hunter2@127.0.0.1:6379",
        "redis+unix:///tmp/redis.sock",
        "redis://:hunter2@127.0.0.1:6379/zero",
        "redis://:hunter2@/0",
    ] {
        // Refused with a message (STORAGE_URL's BadStorageUrl) that keeps the password out.
        let shown = RedisUrl::parse(url).map(drop).expect_err(url);
        assert!(!shown.contains("hunter2"), "{url}: {shown}");
    }
}

#[test]
fn every_problem_is_named_once() {
    let errors = problems(&[
        ("WEBHOOK_URL", "ftp://nowhere"),
        ("LISTEN_ADDR", "everywhere"),
        ("STORAGE_URL", "mysql://x"),
        ("API_TIMEOUT", "0s"),
    ]);
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert_eq!(errors[0], ConfigError::MissingToken);
    assert!(matches!(errors[1], ConfigError::BadWebhookUrl(_)));
    assert!(matches!(errors[2], ConfigError::BadListenAddr(_)));
    assert!(matches!(errors[3], ConfigError::BadStorageUrl(_)));
    assert!(matches!(
        errors[4],
        ConfigError::BadDuration("API_TIMEOUT", ..)
    ));
    // With a valid webhook URL, a bad address and a short secret are each named.
    let errors = problems(&[
        ("TELOXIDE_TOKEN", "1:a"),
        ("WEBHOOK_URL", "https://x.org/h"),
        ("LISTEN_ADDR", "everywhere"),
        ("WEBHOOK_SECRET", "short"),
    ]);
    assert_eq!(
        errors,
        vec![
            ConfigError::BadListenAddr("everywhere".into()),
            ConfigError::BadSecret(5)
        ]
    );
}

/// The API URL's problem, with the token set.
fn api_problems(pairs: &[(&str, &str)]) -> Vec<ConfigError> {
    let mut all = vec![("TELOXIDE_TOKEN", "1:a")];
    all.extend_from_slice(pairs);
    problems(&all)
}

#[test]
fn the_api_url_over_http_is_refused_unless_it_is_this_machine_or_allowed() {
    for url in [
        "http://127.0.0.1:8081/",
        "http://127.8.9.10/",
        "http://[::1]:8081/",
        "http://localhost:8081/",
        "http://LOCALHOST/",
        "https://botapi.example.org/",
    ] {
        let config =
            Config::from_lookup(env(&[("TELOXIDE_TOKEN", "1:a"), ("TELOXIDE_API_URL", url)]));
        assert!(config.is_ok(), "{url}: {config:?}");
    }
    for url in [
        "http://10.0.0.5:8081/",
        "http://botapi.internal/",
        "http://localhost.example.org/",
        "http://[::2]/",
    ] {
        let errors = api_problems(&[("TELOXIDE_API_URL", url)]);
        assert!(
            matches!(&errors[..], [ConfigError::ClearTextApiUrl(_)]),
            "{url}: {errors:?}"
        );
        // The message says why and how to fix it.
        let message = errors[0].to_string();
        for fix in ["token", "https://", "127.0.0.1", "ALLOW_HTTP_API=1"] {
            assert!(message.contains(fix), "{fix:?} not in {message}");
        }
        // The operator's opt-in for a Bot API server on a private network.
        for yes in ["1", "true", "YES"] {
            let config = Config::from_lookup(env(&[
                ("TELOXIDE_TOKEN", "1:a"),
                ("TELOXIDE_API_URL", url),
                ("ALLOW_HTTP_API", yes),
            ]))
            .unwrap_or_else(|e| panic!("{url} with ALLOW_HTTP_API={yes}: {e:?}"));
            assert_eq!(
                config.api_url.expect("an API URL").host_str(),
                url::Url::parse(url).unwrap().host_str()
            );
        }
        assert!(matches!(
            &api_problems(&[("TELOXIDE_API_URL", url), ("ALLOW_HTTP_API", "0")])[..],
            [ConfigError::ClearTextApiUrl(_)]
        ));
    }
    assert_eq!(
        api_problems(&[
            ("TELOXIDE_API_URL", "http://127.0.0.1/"),
            ("ALLOW_HTTP_API", "maybe")
        ]),
        vec![ConfigError::BadFlag("ALLOW_HTTP_API", "maybe".into())]
    );
    // An opt-in with nothing to apply to is a mistake, not a no-op.
    assert_eq!(
        api_problems(&[("ALLOW_HTTP_API", "1")]),
        vec![ConfigError::AllowHttpWithoutApiUrl]
    );
    assert!(matches!(
        &api_problems(&[("TELOXIDE_API_URL", "file:///tmp/bot")])[..],
        [ConfigError::BadApiUrl(_)]
    ));
}

#[test]
fn userinfo_is_masked_in_every_url_error() {
    for (name, url) in [
        ("TELOXIDE_API_URL", "http://ada:hunter2@10.0.0.5:8081/"),
        ("TELOXIDE_API_URL", "ftp://ada:hunter2@botapi.example.org/"),
        ("TELOXIDE_API_URL", "https://ada:hunter2@exa mple.org/"),
        ("TELOXIDE_API_URL", "ada:hunter2@botapi.example.org"),
        ("WEBHOOK_URL", "http://ada:hunter2@bot.example.org/hook"),
        (
            "WEBHOOK_URL",
            "https://ada:hunter2@bot.example.org:8080/hook",
        ),
        ("WEBHOOK_URL", "https://ada:hunter2@bot example.org/hook"),
        ("STORAGE_URL", "rediss://ada:hunter2@db:6380"),
        ("STORAGE_URL", "redis://ada:hunter2@db/zero"),
    ] {
        let errors = api_problems(&[(name, url)]);
        assert_eq!(errors.len(), 1, "{url}: {errors:?}");
        let message = errors[0].to_string();
        assert!(message.starts_with(name), "{message}");
        assert!(
            !message.contains("hunter2") && !message.contains("ada"),
            "{url}: {message}"
        );
        assert!(message.contains("***@"), "{url}: {message}");
    }
    assert_eq!(masked("https://host/path@x"), "https://host/path@x");
    assert_eq!(masked("https://a:b@c@host/p"), "https://***@host/p");
    assert_eq!(masked("https://u@host?x=@y"), "https://***@host?x=@y");
}

#[test]
fn an_api_url_path_loses_its_trailing_slash() {
    // teloxide pushes `bot<token>` and the method as path segments onto this URL (the calls
    // themselves are checked against a fake Bot API in tests/service.rs).
    for (given, expected) in [
        ("http://127.0.0.1:8081", "http://127.0.0.1:8081/"),
        ("http://127.0.0.1:8081/", "http://127.0.0.1:8081/"),
        ("http://127.0.0.1:8081/tg", "http://127.0.0.1:8081/tg"),
        ("http://127.0.0.1:8081/tg/", "http://127.0.0.1:8081/tg"),
        (
            "https://proxy.example.org/a/b//",
            "https://proxy.example.org/a/b",
        ),
    ] {
        let config = Config::from_lookup(env(&[
            ("TELOXIDE_TOKEN", "1:a"),
            ("TELOXIDE_API_URL", given),
        ]))
        .unwrap();
        assert_eq!(config.api_url.expect("an API URL").as_str(), expected);
    }
}

#[test]
fn state_capacity_is_refused_with_redis() {
    let errors = api_problems(&[
        ("STATE_CAPACITY", "5000"),
        ("STORAGE_URL", "redis://127.0.0.1:6379/0"),
    ]);
    assert_eq!(errors, vec![ConfigError::CapacityWithRedis]);
    let message = errors[0].to_string();
    assert!(
        message.contains("STATE_CAPACITY") && message.contains("remove"),
        "{message}"
    );
    // Unset with Redis, or set with memory storage: fine.
    for pairs in [
        &[("STORAGE_URL", "redis://127.0.0.1:6379/0")][..],
        &[("STATE_CAPACITY", "5000"), ("STORAGE_URL", "memory")][..],
    ] {
        let mut all = vec![("TELOXIDE_TOKEN", "1:a")];
        all.extend_from_slice(pairs);
        assert!(Config::from_lookup(env(&all)).is_ok(), "{pairs:?}");
    }
}

#[test]
fn an_http_webhook_is_accepted_only_with_a_local_bot_api_server() {
    let webhook = |api: &[(&'static str, &'static str)], hook: &'static str| {
        let mut all = vec![("TELOXIDE_TOKEN", "1:a"), ("WEBHOOK_URL", hook)];
        all.extend_from_slice(api);
        Config::from_lookup(env(&all))
    };
    let local = [("TELOXIDE_API_URL", "http://127.0.0.1:8081/")];
    let private = [
        ("TELOXIDE_API_URL", "http://10.0.0.5:8081/"),
        ("ALLOW_HTTP_API", "1"),
    ];
    for hook in [
        "http://10.0.0.7:8080/hook",
        "https://bot.example.org:9443/hook",
    ] {
        for api in [&local[..], &private[..]] {
            let config = webhook(api, hook).unwrap_or_else(|e| panic!("{hook}: {e:?}"));
            let Receive::Webhook { url, .. } = config.receive else {
                panic!("not webhook mode")
            };
            assert_eq!(url.as_str(), hook);
        }
        // api.telegram.org, or a remote server it cannot tell is local: https on its ports.
        for api in [
            &[][..],
            &[("TELOXIDE_API_URL", "https://botapi.example.org/")][..],
        ] {
            let errors = webhook(api, hook).unwrap_err();
            assert!(
                matches!(&errors[..], [ConfigError::BadWebhookUrl(_)]),
                "{hook}: {errors:?}"
            );
            assert!(errors[0].to_string().contains("local Bot API server"));
        }
    }
    assert!(webhook(&local, "ftp://10.0.0.7/hook").is_err());
}
