//! Reader comments. Reading them (this module): approved ones only, threaded. A page lists
//! an article's top-level comments oldest first; replies hang under their parent, also
//! oldest first. A reply is shown only under an approved parent, so a removed comment takes
//! its thread with it.
//!
//! - [`text`]: what a comment may be, and its rendering to safe HTML.
//! - [`posting`]: a reader posts (limits counted in the database, scoring, the receipt).
//! - [`spam`]: the built-in score and its reasons; [`akismet`]: the optional external check.
//! - [`moderation`]: the queue, decisions, opening and closing an article's comments.
//! - [`commenters`]: export, erasure and retention of what is stored about commenters.
//! - [`settings`]: the settings and the [`Service`] the writes run with.

pub mod akismet;
pub mod commenters;
pub mod moderation;
pub mod posting;
pub mod settings;
pub mod spam;
pub mod text;

pub use settings::{Service, Settings};

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Asterisk, Condition, Expr, Order, Query, SelectStatement};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};

use super::CommentStatus;
use super::articles::page_size;
use super::batched::{Page, keyed, model, paginate};
use super::cursor::{Cursor, micros_to_time};
use crate::entities::comment;
use crate::error::{AppError, Result};

/// One page of an article's top-level approved comments.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CommentPageRequest {
    pub article_id: i32,
    pub first: u64,
    pub after: Option<(DateTime<Utc>, i32)>,
}

impl CommentPageRequest {
    /// Validates a client's `first` and `after`.
    pub fn new(article_id: i32, first: Option<i32>, after: Option<&str>) -> Result<Self> {
        let first = page_size(first, 20)?;
        let after = match after.map(Cursor::decode).transpose()? {
            None => None,
            Some(Cursor::Created(micros, id)) => Some((micros_to_time(micros)?, id)),
            Some(_) => {
                return Err(AppError::bad_input(
                    "`after` is a cursor of another listing",
                ));
            }
        };
        Ok(Self {
            article_id,
            first,
            after,
        })
    }
}

fn col(c: comment::Column) -> Expr {
    Expr::col((comment::Entity, c))
}

fn page_select(req: &CommentPageRequest, k: usize) -> SelectStatement {
    let mut q = Query::select();
    q.expr_as(Expr::cust(k.to_string()), Alias::new("k"))
        .column((comment::Entity, Asterisk))
        .from(comment::Entity)
        .and_where(col(comment::Column::ArticleId).eq(req.article_id))
        .and_where(col(comment::Column::Status).eq(CommentStatus::Approved.as_str()))
        .and_where(col(comment::Column::ParentId).is_null());
    if let Some((at, id)) = req.after {
        q.cond_where(
            Condition::any()
                .add(col(comment::Column::CreatedAt).gt(at))
                .add(
                    Condition::all()
                        .add(col(comment::Column::CreatedAt).eq(at))
                        .add(col(comment::Column::Id).gt(id)),
                ),
        );
    }
    q.order_by((comment::Entity, comment::Column::CreatedAt), Order::Asc)
        .order_by((comment::Entity, comment::Column::Id), Order::Asc)
        .limit(req.first + 1);
    q
}

/// Loads many comment pages in one statement, in the order asked.
pub async fn pages(
    db: &impl ConnectionTrait,
    reqs: &[CommentPageRequest],
) -> Result<Vec<Page<comment::Model>>> {
    let grouped = keyed(db, reqs, page_select, model::<comment::Model>).await?;
    Ok(paginate(grouped, reqs.iter().map(|r| r.first)))
}

/// The approved replies of each parent, oldest first.
pub async fn replies(
    db: &impl ConnectionTrait,
    parent_ids: &[i32],
) -> Result<HashMap<i32, Vec<comment::Model>>> {
    let rows = comment::Entity::find()
        .filter(comment::Column::ParentId.is_in(parent_ids.iter().copied()))
        .filter(comment::Column::Status.eq(CommentStatus::Approved.as_str()))
        .order_by_asc(comment::Column::CreatedAt)
        .order_by_asc(comment::Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<i32, Vec<comment::Model>> = HashMap::new();
    for c in rows {
        if let Some(p) = c.parent_id {
            out.entry(p).or_default().push(c);
        }
    }
    Ok(out)
}

/// How many approved comments each article has.
pub async fn approved_counts(
    db: &impl ConnectionTrait,
    article_ids: &[i32],
) -> Result<HashMap<i32, i64>> {
    let rows: Vec<(i32, i64)> = comment::Entity::find()
        .select_only()
        .column(comment::Column::ArticleId)
        .column_as(comment::Column::Id.count(), "n")
        .filter(comment::Column::ArticleId.is_in(article_ids.iter().copied()))
        .filter(comment::Column::Status.eq(CommentStatus::Approved.as_str()))
        .group_by(comment::Column::ArticleId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Which of `article_ids` an editor closed to comments.
pub async fn closed_of(
    db: &impl ConnectionTrait,
    article_ids: &[i32],
) -> Result<std::collections::HashSet<i32>> {
    use crate::entities::comment_state;
    Ok(comment_state::Entity::find()
        .filter(comment_state::Column::ArticleId.is_in(article_ids.iter().copied()))
        .filter(comment_state::Column::Closed.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.article_id)
        .collect())
}

/// The comment a view token shows, if it is genuine, unexpired and on `article_id`
/// (whatever its status: the poster sees their own comment as it is).
pub async fn own(
    db: &impl ConnectionTrait,
    svc: &Service,
    token: &str,
    article_id: i32,
) -> Result<Option<comment::Model>> {
    let Some(id) = svc.viewed(db, token).await? else {
        return Err(AppError::bad_input(
            "the view token is not valid (or has expired)",
        ));
    };
    Ok(comment::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|c| c.article_id == article_id && c.status != CommentStatus::Approved))
}

/// Adds the poster's own waiting top-level comment to `page` in its place, when it falls
/// within the page (a waiting reply is shown by the REST lookup of the comment).
pub async fn include_own(
    db: &impl ConnectionTrait,
    svc: &Service,
    token: &str,
    article_id: i32,
    has_previous: bool,
    page: &mut Page<comment::Model>,
) -> Result<()> {
    let Some(c) = own(db, svc, token, article_id).await? else {
        return Ok(());
    };
    if c.parent_id.is_some() {
        return Ok(());
    }
    let key = |m: &comment::Model| (m.created_at, m.id);
    let after_first = !has_previous || page.items.first().is_some_and(|f| key(f) < key(&c));
    let before_last = !page.has_next || page.items.last().is_some_and(|l| key(&c) < key(l));
    if after_first && before_last {
        let at = page.items.partition_point(|m| key(m) < key(&c));
        page.items.insert(at, c);
    }
    Ok(())
}

/// The stream events of decisions on comments, each `(comment, action)`, by `actor`: each
/// carries its article's facts (read in one statement for all of them), so that readers of
/// the stream decide with the one visibility rule whether anyone could see the comment.
pub(crate) async fn decision_events(
    txn: &impl sea_orm::ConnectionTrait,
    decided: &[(comment::Model, String)],
    actor: &str,
) -> Result<Vec<super::stream::Event>> {
    use crate::entities::article;
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
    if decided.is_empty() {
        return Ok(Vec::new());
    }
    let articles: HashMap<i32, article::Model> = article::Entity::find()
        .filter(article::Column::Id.is_in(decided.iter().map(|(c, _)| c.article_id)))
        .all(txn)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    // A comment's article exists (the foreign key cascades), so none is skipped.
    Ok(decided
        .iter()
        .filter_map(|(c, action)| {
            let a = articles.get(&c.article_id)?;
            Some(super::stream::Event::comment(c.id, action, Some(actor), a))
        })
        .collect())
}
