//! The HTTP side of GraphQL and the service routes: GET queries, GraphiQL, mutations refused
//! over GET, batches, depth limits, health probes, request ids and unknown routes.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use crate::helpers::{TestApp, newsroom};
use crate::storage_tests;

storage_tests!(
    queries_work_over_get_as_over_post,
    a_batch_of_operations_answers_each,
    health_and_readiness_answer,
);

async fn queries_work_over_get_as_over_post(app: &TestApp) {
    app.import(newsroom()).await;
    let (status, headers, body) = app.get("/graphql?query=%7Bsections%7Bpath%7D%7D").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .starts_with("application/graphql-response+json")
            || headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap_or("")
                .starts_with("application/json")
    );
    assert_eq!(
        body,
        json!({ "data": { "sections": [{ "path": "world" }, { "path": "business" }] } })
    );
    let post = app.query("{ sections { path } }", json!({})).await;
    assert_eq!(post, body["data"]);
}

async fn a_batch_of_operations_answers_each(app: &TestApp) {
    app.import(newsroom()).await;
    let batch = json!([
        { "query": "{ article(slug: \"summit-ends\") { slug } }" },
        { "query": "{ author(slug: \"lena-berg\") { name } }" }
    ]);
    let req = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(batch.to_string()))
        .expect("request");
    let (status, _, body) = app.send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([{ "data": { "article": { "slug": "summit-ends" } } }, { "data": { "author": { "name": "Lena Berg" } } }])
    );
}

async fn health_and_readiness_answer(app: &TestApp) {
    let (status, _, body) = app.get("/healthz").await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "status": "ok" })));
    let (status, _, body) = app.get("/readyz").await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({ "status": "ready" }))
    );
}

#[tokio::test]
async fn a_browser_get_without_a_query_gets_graphiql() {
    let app = TestApp::sqlite().await;
    let req = Request::get("/graphql")
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .body(Body::empty())
        .expect("req");
    let (status, headers, body) = app.send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
    assert!(
        body.as_str().is_some_and(|b| b.contains("graphiql")),
        "GraphiQL page"
    );
    let (status, headers, body) = app.get("/graphql").await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a non-browser GET needs a query"
    );
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["code"], "BAD_USER_INPUT");
    app.cleanup().await;
}

#[tokio::test]
async fn a_mutation_over_get_is_refused() {
    let app = TestApp::sqlite().await;
    for uri in [
        "/graphql?query=mutation%7Bx%7D",
        "/graphql?query=query%20A%7B__typename%7D%20mutation%20B%7Bx%7D&operationName=B",
    ] {
        let (status, headers, body) = app.get(uri).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{uri}: {body}");
        assert_eq!(headers[header::ALLOW], "POST");
        assert_eq!(body["code"], "BAD_USER_INPUT");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn queries_deeper_than_the_limit_are_refused_before_running() {
    let app = TestApp::sqlite().await;
    let deep = format!(
        "{{ sections {} path {} }}",
        "{ children ".repeat(14),
        "}".repeat(14)
    );
    let (status, body) = app.graphql(&deep, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let msg = body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("nested too deep") || msg.contains("depth"),
        "{body}"
    );
    app.take_statement_count();
    app.graphql(&deep, json!({})).await;
    assert_eq!(app.take_statement_count(), 0, "refused before any SQL ran");
    app.cleanup().await;
}

#[tokio::test]
async fn unknown_routes_are_problem_json_404_and_requests_carry_an_id() {
    let app = TestApp::sqlite().await;
    let (status, headers, body) = app.get("/no/such/route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["code"], "NOT_FOUND");
    assert_eq!(body["status"], 404);
    assert!(
        headers.get("x-request-id").is_some_and(|v| !v.is_empty()),
        "a request id is generated"
    );

    let req = Request::get("/healthz")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .expect("req");
    let (_, headers, _) = app.send(req).await;
    assert_eq!(
        headers["x-request-id"], "abc-123",
        "a caller's request id is echoed"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn malformed_graphql_is_an_error_not_a_crash() {
    let app = TestApp::sqlite().await;
    for bad in [
        "{ articles { ",
        "{ nope }",
        "query($x: Int) { articles(first: $x) { totalCount } }",
    ] {
        let (status, body) = app.graphql(bad, json!({ "x": "not an int" })).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{bad}: {status}"
        );
        assert!(body["errors"][0]["message"].is_string(), "{bad}: {body}");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn graphql_posts_must_be_json_bounded_and_small_batches() {
    let app = TestApp::sqlite().await;
    let editor = crate::helpers::token("ed", "editor");
    let mutation =
        json!({ "query": "mutation { createSection(input: { name: \"Sport\" }) { path } }" })
            .to_string();
    let post = |ct: &str, body: String| {
        Request::post("/graphql")
            .header(header::CONTENT_TYPE, ct)
            .header(header::AUTHORIZATION, format!("Bearer {editor}"))
            .body(Body::from(body))
            .expect("request")
    };
    let cases: Vec<(&str, Request<Body>, StatusCode)> = vec![
        (
            "text/plain (a cross-site form)",
            post("text/plain", mutation.clone()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "urlencoded form",
            post(
                "application/x-www-form-urlencoded",
                format!("query={mutation}"),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "no content type",
            Request::post("/graphql")
                .body(Body::from(mutation.clone()))
                .expect("req"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "malformed JSON",
            post("application/json", "{\"query\": ".into()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "not a request",
            post("application/json", "[1, 2]".into()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "empty batch",
            post("application/json", "[]".into()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "batch of 11",
            post(
                "application/json",
                json!(vec![json!({ "query": "{ __typename }" }); 11]).to_string(),
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            "2 MiB body",
            post(
                "application/json",
                format!(
                    "{{\"query\": \"{{ __typename }}\", \"x\": \"{}\"}}",
                    "a".repeat(2 << 20)
                ),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (what, req, want) in cases {
        let (status, headers, body) = app.send(req).await;
        assert_eq!(status, want, "{what}: {body}");
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/problem+json",
            "{what}"
        );
        assert_eq!(body["status"], want.as_u16(), "{what}");
        assert_eq!(body["code"], "BAD_USER_INPUT", "{what}");
    }
    assert_eq!(app.count_rows("sections").await, 0, "no mutation ran");
    // JSON with a charset parameter is fine.
    let (status, _, body) = app
        .send(post("application/json; charset=utf-8", mutation))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.count_rows("sections").await, 1);
    app.cleanup().await;
}
