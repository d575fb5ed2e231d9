//! `/api/v1/partners`: the syndication partners and their keys, for admins (the rules are
//! `domain::partners`).

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::Problem;
use super::extract::{Account, Body, Who};
use crate::domain::access::Caller;
use crate::domain::partners::{self, NewPartner, PartnerPatch};
use crate::entities::{partner, partner_key};
use crate::http::cache_headers;
use crate::http::error::Result;
use crate::state::AppState;

/// A partner's key: tokens name its `id` in their `key` claim.
#[derive(Serialize, ToSchema)]
pub struct PartnerKeyView {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Null while active.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<partner_key::Model> for PartnerKeyView {
    fn from(k: partner_key::Model) -> Self {
        Self {
            id: k.id,
            name: k.name,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A syndication partner.
#[derive(Serialize, ToSchema)]
pub struct PartnerView {
    /// The `sub` of its tokens.
    pub slug: String,
    pub name: String,
    /// Section paths it receives, each with its descendants.
    pub sections: Vec<String>,
    /// Whether it receives stories under embargo.
    pub embargoed: bool,
    pub rate_limit_per_minute: Option<i32>,
    /// Null while active.
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub keys: Vec<PartnerKeyView>,
}

async fn view(s: &AppState, p: partner::Model) -> Result<PartnerView> {
    let keys = partners::keys(&s.db, p.id).await?;
    Ok(PartnerView {
        sections: partners::sections_of(&p),
        slug: p.slug,
        name: p.name,
        embargoed: p.embargoed,
        rate_limit_per_minute: p.rate_limit_per_minute,
        revoked_at: p.revoked_at,
        created_at: p.created_at,
        keys: keys.into_iter().map(Into::into).collect(),
    })
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

/// Every partner, by slug (admins).
#[utoipa::path(get, path = "/api/v1/partners", tag = "partners",
    responses((status = 200, description = "The partners", body = Vec<PartnerView>),
              (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(State(s): State<AppState>, Who(c): Who, headers: HeaderMap) -> Result<Response> {
    let mut out = Vec::new();
    for p in partners::list(&s.db, &c).await? {
        out.push(view(&s, p).await?);
    }
    Ok(answer(&s, &c, &headers, StatusCode::OK, &out))
}

/// A new partner.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerBody {
    name: String,
    /// Derived from the name when absent.
    slug: Option<String>,
    /// Section paths it receives, each with its descendants.
    sections: Vec<String>,
    #[serde(default)]
    embargoed: bool,
    rate_limit_per_minute: Option<i32>,
}

/// Creates a partner (admins).
#[utoipa::path(post, path = "/api/v1/partners", tag = "partners", request_body = PartnerBody,
    responses((status = 201, description = "Created", body = PartnerView),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Body(b): Body<PartnerBody>,
) -> Result<Response> {
    let p = partners::create(
        &s.db,
        &c,
        NewPartner {
            name: b.name,
            slug: b.slug,
            sections: b.sections,
            embargoed: b.embargoed,
            rate_limit_per_minute: b.rate_limit_per_minute,
        },
    )
    .await?;
    let v = view(&s, p).await?;
    Ok(answer(&s, &c, &headers, StatusCode::CREATED, &v))
}

/// One partner with its keys (admins).
#[utoipa::path(get, path = "/api/v1/partners/{slug}", tag = "partners", params(("slug" = String, Path)),
    responses((status = 200, description = "The partner", body = PartnerView),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response> {
    let p = partners::get(&s.db, &c, &slug).await?;
    let v = view(&s, p).await?;
    Ok(answer(&s, &c, &headers, StatusCode::OK, &v))
}

fn some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Changes to a partner: fields left out stay; `null` clears `rate_limit_per_minute`.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PartnerPatchBody {
    name: Option<String>,
    sections: Option<Vec<String>>,
    embargoed: Option<bool>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<i32>)]
    rate_limit_per_minute: Option<Option<i32>>,
}

/// Changes a partner (admins); it applies to the partner's next request.
#[utoipa::path(patch, path = "/api/v1/partners/{slug}", tag = "partners", request_body = PartnerPatchBody,
    params(("slug" = String, Path)),
    responses((status = 200, description = "Changed", body = PartnerView),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn patch(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Body(b): Body<PartnerPatchBody>,
) -> Result<Response> {
    let p = partners::update(
        &s.db,
        &c,
        &slug,
        PartnerPatch {
            name: b.name,
            sections: b.sections,
            embargoed: b.embargoed,
            rate_limit_per_minute: b.rate_limit_per_minute,
        },
    )
    .await?;
    let v = view(&s, p).await?;
    Ok(answer(&s, &c, &headers, StatusCode::OK, &v))
}

/// Revokes a partner (admins): its next request, with any key, is refused.
#[utoipa::path(post, path = "/api/v1/partners/{slug}/revoke", tag = "partners", params(("slug" = String, Path)),
    responses((status = 200, description = "Revoked", body = PartnerView),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn revoke(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response> {
    let p = partners::revoke(&s.db, &c, &slug).await?;
    let v = view(&s, p).await?;
    Ok(answer(&s, &c, &headers, StatusCode::OK, &v))
}

/// A new key.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct KeyBody {
    /// What it is for ("newsroom CMS").
    name: Option<String>,
}

/// Gives a partner a new key (admins).
#[utoipa::path(post, path = "/api/v1/partners/{slug}/keys", tag = "partners", request_body = KeyBody,
    params(("slug" = String, Path)),
    responses((status = 201, description = "Created", body = PartnerKeyView),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_key(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Body(b): Body<KeyBody>,
) -> Result<Response> {
    let k = partners::create_key(&s.db, &c, &slug, b.name).await?;
    Ok(answer(
        &s,
        &c,
        &headers,
        StatusCode::CREATED,
        &PartnerKeyView::from(k),
    ))
}

/// Revokes one key (admins): its tokens are refused from the next request on.
#[utoipa::path(post, path = "/api/v1/partners/{slug}/keys/{id}/revoke", tag = "partners",
    params(("slug" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "Revoked", body = PartnerKeyView),
              (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn revoke_key(
    State(s): State<AppState>,
    Account(c): Account,
    headers: HeaderMap,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response> {
    let k = partners::revoke_key(&s.db, &c, &slug, &id).await?;
    Ok(answer(
        &s,
        &c,
        &headers,
        StatusCode::OK,
        &PartnerKeyView::from(k),
    ))
}
