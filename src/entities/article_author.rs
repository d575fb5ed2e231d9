//! An article's byline entry; `position` orders the byline.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "article_authors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub article_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub author_id: i32,
    pub position: i32,
    /// The article's publication time while it is published, NULL otherwise: a copy kept by
    /// `domain::discovery::index_bylines` on every article write, so that an author's page
    /// reads their latest stories from one index.
    pub published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
