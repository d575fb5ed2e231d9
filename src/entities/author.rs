//! A byline: a person who writes for the newsroom, tied to a login by `subject`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub slug: String,
    pub name: String,
    /// Newsroom title shown in the byline: "World Editor".
    pub title: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    /// The JWT `sub` of the account that writes as this author (ownership rules).
    pub subject: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
