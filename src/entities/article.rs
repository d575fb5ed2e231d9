//! A story. The body is the ordered block list as JSON; `word_count` is derived from it on
//! every write so listings never parse bodies.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "articles")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub slug: String,
    pub headline: String,
    pub dek: Option<String>,
    /// `[{"paragraph": {"html": "…"}}, …]`, see `domain::blocks::Block`.
    pub body: Json,
    pub word_count: i32,
    pub section_id: i32,
    /// One of `domain::ArticleStatus`, stored as its GraphQL name.
    pub status: String,
    pub source_name: Option<String>,
    pub source_url: Option<String>,
    /// `{"url", "alt", "caption", "credit"}`, see `domain::blocks::Image`.
    pub featured_image: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
    pub scheduled_at: Option<DateTimeUtc>,
    /// Bumped by every write; writes are conditional on it (optimistic concurrency).
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
