//! A reader's comment on an article, threaded by `parent_id`, with a moderation status.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub article_id: i32,
    pub parent_id: Option<i32>,
    pub author_name: String,
    /// Plain text as the reader wrote it; clients escape it.
    pub body: String,
    /// One of `domain::CommentStatus`, stored as its GraphQL name.
    pub status: String,
    /// The comment's `key` in an import file, so re-imports update instead of duplicating.
    pub import_key: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
