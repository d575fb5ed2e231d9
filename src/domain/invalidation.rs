//! Surrogate keys ([`Key`]: what an answer shows, what a write touched) and how a write
//! tells every process what it touched. `crate::response_cache` explains the rule that picks
//! the keys; this module is the only place that spells them.
//!
//! Every write calls [`touch`] inside its transaction, once it knows what it changed. Two
//! audiences hear about it:
//!
//! - **Other processes** (PostgreSQL): `touch` runs `pg_notify` on the schema's cache channel
//!   inside the transaction. PostgreSQL delivers a notification when, and only if, the
//!   transaction commits, so no process hears of a write that rolled back, and every
//!   listening process hears of one that committed.
//! - **This process**: the keys are added to the task's [`Touched`] collector, which the HTTP
//!   layer (and the scheduler) set up around the work with [`collect`] and apply to the cache
//!   once the work is done, that is after the commit and before the response leaves. Applying
//!   them before the commit would let a concurrent read refill the cache with the old rows.
//!
//! A write outside any collector (a command-line import) still notifies other processes.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::error::Result;

/// A surrogate key: something an answer shows, or something a write changed. Written as
/// `a12`, `s3`, `u4`, `t5`, `l` and `*` in `Surrogate-Key` headers and notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// One article, by id.
    Article(i32),
    /// One section, by id.
    Section(i32),
    /// One author, by id.
    Author(i32),
    /// One tag, by id.
    Tag(i32),
    /// Carried by every answer that lists or counts things, or looked something up and
    /// found nothing; touched by every write that can change what such an answer shows.
    Lists,
    /// Everything (a bulk import).
    All,
}

impl Key {
    /// Parses a key as [`Display`](std::fmt::Display) writes it; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let id = || s.get(1..)?.parse::<i32>().ok();
        Some(match s.as_bytes().first()? {
            b'l' if s.len() == 1 => Self::Lists,
            b'*' if s.len() == 1 => Self::All,
            b'a' => Self::Article(id()?),
            b's' => Self::Section(id()?),
            b'u' => Self::Author(id()?),
            b't' => Self::Tag(id()?),
            _ => return None,
        })
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Article(id) => write!(f, "a{id}"),
            Self::Section(id) => write!(f, "s{id}"),
            Self::Author(id) => write!(f, "u{id}"),
            Self::Tag(id) => write!(f, "t{id}"),
            Self::Lists => f.write_str("l"),
            Self::All => f.write_str("*"),
        }
    }
}

/// The channel of a schema is this prefix plus the schema's name (cut to PostgreSQL's 63
/// bytes), so that deployments in different schemas of one database do not hear each other.
pub const CHANNEL_SQL: &str = "left('gazette_cache:' || current_schema(), 63)";

/// The keys touched by the writes of one unit of work (a request, a scheduler run).
#[derive(Debug, Default)]
pub struct Touched {
    /// The process that does the work, so its own notifications can be told apart.
    origin: u64,
    keys: Mutex<BTreeSet<Key>>,
}

impl Touched {
    /// An empty collector for work done by the process `origin`.
    pub fn new(origin: u64) -> Arc<Self> {
        Arc::new(Self {
            origin,
            keys: Mutex::new(BTreeSet::new()),
        })
    }

    /// The keys touched so far, leaving none.
    pub fn take(&self) -> BTreeSet<Key> {
        self.keys
            .lock()
            .map(|mut k| std::mem::take(&mut *k))
            .unwrap_or_default()
    }
}

tokio::task_local! {
    static TOUCHED: Arc<Touched>;
}

/// Runs `work` with `touched` collecting the keys its writes touch.
pub async fn collect<F: Future>(touched: Arc<Touched>, work: F) -> F::Output {
    TOUCHED.scope(touched, work).await
}

/// The notification payload: the origin in hex, then the keys, space-separated.
pub fn payload(origin: u64, keys: &[Key]) -> String {
    use std::fmt::Write as _;
    let mut out = format!("{origin:x}");
    for k in keys {
        let _ = write!(out, " {k}");
    }
    out
}

/// Parses a payload made by [`payload`]; a key it does not know stands for everything, so
/// a newer process's notification can never leave an answer stale here.
pub fn parse_payload(payload: &str) -> Option<(u64, Vec<Key>)> {
    let mut parts = payload.split(' ');
    let origin = u64::from_str_radix(parts.next()?, 16).ok()?;
    Some((
        origin,
        parts
            .filter(|k| !k.is_empty())
            .map(|k| Key::parse(k).unwrap_or(Key::All))
            .collect(),
    ))
}

/// Records that the current write changed what `keys` name: notifies other processes (on
/// PostgreSQL, at commit when `db` is a transaction) and tells this process's collector.
pub async fn touch(db: &impl ConnectionTrait, keys: impl IntoIterator<Item = Key>) -> Result<()> {
    let keys: Vec<Key> = keys.into_iter().collect();
    if keys.is_empty() {
        return Ok(());
    }
    let origin = TOUCHED
        .try_with(|t| {
            if let Ok(mut k) = t.keys.lock() {
                k.extend(keys.iter().cloned());
            }
            t.origin
        })
        .unwrap_or(0);
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("SELECT pg_notify({CHANNEL_SQL}, $1)"),
            [payload(origin, &keys).into()],
        ))
        .await?;
    }
    Ok(())
}

/// The keys an article write touches: the article itself, and the listings when the
/// article is, or ever was, visible to readers (a published article keeps `published_at`
/// when it is unpublished or archived, so a step away from PUBLISHED is caught too).
pub fn article_keys(id: i32, status: super::ArticleStatus, published_at: bool) -> Vec<Key> {
    let mut keys = vec![Key::Article(id)];
    if published_at || status == super::ArticleStatus::Published {
        keys.push(Key::Lists);
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::ArticleStatus;

    #[test]
    fn keys_are_written_and_read_back_the_same() {
        let all = [
            Key::Article(12),
            Key::Section(3),
            Key::Author(4),
            Key::Tag(5),
            Key::Lists,
            Key::All,
        ];
        let written: Vec<String> = all.iter().map(ToString::to_string).collect();
        assert_eq!(written, ["a12", "s3", "u4", "t5", "l", "*"]);
        for k in all {
            assert_eq!(Key::parse(&k.to_string()), Some(k));
        }
        for bad in ["", "a", "ax", "l1", "**", "x3", "a-", "s99999999999"] {
            assert_eq!(Key::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn payloads_round_trip() {
        let keys = vec![Key::Article(1), Key::Lists];
        let p = payload(0xabc, &keys);
        assert_eq!(p, "abc a1 l");
        assert_eq!(parse_payload(&p), Some((0xabc, keys)));
        assert_eq!(parse_payload("zz a1"), None);
        assert_eq!(
            parse_payload("1 a1 q9"),
            Some((1, vec![Key::Article(1), Key::All])),
            "an unknown key invalidates everything"
        );
    }

    #[test]
    fn only_visible_articles_touch_the_listings() {
        let a3 = Key::Article(3);
        assert_eq!(article_keys(3, ArticleStatus::Draft, false), vec![a3]);
        assert_eq!(
            article_keys(3, ArticleStatus::Published, true),
            vec![a3, Key::Lists]
        );
        assert_eq!(
            article_keys(3, ArticleStatus::Unpublished, true),
            vec![a3, Key::Lists]
        );
    }
}
