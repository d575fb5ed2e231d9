//! The HTTP surface: the router and its layers (request ids, tracing, compression, CORS,
//! header/body/time/concurrency limits, rate limits, metrics, problem+json for every
//! refusal), the GraphQL endpoint and the media type its answers take (`accept`), the REST
//! mirror (`rest/`), the public formats (`public/`: feeds, sitemaps, oEmbed), caching
//! headers (`cache`), the response cache (`response_cache`) and probes, the
//! `Idempotency-Key` header of writes (`idempotency`), the retry of reads that lost their
//! database connection (`retry`), and GraphQL subscriptions over WebSocket (`ws`).

pub(crate) mod accept;
pub(crate) mod cache_headers;
pub(crate) mod cache_layer;
pub mod error;
pub(crate) mod graphql;
pub(crate) mod health;
pub mod idempotency;
pub mod limits;
pub mod metrics;
pub mod public;
pub mod rest;
pub mod retry;
pub mod routing;
pub mod ws;

use axum::Router;
use std::sync::atomic::Ordering;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, header};
use axum::middleware::Next;
use axum::response::IntoResponse as _;
use axum::response::Response;
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::domain::access::Caller;
use crate::error::{AppError, Code};
use crate::state::AppState;
use error::{HttpError, problem};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// CORS for browsers on other origins: any origin (no credentials) by default, or the
/// configured list (then with credentials).
fn cors(origins: Option<&[String]>) -> CorsLayer {
    let base = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            idempotency::IDEMPOTENCY_KEY,
            REQUEST_ID,
        ])
        .expose_headers([
            header::ETAG,
            header::LINK,
            header::LOCATION,
            header::RETRY_AFTER,
            idempotency::IDEMPOTENCY_REPLAYED,
            REQUEST_ID,
        ])
        .max_age(std::time::Duration::from_secs(600));
    match origins {
        None => base.allow_origin(AllowOrigin::any()),
        Some(list) => base
            .allow_origin(AllowOrigin::list(
                list.iter().filter_map(|o| HeaderValue::from_str(o).ok()),
            ))
            .allow_credentials(true),
    }
}

/// Request ids of this process: a random 64-bit prefix and a counter (`3f9c…-1a`), unique
/// across processes without asking the OS for randomness per request, as a UUID v4 did.
#[derive(Clone)]
struct NextRequestId {
    prefix: u64,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl NextRequestId {
    fn new() -> Self {
        let mut bytes = [0u8; 8];
        // Without randomness ids are still unique within the process.
        getrandom::fill(&mut bytes).ok();
        Self {
            prefix: u64::from_le_bytes(bytes),
            next: std::sync::Arc::default(),
        }
    }
}

impl MakeRequestId for NextRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{:016x}-{n:x}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// The request's credentials, verified by the gate: the one place a bearer token is read.
/// Handlers take the caller from here ([`Verified::caller`]); a bad token is kept as its
/// refusal, so every handler answers it `401`, never as anonymous.
#[derive(Clone, Debug)]
pub struct Verified(Result<Caller, String>);

impl Verified {
    /// Verifies the request's `Authorization` header (absent: anonymous).
    fn of(state: &AppState, headers: &HeaderMap) -> Self {
        let header = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
        Self(state.auth.caller(header).map_err(|e| e.to_string()))
    }

    /// The verified caller; a bad token is `UNAUTHENTICATED`.
    pub fn caller(&self) -> Result<Caller, AppError> {
        self.0.clone().map_err(AppError::Unauthenticated)
    }

    /// The caller of a request the gate saw (every route but the probes).
    pub fn of_request(extensions: &axum::http::Extensions) -> Result<Caller, AppError> {
        extensions
            .get::<Self>()
            .ok_or_else(|| AppError::internal("the gate did not verify this request"))?
            .caller()
    }
}

/// Largest total size of a request's headers.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// The rate-limit identity of the request's client (see [`limits`]).
#[derive(Clone, Debug)]
pub struct ClientKey(pub String);

/// Routes that answer orchestrators and scrapers: no token, no rate limit, served while
/// starting.
fn is_probe(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Refuses requests whose headers are larger than [`MAX_HEADER_BYTES`].
fn check_header_size(req: &Request<axum::body::Body>) -> Result<(), HttpError> {
    let bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if bytes > MAX_HEADER_BYTES {
        return Err(HttpError::refused(
            Code::HeadersTooLarge,
            format!("request headers are larger than {MAX_HEADER_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Verifies the token once, charges the client's rate limits (every request a read; REST
/// writes a write too — GraphQL mutations are charged by the GraphQL handler, which sees
/// the operation), and leaves the verified caller and the client's key on the request. A
/// bad token is counted against the client's address; the handler answers it 401.
async fn admit(state: &AppState, req: &mut Request<axum::body::Body>) -> Result<(), HttpError> {
    let mut verified = Verified::of(state, req.headers());
    // A partner token is checked against the partner's and the key's records on every
    // request, so a revocation refuses the next one; the grant comes from the same rows.
    if let Ok(Caller::Partner { slug, key, grant }) = &mut verified.0 {
        match crate::domain::partners::check(&state.db, slug, key).await {
            Ok(g) => {
                ::metrics::counter!("gazette_partner_requests_total", "partner" => slug.clone())
                    .increment(1);
                if let Some(n) = g.rate_limit_per_minute {
                    state
                        .limits
                        .partner(g.partner_id, u32::try_from(n).unwrap_or(1))?;
                }
                *grant = Some(g);
            }
            Err(AppError::Unauthenticated(why)) => verified.0 = Err(why),
            Err(e) => return Err(e.into()),
        }
    }
    // A bad token counts against the client's address, without copying the caller.
    let client = state
        .clients
        .of(req, verified.0.as_ref().unwrap_or(&Caller::Anonymous));
    state.limits.read(&client)?;
    let writes = req.uri().path().starts_with("/api/")
        && !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if writes {
        state.limits.write(&client)?;
    }
    req.extensions_mut().insert(ClientKey(client));
    req.extensions_mut().insert(verified);
    Ok(())
}

/// Every request passes here first: headers within their limit; 503 while the service is
/// starting (database not yet migrated or reachable); the token verified and the rate
/// limits charged ([`admit`]); 503 with `Retry-After` beyond the concurrency limit (shed at
/// once, not queued); and 503 for a request that outlives the time limit instead of hanging.
async fn gate(
    State(state): State<AppState>,
    mut req: Request<axum::body::Body>,
    next: Next,
) -> Response {
    if let Err(e) = check_header_size(&req) {
        return e.into_response();
    }
    let probe = is_probe(req.uri().path());
    if !probe && !state.ready.load(Ordering::SeqCst) {
        return AppError::unavailable("gazette is starting: the database is not reachable yet")
            .into_response();
    }
    if !probe && let Err(e) = admit(&state, &mut req).await {
        return e.into_response();
    }
    let Ok(_permit) = state.inflight.clone().try_acquire_owned() else {
        return AppError::unavailable("gazette is at its concurrency limit; retry shortly")
            .into_response();
    };
    let limit = state.http.request_timeout;
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    match crate::telemetry::REQUEST_ID
        .scope(id, tokio::time::timeout(limit, next.run(req)))
        .await
    {
        Ok(res) => res,
        Err(_) => AppError::unavailable(format!(
            "the request took longer than {} ms",
            limit.as_millis()
        ))
        .into_response(),
    }
}

/// The whole API as one router.
pub fn router(state: AppState) -> Router {
    let cors = cors(state.http.cors_origins.as_deref());
    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(ws::upgrade))
        .route("/healthz", get(health::alive))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(metrics::render))
        .nest("/api/v1", rest::routes())
        .merge(public::routes())
        .fallback(not_found)
        // Anonymous reads go to a replica; inside the retry, so a retry chooses again, and
        // inside the cache, so the choice follows the cache's generation (`crate::replicas`).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routing::reads,
        ))
        // Reads that lost their connection run again; inside the cache, so hits skip it.
        .layer(axum::middleware::from_fn(retry::reads))
        // Inside the body limit (which it reads POST bodies under) and the gate (so rate
        // limits and load shedding apply to hits too).
        .layer(axum::middleware::from_fn_with_state(
            state.response_cache.clone(),
            cache_layer::layer,
        ))
        .layer(DefaultBodyLimit::max(graphql::MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(problem_json))
        // Inside the gate, which verified the caller the key belongs to; outside
        // `problem_json`, so a stored response is the one the client saw.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), gate))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .with_state(state)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            // The path only: query strings may carry persisted queries or search text.
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, NextRequestId::new()))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(CompressionLayer::new().gzip(true).br(true))
        .layer(cors)
}

/// Turns the framework's own plain-text refusals (405 with `Allow`, a path that does not
/// parse, a body over the limit) into problem+json, so every 4xx and 5xx has one shape.
async fn problem_json(res: Response) -> Response {
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let allow = res.headers().get(header::ALLOW).cloned();
    let detail = match axum::body::to_bytes(res.into_body(), 4096).await {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).into_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let mut out = match Code::of_status(status.as_u16()) {
        Code::MethodNotAllowed => problem(
            Code::MethodNotAllowed,
            "this route does not take that method; see Allow",
        ),
        Code::Internal => {
            tracing::error!(status = status.as_u16(), detail, "server error");
            problem(Code::Internal, "the server could not answer")
        }
        code => problem(code, &detail),
    };
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out
}

async fn not_found() -> AppError {
    AppError::not_found("no such route")
}
