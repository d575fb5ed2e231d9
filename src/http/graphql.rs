//! `/graphql`: POST for any operation (batches too), GET for cacheable reads, and GraphiQL
//! for a browser that opens the URL without a query. Mutations are never run over GET.

use async_graphql::BatchRequest;
use async_graphql::http::{GraphiQLSource, parse_query_string};
use async_graphql_axum::GraphQLResponse;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use std::sync::Arc;

use crate::domain::access::Caller;
use crate::domain::invalidation::Key;
use crate::error::{AppError, Code};
use crate::http::error::HttpError;
use crate::graphql::http_cache::{SurrogateKeys, canonical_order};
use crate::graphql::loaders;
use crate::graphql::prepare::{Transport, is_mutation};
use crate::http::Verified;
use crate::http::cache;
use crate::response_cache::Cacheable;
use crate::state::AppState;

/// The verified caller (as the gate verified it, else verified here); a bad token is
/// refused, never taken as anonymous.
fn caller(
    state: &AppState,
    verified: Option<&Verified>,
    headers: &HeaderMap,
) -> Result<Caller, AppError> {
    if let Some(Verified(c)) = verified {
        return Ok(c.clone());
    }
    state
        .auth
        .caller(headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()))
}

/// The 401 answer to a bad token, shaped as a GraphQL response.
fn unauthorized(err: AppError) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": err.to_string(), "extensions": { "code": err.code() } }]
    });
    let mut res = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    res
}

/// Largest POST body read, in bytes (the router's body limit enforces it while reading).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most operations in one batched POST.
pub const MAX_BATCH: usize = 10;

/// Whether the request says its body is JSON. Anything else (`text/plain`, forms) is what a
/// cross-site form could send, so it is refused before the body is read.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| m == "application/json" || m == "application/graphql-response+json")
}

/// Reads and parses a POST body: 415, 413 and 400 as problem+json.
fn parse_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<BatchRequest, HttpError> {
    if !is_json(headers) {
        return Err(HttpError::refused(
            Code::UnsupportedMediaType,
            "send GraphQL requests as Content-Type: application/json",
        ));
    }
    let bytes = body.map_err(|rej| match rej.status() {
        StatusCode::PAYLOAD_TOO_LARGE => HttpError::refused(
            Code::PayloadTooLarge,
            format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        ),
        status => HttpError::refused(
            Code::of_status(status.as_u16()),
            "the request body could not be read",
        ),
    })?;
    let malformed = |e: serde_json::Error| {
        HttpError::refused(
            Code::MalformedRequest,
            format!("malformed GraphQL request: {e}"),
        )
    };
    // A JSON array is a batch, an object one operation (serde would also read an empty
    // array as an operation with default fields).
    let req = if bytes.trim_ascii_start().starts_with(b"[") {
        BatchRequest::Batch(serde_json::from_slice(&bytes).map_err(malformed)?)
    } else {
        BatchRequest::Single(serde_json::from_slice(&bytes).map_err(malformed)?)
    };
    if let BatchRequest::Batch(ops) = &req
        && (ops.is_empty() || ops.len() > MAX_BATCH)
    {
        return Err(HttpError::refused(
            Code::MalformedRequest,
            format!(
                "a batch holds 1 to {MAX_BATCH} operations, not {}",
                ops.len()
            ),
        ));
    }
    Ok(req)
}

/// GraphQL: one operation, or a batch of 1 to 10, as JSON (see `schema.graphql`).
#[utoipa::path(post, path = "/graphql", tag = "graphql",
    request_body(content = Object, description = "{query, variables, operationName} or an array of them", content_type = "application/json"),
    responses((status = 200, description = "A GraphQL response (errors carry extensions.code)", content((Object = "application/graphql-response+json"))),
              (status = 400, description = "Malformed JSON or batch (problem), or a GraphQL request that failed before execution", content((crate::http::rest::Problem = "application/problem+json"), (Object = "application/graphql-response+json"))), (status = 401, description = "A bad token", body = Object),
              (status = 413, body = crate::http::rest::Problem), (status = 415, body = crate::http::rest::Problem)),
    security((), ("bearer" = [])))]
pub async fn post(
    State(state): State<AppState>,
    client: Option<axum::Extension<crate::http::ClientKey>>,
    verified: Option<axum::Extension<Verified>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let caller = match caller(&state, verified.as_ref().map(|e| &e.0), &headers) {
        Ok(c) => c,
        Err(err) => return unauthorized(err),
    };
    let req = match parse_body(&headers, body) {
        Ok(r) => r,
        Err(err) => return err.into_response(),
    };
    let mutates = match &req {
        BatchRequest::Single(r) => is_mutation(&r.query, r.operation_name.as_deref()),
        BatchRequest::Batch(rs) => rs
            .iter()
            .any(|r| is_mutation(&r.query, r.operation_name.as_deref())),
    };
    if mutates
        && let Some(axum::Extension(c)) = &client
        && let Err(err) = state.limits.write(&c.0)
    {
        return err.into_response();
    }
    // One anonymous query may be kept by the response cache: collect what it shows.
    let keys =
        (matches!(caller, Caller::Anonymous) && !mutates && matches!(req, BatchRequest::Single(_)))
            .then(|| Arc::new(SurrogateKeys::default()));
    let batch = matches!(req, BatchRequest::Batch(_));
    let ops = match req {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(rs) => rs,
    };
    // Each operation of a batch is prepared and gets its own loaders, as it would alone,
    // and they run one after another.
    let mut texts: Vec<(String, Option<String>)> = Vec::with_capacity(ops.len());
    let mut answers = Vec::with_capacity(ops.len());
    let started = std::time::Instant::now();
    for r in ops {
        let answer = match state.prepare.request(r, Transport::Post, keys.as_deref()) {
            Ok(r) => {
                texts.push((r.query.clone(), r.operation_name.clone()));
                let r = with_data(&state, &caller, r);
                let r = match &keys {
                    Some(k) => r.data(k.clone()),
                    None => r,
                };
                state.schema.execute(r).await
            }
            Err(e) => {
                texts.push((String::new(), None));
                async_graphql::Response::from_errors(vec![e])
            }
        };
        answers.push(answer);
    }
    let mut resp = match answers.pop() {
        Some(only) if !batch => async_graphql::BatchResponse::Single(only),
        last => {
            answers.extend(last);
            async_graphql::BatchResponse::Batch(answers)
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    match &resp {
        async_graphql::BatchResponse::Single(r) => {
            crate::telemetry::graphql_operation(
                texts.first().and_then(|t| t.1.as_deref()),
                seconds,
                r.errors.len(),
            );
        }
        async_graphql::BatchResponse::Batch(rs) => {
            for (r, t) in rs.iter().zip(&texts) {
                crate::telemetry::graphql_operation(t.1.as_deref(), seconds, r.errors.len());
            }
        }
    }
    match &mut resp {
        async_graphql::BatchResponse::Single(r) => {
            if let Some((q, op)) = texts.first() {
                canonical_order(&mut r.data, q, op.as_deref());
            }
            let status = status_of(r);
            if status != StatusCode::OK {
                let mut res = GraphQLResponse::from(resp).into_response();
                *res.status_mut() = status;
                return res;
            }
            if let Some(keys) = keys.filter(|k| r.errors.is_empty() && !k.private()) {
                let mut res = GraphQLResponse::from(resp).into_response();
                res.extensions_mut().insert(cacheable(&keys));
                return res;
            }
        }
        async_graphql::BatchResponse::Batch(rs) => {
            for (r, (q, op)) in rs.iter_mut().zip(&texts) {
                canonical_order(&mut r.data, q, op.as_deref());
            }
        }
    }
    GraphQLResponse::from(resp).into_response()
}

/// GraphQL over GET for cacheable reads (GraphiQL for a browser without a query).
#[utoipa::path(get, path = "/graphql", tag = "graphql",
    params(("query" = Option<String>, Query), ("variables" = Option<String>, Query, description = "JSON object"),
           ("operationName" = Option<String>, Query), ("extensions" = Option<String>, Query, description = "JSON; persistedQuery for APQ")),
    responses((status = 200, description = "A GraphQL response, or the GraphiQL page", content((Object = "application/graphql-response+json"), (String = "text/html"))),
              (status = 400, description = "A request that failed before execution (parse, validation, limits)", content((Object = "application/graphql-response+json"))),
              (status = 304, description = "Not modified"), (status = 401, description = "A bad token", body = Object),
              (status = 405, description = "A mutation sent over GET", body = crate::http::rest::Problem),
              (status = 422, description = "No query given", body = crate::http::rest::Problem)),
    security((), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    verified: Option<axum::Extension<Verified>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let caller = match caller(&state, verified.as_ref().map(|e| &e.0), &headers) {
        Ok(c) => c,
        Err(err) => return unauthorized(err),
    };
    let raw = raw.unwrap_or_default();
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !raw
        .split('&')
        .any(|kv| kv.starts_with("query=") || kv.starts_with("extensions="))
    {
        if wants_html {
            return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
        }
        return AppError::bad_input("give the operation as `?query=`").into_response();
    }
    let req = match parse_query_string(&raw) {
        Ok(req) => req,
        Err(err) => {
            return AppError::bad_input(format!("bad GraphQL GET request: {err}")).into_response();
        }
    };
    if is_mutation(&req.query, req.operation_name.as_deref()) {
        let mut res = AppError::bad_input("mutations must be sent with POST").into_response();
        *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        res.headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return res;
    }
    let keys = Arc::new(SurrogateKeys::default());
    let started = std::time::Instant::now();
    let (mut resp, query, operation) = match state.prepare.request(req, Transport::Get, Some(&keys))
    {
        Ok(req) => {
            let (query, operation) = (req.query.clone(), req.operation_name.clone());
            let req = with_data(&state, &caller, req).data(keys.clone());
            (state.schema.execute(req).await, query, operation)
        }
        Err(e) => (
            async_graphql::Response::from_errors(vec![e]),
            String::new(),
            None,
        ),
    };
    crate::telemetry::graphql_operation(
        operation.as_deref(),
        started.elapsed().as_secs_f64(),
        resp.errors.len(),
    );
    canonical_order(&mut resp.data, &query, operation.as_deref());
    if !resp.is_ok() {
        let status = status_of(&resp);
        let mut res = GraphQLResponse::from(resp).into_response();
        *res.status_mut() = status;
        res.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static(cache::PRIVATE),
        );
        return res;
    }
    match serde_json::to_vec(&resp) {
        Ok(bytes) => {
            let mut cx = cache::Caching::of(&state, &caller, &headers);
            if keys.private() {
                // A preview: only the holder of its token may see it.
                cx.public = cache::PRIVATE;
            }
            let mut res = cache::bytes_response(
                &cx,
                StatusCode::OK,
                bytes,
                "application/graphql-response+json",
                &keys.take(),
                None,
            );
            if keys.lists()
                && let Some(c) = res.extensions_mut().get_mut::<Cacheable>()
            {
                c.0.push(Key::Lists);
            }
            res
        }
        Err(e) => AppError::Internal(e.into()).into_response(),
    }
}

/// The request's handles for resolvers: fresh loaders, the directory, the caller.
fn with_data(
    state: &AppState,
    caller: &Caller,
    req: async_graphql::Request,
) -> async_graphql::Request {
    let directory = state.response_cache.directory().clone();
    req.data(loaders::new(state.db.clone(), directory.clone()))
        .data(directory)
        .data(caller.clone())
}

/// What the response cache needs to keep an answer: the keys it showed, and the listings
/// key when it listed, counted or missed.
fn cacheable(keys: &SurrogateKeys) -> Cacheable {
    let mut all: Vec<Key> = keys.take().into_iter().collect();
    if keys.lists() {
        all.push(Key::Lists);
    }
    Cacheable(all)
}

/// GraphQL-over-HTTP: a request that failed before execution (parse, validation, limits,
/// an unknown persisted query) is a 400; errors raised while executing stay 200.
fn status_of(resp: &async_graphql::Response) -> StatusCode {
    let before_execution = resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty());
    if before_execution {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}
