//! A syndication partner: what it may receive (section subtrees, embargoed stories), its
//! own rate limit, and whether it is revoked.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partners")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The `sub` of its tokens.
    pub slug: String,
    pub name: String,
    /// JSON list of section paths; each grants the section and its descendants.
    pub sections: Json,
    /// Whether it receives published stories while they are under embargo.
    pub embargoed: bool,
    pub rate_limit_per_minute: Option<i32>,
    pub revoked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
