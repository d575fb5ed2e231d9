//! Sitemaps list every published article with its URL and update time: tens of thousands of
//! rows a page, in publication order. Read through `(status, published_at, id)`, each row was
//! then fetched whole, and on SQLite the section and times sit after the body in the row,
//! so every overflow page of every body was read too (a 46,000-URL page: 0.4 s of reads).
//! The index widened with what a sitemap shows (section, update time, slug) answers a page
//! from the index alone, and the news sitemap with only the row's first columns (its
//! headline). It replaces the narrower one: same leading columns, so every listing that
//! used it uses this one.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000007_widen_articles_published_index"
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
}

const NARROW: &str = "ix_articles_status_published";
const WIDE: &str = "ix_articles_status_published_listed";

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(WIDE)
                .table(Articles::Table)
                .col(Articles::Status)
                .col(Articles::PublishedAt)
                .col(Articles::Id)
                .col(Articles::SectionId)
                .col(Articles::UpdatedAt)
                .col(Articles::Slug)
                .to_owned(),
        )
        .await?;
        m.drop_index(Index::drop().name(NARROW).table(Articles::Table).to_owned())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(NARROW)
                .table(Articles::Table)
                .col(Articles::Status)
                .col(Articles::PublishedAt)
                .col(Articles::Id)
                .to_owned(),
        )
        .await?;
        m.drop_index(Index::drop().name(WIDE).table(Articles::Table).to_owned())
            .await
    }
}
