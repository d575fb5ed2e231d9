//! `/graphql`: POST for any operation (batches too), GET for cacheable reads, and GraphiQL
//! for a browser that opens the URL without a query. Mutations are never run over GET.
//!
//! Answers follow GraphQL-over-HTTP: the media type comes from `Accept` (see
//! [`crate::http::accept`]), and with it the status of a request that failed before it ran.
//! Answers with errors are never cacheable, by the response cache or anyone else.
//!
//! `UNAVAILABLE` (the database cannot serve) is a refusal of the request, not a GraphQL
//! error: the answer is `503` with `Retry-After`, under either media type, with the code in
//! `extensions`. A query (never a mutation) that lost its database connection is run again
//! first, as `crate::http::retry` does for GET.

use async_graphql::http::{GraphiQLSource, parse_query_string};
use async_graphql::{BatchRequest, ServerError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use std::sync::Arc;

use crate::domain::access::Caller;
use crate::domain::invalidation::Key;
use crate::error::{AppError, Code, Failure, RETRY_AFTER_SECS};
use crate::graphql::loaders;
use crate::graphql::prepare::{
    Transport, code_errors, is_mutation, is_request_error, mutation_fields,
};
use crate::graphql::surrogate_keys::{SurrogateKeys, canonical_order};
use crate::http::Verified;
use crate::http::accept::{self, Media};
use crate::http::cache_headers;
use crate::http::error::HttpError;
use crate::http::idempotency::IDEMPOTENCY_KEY;
use crate::http::{retry, routing};
use crate::response_cache::Cacheable;
use crate::state::AppState;

/// The caller the gate verified; a bad token is
/// refused, never taken as anonymous.
fn caller(verified: Option<&Verified>) -> Result<Caller, AppError> {
    verified
        .ok_or_else(|| AppError::internal("the gate did not verify this request"))?
        .caller()
}

/// `Vary` of every GraphQL answer: it differs by token and by the media type `Accept` picks.
const VARY: &str = "Authorization, Accept, Accept-Encoding";

/// A GraphQL answer of `bytes` in `media`. With errors it is `private, no-store`.
fn answer(media: Media, status: StatusCode, bytes: Vec<u8>, errors: bool) -> Response {
    let mut res = (status, bytes).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(media.content_type()),
    );
    h.insert(header::VARY, header::HeaderValue::from_static(VARY));
    if errors {
        h.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static(cache_headers::PRIVATE),
        );
    }
    res
}

/// One operation's answer as JSON: a request that failed before it ran has no `data` entry
/// (the GraphQL spec; GraphQL-over-HTTP reads its absence as "nothing was executed").
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Json<'a> {
    Executed(&'a async_graphql::Response),
    Refused { errors: &'a [ServerError] },
}

impl<'a> Json<'a> {
    fn of(resp: &'a async_graphql::Response) -> Self {
        if is_request_error(resp) {
            Self::Refused {
                errors: &resp.errors,
            }
        } else {
            Self::Executed(resp)
        }
    }
}

/// The database failures behind an answer's errors.
fn failures(resp: &async_graphql::Response) -> impl Iterator<Item = Failure> + '_ {
    resp.errors
        .iter()
        .filter_map(|e| e.source::<Failure>().copied())
}

/// Whether an answer failed because the database could not serve (`UNAVAILABLE`).
fn unavailable(resp: &async_graphql::Response) -> bool {
    resp.errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .is_some_and(|c| *c == async_graphql::Value::from(Code::Unavailable.as_str()))
    })
}

/// `503` with `Retry-After` (and the failure, for the retry of GET reads) when any of
/// `answers` is `UNAVAILABLE`, whatever the media type.
fn refuse_if_unavailable<'a>(
    mut res: Response,
    answers: impl IntoIterator<Item = &'a async_graphql::Response>,
) -> Response {
    let mut down = false;
    let mut failure = None;
    for r in answers {
        down |= unavailable(r);
        failure = failure.or_else(|| failures(r).next());
    }
    if down {
        *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        res.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(RETRY_AFTER_SECS),
        );
        if let Some(f) = failure {
            res.extensions_mut().insert(f);
        }
    }
    res
}

/// One operation's answer in `media`: a request error has the media type's status, an
/// executed operation `200` whatever its field errors, and `503` if the database could not
/// serve it.
fn single(media: Media, resp: &async_graphql::Response) -> Response {
    let status = if is_request_error(resp) {
        media.request_error_status()
    } else {
        StatusCode::OK
    };
    match serde_json::to_vec(&Json::of(resp)) {
        Ok(bytes) => refuse_if_unavailable(
            answer(media, status, bytes, !resp.errors.is_empty()),
            [resp],
        ),
        Err(e) => AppError::Internal(e.into()).into_response(),
    }
}

/// The 401 answer to a bad token, shaped as a GraphQL response. It stays 401 under
/// `application/json` too: the spec lets a server say a client may not make the request.
fn unauthorized(err: AppError, media: Media) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": err.to_string(), "extensions": { "code": err.code() } }]
    });
    let mut res = answer(
        media,
        StatusCode::UNAUTHORIZED,
        body.to_string().into_bytes(),
        true,
    );
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    res
}

/// The 406 answer to an `Accept` that allows no media type a GraphQL answer comes in.
fn not_acceptable() -> Response {
    HttpError::refused(
        Code::NotAcceptable,
        "GraphQL answers are application/graphql-response+json or application/json; Accept allows neither",
    )
    .into_response()
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

/// Reads a POST body: 415 and 413 as problem+json.
fn read_body(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Bytes, HttpError> {
    if !is_json(headers) {
        return Err(HttpError::refused(
            Code::UnsupportedMediaType,
            "send GraphQL requests as Content-Type: application/json",
        ));
    }
    body.map_err(|rej| match rej.status() {
        StatusCode::PAYLOAD_TOO_LARGE => HttpError::refused(
            Code::PayloadTooLarge,
            format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        ),
        status => HttpError::refused(
            Code::of_status(status.as_u16()),
            "the request body could not be read",
        ),
    })
}

/// Parses a POST body: 400 as problem+json.
fn parse_body(bytes: &[u8]) -> Result<BatchRequest, HttpError> {
    let malformed = |e: serde_json::Error| {
        HttpError::refused(
            Code::MalformedRequest,
            format!("malformed GraphQL request: {e}"),
        )
    };
    // A JSON array is a batch, an object one operation (serde would also read an empty
    // array as an operation with default fields).
    let req = if bytes.trim_ascii_start().starts_with(b"[") {
        BatchRequest::Batch(serde_json::from_slice(bytes).map_err(malformed)?)
    } else {
        BatchRequest::Single(serde_json::from_slice(bytes).map_err(malformed)?)
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
    // `query` may be left out only for a persisted query's hash; without either there is
    // nothing to run, and the request is not a GraphQL request at all.
    let ops = match &req {
        BatchRequest::Single(r) => std::slice::from_ref(r),
        BatchRequest::Batch(rs) => rs.as_slice(),
    };
    if ops
        .iter()
        .any(|r| r.query.is_empty() && !r.extensions.contains_key("persistedQuery"))
    {
        return Err(HttpError::refused(
            Code::MalformedRequest,
            "malformed GraphQL request: no `query` (nor a persisted query's hash)",
        ));
    }
    Ok(req)
}

/// GraphQL: one operation, or a batch of 1 to 10, as JSON (see `schema.graphql`).
#[utoipa::path(post, path = "/graphql", tag = "graphql",
    request_body(content = Object, description = "{query, variables, operationName} or an array of them", content_type = "application/json"),
    responses((status = 200, description = "A GraphQL response (errors carry extensions.code); under Accept: application/json also one that failed before execution", content((Object = "application/graphql-response+json"), (Object = "application/json"))),
              (status = 400, description = "Malformed JSON, no query, or a bad batch (problem); under application/graphql-response+json, a GraphQL request that failed before execution (parse, validation, variables, limits)", content((crate::http::rest::Problem = "application/problem+json"), (Object = "application/graphql-response+json"))),
              (status = 401, description = "A bad token", content((Object = "application/graphql-response+json"), (Object = "application/json"))),
              (status = 406, description = "Accept allows neither application/graphql-response+json nor application/json", body = crate::http::rest::Problem),
              (status = 409, description = "A request with this Idempotency-Key is still being processed", body = crate::http::rest::Problem),
              (status = 413, body = crate::http::rest::Problem), (status = 415, body = crate::http::rest::Problem),
              (status = 422, description = "This Idempotency-Key was used with a different request, or the keyed request makes more than one write", body = crate::http::rest::Problem),
              (status = 503, description = "The database cannot serve now: a GraphQL response whose errors say UNAVAILABLE in extensions.code, under either media type (or a problem while gazette starts or sheds load); Retry-After says when to retry", content((Object = "application/graphql-response+json"), (Object = "application/json"), (crate::http::rest::Problem = "application/problem+json")))),
    security((), ("bearer" = [])))]
pub async fn post(
    State(state): State<AppState>,
    client: Option<axum::Extension<crate::http::ClientKey>>,
    verified: Option<axum::Extension<Verified>>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let media = accept::negotiate(&headers);
    let caller = match caller(verified.as_ref().map(|e| &e.0)) {
        Ok(c) => c,
        Err(err) => return unauthorized(err, media.unwrap_or(Media::GraphqlResponse)),
    };
    let Some(media) = media else {
        return not_acceptable();
    };
    let req = match read_body(&headers, body).and_then(|b| Ok((parse_body(&b)?, b))) {
        Ok(r) => r,
        Err(err) => return err.into_response(),
    };
    let (req, bytes) = req;
    let mutates = match &req {
        BatchRequest::Single(r) => is_mutation(&r.query, r.operation_name.as_deref()),
        BatchRequest::Batch(rs) => rs
            .iter()
            .any(|r| is_mutation(&r.query, r.operation_name.as_deref())),
    };
    if mutates
        && headers.contains_key(&IDEMPOTENCY_KEY)
        && let Err(err) = one_write(&req)
    {
        return err.into_response();
    }
    if mutates
        && let Some(axum::Extension(c)) = &client
        && let Err(err) = state.limits.write(&c.0)
    {
        return HttpError::from(err).into_response();
    }
    // One anonymous query may be kept by the response cache: collect what it shows.
    let cacheable =
        matches!(caller, Caller::Anonymous) && !mutates && matches!(req, BatchRequest::Single(_));
    let batch = matches!(req, BatchRequest::Batch(_));
    let started = std::time::Instant::now();
    let mut keys = cacheable.then(|| Arc::new(SurrogateKeys::default()));
    // What posting a comment needs to know of the request (other mutations ignore it).
    let extras = mutates.then(|| Extras {
        client: state
            .clients
            .comment_client(peer.map(|p| p.0.0.ip()), &headers),
        reader_name: crate::graphql::ReaderName(
            state.auth.name_claim(
                headers
                    .get(axum::http::header::AUTHORIZATION)
                    .map(|v| v.as_bytes()),
            ),
        ),
    });
    let read = routing::anonymous_query(matches!(caller, Caller::Anonymous), mutates, &bytes);
    let mut answers = run(&state, &caller, req, keys.as_ref(), extras.as_ref(), read).await;
    // A query that lost its connection runs again on a fresh one (a mutation never does).
    let mut attempt = 1;
    while !mutates
        && attempt < retry::ATTEMPTS
        && answers
            .iter()
            .any(|(r, _)| failures(r).any(|f| f == Failure::Connection))
    {
        attempt += 1;
        metrics::counter!("gazette_read_retries_total").increment(1);
        tokio::time::sleep(retry::pause(attempt)).await;
        let Ok(req) = parse_body(&bytes) else { break };
        keys = cacheable.then(|| Arc::new(SurrogateKeys::default()));
        answers = run(&state, &caller, req, keys.as_ref(), None, read).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    for (r, operation) in &answers {
        crate::telemetry::graphql_operation(operation.as_deref(), seconds, r.errors.len());
    }
    if batch {
        // A batch is one answer of many operations: 200, each operation's own errors inside
        // (503 when the database could not serve one).
        let all: Vec<Json<'_>> = answers.iter().map(|(r, _)| Json::of(r)).collect();
        let errors = answers.iter().any(|(r, _)| !r.errors.is_empty());
        return match serde_json::to_vec(&all) {
            Ok(bytes) => refuse_if_unavailable(
                answer(media, StatusCode::OK, bytes, errors),
                answers.iter().map(|(r, _)| r),
            ),
            Err(e) => AppError::Internal(e.into()).into_response(),
        };
    }
    let Some((only, _)) = answers.first() else {
        return AppError::Internal(anyhow::anyhow!("a request without an operation"))
            .into_response();
    };
    let mut res = single(media, only);
    // Only an answer without errors, showing nothing private, is kept and replayed.
    if let Some(keys) = keys.filter(|k| only.errors.is_empty() && !k.private()) {
        res.extensions_mut().insert(cacheable_keys(&keys));
    }
    res
}

/// A request with an `Idempotency-Key` makes one write: one operation, selecting one
/// mutation field (each field is its own transaction, and the key is claimed by one).
fn one_write(req: &BatchRequest) -> Result<(), HttpError> {
    let refuse = |why: &str| {
        HttpError::refused(
            Code::BadUserInput,
            format!(
                "an Idempotency-Key covers one write, and {why}: send each write with its own key"
            ),
        )
    };
    let ops = match req {
        BatchRequest::Single(r) => std::slice::from_ref(r),
        BatchRequest::Batch(rs) if rs.len() > 1 => {
            return Err(refuse("this batch holds several operations"));
        }
        BatchRequest::Batch(rs) => rs.as_slice(),
    };
    if ops
        .iter()
        .any(|r| mutation_fields(&r.query, r.operation_name.as_deref()) > 1)
    {
        return Err(refuse("this mutation selects several fields"));
    }
    Ok(())
}

/// Runs each operation of `req`, prepared and with its own loaders as it would be alone,
/// one after another; returns each answer with its operation's name.
/// [`execute`], on a replica when `read` (an anonymous query, see `crate::http::routing`).
async fn run(
    state: &AppState,
    caller: &Caller,
    req: BatchRequest,
    keys: Option<&Arc<SurrogateKeys>>,
    extras: Option<&Extras>,
    read: bool,
) -> Vec<(async_graphql::Response, Option<String>)> {
    let work = execute(state, caller, req, keys, extras);
    if read {
        state.db.read(work, |a| lost_replica(a)).await
    } else {
        work.await
    }
}

/// Whether a query's replica lost its connection (see `crate::http::routing`).
fn lost_replica(answers: &[(async_graphql::Response, Option<String>)]) -> bool {
    answers
        .iter()
        .any(|(r, _)| failures(r).any(|f| routing::lost_replica(Some(&f))))
}

/// What a mutation's resolvers may need of the request beyond the caller.
struct Extras {
    client: crate::graphql::CommentClient,
    reader_name: crate::graphql::ReaderName,
}

async fn execute(
    state: &AppState,
    caller: &Caller,
    req: BatchRequest,
    keys: Option<&Arc<SurrogateKeys>>,
    extras: Option<&Extras>,
) -> Vec<(async_graphql::Response, Option<String>)> {
    let ops = match req {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(rs) => rs,
    };
    let mut answers = Vec::with_capacity(ops.len());
    for r in ops {
        let (mut answer, query, operation) =
            match state
                .prepare
                .request(r, Transport::Post, keys.map(AsRef::as_ref))
            {
                Ok(r) => {
                    let (query, operation) = (r.query.clone(), r.operation_name.clone());
                    let r = with_data(state, caller, r);
                    let r = match extras {
                        Some(e) => r.data(e.client.clone()).data(e.reader_name.clone()),
                        None => r,
                    };
                    let r = match keys {
                        Some(k) => r.data(k.clone()),
                        None => r,
                    };
                    (state.schema.execute(r).await, query, operation)
                }
                Err(e) => (
                    async_graphql::Response::from_errors(vec![e]),
                    String::new(),
                    None,
                ),
            };
        code_errors(&mut answer);
        canonical_order(&mut answer.data, &query, operation.as_deref());
        answers.push((answer, operation));
    }
    answers
}

/// GraphQL over GET for cacheable reads (GraphiQL for a browser without a query).
#[utoipa::path(get, path = "/graphql", tag = "graphql",
    params(("query" = Option<String>, Query), ("variables" = Option<String>, Query, description = "JSON object"),
           ("operationName" = Option<String>, Query), ("extensions" = Option<String>, Query, description = "JSON; persistedQuery for APQ")),
    responses((status = 200, description = "A GraphQL response (under Accept: application/json also one that failed before execution), or the GraphiQL page", content((Object = "application/graphql-response+json"), (Object = "application/json"), (String = "text/html"))),
              (status = 400, description = "Under application/graphql-response+json, a request that failed before execution (parse, validation, variables, limits)", content((Object = "application/graphql-response+json"))),
              (status = 304, description = "Not modified"),
              (status = 401, description = "A bad token", content((Object = "application/graphql-response+json"), (Object = "application/json"))),
              (status = 405, description = "A mutation sent over GET", body = crate::http::rest::Problem),
              (status = 406, description = "Accept allows neither application/graphql-response+json nor application/json", body = crate::http::rest::Problem),
              (status = 422, description = "No query given", body = crate::http::rest::Problem),
              (status = 503, description = "The database cannot serve now: a GraphQL response whose errors say UNAVAILABLE in extensions.code, under either media type (or a problem while gazette starts or sheds load); Retry-After says when to retry", content((Object = "application/graphql-response+json"), (Object = "application/json"), (crate::http::rest::Problem = "application/problem+json")))),
    security((), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    verified: Option<axum::Extension<Verified>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let media = accept::negotiate(&headers);
    let caller = match caller(verified.as_ref().map(|e| &e.0)) {
        Ok(c) => c,
        Err(err) => return unauthorized(err, media.unwrap_or(Media::GraphqlResponse)),
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
            return Html(
                GraphiQLSource::build()
                    .endpoint("/graphql")
                    .subscription_endpoint("/graphql/ws")
                    .finish(),
            )
            .into_response();
        }
        return AppError::bad_input("give the operation as `?query=`").into_response();
    }
    let Some(media) = media else {
        return not_acceptable();
    };
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
    code_errors(&mut resp);
    crate::telemetry::graphql_operation(
        operation.as_deref(),
        started.elapsed().as_secs_f64(),
        resp.errors.len(),
    );
    canonical_order(&mut resp.data, &query, operation.as_deref());
    if !resp.is_ok() {
        return single(media, &resp);
    }
    match serde_json::to_vec(&resp) {
        Ok(bytes) => {
            let mut cx = cache_headers::Caching::of(&state, &caller, &headers);
            if keys.private() {
                // A preview: only the holder of its token may see it.
                cx.public = cache_headers::PRIVATE;
            }
            let mut res = cache_headers::bytes_response(
                &cx,
                StatusCode::OK,
                bytes,
                media.content_type(),
                &keys.take(),
                None,
            );
            res.headers_mut()
                .insert(header::VARY, header::HeaderValue::from_static(VARY));
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
    // The connection this request reads (a replica for an anonymous query, see
    // `crate::http::routing`), over the schema's own (the primary).
    let db = state.db.current().clone();
    req.data(loaders::new(db.clone(), directory.clone()))
        .data(db)
        .data(directory)
        .data(state.webhooks.clone())
        .data(caller.clone())
        .data(state.comments.clone())
}

/// What the response cache needs to keep an answer: the keys it showed, and the listings
/// key when it listed, counted or missed.
fn cacheable_keys(keys: &SurrogateKeys) -> Cacheable {
    let mut all: Vec<Key> = keys.take().into_iter().collect();
    if keys.lists() {
        all.push(Key::Lists);
    }
    Cacheable(all)
}
