//! An author's page lists their latest published stories. Reached through the byline table
//! and sorted by the articles' time, that walked every published article newer than the
//! author's twentieth (thousands of rows for an occasional writer). Each byline now carries
//! its article's publication time while the article is published (NULL otherwise), kept by
//! every article write, under an index that reads an author's stories newest first.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000005_index_bylines_by_time"
    }
}

#[derive(DeriveIden)]
enum ArticleAuthors {
    Table,
    AuthorId,
    ArticleId,
    PublishedAt,
}

const INDEX: &str = "ix_article_authors_author_published";

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(ArticleAuthors::Table)
                .add_column(
                    ColumnDef::new(ArticleAuthors::PublishedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "UPDATE article_authors SET published_at = (
                    SELECT CASE WHEN articles.status = 'PUBLISHED' THEN articles.published_at END
                    FROM articles WHERE articles.id = article_authors.article_id)",
            )
            .await?;
        m.create_index(
            Index::create()
                .name(INDEX)
                .table(ArticleAuthors::Table)
                .col(ArticleAuthors::AuthorId)
                .col(ArticleAuthors::PublishedAt)
                .col(ArticleAuthors::ArticleId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(INDEX)
                .table(ArticleAuthors::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(ArticleAuthors::Table)
                .drop_column(ArticleAuthors::PublishedAt)
                .to_owned(),
        )
        .await
    }
}
