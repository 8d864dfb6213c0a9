//! Pictures sent the Telegram way: a photo with its caption, uploaded once per bot and reused
//! by the `file_id` Telegram returns.
//!
//! The first send of a picture uploads its PNG; Telegram answers with a `file_id` that any
//! later sendPhoto of the same bot may use instead of the bytes. The ids are kept in a
//! [`PhotoCache`]: [`MemoryCache`] in one process, or the runtime's Redis cache when
//! `STORAGE_URL` is set, so every instance reuses one upload. The cache key names the picture
//! and a hash of its bytes, so a redrawn picture is uploaded afresh rather than shown old.
//!
//! A cached id Telegram refuses (a 400: an id of another bot, or one it forgot) is dropped and
//! the picture uploaded once more. Any other failure gives up on the picture: it is an
//! illustration, and the text answers without it, so the menu is sent anyway.
//!
//! The adapter does not know which cache it has: the runtime passes an `Arc<dyn PhotoCache>`
//! through the handlers' dependencies, with the rendered [`Pictures`], inside [`Photos`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::future::BoxFuture;
use teloxide::prelude::*;
use teloxide::types::{FileId, InputFile, ParseMode};
use teloxide::{ApiError, RequestError};

use super::delivery::{Api, Delivery, error_kind};
use crate::knowledge::ClosedSet;
use crate::pictures::{Picture, Pictures};

/// Where the `file_id` of each uploaded picture is kept. Keys are [`Photos::key`]s,
/// `<picture key>:<hash of its PNG>`; a backend may prefix them.
///
/// Best effort throughout: a cache that cannot answer is a cache miss (one more upload), never
/// an error the person sees.
pub trait PhotoCache: Send + Sync {
    /// The id cached for `key`, if any.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<String>>;
    /// Keeps the id Telegram returned for `key`.
    fn put<'a>(&'a self, key: &'a str, file_id: &'a str) -> BoxFuture<'a, ()>;
    /// Drops the id cached for `key` (Telegram refused it).
    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()>;
}

/// The ids in this process only: the default, and the front of the Redis cache.
#[derive(Debug, Default)]
pub struct MemoryCache {
    ids: Mutex<HashMap<String, String>>,
}

impl MemoryCache {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    pub fn get_now(&self, key: &str) -> Option<String> {
        self.lock().get(key).cloned()
    }

    pub fn put_now(&self, key: &str, file_id: &str) {
        self.lock().insert(key.to_owned(), file_id.to_owned());
    }

    pub fn forget_now(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A panic while holding it cannot leave the map half-written: insert and remove are whole.
        self.ids.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PhotoCache for MemoryCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move { self.get_now(key) })
    }

    fn put<'a>(&'a self, key: &'a str, file_id: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move { self.put_now(key, file_id) })
    }

    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move { self.forget_now(key) })
    }
}

/// How a picture went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// By a cached `file_id`: no bytes uploaded.
    Reused,
    /// Uploaded (no id was cached, or Telegram refused the cached one).
    Uploaded,
    /// Not sent; the reason is logged. The text goes on without it.
    Failed,
}

impl Sent {
    pub fn is_sent(self) -> bool {
        self != Self::Failed
    }
}

/// One sendPhoto: the photo (bytes or an id) with its caption; the `file_id` of the sent photo
/// when Telegram says it. A trait so the cache logic can be tested with a fake Bot API.
pub trait PhotoSender: Sync {
    fn send_photo(
        &self,
        photo: InputFile,
        caption: &str,
    ) -> impl Future<Output = Result<Option<String>, RequestError>> + Send;
}

/// sendPhoto into one chat through the delivery layer (retries, counting).
pub struct ChatSender<'a, R> {
    pub bot: &'a R,
    pub delivery: &'a Delivery,
    pub chat_id: ChatId,
}

impl<R: Api> PhotoSender for ChatSender<'_, R> {
    async fn send_photo(
        &self,
        photo: InputFile,
        caption: &str,
    ) -> Result<Option<String>, RequestError> {
        let request = self
            .bot
            .send_photo(self.chat_id, photo)
            .caption(caption)
            .parse_mode(ParseMode::Html);
        let sent = self.delivery.send(Some(self.chat_id), request).await?;
        // Telegram lists the sizes it made, the largest last; each has its own id.
        Ok(sent
            .photo()
            .and_then(|sizes| sizes.last())
            .map(|size| size.file.id.0.clone()))
    }
}

/// The rendered pictures and where their ids are cached: what the handlers need to send one.
#[derive(Clone)]
pub struct Photos {
    /// `None` only if the pictures did not render (see [`Photos::in_memory`]): then every
    /// screen goes without its picture.
    pictures: Option<Arc<Pictures>>,
    cache: Arc<dyn PhotoCache>,
    /// [`Photos::key`] of each picture, in declaration order.
    keys: Arc<[String]>,
    /// One upload at a time per picture in this process, so chats arriving together while
    /// nothing is cached share one upload.
    uploads: Arc<[tokio::sync::Mutex<()>]>,
}

impl Photos {
    pub fn new(pictures: Arc<Pictures>, cache: Arc<dyn PhotoCache>) -> Self {
        Self::with(Some(pictures), cache)
    }

    fn with(pictures: Option<Arc<Pictures>>, cache: Arc<dyn PhotoCache>) -> Self {
        let keys = match &pictures {
            Some(pictures) => Picture::all()
                .map(|p| format!("{}:{:016x}", p.key(), fnv1a(pictures.png(p))))
                .collect(),
            None => Arc::default(),
        };
        let uploads = Picture::all()
            .map(|_| tokio::sync::Mutex::new(()))
            .collect();
        Self {
            pictures,
            cache,
            keys,
            uploads,
        }
    }

    /// The pictures rendered once for the whole process, with a fresh in-memory cache (the
    /// handlers' default, and tests). If they do not render (`scar-guide check` and the tests
    /// say why) screens go without them.
    pub fn in_memory() -> Self {
        Self::with(shared_pictures(), MemoryCache::new())
    }

    /// The rendered pictures, `None` if they did not render.
    pub fn pictures(&self) -> Option<&Pictures> {
        self.pictures.as_deref()
    }

    /// The cache key of `picture`: its key and a hash of its PNG, `dents:<16 hex digits>`.
    pub fn key(&self, picture: Picture) -> &str {
        self.keys
            .get(picture.index())
            .map_or(picture.key(), String::as_str)
    }

    /// Sends `picture` with `caption` through `sender`: by its cached id, else uploaded and its
    /// id cached; a refused id is dropped and the picture uploaded again. Never fails: a picture
    /// that cannot be sent is logged (its kind only) and reported as [`Sent::Failed`].
    pub async fn send(&self, sender: &impl PhotoSender, picture: Picture, caption: &str) -> Sent {
        let key = self.key(picture);
        if let Some(sent) = self.send_cached(sender, key, caption).await {
            return sent;
        }
        let Some(lock) = self.uploads.get(picture.index()) else {
            return Sent::Failed;
        };
        let _one_at_a_time = lock.lock().await;
        // Another chat may have uploaded it while this one waited.
        if let Some(sent) = self.send_cached(sender, key, caption).await {
            return sent;
        }
        let Some(pictures) = &self.pictures else {
            return Sent::Failed;
        };
        let file_name = format!("{}.png", picture.key());
        let photo = InputFile::memory(pictures.png(picture).to_vec()).file_name(file_name);
        match sender.send_photo(photo, caption).await {
            Ok(id) => {
                match id {
                    Some(id) => self.cache.put(key, &id).await,
                    None => log::warn!("Telegram returned no file id for a picture"),
                }
                Sent::Uploaded
            }
            Err(err) => {
                log::warn!("could not upload a picture: {}", error_kind(&err));
                Sent::Failed
            }
        }
    }

    /// Sends by the cached id. `None` when there is none, or Telegram refused it (dropped):
    /// the caller uploads.
    async fn send_cached(
        &self,
        sender: &impl PhotoSender,
        key: &str,
        caption: &str,
    ) -> Option<Sent> {
        let id = self.cache.get(key).await?;
        match sender
            .send_photo(InputFile::file_id(FileId(id)), caption)
            .await
        {
            Ok(_) => Some(Sent::Reused),
            Err(err) if refuses_the_id(&err) => {
                log::warn!(
                    "a cached picture id was refused ({}); uploading the picture again",
                    error_kind(&err)
                );
                self.cache.forget(key).await;
                None
            }
            Err(err) => {
                log::warn!("could not send a picture: {}", error_kind(&err));
                Some(Sent::Failed)
            }
        }
    }
}

/// Whether Telegram refused the request itself (a 400 about the file id), rather than the chat
/// (blocked) or the network: then uploading the bytes instead can help.
fn refuses_the_id(err: &RequestError) -> bool {
    match err {
        RequestError::Api(ApiError::BotBlocked | ApiError::UserDeactivated) => false,
        RequestError::Api(ApiError::Unknown(description)) => description.starts_with("Bad Request"),
        RequestError::Api(_) => true,
        _ => false,
    }
}

/// The pictures rendered once per process.
fn shared_pictures() -> Option<Arc<Pictures>> {
    static RENDERED: std::sync::OnceLock<Option<Arc<Pictures>>> = std::sync::OnceLock::new();
    RENDERED
        .get_or_init(|| match Pictures::render_all() {
            Ok(pictures) => Some(Arc::new(pictures)),
            Err(err) => {
                log::error!("the pictures do not render: {err}");
                None
            }
        })
        .clone()
}

/// FNV-1a, 64 bits: a hash of the PNG that is the same in every build and on every instance
/// (std's hasher promises neither), for cache keys.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A Bot API that knows only the ids it handed out, and can be made to fail.
    #[derive(Default)]
    struct FakeApi {
        known: Mutex<Vec<String>>,
        uploads: AtomicUsize,
        by_id: AtomicUsize,
        down: std::sync::atomic::AtomicBool,
    }

    impl FakeApi {
        fn forget_all_ids(&self) {
            self.known.lock().unwrap().clear();
        }
    }

    impl PhotoSender for FakeApi {
        async fn send_photo(
            &self,
            photo: InputFile,
            _caption: &str,
        ) -> Result<Option<String>, RequestError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(RequestError::Api(ApiError::Unknown(
                    "Internal Server Error".into(),
                )));
            }
            // An InputFile says what it is only through its Debug form.
            let shown = format!("{photo:?}");
            if shown.contains("Bytes") || shown.contains("Memory") {
                self.uploads.fetch_add(1, Ordering::SeqCst);
                let id = format!("id-{}", self.uploads.load(Ordering::SeqCst));
                self.known.lock().unwrap().push(id.clone());
                return Ok(Some(id));
            }
            self.by_id.fetch_add(1, Ordering::SeqCst);
            let known = self.known.lock().unwrap();
            if known.iter().any(|id| shown.contains(id.as_str())) {
                Ok(Some("reused".into()))
            } else {
                Err(RequestError::Api(ApiError::WrongFileIdOrUrl))
            }
        }
    }

    fn photos() -> Photos {
        let photos = Photos::in_memory();
        assert!(photos.pictures().is_some(), "the pictures render");
        photos
    }

    #[tokio::test]
    async fn uploads_once_then_reuses_the_id() {
        let photos = photos();
        let api = FakeApi::default();
        assert_eq!(photos.send(&api, Picture::Dents, "c").await, Sent::Uploaded);
        for _ in 0..5 {
            assert_eq!(photos.send(&api, Picture::Dents, "c").await, Sent::Reused);
        }
        assert_eq!(
            photos.send(&api, Picture::Raised, "c").await,
            Sent::Uploaded
        );
        assert_eq!(api.uploads.load(Ordering::SeqCst), 2);
        assert_eq!(api.by_id.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn a_refused_id_is_dropped_and_the_picture_uploaded_again() {
        let photos = photos();
        let api = FakeApi::default();
        assert_eq!(photos.send(&api, Picture::Dents, "c").await, Sent::Uploaded);
        let first = photos.cache.get(photos.key(Picture::Dents)).await;
        api.forget_all_ids();
        assert_eq!(photos.send(&api, Picture::Dents, "c").await, Sent::Uploaded);
        let second = photos.cache.get(photos.key(Picture::Dents)).await;
        assert!(first.is_some() && second.is_some() && first != second);
        assert_eq!(photos.send(&api, Picture::Dents, "c").await, Sent::Reused);
        assert_eq!(api.uploads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_send_keeps_the_id_and_reports_failure() {
        let photos = photos();
        let api = FakeApi::default();
        assert_eq!(photos.send(&api, Picture::Dents, "c").await, Sent::Uploaded);
        api.down.store(true, Ordering::SeqCst);
        assert_eq!(photos.send(&api, Picture::Dents, "c").await, Sent::Failed);
        assert_eq!(photos.send(&api, Picture::Raised, "c").await, Sent::Failed);
        assert!(photos.cache.get(photos.key(Picture::Dents)).await.is_some());
        assert!(
            photos
                .cache
                .get(photos.key(Picture::Raised))
                .await
                .is_none()
        );
    }

    #[test]
    fn keys_name_the_picture_and_its_bytes() {
        let photos = photos();
        let key = photos.key(Picture::Dents);
        assert!(
            key.starts_with("dents:") && key.len() == "dents:".len() + 16,
            "{key}"
        );
        assert_ne!(key, photos.key(Picture::Raised));
        // The same bytes give the same key in every process.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn only_a_refusal_of_the_request_drops_the_id() {
        assert!(refuses_the_id(&RequestError::Api(
            ApiError::WrongFileIdOrUrl
        )));
        assert!(refuses_the_id(&RequestError::Api(ApiError::Unknown(
            "Bad Request: wrong remote file identifier specified".into()
        ))));
        assert!(!refuses_the_id(&RequestError::Api(ApiError::BotBlocked)));
        assert!(!refuses_the_id(&RequestError::Api(ApiError::Unknown(
            "Bad Gateway".into()
        ))));
    }
}
