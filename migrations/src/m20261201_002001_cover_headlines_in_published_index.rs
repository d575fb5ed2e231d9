//! Every public listing asks for `status = 'PUBLISHED' AND embargo_until IS NULL` (migration
//! 1501 added the embargo): without the embargo in the published index, each row a sitemap
//! or a feed lists was fetched from the table to check it. And the news sitemap lists the
//! stories of the last 48 hours with their headlines, up to a thousand a page. Its rows were found through the published index and then each fetched
//! from the table for its headline: a thousand row lookups scattered over the file (each
//! article's row is its own page or more, with its body). With the embargo and the headline
//! at the end of the published index, a sitemap page and a news page are read from the index
//! alone.
//! It replaces the index of migration 7 (same leading columns, so every listing that used
//! that one uses this one).
//!
//! The table is analysed again at once: without statistics for the new index, SQLite took
//! `status = ?` through it for selective and walked every published article to list one
//! author's (70 ms a page instead of 1), until the next import's `ANALYZE`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_002001_cover_headlines_in_published_index"
    }
}

#[derive(DeriveIden)]
enum Articles {
    Table,
    Status,
    PublishedAt,
    Id,
    SectionId,
    UpdatedAt,
    Slug,
    EmbargoUntil,
    Headline,
}

const LISTED: &str = "ix_articles_status_published_listed";
const HEADLINED: &str = "ix_articles_status_published_headlined";

fn index(name: &str, headline: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name)
        .table(Articles::Table)
        .col(Articles::Status)
        .col(Articles::PublishedAt)
        .col(Articles::Id)
        .col(Articles::SectionId)
        .col(Articles::UpdatedAt)
        .col(Articles::Slug);
    if headline {
        i.col(Articles::EmbargoUntil).col(Articles::Headline);
    }
    i.to_owned()
}

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(HEADLINED, true)).await?;
        m.drop_index(Index::drop().name(LISTED).table(Articles::Table).to_owned())
            .await?;
        let analyze = match m.get_database_backend() {
            DbBackend::Postgres => "ANALYZE articles",
            _ => "PRAGMA analysis_limit = 1000; ANALYZE articles",
        };
        m.get_connection().execute_unprepared(analyze).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(LISTED, false)).await?;
        m.drop_index(
            Index::drop()
                .name(HEADLINED)
                .table(Articles::Table)
                .to_owned(),
        )
        .await
    }
}
