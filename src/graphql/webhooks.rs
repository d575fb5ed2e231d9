//! Webhook endpoints and their delivery logs as admins see them through GraphQL, and their
//! inputs. The rules (who may manage them, what a valid one is, how deliveries go) are
//! `domain::webhooks`.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Json, MaybeUndefined, Object, Result};
use chrono::{DateTime, Utc};

use super::caller;
use super::loaders::{Loaders, WebhookDeliveries, load_err};
use crate::domain::webhooks::{self, NewWebhook, Settings, WebhookPatch};
use crate::entities::{webhook, webhook_delivery};
use crate::graphql::error::GqlResultExt as _;

/// The webhook settings given with each request.
pub(crate) fn settings<'a>(ctx: &Context<'a>) -> Result<&'a Settings> {
    Ok(ctx.data::<Arc<Settings>>()?.as_ref())
}

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(
    name = "WebhookDeliveryStatus",
    remote = "crate::entities::webhook_delivery::DeliveryStatus"
)]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Dead-lettered: every attempt failed, or the endpoint refused it for good. An admin
    /// may redeliver it.
    Dead,
}

/// A webhook endpoint (admins). Its secret is shown only by `createWebhook` and
/// `rotateWebhookSecret`.
pub struct Webhook(pub webhook::Model);

#[Object]
impl Webhook {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Where deliveries go.
    async fn url(&self) -> &str {
        &self.0.url
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The event types or groups it receives (`article.published`, `article.*`, `*`).
    async fn event_types(&self) -> Vec<String> {
        webhooks::event_types_of(&self.0)
    }

    /// Only articles and sections of this section's subtree (null: all).
    async fn section(&self) -> Option<&str> {
        self.0.section.as_deref()
    }

    /// False while paused.
    async fn active(&self) -> bool {
        self.0.active
    }

    /// Why it is paused: `admin`, or `failing` (paused automatically).
    async fn paused_reason(&self) -> Option<&str> {
        self.0.paused_reason.as_deref()
    }

    /// Since when every attempt has failed (null while it succeeds).
    async fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.0.failing_since
    }

    /// Until when the previous secret also signs, after a rotation.
    async fn previous_secret_until(&self) -> Option<DateTime<Utc>> {
        self.0.previous_secret_until
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Its delivery log, newest first: at most `first` (1 to 100), older than the delivery
    /// `before`, of one status when given.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        status: Option<DeliveryStatus>,
        #[graphql(default = 20)] first: i32,
        before: Option<ID>,
    ) -> Result<Vec<WebhookDelivery>> {
        let before = before
            .map(|b| {
                b.parse::<i32>()
                    .map_err(|_| crate::error::AppError::bad_input("before: pass a delivery's id"))
            })
            .transpose()
            .gql()?;
        if !(1..=100).contains(&first) {
            return Err(crate::error::AppError::bad_input(format!(
                "first must be 1 to 100, not {first}"
            )))
            .gql();
        }
        caller(ctx)
            .require(crate::domain::access::Role::Admin, "managing webhooks")
            .gql()?;
        let key = WebhookDeliveries {
            webhook_id: self.0.id,
            status: status.map(Into::into),
            first: first as u64,
            before,
        };
        Ok(ctx
            .data::<Loaders>()?
            .load_one(key)
            .await
            .map_err(load_err)?
            .unwrap_or_default()
            .into_iter()
            .map(WebhookDelivery)
            .collect())
    }
}

/// One message to an endpoint and its delivery.
pub struct WebhookDelivery(pub webhook_delivery::Model);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The `webhook-id` header: the same on every attempt.
    async fn message_id(&self) -> &str {
        &self.0.message_id
    }

    async fn event_type(&self) -> &str {
        &self.0.event_type
    }

    async fn status(&self) -> DeliveryStatus {
        self.0.status.into()
    }

    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// When the next attempt is due (pending deliveries).
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        (self.0.status == webhook_delivery::DeliveryStatus::Pending)
            .then_some(self.0.next_attempt_at)
    }

    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    /// The status code of the last answer.
    async fn last_status(&self) -> Option<i32> {
        self.0.last_status
    }

    /// How long the last attempt took, in milliseconds.
    async fn last_latency_ms(&self) -> Option<i32> {
        self.0.last_latency_ms
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }

    /// The body as sent: `{ type, timestamp, data }`.
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(serde_json::from_str(&self.0.payload).unwrap_or_default())
    }
}

/// An endpoint with its signing secret, shown this once.
pub struct WebhookSecret(pub webhook::Model, pub String);

#[Object]
impl WebhookSecret {
    async fn webhook(&self) -> Webhook {
        Webhook(self.0.clone())
    }

    /// The signing secret (`whsec_…`) for the receiver's Standard Webhooks library; never
    /// shown again.
    async fn secret(&self) -> &str {
        &self.1
    }
}

/// A new webhook endpoint.
#[derive(InputObject)]
pub struct WebhookInput {
    /// Where to send: `https`, to a public address.
    pub url: String,
    pub description: Option<String>,
    /// Event types or groups (`article.published`, `article.*`, `*`).
    pub event_types: Vec<String>,
    /// Only articles and sections of this section's subtree.
    pub section: Option<String>,
    /// False to create it paused.
    #[graphql(default = true)]
    pub active: bool,
}

impl From<WebhookInput> for NewWebhook {
    fn from(w: WebhookInput) -> Self {
        Self {
            url: w.url,
            description: w.description,
            event_types: w.event_types,
            section: w.section,
            active: w.active,
        }
    }
}

/// Changes to an endpoint: fields left out stay; `null` clears `section`; `active: false`
/// pauses it, `true` resumes it from the stream's head.
#[derive(InputObject)]
#[graphql(name = "WebhookPatch")]
pub struct WebhookPatchInput {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub section: MaybeUndefined<String>,
    pub active: Option<bool>,
}

impl From<WebhookPatchInput> for WebhookPatch {
    fn from(p: WebhookPatchInput) -> Self {
        Self {
            url: p.url,
            description: p.description,
            event_types: p.event_types,
            section: match p.section {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => Some(Some(v)),
            },
            active: p.active,
        }
    }
}
