//! Every old URL an imported article answered to, not only its current one: a WordPress
//! post's permalink, its `?p=ID` short link and guid; a Ghost post's URL and its `/p/uuid/`
//! link; and each earlier permalink a re-import finds changed. One row per old URL's path
//! (what a lookup matches): an old URL leads to one article, the one that last claimed it.
//! The paths `article_origins` kept are carried over.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_110000_create_article_old_urls"
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
                .table(ArticleOldUrls::Table)
                .col(
                    ColumnDef::new(ArticleOldUrls::Path)
                        .text()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(ArticleOldUrls::ArticleId)
                        .integer()
                        .not_null(),
                )
                .col(ColumnDef::new(ArticleOldUrls::Url).text().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_article_old_urls_article_id")
                        .from(ArticleOldUrls::Table, ArticleOldUrls::ArticleId)
                        .to(Articles::Table, Articles::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_article_old_urls_article_id")
                .table(ArticleOldUrls::Table)
                .col(ArticleOldUrls::ArticleId)
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO article_old_urls (path, article_id, url) \
                 SELECT path, MIN(article_id), MIN(url) FROM article_origins \
                 WHERE path IS NOT NULL AND url IS NOT NULL GROUP BY path",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ArticleOldUrls::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ArticleOldUrls {
    Table,
    Path,
    ArticleId,
    Url,
}

#[derive(DeriveIden, Clone, Copy)]
enum Articles {
    Table,
    Id,
}
