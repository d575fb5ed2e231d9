//! The REST mirror under `/api/v1`, over the same `domain/` functions as GraphQL, described
//! by `openapi.yaml` (generated from these handlers by utoipa; a test fails on drift).

mod articles;
mod changes;
mod comments;
mod discovery;
pub(crate) mod extract;
mod newsroom;
mod ninjs;
mod partners;
mod views;
pub mod webhooks;

use axum::Router;
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::state::AppState;

/// An RFC 9457 problem document; `code` equals the GraphQL `extensions.code`.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, BAD_USER_INPUT, CONFLICT, RATE_LIMITED, INTERNAL.
    pub code: String,
}

/// The `/api/v1` routes (nested by the caller).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/articles", get(articles::list).post(articles::create))
        .route(
            "/articles/{slug}",
            get(articles::get)
                .patch(articles::patch)
                .delete(articles::delete),
        )
        .route("/articles/{slug}/submit", post(articles::submit))
        .route("/articles/{slug}/publish", post(articles::publish))
        .route("/articles/{slug}/unpublish", post(articles::unpublish))
        .route("/articles/{slug}/archive", post(articles::archive))
        .route("/articles/{slug}/revisions", get(articles::list_revisions))
        .route("/articles/{slug}/ninjs", get(ninjs::article))
        .route("/redirects", get(articles::redirect))
        .route("/articles/{slug}/comments", post(comments::post))
        .route(
            "/articles/{slug}/comments_open",
            axum::routing::put(comments::set_open),
        )
        .route("/comments", get(comments::queue))
        .route("/comments/moderate", post(comments::moderate_many))
        .route("/comments/commenter/export", post(comments::export))
        .route("/comments/commenter/erase", post(comments::erase))
        .route("/comments/{id}", get(comments::get))
        .route("/comments/{id}/moderate", post(comments::moderate_one))
        .route("/partners", get(partners::list).post(partners::create))
        .route(
            "/partners/{slug}",
            get(partners::get).patch(partners::patch),
        )
        .route("/partners/{slug}/revoke", post(partners::revoke))
        .route("/partners/{slug}/keys", post(partners::create_key))
        .route(
            "/partners/{slug}/keys/{id}/revoke",
            post(partners::revoke_key),
        )
        .route("/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/webhooks/{id}",
            get(webhooks::get)
                .patch(webhooks::patch)
                .delete(webhooks::delete),
        )
        .route(
            "/webhooks/{id}/rotate-secret",
            post(webhooks::rotate_secret),
        )
        .route("/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route(
            "/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(webhooks::redeliver),
        )
        .route(
            "/articles/{slug}/related",
            get(discovery::related_of).put(discovery::pin_related),
        )
        .route(
            "/articles/{slug}/revisions/{version}/restore",
            post(articles::restore),
        )
        .route(
            "/sections",
            get(newsroom::list_sections).post(newsroom::create_section),
        )
        .route(
            "/sections/{*path}",
            get(newsroom::get_section).patch(newsroom::patch_section),
        )
        .route(
            "/authors",
            get(newsroom::list_authors).post(newsroom::create_author),
        )
        .route(
            "/authors/{slug}",
            get(newsroom::get_author).patch(newsroom::patch_author),
        )
        .route("/tags/{slug}", get(newsroom::get_tag))
        .route("/search", get(discovery::search))
        .route("/changes", get(changes::list))
        .route("/partner/items", get(changes::partner_items))
}

struct BearerAuth;

/// A response described as a problem document.
fn problem_response(why: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    RefOr::T(
        ResponseBuilder::new()
            .description(why)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

/// Problem documents are served as `application/problem+json`, not `application/json`, and
/// every operation may answer 429 (rate limit) and 503 (starting, overloaded, timed out, or
/// the database unreachable).
fn problem_content_type(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    for item in api.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
            &mut item.put,
        ];
        for op in ops.into_iter().flatten() {
            let r = &mut op.responses.responses;
            r.entry("429".into()).or_insert_with(|| {
                problem_response("Too many requests from this client (Retry-After)")
            });
            r.entry("503".into()).or_insert_with(|| {
                problem_response(
                    "Starting, overloaded, timed out, or the database is unreachable (Retry-After)",
                )
            });
        }
    }
    for item in api.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
            &mut item.put,
        ];
        for op in ops.into_iter().flatten() {
            for resp in op.responses.responses.values_mut() {
                let RefOr::T(resp) = resp else { continue };
                let is_problem = resp.content.get("application/json").is_some_and(|c| {
                    matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem"))
                });
                if is_problem && let Some(c) = resp.content.shift_remove("application/json") {
                    resp.content.insert("application/problem+json".into(), c);
                }
            }
        }
    }
}

/// Every write (REST `POST`/`PATCH`/`PUT`/`DELETE`, and `POST /graphql` for mutations)
/// takes an `Idempotency-Key` header (see `crate::http::idempotency`), and may answer 400 (a
/// malformed key), 409 (the key's request is still in flight) or 422 (the key was used with
/// another request).
fn idempotency_key(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, Required, Type};
    let param = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes the write safe to retry: 1 to 255 visible ASCII characters (a UUID), quoted or bare, new for each write. Within the retention period (24 h) the same key with the same method, path and body gets the first response again (Idempotency-Replayed: true) and changes nothing; with another request, 422; while the first is in flight, 409.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(257)),
        ))
        .build();
    for item in api.paths.paths.values_mut() {
        let ops = [
            &mut item.post,
            &mut item.patch,
            &mut item.delete,
            &mut item.put,
        ];
        for op in ops.into_iter().flatten() {
            op.parameters
                .get_or_insert_with(Vec::new)
                .push(param.clone());
            let r = &mut op.responses.responses;
            for (status, why) in [
                ("400", "A malformed Idempotency-Key (or request)"),
                (
                    "409",
                    "A request with this Idempotency-Key is still being processed (or the write lost a race)",
                ),
                (
                    "422",
                    "This Idempotency-Key was used with a different request (or the input breaks a rule)",
                ),
            ] {
                r.entry(status.into())
                    .or_insert_with(|| problem_response(why));
            }
        }
    }
}

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        idempotency_key(api);
        problem_content_type(api);
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of the REST API.
#[derive(OpenApi)]
#[openapi(
    info(title = "gazette REST API", description = "The REST mirror of gazette's GraphQL API. Errors are RFC 9457 problem+json. A 503 (UNAVAILABLE) means the database cannot serve right now: retry after Retry-After seconds; retry writes with the same Idempotency-Key, so that a write whose outcome was unknown is applied exactly once."),
    paths(
        crate::http::graphql::post, crate::http::graphql::get,
        crate::http::health::alive, crate::http::health::ready, crate::http::metrics::render,
        articles::list, articles::create, articles::get, articles::patch, articles::delete,
        articles::submit, articles::publish, articles::unpublish, articles::archive,
        articles::list_revisions, articles::restore, articles::redirect, ninjs::article,
        changes::list, changes::partner_items,
        comments::post, comments::get, comments::queue, comments::moderate_one,
        comments::moderate_many, comments::set_open, comments::export, comments::erase,
        partners::list, partners::create, partners::get, partners::patch, partners::revoke,
        partners::create_key, partners::revoke_key,
        webhooks::list, webhooks::create, webhooks::get, webhooks::patch, webhooks::delete,
        webhooks::rotate_secret, webhooks::deliveries, webhooks::redeliver,
        newsroom::list_sections, newsroom::create_section, newsroom::get_section, newsroom::patch_section,
        newsroom::list_authors, newsroom::create_author, newsroom::get_author, newsroom::patch_author,
        newsroom::get_tag, discovery::search, discovery::related_of, discovery::pin_related,
        crate::http::public::feeds::rss, crate::http::public::feeds::atom, crate::http::public::feeds::json,
        crate::http::public::oembed::oembed,
        crate::http::public::sitemaps::index, crate::http::public::sitemaps::news,
        crate::http::public::sitemaps::sections, crate::http::public::sitemaps::authors,
        crate::http::public::sitemaps::tags, crate::http::public::sitemaps::articles,
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// `openapi.yaml` as committed.
pub fn openapi_yaml() -> String {
    ApiDoc::openapi().to_yaml().unwrap_or_default()
}
