//! A webhook endpoint: where to send which events, how to sign them (the secret, encrypted
//! with the server's key), and how far through the change stream its dispatcher has come.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub url: String,
    pub description: String,
    /// JSON list of event types (`article.published`, `article.*`, …).
    pub event_types: Json,
    /// A section path: only events of that section's subtree (articles, sections).
    pub section: Option<String>,
    /// The signing secret, encrypted (`domain::webhooks::secrets`).
    pub secret: String,
    /// The secret before the last rotation, encrypted, signing too until
    /// `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTimeUtc>,
    pub active: bool,
    /// Why it is paused: `admin` or `failing`.
    pub paused_reason: Option<String>,
    /// The last change-stream position turned into deliveries.
    pub position: i32,
    /// Since when every attempt has failed (none while it succeeds).
    pub failing_since: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
