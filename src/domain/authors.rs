//! Reading authors: by slug, alphabetical pages, and the ordered bylines of articles.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Condition, Expr, Order, Query};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, FromQueryResult as _, PaginatorTrait as _,
    QueryFilter as _,
};

use super::articles::{Page, page_size};
use super::cursor::Cursor;
use crate::entities::{article_author, author};
use crate::error::{AppError, Result};

/// The author with this slug.
pub async fn by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<author::Model>> {
    Ok(author::Entity::find()
        .filter(author::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// Authors in alphabetical order, `first` after the cursor.
pub async fn page(
    db: &impl ConnectionTrait,
    first: Option<i32>,
    after: Option<&str>,
) -> Result<Page<author::Model>> {
    let first = page_size(first, 20)?;
    let mut q = Query::select();
    q.column(sea_orm::sea_query::Asterisk).from(author::Entity);
    match after.map(Cursor::decode).transpose()? {
        None => {}
        Some(Cursor::Name(name, id)) => {
            q.cond_where(
                Condition::any()
                    .add(Expr::col(author::Column::Name).gt(name.as_str()))
                    .add(
                        Condition::all()
                            .add(Expr::col(author::Column::Name).eq(name.as_str()))
                            .add(Expr::col(author::Column::Id).gt(id)),
                    ),
            );
        }
        Some(_) => {
            return Err(AppError::bad_input(
                "`after` is a cursor of another listing",
            ));
        }
    }
    q.order_by(author::Column::Name, Order::Asc)
        .order_by(author::Column::Id, Order::Asc)
        .limit(first + 1);
    let rows = db.query_all(db.get_database_backend().build(&q)).await?;
    let mut items = rows
        .iter()
        .map(|r| author::Model::from_query_result(r, ""))
        .collect::<Result<Vec<_>, _>>()?;
    let has_next = items.len() as u64 > first;
    items.truncate(first as usize);
    Ok(Page { items, has_next })
}

/// How many authors there are.
pub async fn count(db: &impl ConnectionTrait) -> Result<i64> {
    Ok(author::Entity::find().count(db).await? as i64)
}

/// The byline of each article, in byline order.
pub async fn bylines(
    db: &impl ConnectionTrait,
    article_ids: &[i32],
) -> Result<HashMap<i32, Vec<author::Model>>> {
    let q = Query::select()
        .expr_as(
            Expr::col((article_author::Entity, article_author::Column::ArticleId)),
            Alias::new("k"),
        )
        .column((author::Entity, sea_orm::sea_query::Asterisk))
        .from(article_author::Entity)
        .inner_join(
            author::Entity,
            Expr::col((author::Entity, author::Column::Id))
                .equals((article_author::Entity, article_author::Column::AuthorId)),
        )
        .and_where(
            Expr::col((article_author::Entity, article_author::Column::ArticleId))
                .is_in(article_ids.iter().copied()),
        )
        .order_by(
            (article_author::Entity, article_author::Column::Position),
            Order::Asc,
        )
        .to_owned();
    let mut out: HashMap<i32, Vec<author::Model>> = HashMap::new();
    for row in db.query_all(db.get_database_backend().build(&q)).await? {
        let k: i32 = row.try_get("", "k")?;
        out.entry(k)
            .or_default()
            .push(author::Model::from_query_result(&row, "")?);
    }
    Ok(out)
}
