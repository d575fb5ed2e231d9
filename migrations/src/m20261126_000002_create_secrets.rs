//! Server-side secrets shared by every gazette process on one database (the key that signs
//! draft-preview links), created on first use so that no secret is ever configured by hand
//! or committed.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000002_create_secrets"
    }
}

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Secrets::Table)
                .col(
                    ColumnDef::new(Secrets::Name)
                        .text()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Secrets::Value).text().not_null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Secrets::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Secrets {
    Table,
    Name,
    Value,
}
