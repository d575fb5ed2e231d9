//! What an import last wrote to an article: the imported record's digest and the article's
//! version right after, so a re-import of the same record onto an unedited article is a no-op.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "import_digests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub article_id: i32,
    /// SHA-256 of the record as the import resolved it, in hex.
    pub digest: String,
    /// The article's version right after that import.
    pub version: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
