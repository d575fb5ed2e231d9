//! The ordered trace of every write (`seq` only grows): the base of delta sync and webhooks.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i32,
    /// `article`, `section`, `author`, `comment`, …
    pub entity: String,
    pub entity_id: i32,
    /// `created`, `updated`, `published`, `unpublished`, `deleted`, …
    pub action: String,
    pub actor: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
