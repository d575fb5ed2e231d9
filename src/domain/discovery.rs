//! Keeps what discovery reads in step with the articles: the search index, the related
//! articles, and the bylines' copy of the publication time that author pages are listed by.
//! Every article write calls [`saved`] or [`deleted`] inside its own transaction, so a
//! search, a related list or an author's page never disagrees with a committed article.

use sea_orm::ConnectionTrait;

use super::related;
use super::search::{self, SearchDoc};
use crate::entities::article;
use crate::error::Result;

/// Whether two versions of an article differ in the text that is indexed.
fn text_changed(before: &article::Model, after: &article::Model) -> bool {
    before.headline != after.headline || before.dek != after.dek || before.body != after.body
}

/// Brings discovery up to date after `after` was written; `before` is the article as it was
/// (None when it is new or unknown), and `content` says whether the write could change its
/// text, section, bylines or tags (a workflow step cannot).
pub async fn saved(
    txn: &impl ConnectionTrait,
    before: Option<&article::Model>,
    after: &article::Model,
    content: bool,
) -> Result<()> {
    if before.is_none_or(|b| text_changed(b, after)) {
        search::index(txn, &[SearchDoc::of(after)]).await?;
    }
    let listed = |a: &article::Model| (a.status.clone(), a.published_at);
    if content || before.is_none_or(|b| listed(b) != listed(after)) {
        super::articles::index_bylines(txn, &[after.id]).await?;
    }
    related::saved(txn, before, after, content).await
}

/// Forgets an article that is about to be deleted.
pub async fn deleted(txn: &impl ConnectionTrait, before: &article::Model) -> Result<()> {
    related::deleted(txn, before).await?;
    search::unindex(txn, before.id).await
}
