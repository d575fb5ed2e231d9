//! `/graphql`: POST for any operation (batches too), GET for cacheable reads, and GraphiQL
//! for a browser that opens the URL without a query. Mutations are never run over GET.

use async_graphql::BatchRequest;
use async_graphql::http::{GraphiQLSource, parse_query_string};
use async_graphql::parser::types::OperationType;
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::domain::access::Caller;
use crate::error::AppError;
use crate::graphql::loaders;
use crate::state::AppState;

/// The verified caller; a bad token is refused, never taken as anonymous.
fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, AppError> {
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

/// POST /graphql: one operation or a batch.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    req: GraphQLBatchRequest,
) -> Response {
    let caller = match caller(&state, &headers) {
        Ok(c) => c,
        Err(err) => return unauthorized(err),
    };
    // Each operation of a batch gets its own loaders, as it would alone.
    let with_loaders =
        |r: async_graphql::Request| r.data(loaders::new(state.db.clone())).data(caller.clone());
    let req = match req.into_inner() {
        BatchRequest::Single(r) => BatchRequest::Single(with_loaders(r)),
        BatchRequest::Batch(rs) => BatchRequest::Batch(rs.into_iter().map(with_loaders).collect()),
    };
    GraphQLResponse::from(state.schema.execute_batch(req).await).into_response()
}

/// GET /graphql: GraphiQL for browsers, else the operation in the query string.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let caller = match caller(&state, &headers) {
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
    let req = req.data(loaders::new(state.db.clone())).data(caller);
    GraphQLResponse::from(state.schema.execute(req).await).into_response()
}

/// Whether the operation that would run is a mutation or subscription. Unparseable text is
/// left for the executor, which answers with the parse error.
fn is_mutation(query: &str, operation: Option<&str>) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let not_query = |t: OperationType| t != OperationType::Query;
    match operation {
        Some(name) => doc
            .operations
            .iter()
            .any(|(n, op)| n.is_some_and(|n| n.as_str() == name) && not_query(op.node.ty)),
        None => doc.operations.iter().any(|(_, op)| not_query(op.node.ty)),
    }
}

#[cfg(test)]
mod tests {
    use super::is_mutation;

    #[test]
    fn is_mutation_finds_the_operation_that_would_run() {
        assert!(is_mutation("mutation { x }", None));
        assert!(!is_mutation("{ x }", None));
        assert!(!is_mutation("query A { x } mutation B { y }", Some("A")));
        assert!(is_mutation("query A { x } mutation B { y }", Some("B")));
        assert!(is_mutation("subscription { x }", None));
        assert!(!is_mutation("not graphql {", None));
    }
}
