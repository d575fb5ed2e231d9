//! The newsroom's rules, as plain async functions over a database connection.
//!
//! GraphQL (`graphql/`), REST (`http/`), the importers and the scheduler all call these and
//! never the entities directly, so a rule (what is visible, what a valid article is, how a
//! write is made conditional, which cache keys it touches) lives in one place. Nothing here
//! names a transport: errors are [`crate::error::AppError`], rendered by each transport.
//!
//! - [`content`]: what a valid article is (every way in calls [`content::check`]).
//! - [`blocks`]: the article body (ordered blocks), its HTML rendering and word count.
//! - [`html`]: inline HTML cleaning to the allow-list, and plain-text extraction.
//! - [`slug`]: slug derivation and validation.
//! - [`cursor`]: opaque pagination cursors.
//! - [`access`]: callers, roles, ownership, and who may read an article
//!   ([`access::read_article`], the one rule for a single article).
//! - [`articles`]: reading articles: one by slug or id, pages of listings.
//! - [`filter`]: what a listing contains, and its one WHERE clause.
//! - `batched`: many keyed reads as one statement (listings of articles, comments, authors).
//! - [`sections`], [`authors`], [`tags`], [`comments`]: reads and writes of each, batched for
//!   DataLoaders, visible-only by construction.
//! - [`directory`]: sections, authors and tags held in memory between writes.
//! - [`workflow`]: the article state machine.
//! - [`publishing`]: article writes through one conditional write; the scheduler's step.
//! - [`preview`]: draft preview tokens.
//! - [`revisions`]: snapshots of every saved change and the change log.
//! - [`invalidation`]: surrogate keys ([`invalidation::Key`]) and how a write announces them.
//! - [`discovery`]: keeps search, related articles and author listings in step with writes.
//! - [`related`]: related articles, scored and explained, with editors' pins.
//! - [`search`]: full-text search on each database's engine.
//! - [`import`]: the bulk JSON import.
//! - [`site`]: the front end's public URLs (templates, base URL) and the publication.
//! - [`rendered`]: article bodies rendered to HTML, kept per article version.
//! - [`syndication`]: what the public formats (feeds, sitemaps, JSON-LD, oEmbed) list.
//! - [`structured`]: an article page's schema.org JSON-LD, safe inside a `<script>`.
//! - [`oembed`]: which article an embedding site's URL names, and its embed card.
//! - [`webhooks`]: webhook endpoints, the outbox their deliveries come from, signing
//!   secrets and the SSRF rules.
//! - [`sitemaps`]: what the sitemaps list (the index, articles by month, sections, authors,
//!   tags, the news window), paged and streamed.

pub mod access;
pub mod articles;
pub mod authors;
pub(crate) mod batched;
pub mod blocks;
pub mod changes;
pub mod comments;
pub mod content;
pub mod cursor;
pub mod directory;
pub mod discovery;
pub mod export;
pub mod filter;
pub mod html;
pub mod idempotency;
pub mod import;
pub mod invalidation;
pub mod ninjs;
pub mod oembed;
pub mod origins;
pub mod partners;
pub mod preview;
#[cfg(test)]
mod properties;
pub mod publishing;
pub mod related;
pub mod rendered;
pub mod revisions;
pub mod search;
pub mod sections;
pub mod site;
pub mod sitemaps;
pub mod slug;
pub(crate) mod sql;
pub mod stream;
pub mod structured;
pub mod syndication;
pub mod tags;
pub mod transaction;
pub mod webhooks;
pub mod workflow;

use chrono::{DateTime, SubsecRound as _, Utc};

pub use crate::entities::article::ArticleStatus;
pub use crate::entities::comment::CommentStatus;

/// The current time at the precision both databases store (microseconds), so a value
/// read back compares equal to the one written and cursors round-trip exactly.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
