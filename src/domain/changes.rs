//! What a write touched, named by the surrogate keys of the response cache
//! (`crate::response_cache` explains the keys and the rule that picks them).
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

/// The key carried by every response that lists or counts things, or looked something up
/// and found nothing; touched by every write that can change what such a response shows.
pub const LISTS: &str = "l";

/// The key that stands for everything (a bulk import).
pub const ALL: &str = "*";

/// The channel of a schema is this prefix plus the schema's name (cut to PostgreSQL's 63
/// bytes), so that deployments in different schemas of one database do not hear each other.
pub const CHANNEL_SQL: &str = "left('gazette_cache:' || current_schema(), 63)";

/// The keys touched by the writes of one unit of work (a request, a scheduler run).
#[derive(Debug, Default)]
pub struct Touched {
    /// The process that does the work, so its own notifications can be told apart.
    origin: u64,
    keys: Mutex<BTreeSet<String>>,
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
    pub fn take(&self) -> BTreeSet<String> {
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
pub fn payload(origin: u64, keys: &[String]) -> String {
    format!("{origin:x} {}", keys.join(" "))
}

/// Parses a payload made by [`payload`].
pub fn parse_payload(payload: &str) -> Option<(u64, Vec<&str>)> {
    let mut parts = payload.split(' ');
    let origin = u64::from_str_radix(parts.next()?, 16).ok()?;
    Some((origin, parts.filter(|k| !k.is_empty()).collect()))
}

/// Records that the current write changed what `keys` name: notifies other processes (on
/// PostgreSQL, at commit when `db` is a transaction) and tells this process's collector.
pub async fn touch(
    db: &impl ConnectionTrait,
    keys: impl IntoIterator<Item = String>,
) -> Result<()> {
    let keys: Vec<String> = keys.into_iter().collect();
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
pub fn article_keys(id: i32, status: &str, published_at: bool) -> Vec<String> {
    let mut keys = vec![format!("a{id}")];
    if published_at || status == super::ArticleStatus::Published.as_str() {
        keys.push(LISTS.to_owned());
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let keys = vec!["a1".to_owned(), "l".to_owned()];
        let p = payload(0xabc, &keys);
        assert_eq!(parse_payload(&p), Some((0xabc, vec!["a1", "l"])));
        assert_eq!(parse_payload("zz a1"), None);
    }

    #[test]
    fn only_visible_articles_touch_the_listings() {
        assert_eq!(article_keys(3, "DRAFT", false), vec!["a3"]);
        assert_eq!(article_keys(3, "PUBLISHED", true), vec!["a3", "l"]);
        assert_eq!(article_keys(3, "UNPUBLISHED", true), vec!["a3", "l"]);
    }
}
