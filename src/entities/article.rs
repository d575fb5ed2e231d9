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
    /// Where the article is in the workflow, stored as its GraphQL name.
    pub status: ArticleStatus,
    pub source_name: Option<String>,
    pub source_url: Option<String>,
    /// `{"url", "alt", "caption", "credit"}`, see `domain::blocks::Image`.
    pub featured_image: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
    pub scheduled_at: Option<DateTimeUtc>,
    /// While set, a published article is hidden from every public path; the scheduler clears
    /// it when the database's clock passes it (`domain::publishing::lift_due_embargoes`).
    pub embargo_until: Option<DateTimeUtc>,
    /// Usage terms, copyright holder and notice, see `domain::content::Rights`.
    pub rights: Option<Json>,
    /// Keeps the article out of every partner route while it stays public.
    pub not_for_syndication: bool,
    /// Bumped by every write; writes are conditional on it (optimistic concurrency).
    pub version: i32,
}

/// Where an article is in the newsroom's workflow. Only `Published` is public.
///
/// Stored as text (`PUBLISHED`), which a CHECK constraint keeps to these names. A row that
/// holds another name anyway (written by a newer gazette, or by hand) fails to decode; the
/// readers in `domain::articles` skip such a row with a warning instead of failing the read.
#[derive(
    Copy,
    Clone,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ArticleStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "IN_REVIEW")]
    InReview,
    #[sea_orm(string_value = "SCHEDULED")]
    Scheduled,
    #[sea_orm(string_value = "PUBLISHED")]
    Published,
    #[sea_orm(string_value = "UNPUBLISHED")]
    Unpublished,
    #[sea_orm(string_value = "ARCHIVED")]
    Archived,
}

impl ArticleStatus {
    /// The stored (and GraphQL) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::InReview => "IN_REVIEW",
            Self::Scheduled => "SCHEDULED",
            Self::Published => "PUBLISHED",
            Self::Unpublished => "UNPUBLISHED",
            Self::Archived => "ARCHIVED",
        }
    }

    /// Parses a stored name; another name is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        <Self as sea_orm::Iterable>::iter().find(|v| v.as_str() == s)
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
