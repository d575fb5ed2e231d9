//! Where an imported article came from: the source system (`wordpress`, `ghost`), its id
//! there and its URL there. A re-import matches on (system, id), so it stays idempotent when
//! slugs changed in the source; front ends look articles up by the old URL's path to answer
//! old links with a permanent redirect.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_001811_create_article_origins"
    }
}

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ArticleOrigins::Table)
                .col(
                    ColumnDef::new(ArticleOrigins::ArticleId)
                        .integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(ArticleOrigins::System).text().not_null())
                .col(ColumnDef::new(ArticleOrigins::OriginalId).text().not_null())
                .col(ColumnDef::new(ArticleOrigins::Url).text().null())
                .col(ColumnDef::new(ArticleOrigins::Path).text().null())
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_article_origins_article_id")
                        .from(ArticleOrigins::Table, ArticleOrigins::ArticleId)
                        .to(Articles::Table, Articles::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_article_origins_system_id")
                .table(ArticleOrigins::Table)
                .col(ArticleOrigins::System)
                .col(ArticleOrigins::OriginalId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_article_origins_path")
                .table(ArticleOrigins::Table)
                .col(ArticleOrigins::Path)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ArticleOrigins::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ArticleOrigins {
    Table,
    ArticleId,
    System,
    OriginalId,
    Url,
    Path,
}

#[derive(DeriveIden, Clone, Copy)]
enum Articles {
    Table,
    Id,
}
