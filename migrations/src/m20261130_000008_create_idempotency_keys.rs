//! Idempotency keys (the `Idempotency-Key` request header): one row per caller and key,
//! inserted inside the transaction of the write it guards (so a committed write always has
//! its row, and a rolled-back one never does), then completed with the response once it is
//! sent, and purged once expired.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000008_create_idempotency_keys"
    }
}

const EXPIRY_INDEX: &str = "ix_idempotency_keys_expires_at";

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let text = |c: IdempotencyKeys| ColumnDef::new(c).text().not_null().to_owned();
        let time = |c: IdempotencyKeys| {
            ColumnDef::new(c)
                .timestamp_with_time_zone()
                .not_null()
                .to_owned()
        };
        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(text(IdempotencyKeys::Scope))
                .col(text(IdempotencyKeys::IdempotencyKey))
                .col(text(IdempotencyKeys::Fingerprint))
                .col(ColumnDef::new(IdempotencyKeys::Outcome).text().null())
                .col(ColumnDef::new(IdempotencyKeys::Status).integer().null())
                .col(ColumnDef::new(IdempotencyKeys::Headers).text().null())
                .col(ColumnDef::new(IdempotencyKeys::Body).binary().null())
                .col(time(IdempotencyKeys::CreatedAt))
                .col(time(IdempotencyKeys::ExpiresAt))
                .primary_key(
                    Index::create()
                        .col(IdempotencyKeys::Scope)
                        .col(IdempotencyKeys::IdempotencyKey),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name(EXPIRY_INDEX)
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::ExpiresAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum IdempotencyKeys {
    Table,
    Scope,
    IdempotencyKey,
    Fingerprint,
    Outcome,
    Status,
    Headers,
    Body,
    CreatedAt,
    ExpiresAt,
}
