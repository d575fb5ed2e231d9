//! An old URL of an imported article (permalink, short link, guid, earlier permalinks), by
//! its normalised path: what `articleByOldUrl` and `/api/v1/redirects` match (see
//! `domain::origins`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "article_old_urls")]
pub struct Model {
    /// The URL's path (and kept query), normalised by `origins::old_path`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub path: String,
    /// The article it leads to: the one that last claimed it.
    pub article_id: i32,
    /// The URL as the source gave it.
    pub url: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
