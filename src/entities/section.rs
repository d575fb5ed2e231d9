//! A section of the site (`world`, `world/middle-east`): a tree addressed by its full path.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sections")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub slug: String,
    pub name: String,
    /// Slash-joined slugs from the root: `world/middle-east`. Unique.
    pub path: String,
    pub parent_id: Option<i32>,
    pub description: Option<String>,
    /// Order among siblings in navigation.
    pub position: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
