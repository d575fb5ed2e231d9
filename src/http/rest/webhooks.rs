//! `/api/v1/webhooks`: webhook endpoints, their delivery logs and redelivery, for admins
//! (the rules are `domain::webhooks`); and [`PublicShapes`], the REST shapes a message's
//! `data` carries.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::Problem;
use super::extract::{Account, Body, Params, Who};
use super::views::{self, AuthorView, SectionView, TagView};
use crate::domain::access::{ArticleFacts, Caller};
use crate::domain::directory::Directory;
use crate::domain::site::Site;
use crate::domain::webhooks::outbox::Shapes;
use crate::domain::webhooks::{self, NewWebhook, WebhookPatch, parse_id};
use crate::entities::change_log::EntityKind;
use crate::entities::webhook_delivery::{self, DeliveryStatus};
use crate::entities::{author, section, tag, webhook};
use crate::error::AppError;
use crate::http::cache_headers;
use crate::http::error::Result;
use crate::state::AppState;

/// A webhook endpoint (its secret is shown only when made).
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    pub id: i32,
    pub url: String,
    pub description: String,
    /// Event types or groups it receives (`article.published`, `article.*`, `*`).
    pub event_types: Vec<String>,
    /// Only articles and sections of this section's subtree (null: all).
    pub section: Option<String>,
    /// False while paused.
    pub active: bool,
    /// `admin` or `failing` while paused.
    pub paused_reason: Option<String>,
    /// Since when every attempt has failed (null while it succeeds).
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the previous secret also signs (after a rotation).
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<webhook::Model> for WebhookView {
    fn from(w: webhook::Model) -> Self {
        Self {
            event_types: webhooks::event_types_of(&w),
            id: w.id,
            url: w.url,
            description: w.description,
            section: w.section,
            active: w.active,
            paused_reason: w.paused_reason,
            failing_since: w.failing_since,
            previous_secret_until: w.previous_secret_until,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// An endpoint with its signing secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The signing secret (`whsec_…`), for the receiver's Standard Webhooks library; it is
    /// never shown again.
    pub secret: String,
}

/// One message to an endpoint and its delivery.
#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i32,
    /// The `webhook-id` header, the same on every attempt.
    pub message_id: String,
    pub event_type: String,
    /// `pending`, `succeeded` or `dead` (dead-lettered: every attempt failed).
    pub status: String,
    pub attempts: i32,
    /// When the next attempt is due (pending ones).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// The status code of the last answer.
    pub last_status: Option<i32>,
    /// How long the last attempt took, in milliseconds.
    pub last_latency_ms: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The body as sent: `{ type, timestamp, data }`.
    #[schema(value_type = Object)]
    pub payload: Value,
}

/// The name of a delivery status.
pub fn status_name(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Succeeded => "succeeded",
        DeliveryStatus::Dead => "dead",
    }
}

impl From<webhook_delivery::Model> for DeliveryView {
    fn from(d: webhook_delivery::Model) -> Self {
        Self {
            id: d.id,
            status: status_name(d.status).into(),
            next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
            payload: serde_json::from_str(&d.payload).unwrap_or(Value::Null),
            message_id: d.message_id,
            event_type: d.event_type,
            attempts: d.attempts,
            last_error: d.last_error,
            last_status: d.last_status,
            last_latency_ms: d.last_latency_ms,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

/// A page of a delivery log, newest first.
#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    pub data: Vec<DeliveryView>,
    /// Pass as `before` for the next (older) page; null on the last one.
    pub next_cursor: Option<String>,
}

fn answer(
    s: &AppState,
    c: &Caller,
    headers: &HeaderMap,
    status: StatusCode,
    body: &impl Serialize,
) -> Response {
    cache_headers::json(
        &cache_headers::Caching::of(s, c, headers),
        status,
        body,
        &BTreeSet::new(),
        None,
    )
}

/// Every webhook endpoint, oldest first (admins).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, description = "The endpoints", body = Vec<WebhookView>),
              (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(State(s): State<AppState>, Who(c): Who, headers: HeaderMap) -> Result<Response> {
    let out: Vec<WebhookView> = webhooks::list(&s.db, &c)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(answer(&s, &c, &headers, StatusCode::OK, &out))
}

/// A new webhook endpoint.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// Where to send: `https`, to a public address.
    url: String,
    description: Option<String>,
    /// Event types or groups (`article.published`, `article.*`, `*`).
    event_types: Vec<String>,
    /// Only articles and sections of this section's subtree.
    section: Option<String>,
    /// False to create it paused.
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

/// Creates a webhook endpoint (admins); the answer holds its signing secret, shown once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = WebhookBody,
    responses((status = 201, description = "Created, with its secret", body = WebhookWithSecret),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Body(b): Body<WebhookBody>,
) -> Result<Response> {
    let (w, secret) = webhooks::create(
        &s.db,
        &s.webhooks,
        &c,
        NewWebhook {
            url: b.url,
            description: b.description,
            event_types: b.event_types,
            section: b.section,
            active: b.active,
        },
    )
    .await?;
    let v = WebhookWithSecret {
        webhook: w.into(),
        secret,
    };
    Ok(answer(&s, &c, &headers, StatusCode::CREATED, &v))
}

/// One webhook endpoint (admins).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, description = "The endpoint", body = WebhookView),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    c.require(crate::domain::access::Role::Admin, "managing webhooks")?;
    let w = webhooks::get(&s.db, &c, parse_id(&id)?).await?;
    Ok(answer(
        &s,
        &c,
        &headers,
        StatusCode::OK,
        &WebhookView::from(w),
    ))
}

fn some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to an endpoint: fields left out stay; `null` clears `section`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatchBody {
    url: Option<String>,
    description: Option<String>,
    event_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>)]
    section: Option<Option<String>>,
    /// False pauses it; true resumes it from the stream's head.
    active: Option<bool>,
}

/// Changes a webhook endpoint (admins): pause, resume, its URL, types or section.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", request_body = WebhookPatchBody,
    params(("id" = String, Path)),
    responses((status = 200, description = "Changed", body = WebhookView),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(b): Body<WebhookPatchBody>,
) -> Result<Response> {
    c.require(crate::domain::access::Role::Admin, "managing webhooks")?;
    let w = webhooks::update(
        &s.db,
        &s.webhooks,
        &c,
        parse_id(&id)?,
        WebhookPatch {
            url: b.url,
            description: b.description,
            event_types: b.event_types,
            section: b.section,
            active: b.active,
        },
    )
    .await?;
    Ok(answer(
        &s,
        &c,
        &headers,
        StatusCode::OK,
        &WebhookView::from(w),
    ))
}

/// Deletes a webhook endpoint and its delivery log (admins).
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete(
    State(s): State<AppState>,
    Account(c): Account,
    Path(id): Path<String>,
) -> Result<Response> {
    c.require(crate::domain::access::Role::Admin, "managing webhooks")?;
    webhooks::delete(&s.db, &c, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Gives an endpoint a new signing secret (admins), shown once; the previous one keeps
/// signing beside it for the rotation overlap (two `v1,` signatures).
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, description = "Rotated, with the new secret", body = WebhookWithSecret),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    c.require(crate::domain::access::Role::Admin, "managing webhooks")?;
    let (w, secret) = webhooks::rotate_secret(&s.db, &s.webhooks, &c, parse_id(&id)?).await?;
    let v = WebhookWithSecret {
        webhook: w.into(),
        secret,
    };
    Ok(answer(&s, &c, &headers, StatusCode::OK, &v))
}

/// Filters and paging of a delivery log.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// `pending`, `succeeded` or `dead`.
    status: Option<String>,
    /// Page size, 1 to 100 (20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i32>,
    /// `next_cursor` of the previous page.
    before: Option<String>,
}

/// Parses a delivery status name.
pub fn parse_status(s: &str) -> crate::error::Result<DeliveryStatus> {
    match s.trim().to_ascii_lowercase().as_str() {
        "pending" => Ok(DeliveryStatus::Pending),
        "succeeded" => Ok(DeliveryStatus::Succeeded),
        "dead" => Ok(DeliveryStatus::Dead),
        other => Err(AppError::bad_input(format!(
            "status: {other:?} is not pending, succeeded or dead"
        ))),
    }
}

/// An endpoint's delivery log, newest first (admins): status, attempts, last error and
/// latency of each message.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), DeliveryParams),
    responses((status = 200, description = "A page of the log", body = DeliveryPage),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Path(id): Path<String>,
    Params(p): Params<DeliveryParams>,
) -> Result<Response> {
    c.require(crate::domain::access::Role::Admin, "managing webhooks")?;
    let id = parse_id(&id)?;
    let status = p.status.as_deref().map(parse_status).transpose()?;
    let limit = match p.limit {
        None => 20,
        Some(n @ 1..=100) => n as u64,
        Some(n) => {
            return Err(AppError::bad_input(format!("limit must be 1 to 100, not {n}")).into());
        }
    };
    let before = match p.before.as_deref() {
        None => None,
        Some(b) => Some(
            b.parse::<i32>()
                .map_err(|_| AppError::bad_input("before: pass the next_cursor of a page"))?,
        ),
    };
    let rows = webhooks::deliveries(&s.db, &c, id, status, limit, before).await?;
    let next_cursor = (rows.len() as u64 == limit)
        .then(|| rows.last().map(|d| d.id.to_string()))
        .flatten();
    let page = DeliveryPage {
        data: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    };
    Ok(answer(&s, &c, &headers, StatusCode::OK, &page))
}

/// Sends a delivery again with the same `webhook-id` (admins): a dead one gets its full
/// attempt budget again.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver", tag = "webhooks",
    params(("id" = String, Path), ("delivery" = String, Path)),
    responses((status = 200, description = "Queued again", body = DeliveryView),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn redeliver(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path((id, delivery)): Path<(String, String)>,
) -> Result<Response> {
    c.require(crate::domain::access::Role::Admin, "managing webhooks")?;
    let delivery = delivery
        .parse::<i32>()
        .map_err(|_| AppError::not_found(format!("no delivery {delivery:?}")))?;
    let d = webhooks::redeliver(&s.db, &c, parse_id(&id)?, delivery).await?;
    Ok(answer(
        &s,
        &c,
        &headers,
        StatusCode::OK,
        &DeliveryView::from(d),
    ))
}

/// The shapes of `/api/v1` as anonymous readers get them, for messages' `data`.
#[derive(Clone)]
pub struct PublicShapes {
    site: Arc<Site>,
    directory: Directory,
}

impl PublicShapes {
    /// Shapes with URLs on `site`, reading sections, authors and tags through `directory`.
    pub fn new(site: Arc<Site>, directory: Directory) -> Self {
        Self { site, directory }
    }

    /// The shapes the state's site and directory give.
    pub fn of(state: &AppState) -> Self {
        Self::new(state.site.clone(), state.response_cache.directory().clone())
    }

    async fn of_kind(
        &self,
        db: &DatabaseConnection,
        kind: EntityKind,
        id: i32,
    ) -> crate::error::Result<Option<Value>> {
        use sea_orm::EntityTrait as _;
        let site = &self.site;
        let json = |v: std::result::Result<Value, serde_json::Error>| {
            v.map(Some).map_err(AppError::internal)
        };
        match kind {
            EntityKind::Article => {
                let Some(a) = crate::domain::articles::find_by_id(db, id).await? else {
                    return Ok(None);
                };
                if !ArticleFacts::of(&a).is_public() {
                    return Ok(None);
                }
                let mut v = views::articles(db, &self.directory, site, vec![a], true)
                    .await
                    .map_err(|e| match e {
                        crate::http::error::HttpError::App(a) => a,
                        other => AppError::internal(other),
                    })?;
                match v.pop() {
                    Some(view) => json(serde_json::to_value(view)),
                    None => Ok(None),
                }
            }
            EntityKind::Section => match section::Entity::find_by_id(id).one(db).await? {
                Some(m) => json(serde_json::to_value(SectionView::new(m, site))),
                None => Ok(None),
            },
            EntityKind::Author => match author::Entity::find_by_id(id).one(db).await? {
                Some(m) => json(serde_json::to_value(AuthorView::new(m, site))),
                None => Ok(None),
            },
            EntityKind::Tag => match tag::Entity::find_by_id(id).one(db).await? {
                Some(m) => json(serde_json::to_value(TagView::new(m, site))),
                None => Ok(None),
            },
            EntityKind::Comment => {
                // An approved comment on a public article, as its article's page lists it.
                let Some(c) = crate::entities::comment::Entity::find_by_id(id)
                    .one(db)
                    .await?
                else {
                    return Ok(None);
                };
                if c.status != crate::domain::CommentStatus::Approved {
                    return Ok(None);
                }
                let Some(a) = crate::domain::articles::find_by_id(db, c.article_id).await? else {
                    return Ok(None);
                };
                if !ArticleFacts::of(&a).is_public() {
                    return Ok(None);
                }
                let mut v = serde_json::to_value(super::comments::CommentView::of(c, false))
                    .map_err(AppError::internal)?;
                v["article_slug"] = Value::String(a.slug);
                Ok(Some(v))
            }
        }
    }
}

impl Shapes for PublicShapes {
    fn shape<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        kind: EntityKind,
        id: i32,
    ) -> BoxFuture<'a, crate::error::Result<Option<Value>>> {
        Box::pin(self.of_kind(db, kind, id))
    }
}
