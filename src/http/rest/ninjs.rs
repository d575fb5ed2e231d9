//! `GET /api/v1/articles/{slug}/ninjs`: one article as an IPTC ninjs item (see
//! `domain::ninjs` for the mapping), 2.1 by default and 3.1 with `?version=3`.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use super::Problem;
use super::extract::{Params, Who};
use crate::domain::invalidation::Key;
use crate::domain::{access, ninjs, partners};
use crate::http::cache_headers;
use crate::http::error::Result;
use crate::state::AppState;

/// Which ninjs.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NinjsParams {
    /// 2 for ninjs 2.1 (the default), 3 for ninjs 3.1.
    version: Option<i64>,
}

/// The article as an IPTC ninjs item (editors and admins). Its `uri`
/// (`urn:gazette:article:{id}`) never changes; the property names are the IPTC schema's
/// (2.1 in lower case, 3.1 in camelCase).
#[utoipa::path(get, path = "/api/v1/articles/{slug}/ninjs", tag = "syndication",
    params(("slug" = String, Path, description = "The article's slug"), NinjsParams),
    responses((status = 200, description = "The ninjs item", body = Object, content_type = "application/json", headers(("ETag" = String))),
              (status = 304, description = "Not modified"),
              (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, description = "Bad parameters", body = Problem)),
    security(("bearer" = [])))]
pub async fn article(
    State(s): State<AppState>,
    Who(c): Who,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Params(p): Params<NinjsParams>,
) -> Result<Response> {
    access::check_can_receive_ninjs(&c)?;
    let version = ninjs::Version::parse(p.version)?;
    let a = super::articles::visible(&s, &c, &slug, None).await?;
    let item = ninjs::of_article(super::changes::ninjs_sources(&s), &a, version).await?;
    partners::count_delivered(&c, 1);
    let keys = BTreeSet::from([Key::Article(a.id), Key::Lists]);
    Ok(cache_headers::bytes_response(
        &cache_headers::Caching::of(&s, &c, &headers),
        StatusCode::OK,
        item.as_bytes().to_vec(),
        "application/json",
        &keys,
        Some(a.version),
    ))
}
