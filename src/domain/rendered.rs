//! Article bodies rendered to HTML, kept in memory per article *version*.
//!
//! A feed carries the full body of each of its (by default 50) articles; reading those
//! bodies from the database, parsing their blocks and rendering them is most of a feed's
//! cost, and the same bodies recur in every feed, every scope and every format that lists
//! them. A body cannot change without its article's version changing (every write, the
//! import's included, adds one), so the rendering of `(id, version)` is the same for ever:
//! kept here, it is never stale and needs no invalidation. What it holds is only what the
//! caller already had the right to read (its listing applied the visibility rule); it is
//! bounded by bytes (`GAZETTE_RENDER_CACHE_BYTES`; 0 keeps nothing).

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::ConnectionTrait;

use super::articles;
use super::blocks;
use crate::entities::article;
use crate::error::Result;

/// The default size of the memo, in bytes of HTML.
pub const DEFAULT_BYTES: u64 = 32 * 1024 * 1024;

/// `(article id, version, updated_at in microseconds)`: the version alone would do, the
/// time guards against a database whose versions were reset under a running process.
type Key = (i32, i32, i64);

/// Rendered bodies by article version.
#[derive(Clone)]
pub struct RenderedBodies {
    memo: Option<moka::sync::Cache<Key, Arc<str>>>,
}

impl std::fmt::Debug for RenderedBodies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderedBodies")
            .field("entries", &self.memo.as_ref().map(|m| m.entry_count()))
            .finish()
    }
}

impl Default for RenderedBodies {
    fn default() -> Self {
        Self::new(DEFAULT_BYTES)
    }
}

impl RenderedBodies {
    /// A memo of at most `max_bytes` of HTML (0: none, every body is read and rendered).
    pub fn new(max_bytes: u64) -> Self {
        let memo = (max_bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_: &Key, html: &Arc<str>| {
                    u32::try_from(html.len() + 64).unwrap_or(u32::MAX)
                })
                .build()
        });
        Self { memo }
    }

    fn key(a: &article::Model) -> Key {
        (a.id, a.version, a.updated_at.timestamp_micros())
    }

    /// The sanitised HTML of each article's body (the same as
    /// [`blocks::render_html`] of its blocks), by article id: from the memo where it holds
    /// that version, the rest read in one statement and kept. An article whose stored body
    /// does not parse is left out (and logged by [`articles::body_blocks`]).
    pub async fn html<'a>(
        &self,
        db: &impl ConnectionTrait,
        articles: impl IntoIterator<Item = &'a article::Model>,
    ) -> Result<HashMap<i32, Arc<str>>> {
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        for a in articles {
            match self.memo.as_ref().and_then(|m| m.get(&Self::key(a))) {
                Some(html) => {
                    out.insert(a.id, html);
                }
                None => missing.push(a),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let ids: Vec<i32> = missing.iter().map(|a| a.id).collect();
        let mut bodies = articles::body_blocks(db, &ids).await?;
        for a in missing {
            let Some(body) = bodies.remove(&a.id) else {
                continue;
            };
            let html: Arc<str> = blocks::render_html(&body).into();
            if let Some(m) = &self.memo {
                m.insert(Self::key(a), html.clone());
            }
            out.insert(a.id, html);
        }
        Ok(out)
    }
}
