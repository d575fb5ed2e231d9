//! Reading comments: approved ones only, threaded. A page lists an article's top-level
//! comments oldest first; replies hang under their parent, also oldest first. A reply is
//! shown only under an approved parent, so a removed comment takes its thread with it.

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
