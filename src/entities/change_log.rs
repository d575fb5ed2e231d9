//! The ordered trace of every write (`seq` only grows, without gaps): the change stream that
//! delta sync, the partner feed, webhooks and subscriptions read (`domain::stream`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i32,
    /// What kind of record changed.
    pub entity: EntityKind,
    pub entity_id: i32,
    /// `created`, `updated`, `published`, `unpublished`, `deleted`, …
    pub action: String,
    pub actor: Option<String>,
    pub at: DateTimeUtc,
    /// The entity's version after the write (articles).
    pub version: Option<i32>,
    /// The surrogate keys the write touched, space-separated (`domain::invalidation::Key`).
    pub keys: Option<String>,
    /// An article's `domain::access::ArticleFacts` before the write (JSON; none when it did
    /// not exist).
    pub facts_before: Option<String>,
    /// Its facts after the write (none when it was deleted).
    pub facts_after: Option<String>,
}

/// The kinds of record the change log names, stored in lowercase.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum EntityKind {
    #[sea_orm(string_value = "article")]
    Article,
    #[sea_orm(string_value = "section")]
    Section,
    #[sea_orm(string_value = "author")]
    Author,
    #[sea_orm(string_value = "tag")]
    Tag,
    #[sea_orm(string_value = "comment")]
    Comment,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
