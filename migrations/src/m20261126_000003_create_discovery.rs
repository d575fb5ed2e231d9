//! What discovery reads: a full-text index of every article, and the derived tables behind
//! related articles.
//!
//! Search is each database's own engine, so this step is written per backend:
//! - SQLite: an FTS5 table (`rowid` = article id) with the Porter stemmer over unicode61,
//!   queried with `bm25()` and `snippet()`.
//! - PostgreSQL: a table of the same three texts with a stored, weighted `tsvector` (headline
//!   `A`, dek `B`, body `C`, English configuration) under a GIN index, queried with
//!   `ts_rank_cd()` and `ts_headline()`.
//!
//! Related articles keep, per published article, its signature (its most distinctive terms
//! with weights) and the document frequency of every term, so that a publish scores one
//! article against the archive through an index instead of rebuilding everything; the
//! resulting top list of each article is stored with its reasons, and editors' pins beside it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000003_create_discovery"
    }
}

const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE article_search USING fts5(headline, dek, body, \
     tokenize = 'porter unicode61 remove_diacritics 2')",
    "CREATE TABLE article_terms (
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        term TEXT NOT NULL,
        weight REAL NOT NULL,
        PRIMARY KEY (article_id, term)
     ) WITHOUT ROWID",
    "CREATE INDEX ix_article_terms_term ON article_terms (term, article_id, weight)",
    "CREATE TABLE term_df (term TEXT NOT NULL PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE related_articles (
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        related_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        score REAL NOT NULL,
        reasons TEXT NOT NULL,
        PRIMARY KEY (article_id, related_id)
     ) WITHOUT ROWID",
    "CREATE INDEX ix_related_articles_related ON related_articles (related_id)",
    "CREATE TABLE related_pins (
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        related_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        PRIMARY KEY (article_id, related_id)
     ) WITHOUT ROWID",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE TABLE article_search (
        article_id INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
        headline TEXT NOT NULL,
        dek TEXT NOT NULL,
        body TEXT NOT NULL,
        document tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english'::regconfig, headline), 'A') ||
            setweight(to_tsvector('english'::regconfig, dek), 'B') ||
            setweight(to_tsvector('english'::regconfig, body), 'C')
        ) STORED
     )",
    "CREATE INDEX ix_article_search_document ON article_search USING gin (document)",
    "CREATE TABLE article_terms (
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        term TEXT NOT NULL,
        weight DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (article_id, term)
     )",
    "CREATE INDEX ix_article_terms_term ON article_terms (term, article_id, weight)",
    "CREATE TABLE term_df (term TEXT NOT NULL PRIMARY KEY, df INTEGER NOT NULL)",
    "CREATE TABLE related_articles (
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        related_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        score DOUBLE PRECISION NOT NULL,
        reasons TEXT NOT NULL,
        PRIMARY KEY (article_id, related_id)
     )",
    "CREATE INDEX ix_related_articles_related ON related_articles (related_id)",
    "CREATE TABLE related_pins (
        article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        related_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        PRIMARY KEY (article_id, related_id)
     )",
];

const DOWN: &[&str] = &[
    "DROP TABLE related_pins",
    "DROP TABLE related_articles",
    "DROP TABLE term_df",
    "DROP TABLE article_terms",
    "DROP TABLE article_search",
];

async fn run(m: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let db = m.get_connection();
    for s in statements {
        db.execute_unprepared(s).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        match m.get_database_backend() {
            DbBackend::Sqlite => run(m, SQLITE_UP).await,
            DbBackend::Postgres => run(m, POSTGRES_UP).await,
            other => Err(DbErr::Migration(format!(
                "discovery tables are written for SQLite and PostgreSQL, not {other:?}"
            ))),
        }
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        run(m, DOWN).await
    }
}
