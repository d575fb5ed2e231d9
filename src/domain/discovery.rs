//! Keeps what discovery reads in step with the articles: the search index, the related
//! articles, and the bylines' copy of the publication time that author pages are listed by.
//! Every article write calls [`saved`] or [`deleted`] inside its own transaction, so a
//! search, a related list or an author's page never disagrees with a committed article.

use sea_orm::ConnectionTrait;

use super::ArticleStatus;
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
    let listed = |a: &article::Model| (a.status, a.published_at, a.embargo_until.is_some());
    if content || before.is_none_or(|b| listed(b) != listed(after)) {
        index_bylines(txn, &[after.id]).await?;
    }
    related::saved(txn, before, after, content).await
}

/// Forgets an article that is about to be deleted.
pub async fn deleted(txn: &impl ConnectionTrait, before: &article::Model) -> Result<()> {
    related::deleted(txn, before).await?;
    search::unindex(txn, before.id).await
}

/// Copies each article's publication time onto its bylines while it is public (published
/// and not under embargo, as `access::is_public`; NULL otherwise), which is what an author's listing reads through its index. Every write that
/// changes bylines, status or publication time calls this, in its transaction.
pub(crate) async fn index_bylines(db: &impl ConnectionTrait, article_ids: &[i32]) -> Result<()> {
    for ids in article_ids.chunks(1000) {
        let mut q = super::sql::Sql::new(
            db.get_database_backend(),
            "UPDATE article_authors SET published_at = (
                SELECT CASE WHEN articles.embargo_until IS NULL AND articles.status = ",
        );
        q.bind(ArticleStatus::Published.as_str()).push(
            " THEN articles.published_at END
                FROM articles WHERE articles.id = article_authors.article_id)
             WHERE article_id IN ",
        );
        q.list(ids);
        db.execute(q.build()).await?;
    }
    Ok(())
}
