//! Syndication partners and their keys. A partner token names the partner (`sub`) and one
//! of its keys (`key`); both rows are read on every partner request, so revoking either
//! refuses the next request. `sections` is the JSON list of section paths whose subtrees
//! the partner receives.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_001502_create_partners"
    }
}

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let time = |c: Partners| {
            ColumnDef::new(c)
                .timestamp_with_time_zone()
                .not_null()
                .to_owned()
        };
        m.create_table(
            Table::create()
                .table(Partners::Table)
                .col(
                    ColumnDef::new(Partners::Id)
                        .integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Partners::Slug)
                        .text()
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Partners::Name).text().not_null())
                .col(ColumnDef::new(Partners::Sections).json_binary().not_null())
                .col(
                    ColumnDef::new(Partners::Embargoed)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(
                    ColumnDef::new(Partners::RateLimitPerMinute)
                        .integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(Partners::RevokedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(time(Partners::CreatedAt))
                .col(time(Partners::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PartnerKeys::Table)
                .col(
                    ColumnDef::new(PartnerKeys::Id)
                        .text()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(PartnerKeys::PartnerId).integer().not_null())
                .col(ColumnDef::new(PartnerKeys::Name).text().not_null())
                .col(
                    ColumnDef::new(PartnerKeys::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(PartnerKeys::RevokedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(PartnerKeys::Table, PartnerKeys::PartnerId)
                        .to(Partners::Table, Partners::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_partner_keys_partner_id")
                .table(PartnerKeys::Table)
                .col(PartnerKeys::PartnerId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PartnerKeys::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Partners::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Partners {
    Table,
    Id,
    Slug,
    Name,
    Sections,
    Embargoed,
    RateLimitPerMinute,
    RevokedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum PartnerKeys {
    Table,
    Id,
    PartnerId,
    Name,
    CreatedAt,
    RevokedAt,
}
