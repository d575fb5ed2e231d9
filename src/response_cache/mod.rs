//! The response cache: finished answers to anonymous reads, kept in memory and served
//! again without parsing, executing or touching the database, and never stale after a
//! write.
//!
//! # What is cached
//! Only what would be labelled `Cache-Control: public`: a `200` answer to a request without
//! an `Authorization` header (and without a preview token), to `GET /api/v1/…`, `GET
//! /graphql` or a single, error-free query `POST /graphql`. The entry is the exact status,
//! headers and uncompressed body (compression happens outside), keyed by the method, path,
//! query string and body bytes. `ETag`/`If-None-Match` work on entries as on fresh answers.
//! The HTTP layer that serves it is `crate::http::cache_layer`; it labels every answer it
//! could have served with `X-Cache: HIT`, `MISS` or `BYPASS`.
//!
//! # Surrogate keys, and the rule for listings
//! Each entry carries the keys of what it shows: `a<id>` article, `s<id>` section, `u<id>`
//! author, `t<id>` tag (the `Surrogate-Key` header lists the same), and `l` when the answer
//! depends on *which* things exist or are visible or on their order rather than only on the
//! things it shows. That is every article listing (front, section, author and tag pages,
//! `articles`, search, related articles) with its `totalCount`, the section tree, the author
//! listing, and every lookup that found nothing (`article(slug:)` of a draft or of a slug
//! not yet used). A new article does not carry a key those answers already hold, so the
//! listings key is what reaches them.
//!
//! A write touches (see `crate::domain::invalidation`):
//! - an article: `a<id>`, plus `l` when the article is or ever was published (creating,
//!   publishing, editing, unpublishing, archiving, deleting a public article; the scheduler's
//!   publishing), or when the write created a tag;
//! - a section: `s<id>` on an edit; `l` and the parent's `s<id>` on a new one;
//! - an author: `u<id>` on an edit (plus `l` when the name or slug changes); `l` on a new one;
//! - an import: everything.
//!
//! So an edit of a draft touches nothing public, an author's new bio invalidates exactly the
//! answers that show that author, and a publish invalidates the story's own answers and the
//! listings. GraphQL answers get `l` from the resolvers that list or miss, and from any field
//! the cache does not know to be covered by entity keys ([`crate::graphql::surrogate_keys`]), so a
//! field added later is safe by default. REST answers other than one article by slug carry
//! `l` by route.
//!
//! # Never stale
//! The keys a write touched are applied in this process after its transaction commits and
//! before its response is sent; other processes on the same PostgreSQL hear them through
//! `LISTEN/NOTIFY` at commit ([`listener`]). A read that ran concurrently with a write must
//! not store what it read before the commit, so invalidation is by generations: every
//! invalidation takes the next generation number and records it against each touched key,
//! every entry remembers the generation current when its request *started*, and an entry is
//! served only while none of its keys has a newer generation. When nothing was invalidated
//! since an entry was last checked (the common case) a hit costs one atomic load. While the
//! listener is not connected (start-up, a lost connection) the cache neither serves nor
//! stores, and it is emptied when the listener connects, since notifications may have been
//! missed in between.
//!
//! A few answers change with time alone, without any write: the news sitemap lists the
//! stories of the last 48 hours. Their handlers attach a [`Lifetime`] (until the next story
//! leaves) beside [`Cacheable`], and the entry expires then, whatever the cache's lifetime.
//!
//! The newsroom directory (`crate::domain::directory`) hears the same invalidations and
//! follows the same rule, so the cache owns it and the listener runs on PostgreSQL even
//! when the cache is switched off.

pub mod listener;

use crate::domain::invalidation::Key;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use axum::body::Bytes;

use crate::domain::directory::Directory;
use axum::http::{HeaderMap, StatusCode};
use sea_orm::DatabaseConnection;

/// Size and lifetime of the response cache.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Most bytes of cached answers (keys, headers and bodies); 0 switches the cache off.
    pub max_bytes: u64,
    /// Longest an entry is kept: a backstop only, since writes invalidate what they touch.
    pub ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            ttl: Duration::from_secs(600),
        }
    }
}

/// The surrogate keys a handler attaches (as a response extension) to an answer that may be
/// cached. Answers without it are never stored.
#[derive(Clone, Debug, Default)]
pub struct Cacheable(pub Vec<Key>);

/// How long an answer may be kept at most, when it changes without a write (the news
/// sitemap's window moves on): a second response extension beside [`Cacheable`], honoured
/// below the cache's own lifetime.
#[derive(Clone, Copy, Debug)]
pub struct Lifetime(pub Duration);

/// One cached answer.
pub struct Entry {
    /// Its status (200).
    pub status: StatusCode,
    /// Its headers as the handler set them.
    pub headers: HeaderMap,
    /// Its uncompressed body.
    pub body: Bytes,
    keys: Box<[Key]>,
    /// Its own lifetime, when shorter than the cache's ([`Lifetime`]).
    lifetime: Option<Duration>,
    /// The generation when its request started.
    born: u64,
    /// The newest generation it is known to be valid at.
    checked: AtomicU64,
}

impl Entry {
    fn weight(&self, key: &[u8]) -> u32 {
        let headers: usize = self
            .headers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 32)
            .sum();
        let keys = self.keys.len() * std::mem::size_of::<Key>();
        u32::try_from(key.len() + self.body.len() + headers + keys + 128).unwrap_or(u32::MAX)
    }
}

/// Invalidation bookkeeping (see the module docs).
#[derive(Default)]
struct Generations {
    /// Entries born before this are invalid (the last time everything went).
    floor: u64,
    /// The generation of each key's last invalidation.
    by_key: HashMap<Key, u64>,
}

/// Keys remembered before the bookkeeping is folded into one whole-cache clear.
const MAX_TRACKED_KEYS: usize = 200_000;

type Store = moka::sync::Cache<Box<[u8]>, Arc<Entry>>;

/// Expires an entry at its own [`Lifetime`], if it has one (the cache's `time_to_live`
/// applies as well: the earlier wins).
struct OwnLifetime;

impl moka::Expiry<Box<[u8]>, Arc<Entry>> for OwnLifetime {
    fn expire_after_create(
        &self,
        _: &Box<[u8]>,
        entry: &Arc<Entry>,
        _: std::time::Instant,
    ) -> Option<Duration> {
        entry.lifetime
    }

    fn expire_after_update(
        &self,
        _: &Box<[u8]>,
        entry: &Arc<Entry>,
        _: std::time::Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        entry.lifetime
    }
}

struct Inner {
    store: Option<Store>,
    /// The newsroom directory, which hears the same invalidations.
    directory: Directory,
    /// Tells this process's own notifications from others'.
    origin: u64,
    /// Whether invalidations from other processes are being heard (always on SQLite).
    live: AtomicBool,
    /// The newest completed invalidation.
    generation: AtomicU64,
    generations: RwLock<Generations>,
    hits: metrics::Counter,
    misses: metrics::Counter,
    bypasses: metrics::Counter,
    invalidations: metrics::Counter,
    /// The read fence of read replicas (`crate::replicas`), raised by every invalidation
    /// before it applies; set once, when replicas are in use.
    fence: std::sync::OnceLock<Arc<crate::replicas::Fence>>,
    /// Rung by the listener on every notification (any origin) and on every (re)connect:
    /// the live subscriptions' stream follower (`crate::live`) reads the stream when it rings.
    stream_wake: Arc<tokio::sync::Notify>,
}

/// A handle to the process's response cache (cheap to clone).
#[derive(Clone)]
pub struct ResponseCache(Arc<Inner>);

impl ResponseCache {
    /// A cache of `settings`; `shared` says the database is shared with other processes, so
    /// the cache waits for [`listener`] before it serves anything.
    pub fn new(settings: &Settings, shared: bool) -> Self {
        crate::telemetry::handle();
        let store = (settings.max_bytes > 0).then(|| {
            let evictions = metrics::counter!("gazette_response_cache_evictions_total");
            Store::builder()
                .max_capacity(settings.max_bytes)
                .weigher(|k, v| v.weight(k))
                .time_to_live(settings.ttl.max(Duration::from_secs(1)))
                .expire_after(OwnLifetime)
                .eviction_listener(move |_, _, cause| {
                    if cause.was_evicted() {
                        evictions.increment(1);
                    }
                })
                .build()
        });
        let mut origin = [0u8; 8];
        // A fixed origin only means this process also applies its own notifications again.
        getrandom::fill(&mut origin).ok();
        Self(Arc::new(Inner {
            store,
            directory: Directory::new(shared),
            origin: u64::from_le_bytes(origin).max(1),
            live: AtomicBool::new(!shared),
            generation: AtomicU64::new(0),
            generations: RwLock::new(Generations::default()),
            hits: metrics::counter!("gazette_response_cache_hits_total"),
            misses: metrics::counter!("gazette_response_cache_misses_total"),
            bypasses: metrics::counter!("gazette_response_cache_bypasses_total"),
            invalidations: metrics::counter!("gazette_response_cache_invalidations_total"),
            fence: std::sync::OnceLock::new(),
            stream_wake: Arc::default(),
        }))
    }

    /// What the listener rings when another process (or this one) committed a write, and
    /// when it (re)connects, since notifications sent meanwhile were lost: the stream
    /// follower of live subscriptions waits on it (`crate::live`).
    pub fn stream_wake(&self) -> Arc<tokio::sync::Notify> {
        self.0.stream_wake.clone()
    }

    /// Whether the cache is switched on at all.
    pub fn enabled(&self) -> bool {
        self.0.store.is_some()
    }

    /// Whether the cache serves and stores now (on, and hearing other processes' writes).
    pub fn is_live(&self) -> bool {
        self.enabled() && self.hears_others()
    }

    /// Whether other processes' writes are heard (always on SQLite), whether or not the
    /// cache is on: the directory depends on it too.
    pub fn hears_others(&self) -> bool {
        self.0.live.load(Ordering::Acquire)
    }

    /// The newsroom directory, invalidated with the cache.
    pub fn directory(&self) -> &Directory {
        &self.0.directory
    }

    /// This process's id in notifications.
    pub fn origin(&self) -> u64 {
        self.0.origin
    }

    /// The generation to give an entry whose request starts now.
    pub fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::Acquire)
    }

    /// The valid entry under `key`, if any.
    pub fn get(&self, key: &[u8]) -> Option<Arc<Entry>> {
        let store = self.0.store.as_ref()?;
        if !self.0.live.load(Ordering::Acquire) {
            return None;
        }
        let entry = store.get(key)?;
        if entry.checked.load(Ordering::Acquire) >= self.generation() {
            return Some(entry);
        }
        let valid = {
            let g = self.0.generations.read().ok()?;
            // Stable while the read lock is held: invalidations hold the write lock.
            let now = self.0.generation.load(Ordering::Acquire);
            let valid = entry.born >= g.floor
                && entry
                    .keys
                    .iter()
                    .all(|k| g.by_key.get(k).is_none_or(|&n| n <= entry.born));
            if valid {
                entry.checked.fetch_max(now, Ordering::AcqRel);
            }
            valid
        };
        if valid {
            Some(entry)
        } else {
            store.invalidate(key);
            None
        }
    }

    /// Stores an answer whose request started at generation `born`.
    pub fn insert(
        &self,
        key: Box<[u8]>,
        born: u64,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        keys: Vec<Key>,
    ) {
        self.insert_for(key, born, status, headers, body, keys, None);
    }

    /// [`ResponseCache::insert`], kept at most `lifetime` when given.
    #[expect(clippy::too_many_arguments, reason = "insert's, plus the lifetime")]
    pub fn insert_for(
        &self,
        key: Box<[u8]>,
        born: u64,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        keys: Vec<Key>,
        lifetime: Option<Duration>,
    ) {
        let Some(store) = &self.0.store else { return };
        if !self.is_live() {
            return;
        }
        let entry = Entry {
            status,
            headers,
            body,
            keys: keys.into_boxed_slice(),
            lifetime,
            born,
            checked: AtomicU64::new(born),
        };
        store.insert(key, Arc::new(entry));
    }

    /// Raises `fence` with every invalidation from now on (read replicas are in use), and
    /// loads the directory from `primary` only.
    pub fn use_fence(&self, fence: Arc<crate::replicas::Fence>, primary: &DatabaseConnection) {
        let _ = self.0.fence.set(fence);
        self.0.directory.load_from(primary.clone());
    }

    /// Invalidates every entry that carries one of `keys` ([`Key::All`] is everything).
    pub fn invalidate(&self, keys: impl IntoIterator<Item = Key>) {
        // Before anything is invalidated, so that every read that starts after the
        // invalidation sees the fence raised (`crate::replicas`).
        let raising = self.0.fence.get().and_then(|f| f.raise());
        self.apply(keys);
        if let Some(r) = raising {
            r.resolve();
        }
    }

    fn apply(&self, keys: impl IntoIterator<Item = Key>) {
        let keys: Vec<Key> = keys.into_iter().collect();
        self.0.directory.invalidate(keys.iter());
        if self.0.store.is_none() {
            return;
        }
        let mut clear = false;
        {
            let Ok(mut g) = self.0.generations.write() else {
                return;
            };
            let n = self.0.generation.load(Ordering::Acquire) + 1;
            for k in keys {
                if k == Key::All {
                    clear = true;
                } else {
                    g.by_key.insert(k, n);
                }
            }
            if clear || g.by_key.len() > MAX_TRACKED_KEYS {
                clear = true;
                g.floor = n;
                g.by_key.clear();
            }
            self.0.generation.store(n, Ordering::Release);
        }
        self.0.invalidations.increment(1);
        if clear && let Some(store) = &self.0.store {
            store.invalidate_all();
        }
    }

    /// Invalidates everything.
    pub fn clear(&self) {
        self.invalidate([Key::All]);
    }

    /// Counts an answer served from the cache.
    pub fn hit(&self) {
        self.0.hits.increment(1);
    }

    /// Counts an answer that could have come from the cache but did not.
    pub fn miss(&self) {
        self.0.misses.increment(1);
    }

    /// Counts an answer the cache had to stay out of (a token, a preview).
    pub fn bypass(&self) {
        self.0.bypasses.increment(1);
    }

    /// Entries and their weighed bytes, for `/metrics`.
    pub fn usage(&self) -> (u64, u64) {
        self.0
            .store
            .as_ref()
            .map_or((0, 0), |s| (s.entry_count(), s.weighted_size()))
    }

    fn set_live(&self, live: bool) {
        self.0.directory.set_live(live);
        self.0.live.store(live, Ordering::Release);
    }

    fn downgrade(&self) -> Weak<Inner> {
        Arc::downgrade(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> ResponseCache {
        ResponseCache::new(&Settings::default(), false)
    }

    fn put(c: &ResponseCache, key: &[u8], born: u64, keys: &[Key]) {
        c.insert(
            key.into(),
            born,
            StatusCode::OK,
            HeaderMap::new(),
            Bytes::from_static(b"{}"),
            keys.to_vec(),
        );
    }

    #[test]
    fn an_invalidation_removes_exactly_the_entries_with_its_keys() {
        let c = cache();
        put(
            &c,
            b"one",
            c.generation(),
            &[Key::Article(1), Key::Section(1)],
        );
        put(
            &c,
            b"two",
            c.generation(),
            &[Key::Article(2), Key::Section(1)],
        );
        c.invalidate([Key::Article(1)]);
        assert!(c.get(b"one").is_none());
        assert!(c.get(b"two").is_some());
        c.invalidate([Key::Section(1)]);
        assert!(c.get(b"two").is_none());
    }

    #[test]
    fn an_answer_read_before_an_invalidation_is_not_served_after_it() {
        let c = cache();
        let born = c.generation();
        // The write commits and invalidates while the read is still running...
        c.invalidate([Key::Article(1)]);
        // ...then the read stores what it read before the commit.
        put(&c, b"one", born, &[Key::Article(1)]);
        assert!(c.get(b"one").is_none());
        // A read that starts after the invalidation is fine.
        put(&c, b"one", c.generation(), &[Key::Article(1)]);
        assert!(c.get(b"one").is_some());
    }

    #[test]
    fn clearing_removes_everything_and_a_cache_not_hearing_others_is_bypassed() {
        let c = cache();
        put(&c, b"one", c.generation(), &[Key::Article(1)]);
        c.clear();
        assert!(c.get(b"one").is_none());
        let shared = ResponseCache::new(&Settings::default(), true);
        assert!(!shared.is_live());
        put(&shared, b"one", shared.generation(), &[Key::Article(1)]);
        assert!(shared.get(b"one").is_none());
    }

    #[test]
    fn an_entry_with_its_own_lifetime_goes_when_it_ends() {
        let c = cache();
        let put_for = |key: &[u8], lifetime| {
            c.insert_for(
                key.into(),
                c.generation(),
                StatusCode::OK,
                HeaderMap::new(),
                Bytes::from_static(b"{}"),
                vec![Key::Lists],
                lifetime,
            );
        };
        put_for(b"short", Some(Duration::from_millis(50)));
        put_for(b"long", None);
        assert!(c.get(b"short").is_some());
        std::thread::sleep(Duration::from_millis(120));
        assert!(c.get(b"short").is_none(), "gone at the end of its lifetime");
        assert!(
            c.get(b"long").is_some(),
            "the cache's own lifetime is longer"
        );
    }

    #[test]
    fn a_zero_size_switches_the_cache_off() {
        let c = ResponseCache::new(
            &Settings {
                max_bytes: 0,
                ..Settings::default()
            },
            false,
        );
        assert!(!c.is_live());
        put(&c, b"one", c.generation(), &[Key::Article(1)]);
        assert!(c.get(b"one").is_none());
    }
}
