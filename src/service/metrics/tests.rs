use super::*;

/// The family a sample line belongs to: its name less a histogram's suffix.
fn family(line: &str) -> &str {
    let name = line.split(['{', ' ']).next().unwrap_or_default();
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .unwrap_or(name)
}

#[test]
fn renders_every_series_with_its_labels() {
    let metrics = Metrics::default();
    metrics.update(UpdateLabel::CallbackQuery);
    metrics.api_error(ApiErrorLabel::RateLimited);
    metrics.reply();
    metrics.reply();
    let text = metrics.render(Some(StorageStats {
        active: 3,
        expired: 1,
    }));
    assert!(text.contains("scar_guide_updates_total{kind=\"callback_query\"} 1\n"));
    assert!(text.contains("scar_guide_updates_total{kind=\"edited_message\"} 0\n"));
    assert!(text.contains("scar_guide_api_errors_total{kind=\"rate_limited\"} 1\n"));
    assert!(text.contains("scar_guide_replies_total 2\n"));
    assert!(text.contains("scar_guide_conversations_active 3\n"));
    assert!(text.contains("scar_guide_conversations_expired_total 1\n"));
    assert!(text.contains(
        "# HELP scar_guide_updates_dropped_total Updates dropped because one chat sent faster than it could be answered.\n"
    ));
    // Replies outside an update's handling time nothing.
    assert!(text.contains("scar_guide_reply_latency_seconds_count{outcome=\"replied\"} 0\n"));
    // Every sample line belongs to a family declared with HELP and TYPE.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = family(line);
        assert!(text.contains(&format!("# HELP {name} ")), "{line}");
        assert!(text.contains(&format!("# TYPE {name} ")), "{line}");
    }
    let without = metrics.render(None);
    assert!(!without.contains("conversations_active"));
}

#[tokio::test]
async fn times_the_first_reply_of_an_update_or_its_end_without_one() {
    let metrics = Metrics::default();
    let arrived = Instant::now() - Duration::from_millis(300);
    metrics
        .time_reply(arrived, async {
            metrics.reply();
            metrics.reply();
        })
        .await;
    metrics.time_reply(Instant::now(), async {}).await;
    metrics.api_call("SendMessage", Duration::from_millis(70));
    metrics.api_call("SendMessage", Duration::from_secs(12));
    let text = metrics.render(None);
    let has = |line: &str| assert!(text.contains(line), "no {line:?} in:\n{text}");
    // One observation for the two replies, in the bucket of its 300 ms.
    has("scar_guide_reply_latency_seconds_count{outcome=\"replied\"} 1\n");
    has("scar_guide_reply_latency_seconds_bucket{outcome=\"replied\",le=\"0.25\"} 0\n");
    has("scar_guide_reply_latency_seconds_bucket{outcome=\"replied\",le=\"0.5\"} 1\n");
    has("scar_guide_reply_latency_seconds_count{outcome=\"no_reply\"} 1\n");
    has("# TYPE scar_guide_api_call_duration_seconds histogram\n");
    has("scar_guide_api_call_duration_seconds_bucket{method=\"SendMessage\",le=\"0.1\"} 1\n");
    has("scar_guide_api_call_duration_seconds_bucket{method=\"SendMessage\",le=\"10\"} 1\n");
    has("scar_guide_api_call_duration_seconds_bucket{method=\"SendMessage\",le=\"15\"} 2\n");
    has("scar_guide_api_call_duration_seconds_bucket{method=\"SendMessage\",le=\"+Inf\"} 2\n");
    has("scar_guide_api_call_duration_seconds_count{method=\"SendMessage\"} 2\n");
}
