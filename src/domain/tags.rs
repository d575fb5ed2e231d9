//! Reading tags: by slug, and the ordered tags of articles.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Asterisk, Expr, Order, Query};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, FromQueryResult as _, QueryFilter as _,
};

use crate::entities::{article_tag, tag};
use crate::error::Result;

/// The tag with this slug.
pub async fn by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<tag::Model>> {
    if !super::slug::is_valid(slug) {
        return Ok(None);
    }
    Ok(tag::Entity::find()
        .filter(tag::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// The tags of each article, in the editor's order.
pub async fn of_articles(
    db: &impl ConnectionTrait,
    article_ids: &[i32],
) -> Result<HashMap<i32, Vec<tag::Model>>> {
    let q = Query::select()
        .expr_as(
            Expr::col((article_tag::Entity, article_tag::Column::ArticleId)),
            Alias::new("k"),
        )
        .column((tag::Entity, Asterisk))
        .from(article_tag::Entity)
        .inner_join(
            tag::Entity,
            Expr::col((tag::Entity, tag::Column::Id))
                .equals((article_tag::Entity, article_tag::Column::TagId)),
        )
        .and_where(
            Expr::col((article_tag::Entity, article_tag::Column::ArticleId))
                .is_in(article_ids.iter().copied()),
        )
        .order_by(
            (article_tag::Entity, article_tag::Column::Position),
            Order::Asc,
        )
        .to_owned();
    let mut out: HashMap<i32, Vec<tag::Model>> = HashMap::new();
    for row in db.query_all(db.get_database_backend().build(&q)).await? {
        let k: i32 = row.try_get("", "k")?;
        out.entry(k)
            .or_default()
            .push(tag::Model::from_query_result(&row, "")?);
    }
    Ok(out)
}
