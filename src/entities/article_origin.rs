//! Where an imported article came from: the source system, its id and URL there, and the
//! URL's path as looked up by `articleByOldUrl` (see `domain::import::origin`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "article_origins")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub article_id: i32,
    /// `wordpress` or `ghost` (or any system a gazette import file names).
    pub system: String,
    /// The article's id in that system.
    pub original_id: String,
    /// Its URL there, as the source gave it.
    pub url: Option<String>,
    /// That URL's path (and query), normalised: what an old-URL lookup matches.
    pub path: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
