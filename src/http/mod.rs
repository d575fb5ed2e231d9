//! The HTTP surface: the router, its layers (request ids, tracing), the GraphQL endpoint
//! and the health probes. REST handlers will sit beside them, over the same `domain/`.

mod graphql;
mod health;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::routing::get;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::error::AppError;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole API as one router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/healthz", get(health::alive))
        .route("/readyz", get(health::ready))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(graphql::MAX_BODY_BYTES))
        .with_state(state)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            // The path only: query strings may carry persisted queries or search text.
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

async fn not_found() -> AppError {
    AppError::not_found("no such route")
}
