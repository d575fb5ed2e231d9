//! Embargo and rights on articles (partner syndication).
//!
//! - `embargo_until`: while set, a published article is hidden from every public path. The
//!   scheduler clears it once the database's clock passes it (a recorded change, so caches
//!   and the change log learn of the lift); the index finds the due ones.
//! - `rights`: usage terms, copyright holder and notice, as JSON.
//! - `not_for_syndication`: keeps a public article out of every partner route; a column of
//!   its own because partner listings filter on it.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_001501_add_embargo_and_rights"
    }
}

const EMBARGO_INDEX: &str = "ix_articles_embargo_until";

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one column per ALTER TABLE.
        let columns = [
            ColumnDef::new(Articles::EmbargoUntil)
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Articles::Rights)
                .json_binary()
                .null()
                .to_owned(),
            ColumnDef::new(Articles::NotForSyndication)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
        ];
        for mut c in columns {
            m.alter_table(
                Table::alter()
                    .table(Articles::Table)
                    .add_column(&mut c)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name(EMBARGO_INDEX)
                .table(Articles::Table)
                .col(Articles::EmbargoUntil)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(EMBARGO_INDEX)
                .table(Articles::Table)
                .to_owned(),
        )
        .await?;
        for c in [
            Articles::NotForSyndication,
            Articles::Rights,
            Articles::EmbargoUntil,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Articles::Table)
                    .drop_column(c)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Articles {
    Table,
    EmbargoUntil,
    Rights,
    NotForSyndication,
}
