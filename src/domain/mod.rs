//! The newsroom's rules, as plain async functions over a database connection.
//!
//! GraphQL (`graphql/`) and REST (`http/`) both call these and never the entities directly,
//! so a rule (what is visible, what a slug may be, how a body is cleaned) lives in one place.
//!
//! - [`blocks`]: the article body (ordered blocks), its HTML rendering and word count.
//! - [`html`]: inline HTML cleaning to the allow-list, and plain-text extraction.
//! - [`slug`]: slug derivation and validation.
//! - [`cursor`]: opaque pagination cursors.
//! - [`articles`], [`sections`], [`authors`], [`tags`], [`comments`]: reads, batched for
//!   DataLoaders, visible-only by construction.
//! - [`access`]: callers, roles, visibility and ownership (the role table).
//! - [`workflow`]: the article state machine.
//! - [`publishing`]: article writes, optimistic and transactional; the scheduler's step.
//! - [`revisions`]: snapshots of every saved change and the change log.
//! - [`discovery`]: keeps search and related articles in step with every write.
//! - [`related`]: related articles, scored and explained, with editors' pins.
//! - [`search`]: full-text search on each database's engine.
//! - [`import`]: the bulk JSON import.

pub mod access;
pub mod articles;
pub mod authors;
pub(crate) mod batched;
pub mod blocks;
pub mod comments;
pub mod content;
pub mod cursor;
pub mod directory;
pub mod discovery;
pub mod filter;
pub mod html;
pub mod import;
pub mod invalidation;
pub mod preview;
#[cfg(test)]
mod properties;
pub mod publishing;
pub mod related;
pub mod revisions;
pub mod search;
pub mod sections;
pub mod slug;
pub(crate) mod sql;
pub mod tags;
pub mod workflow;

use chrono::{DateTime, SubsecRound as _, Utc};

pub use crate::entities::article::ArticleStatus;
pub use crate::entities::comment::CommentStatus;

/// The current time at the precision both databases store (microseconds), so a value
/// read back compares equal to the one written and cursors round-trip exactly.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
