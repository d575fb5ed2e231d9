//! A full snapshot of an article after one saved change: who, when, and which action.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "article_revisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub article_id: i32,
    /// The article's version after the change.
    pub version: i32,
    /// `create`, `update`, `import`, `publish`, …
    pub action: String,
    /// The account (`sub`) that made the change; `None` for imports and the scheduler.
    pub actor: Option<String>,
    pub snapshot: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
