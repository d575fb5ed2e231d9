//! One moderation decision on a comment: who, when, from what status to what, and why.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "comment_decisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Null once the comment was erased.
    pub comment_id: Option<i32>,
    pub article_id: i32,
    /// The editor's `sub`.
    pub actor: String,
    pub from_status: String,
    pub to_status: String,
    pub note: Option<String>,
    /// What was reported to the external checker (`spam` or `ham`), when one is configured.
    pub reported: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
