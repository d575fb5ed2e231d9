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
    /// The moderation state, stored as its GraphQL name.
    pub status: CommentStatus,
    /// The comment's `key` in an import file, so re-imports update instead of duplicating.
    pub import_key: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The email the commenter gave; shown to editors only.
    pub author_email: Option<String>,
    /// HMAC of the normalised email (trust by history), useless without the key.
    pub email_hash: Option<String>,
    /// The signed-in reader's account (`sub`), for comments posted with a reader token.
    pub author_sub: Option<String>,
    /// The body rendered to safe HTML (paragraphs, `<br>`, nofollow links).
    pub body_html: Option<String>,
    /// The spam score at posting (higher is worse).
    pub score: i32,
    /// Why it scored so: a JSON array of sentences.
    pub reasons: Option<String>,
    /// SHA-256 of the normalised body, to find the same text posted recently.
    pub body_digest: Option<String>,
    /// The client's address (or `reader:<sub>`), for rate limits and spam checks; cleared
    /// after the retention setting.
    pub client_address: Option<String>,
    /// The client's user agent, for spam checks; cleared with the address.
    pub user_agent: Option<String>,
}

/// A comment's moderation state. Only `Approved` comments are public.
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
pub enum CommentStatus {
    #[sea_orm(string_value = "PENDING")]
    Pending,
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    #[sea_orm(string_value = "SPAM")]
    Spam,
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
}

impl CommentStatus {
    /// Parses a stored (or GraphQL) name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "PENDING" => Some(Self::Pending),
            "APPROVED" => Some(Self::Approved),
            "SPAM" => Some(Self::Spam),
            "REJECTED" => Some(Self::Rejected),
            _ => None,
        }
    }

    /// The stored (and GraphQL) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Approved => "APPROVED",
            Self::Spam => "SPAM",
            Self::Rejected => "REJECTED",
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
