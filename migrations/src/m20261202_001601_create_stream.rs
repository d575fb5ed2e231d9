//! The change log becomes an ordered, durable stream that readers follow by position
//! (`gazette::domain::stream` explains the design):
//!
//! - each entry gains the entity's `version`, the surrogate `keys` the write touched, and
//!   `facts_before`/`facts_after`: what a visibility decision reads of an article before and
//!   after the write (JSON; absent for other entities, and for entries written before this);
//! - `stream_head` holds the last position handed out (one row), so that on PostgreSQL a
//!   position is taken under a row lock held to commit: positions are then committed in
//!   order, without gaps, and a reader that has seen position N can never later find a
//!   committed N-1. It also holds `pruned_through`, the last position retention removed, so
//!   a client whose position is older learns it must resync instead of missing events;
//! - an index on `at`, for pruning by age.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_001601_create_stream"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum ChangeLog {
    Table,
    Seq,
    At,
    Version,
    Keys,
    FactsBefore,
    FactsAfter,
}

#[derive(DeriveIden, Clone, Copy)]
enum StreamHead {
    Table,
    Id,
    LastSeq,
    PrunedThrough,
}

const AT_INDEX: &str = "ix_change_log_at";

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for col in [
            ColumnDef::new(ChangeLog::Version)
                .integer()
                .null()
                .to_owned(),
            ColumnDef::new(ChangeLog::Keys).text().null().to_owned(),
            ColumnDef::new(ChangeLog::FactsBefore)
                .text()
                .null()
                .to_owned(),
            ColumnDef::new(ChangeLog::FactsAfter)
                .text()
                .null()
                .to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(ChangeLog::Table)
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(StreamHead::Table)
                .col(
                    ColumnDef::new(StreamHead::Id)
                        .integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(StreamHead::LastSeq).integer().not_null())
                .col(
                    ColumnDef::new(StreamHead::PrunedThrough)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        )
        .await?;
        let seed = Query::insert()
            .into_table(StreamHead::Table)
            .columns([
                StreamHead::Id,
                StreamHead::LastSeq,
                StreamHead::PrunedThrough,
            ])
            .select_from(
                Query::select()
                    .expr(Expr::val(1))
                    .expr(Func::coalesce([
                        Expr::col(ChangeLog::Seq).max(),
                        Expr::val(0).into(),
                    ]))
                    .expr(Expr::val(0))
                    .from(ChangeLog::Table)
                    .to_owned(),
            )
            .map_err(|e| DbErr::Migration(e.to_string()))?
            .to_owned();
        m.exec_stmt(seed).await?;
        m.create_index(
            Index::create()
                .name(AT_INDEX)
                .table(ChangeLog::Table)
                .col(ChangeLog::At)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name(AT_INDEX)
                .table(ChangeLog::Table)
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table(StreamHead::Table).to_owned())
            .await?;
        for col in [
            ChangeLog::FactsAfter,
            ChangeLog::FactsBefore,
            ChangeLog::Keys,
            ChangeLog::Version,
        ] {
            m.alter_table(
                Table::alter()
                    .table(ChangeLog::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
