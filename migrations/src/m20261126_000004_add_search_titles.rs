//! A second, small full-text vector on PostgreSQL: headline (`A`) and dek (`B`) only, under
//! its own GIN index. Broad searches rank the newest title matches and the newest matches
//! anywhere instead of every match, and finding title matches must not read whole bodies.
//! SQLite's FTS5 filters by column within its one index, so it needs nothing here.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000004_add_search_titles"
    }
}

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        db.execute_unprepared(
            "ALTER TABLE article_search ADD COLUMN titles tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('english'::regconfig, headline), 'A') ||
                setweight(to_tsvector('english'::regconfig, dek), 'B')
             ) STORED",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_article_search_titles ON article_search USING gin (titles)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        m.get_connection()
            .execute_unprepared("ALTER TABLE article_search DROP COLUMN titles")
            .await?;
        Ok(())
    }
}
