//! A page of the change stream (delta sync, the partner feed) reads, for each of a few
//! hundred events, what a visibility decision needs of the article it names: status,
//! section, embargo, "not for syndication", and its slug. On SQLite those columns come after
//! the body in an article's row, and a body (7 kB on average) spills into overflow pages
//! that SQLite walks one by one to reach them: two or three page reads per article, most of
//! a partner feed page's time. This index holds those columns by article id, so the page
//! reads them from the index alone (`domain::changes::window` names it).
//!
//! Search joins the ids its index finds to `articles` for the same columns (and the listing
//! filter's `published_at`), and counts a common word's matches up to 10,000 that way: through
//! the rows that read 10,000 bodies (150–670 ms); through this index, a few index pages (4–10 ms).
//!
//! SQLite only: PostgreSQL keeps a large body out of the row (TOAST), so its row lookup
//! reads one small tuple, and an index would only slow writes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_100000_cover_article_facts"
    }
}

#[derive(DeriveIden)]
enum Articles {
    Table,
    Id,
    Status,
    SectionId,
    NotForSyndication,
    EmbargoUntil,
    Slug,
    PublishedAt,
}

/// The index's name, as `INDEXED BY` names it.
pub const FACTS: &str = "ix_articles_facts";

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        m.create_index(
            Index::create()
                .name(FACTS)
                .table(Articles::Table)
                .col(Articles::Id)
                .col(Articles::Status)
                .col(Articles::SectionId)
                .col(Articles::NotForSyndication)
                .col(Articles::EmbargoUntil)
                .col(Articles::Slug)
                .col(Articles::PublishedAt)
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        // Without statistics for the new index the planner may keep reading rows.
        m.get_connection()
            .execute_unprepared("PRAGMA analysis_limit = 1000; ANALYZE articles")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        m.drop_index(Index::drop().name(FACTS).table(Articles::Table).to_owned())
            .await
    }
}
