//! Webhooks (`gazette::domain::webhooks` explains the design):
//!
//! - `webhooks`: the endpoints admins manage: URL, the event types wanted, an optional
//!   section subtree, the signing secret encrypted with the server's key (and the previous
//!   one while a rotation overlaps), active or paused (and why), and `position`: the last
//!   change-stream event the dispatcher has turned into deliveries for it;
//! - `webhook_deliveries`: the outbox of each endpoint, one row per message: its body, fixed
//!   when it was made, and its delivery state (pending, succeeded, dead), attempts, the next
//!   attempt's time, the lease of the process attempting it, and the last outcome. A message
//!   is made once per endpoint (unique `message_id` per endpoint); `subject` names the
//!   article whose messages go out in order.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_001611_create_webhooks"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Webhooks {
    Table,
    Id,
    Url,
    Description,
    EventTypes,
    Section,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    Active,
    PausedReason,
    Position,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    MessageId,
    EventType,
    Seq,
    Subject,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    LastError,
    LastStatus,
    LastLatencyMs,
    CreatedAt,
    UpdatedAt,
    DeliveredAt,
}

#[async_trait::async_trait]
#[expect(
    elided_lifetimes_in_paths,
    reason = "async_trait needs the trait's own elided signature"
)]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let time = |c| {
            ColumnDef::new(c)
                .timestamp_with_time_zone()
                .not_null()
                .to_owned()
        };
        let d_time = |c| {
            ColumnDef::new(c)
                .timestamp_with_time_zone()
                .not_null()
                .to_owned()
        };
        m.create_table(
            Table::create()
                .table(Webhooks::Table)
                .col(
                    ColumnDef::new(Webhooks::Id)
                        .integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ColumnDef::new(Webhooks::Url).text().not_null())
                .col(
                    ColumnDef::new(Webhooks::Description)
                        .text()
                        .not_null()
                        .default(""),
                )
                .col(
                    ColumnDef::new(Webhooks::EventTypes)
                        .json_binary()
                        .not_null(),
                )
                .col(ColumnDef::new(Webhooks::Section).text().null())
                .col(ColumnDef::new(Webhooks::Secret).text().not_null())
                .col(ColumnDef::new(Webhooks::PreviousSecret).text().null())
                .col(
                    ColumnDef::new(Webhooks::PreviousSecretUntil)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(
                    ColumnDef::new(Webhooks::Active)
                        .boolean()
                        .not_null()
                        .default(true),
                )
                .col(ColumnDef::new(Webhooks::PausedReason).text().null())
                .col(ColumnDef::new(Webhooks::Position).integer().not_null())
                .col(
                    ColumnDef::new(Webhooks::FailingSince)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(time(Webhooks::CreatedAt))
                .col(time(Webhooks::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WebhookDeliveries::Table)
                .col(
                    ColumnDef::new(WebhookDeliveries::Id)
                        .integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::WebhookId)
                        .integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::MessageId)
                        .text()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::EventType)
                        .text()
                        .not_null(),
                )
                .col(ColumnDef::new(WebhookDeliveries::Seq).integer().null())
                .col(ColumnDef::new(WebhookDeliveries::Subject).text().null())
                .col(ColumnDef::new(WebhookDeliveries::Payload).text().not_null())
                .col(ColumnDef::new(WebhookDeliveries::Status).text().not_null())
                .col(
                    ColumnDef::new(WebhookDeliveries::Attempts)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(d_time(WebhookDeliveries::NextAttemptAt))
                .col(
                    ColumnDef::new(WebhookDeliveries::LeaseUntil)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .col(ColumnDef::new(WebhookDeliveries::LastError).text().null())
                .col(
                    ColumnDef::new(WebhookDeliveries::LastStatus)
                        .integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(WebhookDeliveries::LastLatencyMs)
                        .integer()
                        .null(),
                )
                .col(d_time(WebhookDeliveries::CreatedAt))
                .col(d_time(WebhookDeliveries::UpdatedAt))
                .col(
                    ColumnDef::new(WebhookDeliveries::DeliveredAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                        .to(Webhooks::Table, Webhooks::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // One message per endpoint: a dispatcher that runs twice makes it once.
        m.create_index(
            Index::create()
                .name("ux_webhook_deliveries_message")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::WebhookId)
                .col(WebhookDeliveries::MessageId)
                .unique()
                .to_owned(),
        )
        .await?;
        // The claim: due pending deliveries.
        m.create_index(
            Index::create()
                .name("ix_webhook_deliveries_due")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::Status)
                .col(WebhookDeliveries::NextAttemptAt)
                .to_owned(),
        )
        .await?;
        // The ordering rule: an earlier pending message of the same article holds it back.
        m.create_index(
            Index::create()
                .name("ix_webhook_deliveries_subject")
                .table(WebhookDeliveries::Table)
                .col(WebhookDeliveries::WebhookId)
                .col(WebhookDeliveries::Subject)
                .col(WebhookDeliveries::Status)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Webhooks::Table).to_owned())
            .await
    }
}
