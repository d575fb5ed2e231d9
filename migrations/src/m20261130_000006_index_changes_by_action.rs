//! A feed's modification time must never go backwards, even when a story leaves it
//! (unpublished, archived, deleted): the time of the latest such departure is part of it.
//! This index finds that time without reading the whole change log.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000006_index_changes_by_action"
    }
}

#[derive(DeriveIden)]
enum ChangeLog {
    Table,
    Action,
    At,
}

const INDEX: &str = "ix_change_log_action_at";

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(INDEX)
                .table(ChangeLog::Table)
                .col(ChangeLog::Action)
                .col(ChangeLog::At)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name(INDEX).table(ChangeLog::Table).to_owned())
            .await
    }
}
