//! Inline mode (`@bot keloid` in any chat) through the real handler tree.
//!
//! `teloxide_tests` 0.4 has no inline queries: its mock Bot API answers `answerInlineQuery`
//! with "not implemented" and records nothing. So these tests run [`telegram::schema`] with a
//! `Bot` pointed at the fake Bot API of `fake_api.rs` (see [`inline_api`]), which records each
//! call's JSON, and check the answer exactly as Telegram would receive it.
//!
//! Expected values come from the same `Content` and `Conversation` the bot uses.

use std::ops::ControlFlow;
use std::time::Duration;

use scar_guide::content::html;
use scar_guide::conversation::{Conversation, Input, MAX_SUMMARY_CHARS, card_links};
use scar_guide::knowledge::{Link, ScarKind};
use scar_guide::service::storage::ExpiringStorage;
use scar_guide::telegram::{self, HandlerError, Session, inline};
use serde_json::{Value, json};
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::{InlineQuery, Update, UpdateId, UpdateKind};
use teloxide::{ApiError, Bot, RequestError};
use teloxide_tests::MockMe;

use crate::fake_api::{FakeApi, Reply};
use crate::util::{content, conversation, note};

/// What the fake Bot API answers to `answerInlineQuery`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    Ok,
    /// Telegram's answer when the query is older than about 10 seconds.
    QueryTooOld,
}

/// A fake Bot API that answers `answerInlineQuery` as `answer` says and refuses anything else.
fn inline_api(answer: Answer) -> FakeApi {
    FakeApi::start(move |method, _| match method {
        "answerinlinequery" if answer == Answer::QueryTooOld => Reply::error(
            400,
            "Bad Request: query is too old and response timeout expired or query ID is invalid",
        ),
        "answerinlinequery" => Reply::ok(json!(true)),
        _ => Reply::error(400, "Bad Request: not expected here"),
    })
}

/// Someone typing `@bot <query>`.
fn inline_query(query: &str, user_id: u64, language: Option<&str>) -> InlineQuery {
    serde_json::from_value(json!({
        "id": format!("iq-{user_id}-{}", query.len()),
        "from": {
            "id": user_id,
            "is_bot": false,
            "first_name": format!("User {user_id}"),
            "language_code": language,
        },
        "query": query,
        "offset": "",
        "chat_type": "supergroup",
    }))
    .expect("a valid inline query")
}

/// Runs the real handler tree on one inline query, as the dispatcher would.
async fn dispatch(api: &FakeApi, query: InlineQuery) -> Result<(), HandlerError> {
    let storage = ExpiringStorage::<Session>::new(Duration::from_secs(60), 100).erase();
    let mut deps = telegram::dependencies(content(), storage);
    let url = url::Url::parse(&api.url()).expect("a URL");
    deps.insert(Bot::new("123456:TESTTOKEN").set_api_url(url));
    deps.insert(MockMe::new().build());
    deps.insert(Update {
        id: UpdateId(1),
        kind: UpdateKind::InlineQuery(query),
    });
    match telegram::schema::<Bot>().dispatch(deps).await {
        ControlFlow::Break(result) => result,
        ControlFlow::Continue(_) => panic!("no handler took the inline query"),
    }
}

/// The `answerInlineQuery` parameters the bot sent for `query` from an English speaker.
async fn ask(query: &str) -> Value {
    ask_as(query, 4242, Some("en")).await
}

pub(crate) async fn ask_as(query: &str, user_id: u64, language: Option<&str>) -> Value {
    let api = inline_api(Answer::Ok);
    let result = dispatch(&api, inline_query(query, user_id, language)).await;
    assert!(result.is_ok(), "the answer was refused: {result:?}");
    let calls = api.calls();
    assert_eq!(calls.len(), 1, "one call: {calls:?}");
    assert_eq!(calls[0].method, "answerinlinequery");
    calls[0].body.clone()
}

/// The links of the results, by id.
fn result_links(answer: &Value) -> Vec<Link> {
    results(answer)
        .iter()
        .map(|r| {
            let id = r["id"].as_str().expect("an id");
            Link::parse(id).unwrap_or_else(|| panic!("result id {id:?} is not a link payload"))
        })
        .collect()
}

pub(crate) fn results(answer: &Value) -> &[Value] {
    answer["results"].as_array().expect("a results array")
}

#[tokio::test]
async fn keloid_finds_the_raised_lumps_first() {
    let answer = ask("keloid").await;
    let links = result_links(&answer);
    assert_eq!(links[0], Link::Scar(ScarKind::Lumps));
    assert_eq!(links, conversation().search("keloid"));
}

#[tokio::test]
async fn red_marks_find_the_redness_card_first() {
    let answer = ask("red marks").await;
    let links = result_links(&answer);
    assert_eq!(links[0], Link::Scar(ScarKind::Redness));
    assert_eq!(links, conversation().search("red marks"));
}

#[tokio::test]
async fn sunscreen_finds_the_daily_care_card() {
    let links = result_links(&ask("sunscreen").await);
    assert!(links.contains(&Link::Care), "{links:?}");
}

#[tokio::test]
async fn an_empty_query_lists_every_card_in_menu_order() {
    let links = result_links(&ask("").await);
    let expected: Vec<Link> = Link::all().filter(|l| l.is_card()).collect();
    assert_eq!(links, expected);
    assert_eq!(card_links().collect::<Vec<_>>(), expected);
}

#[tokio::test]
async fn nonsense_gets_an_empty_answer() {
    let answer = ask("qwertyuiop").await;
    assert!(results(&answer).is_empty());
    // Still answered, with the button into the bot.
    assert_eq!(
        answer["button"]["text"],
        content().pack(Some("en")).ui.inline.open_bot
    );
}

/// Every result of the full list, checked field by field against the `Conversation`.
#[tokio::test]
async fn each_result_posts_its_compact_card_with_a_deep_link() {
    let answer = ask("").await;
    let c = conversation();
    let username = MockMe::USERNAME;
    let results = results(&answer);
    assert!(!results.is_empty() && results.len() <= 50);
    for (result, link) in results.iter().zip(result_links(&answer)) {
        let id = result["id"].as_str().unwrap();
        assert!(id.len() <= 64, "{id}");
        assert_eq!(result["type"], "article");
        assert_eq!(result["title"], c.link_title(link));
        let summary = result["description"].as_str().unwrap();
        assert_eq!(summary, c.link_summary(link));
        assert!(
            summary.chars().count() <= MAX_SUMMARY_CHARS,
            "{id}: {summary}"
        );

        let content = &result["input_message_content"];
        let text = content["message_text"].as_str().unwrap();
        assert_eq!(text, c.compact_card(link), "{id}");
        assert_eq!(content["parse_mode"], "HTML");
        assert_eq!(html::check(text), Ok(()), "{id}");
        assert!(html::telegram_len(text) <= 4096, "{id}");
        assert!(text.contains(&c.pack.ui.card.disclaimer), "{id}");

        let rows = result["reply_markup"]["inline_keyboard"]
            .as_array()
            .unwrap();
        assert_eq!(rows.len(), 1, "{id}: one button");
        let buttons = rows[0].as_array().unwrap();
        assert_eq!(buttons.len(), 1, "{id}: one button");
        assert_eq!(buttons[0]["text"], c.pack.ui.inline.open_full);
        assert_eq!(
            buttons[0]["url"],
            format!("https://t.me/{username}?start={}", link.payload())
        );
    }
}

/// A deep link under a posted card opens that card in the private chat.
#[tokio::test]
async fn the_deep_link_payload_opens_the_same_topic() {
    let answer = ask("keloid").await;
    let url = answer["results"][0]["reply_markup"]["inline_keyboard"][0][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let payload = url.split_once("?start=").unwrap().1;
    assert_eq!(
        Input::command("start", payload),
        Some(Input::Open(Link::Scar(ScarKind::Lumps)))
    );
}

#[tokio::test]
async fn answers_are_cached_and_the_same_for_everyone() {
    let first = ask_as("keloid", 1001, Some("en")).await;
    let second = ask_as("keloid", 2002, Some("en-GB")).await;
    assert_eq!(first["results"], second["results"]);
    assert_eq!(first["button"], second["button"]);
    assert_eq!(first["cache_time"], json!(inline::CACHE_TIME_SECS));
    assert_ne!(first["cache_time"], json!(0), "cached");
    // A query's answer follows from the query alone, so Telegram may share it between users.
    assert!(!first["is_personal"].as_bool().unwrap_or(false));
    // The empty query lists the topics in the asker's language: personal once there are two.
    let empty = ask_as("", 1001, Some("en")).await;
    let several_languages = content().packs().count() > 1;
    assert_eq!(
        empty["is_personal"].as_bool().unwrap_or(false),
        several_languages
    );
    // No pagination: everything comes in one answer.
    assert!(first["next_offset"].as_str().unwrap_or_default().is_empty());
    // The button above the results opens the bot with its greeting.
    assert_eq!(
        first["button"],
        json!({
            "text": content().pack(Some("en")).ui.inline.open_bot,
            "start_parameter": inline::OPEN_BOT_PARAMETER,
        })
    );
    assert_eq!(
        Input::command("start", inline::OPEN_BOT_PARAMETER),
        Some(Input::Start)
    );
}

#[tokio::test]
async fn an_unknown_or_missing_language_gets_english() {
    let english = ask_as("red", 7, Some("en")).await;
    for language in [Some("xx"), None] {
        let answer = ask_as("red", 7, language).await;
        assert_eq!(answer["results"], english["results"], "{language:?}");
    }
}

/// The Japanese pack may not exist yet (it is being translated). When `dialogues/ja/` is in the
/// content this runs; until then it says so and passes, so adding the folder switches it on.
#[tokio::test]
async fn keloid_in_japanese_finds_the_raised_lumps_first() {
    let content = content();
    let Some(ja) = content.packs().find(|p| p.code == "ja") else {
        note("no Japanese pack in dialogues/ yet; the Japanese inline test is skipped");
        return;
    };
    let answer = ask_as("ケロイド", 3003, Some("ja")).await;
    // The same answer for an English speaker typing Japanese: it follows from the query.
    assert_eq!(
        ask_as("ケロイド", 4004, Some("en")).await["results"],
        answer["results"]
    );
    let links = result_links(&answer);
    assert_eq!(links.first(), Some(&Link::Scar(ScarKind::Lumps)));
    let c = Conversation::new(&content, ja);
    assert_eq!(links, c.search("ケロイド"));
    let first = &results(&answer)[0];
    assert_eq!(
        first["input_message_content"]["message_text"],
        c.compact_card(Link::Scar(ScarKind::Lumps))
    );
    assert_eq!(
        first["reply_markup"]["inline_keyboard"][0][0]["text"],
        ja.ui.inline.open_full
    );
}

#[tokio::test]
async fn a_query_too_old_to_answer_is_an_error_for_the_error_handler() {
    let api = inline_api(Answer::QueryTooOld);
    let result = dispatch(&api, inline_query("keloid", 5, Some("en"))).await;
    let error = result.expect_err("the refusal is returned, not swallowed");
    // teloxide names an API error only when the description matches its table exactly (its
    // InvalidQueryId spells "query id"); either way it reaches the error handler as an API error.
    assert!(
        matches!(
            error.downcast_ref::<RequestError>(),
            Some(RequestError::Api(
                ApiError::InvalidQueryId | ApiError::Unknown(_)
            ))
        ),
        "{error:?}"
    );
    assert_eq!(api.calls().len(), 1, "tried once, no retry loop");
}
