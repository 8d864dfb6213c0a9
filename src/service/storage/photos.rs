//! Where the Telegram file ids of the pictures are kept: in memory, or in Redis in front of
//! memory when `STORAGE_URL` is set, so every instance reuses one upload per picture.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::RedisStorage;
use crate::telegram::photos::{MemoryCache, PhotoCache};

/// The ids in Redis, shared by every instance, with this instance's copy in memory in front so a
/// picture sent again does not ask Redis. Redis being away is a cache miss (one more upload),
/// never an error a person sees.
pub struct RedisPhotoCache {
    memory: Arc<MemoryCache>,
    redis: Arc<RedisStorage>,
}

impl RedisPhotoCache {
    pub fn new(redis: Arc<RedisStorage>) -> Arc<Self> {
        Arc::new(Self {
            memory: MemoryCache::new(),
            redis,
        })
    }
}

impl PhotoCache for RedisPhotoCache {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            if let Some(id) = self.memory.get_now(key) {
                return Some(id);
            }
            match self.redis.photo_id(key).await {
                Ok(Some(id)) => {
                    self.memory.put_now(key, &id);
                    Some(id)
                }
                Ok(None) => None,
                Err(err) => {
                    log::debug!("no picture id from Redis: {err}");
                    None
                }
            }
        })
    }

    fn put<'a>(&'a self, key: &'a str, file_id: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.memory.put_now(key, file_id);
            if let Err(err) = self.redis.set_photo_id(key, file_id).await {
                log::warn!("could not share a picture id through Redis: {err}");
            }
        })
    }

    fn forget<'a>(&'a self, key: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.memory.forget_now(key);
            if let Err(err) = self.redis.forget_photo_id(key).await {
                log::warn!("could not drop a refused picture id in Redis: {err}");
            }
        })
    }
}
