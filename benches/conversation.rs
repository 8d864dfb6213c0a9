//! Speed and memory of the parts every update goes through: `cargo bench`.
//!
//! Goals (a 2-core machine, release build): one conversation step well under 50 µs, and one
//! user action over whole conversations (load the session, step, store it) well under that
//! too, so the bot is bound by the network, never by itself. The memory of stored
//! conversations has a bench of its own (`benches/memory.rs`); the figure printed here is the
//! one for the state below.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use scar_guide::content::Content;
use scar_guide::conversation::{Action, Conversation, Input, State};
use scar_guide::knowledge::{ScarKind, Topic};
use scar_guide::service::storage::ExpiringStorage;
use scar_guide::telegram::Session;
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::{ChatId, MessageId};

/// Counts live heap bytes, for the memory figure.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn steps(c: &mut Criterion) {
    let content = Content::embedded().expect("valid content");
    let conversation = Conversation::new(&content, content.pack(Some("en")));
    let every_kind: Vec<ScarKind> = ScarKind::all().collect();
    let identify = State::Identify { picked: every_kind };

    c.bench_function("tap: a topic on the main menu", |b| {
        b.iter(|| {
            conversation.step(
                black_box(&State::MainMenu),
                Input::Tap(Action::Topic(Topic::Care)),
            )
        })
    });
    c.bench_function("tap: Done with every scar kind ticked", |b| {
        b.iter(|| conversation.step(black_box(&identify), Input::Tap(Action::Done)))
    });
    c.bench_function("typed: 'brown spots and craters' on identify", |b| {
        b.iter(|| {
            conversation.step(
                black_box(&State::Identify { picked: Vec::new() }),
                Input::Text("brown spots and craters".to_owned()),
            )
        })
    });
    c.bench_function("typed: nonsense on identify", |b| {
        b.iter(|| {
            conversation.step(
                black_box(&identify),
                Input::Text("qwertyuiop asdf".to_owned()),
            )
        })
    });
    c.bench_function("start-up: load and validate the embedded content", |b| {
        b.iter(|| Content::embedded().expect("valid content"))
    });
}

fn storage(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let session = Session {
        state: State::Identify {
            picked: ScarKind::all().collect(),
        },
        menu: Some(MessageId(123_456)),
        lang: None,
        seen_lang: None,
        album: None,
    };

    // Memory: bytes per stored conversation, averaged over many chats.
    const CHATS: i64 = 100_000;
    let before = LIVE.load(Ordering::Relaxed);
    let store = ExpiringStorage::<Session>::new(Duration::from_secs(3600), CHATS as u64 * 2);
    runtime.block_on(async {
        for chat in 0..CHATS {
            store
                .clone()
                .update_dialogue(ChatId(chat), session.clone())
                .await
                .expect("infallible");
        }
    });
    let per_chat = (LIVE.load(Ordering::Relaxed) - before) / CHATS as usize;
    println!("memory: about {per_chat} bytes per stored conversation ({CHATS} chats)");

    c.bench_function("storage: update then get one chat among 100k", |b| {
        let mut chat = 0;
        b.iter(|| {
            chat = (chat + 7919) % CHATS;
            runtime.block_on(async {
                store
                    .clone()
                    .update_dialogue(ChatId(chat), session.clone())
                    .await
                    .expect("infallible");
                store
                    .clone()
                    .get_dialogue(ChatId(chat))
                    .await
                    .expect("infallible")
            })
        })
    });
}

/// What every update and reply adds in the service layer: the flood gate (a lock and a map
/// entry per update, and its arrival time), timing a Bot API call, and a `/metrics` scrape.
/// Goals: the gate and the timing well under 10 µs; a scrape (about 200 lines) under 100 µs.
fn service(c: &mut Criterion) {
    use scar_guide::service::intake::Gate;
    use scar_guide::service::metrics::Metrics;
    use std::sync::Arc;
    use teloxide::types::Update;

    let metrics = Arc::new(Metrics::default());
    let gate = Gate::new(16, metrics.clone(), Box::new(|_, _| {}));
    let updates: Vec<Update> = (0..1_000)
        .map(|i| {
            let json = serde_json::json!({
                "update_id": i,
                "message": {
                    "message_id": i, "date": 0, "text": "hi",
                    "chat": {"id": i, "type": "private", "first_name": "A"},
                    "from": {"id": i, "is_bot": false, "first_name": "A"}
                }
            });
            serde_json::from_str(&json.to_string()).expect("a valid update")
        })
        .collect();
    c.bench_function("service: gate admit then done, 1000 chats", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % updates.len();
            let update = &updates[i];
            if gate.admit(black_box(update)) {
                gate.done(update);
            }
        })
    });
    // A scrape as in production: the histograms of the six methods the bot calls have series.
    for method in [
        "SendMessage",
        "SendPhoto",
        "EditMessageText",
        "EditMessageReplyMarkup",
        "AnswerCallbackQuery",
        "AnswerInlineQuery",
    ] {
        metrics.api_call(method, Duration::from_millis(80));
    }
    c.bench_function("service: render /metrics", |b| {
        b.iter(|| black_box(metrics.render(None)))
    });
    c.bench_function("service: time one Bot API call", |b| {
        b.iter(|| {
            metrics.api_call(
                black_box("SendMessage"),
                black_box(Duration::from_millis(80)),
            )
        })
    });
}

/// The pictures: rendering one (done once per picture at start-up, so this is start-up cost)
/// and a cached send, the path every chat after the first takes: a cache lookup and a sendPhoto
/// by file_id (here to a sender that answers at once, so only the bot's own work is measured).
/// Goals: a render well under a second, a cached send well under 10 µs.
fn pictures(c: &mut Criterion) {
    use scar_guide::pictures::{Picture, Pictures, render};
    use scar_guide::telegram::photos::{MemoryCache, PhotoSender, Photos, Sent};
    use std::sync::Arc;
    use teloxide::types::InputFile;

    struct Instant;
    impl PhotoSender for Instant {
        async fn send_photo(
            &self,
            _photo: InputFile,
            _caption: &str,
        ) -> Result<Option<String>, teloxide::RequestError> {
            Ok(Some("file-id".to_owned()))
        }
    }

    let mut group = c.benchmark_group("pictures");
    group.sample_size(10);
    group.bench_function("render the dents picture to PNG", |b| {
        b.iter(|| black_box(render(Picture::Dents)))
    });
    group.finish();

    let pictures = Arc::new(Pictures::render_all().expect("the pictures render"));
    let photos = Photos::new(pictures, MemoryCache::new());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let first = runtime.block_on(photos.send(&Instant, Picture::Dents, "caption"));
    assert_eq!(first, Sent::Uploaded, "the first send uploads");
    c.bench_function("pictures: a cached send (file_id reused)", |b| {
        b.iter(|| {
            let sent = runtime.block_on(photos.send(&Instant, Picture::Dents, "caption"));
            assert_eq!(sent, Sent::Reused);
        })
    });
}

/// Whole conversations: 200 people each taking 30 steps from /start, choosing among the
/// buttons on screen (Back and Start over included) or typing, as the bot handles an update
/// minus the network: the session loaded from the in-memory storage, the step, the session
/// stored. Reported per action (criterion's throughput in elements).
fn conversations(c: &mut Criterion) {
    use criterion::Throughput;
    use futures_util::FutureExt;
    use scar_guide::conversation::walk::actions;

    const PEOPLE: i64 = 200;
    const STEPS: usize = 30;
    let content = Content::embedded().expect("valid content");
    let conversation = Conversation::new(&content, content.pack(Some("en")));
    let store = ExpiringStorage::<Session>::new(Duration::from_secs(3600), 1_000_000);
    // A fixed pseudo-random sequence, so every run walks the same conversations.
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let choices: Vec<u64> = (0..PEOPLE as usize * STEPS).map(|_| next()).collect();
    let typed = [
        "brown spots",
        "craters and red marks",
        "what helps keloids?",
        "hello",
    ];

    let mut group = c.benchmark_group("conversations");
    group.throughput(Throughput::Elements(PEOPLE as u64 * STEPS as u64));
    group.bench_function("whole conversations, per action", |b| {
        b.iter(|| {
            let mut choice = choices.iter();
            for person in 0..PEOPLE {
                let chat = ChatId(person);
                let mut input = Input::Start;
                for _ in 0..STEPS {
                    let session = store
                        .clone()
                        .get_dialogue(chat)
                        .now_or_never()
                        .and_then(Result::ok)
                        .flatten()
                        .unwrap_or_default();
                    let outcome = conversation.step(&session.state, input);
                    let buttons = actions(&outcome);
                    let pick = *choice.next().unwrap_or(&0);
                    input = match buttons.len() {
                        0 => Input::Start,
                        _ if pick.is_multiple_of(8) => {
                            Input::Text(typed[(pick as usize / 8) % typed.len()].to_owned())
                        }
                        n => Input::Tap(buttons[(pick as usize) % n]),
                    };
                    let saved = Session {
                        state: outcome.state,
                        ..session
                    };
                    let _ = store.clone().update_dialogue(chat, saved).now_or_never();
                }
            }
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = steps, conversations, storage, service, pictures
}
criterion_main!(benches);
