//! The HTTP side of GraphQL and the service routes: GET queries, GraphiQL, mutations refused
//! over GET, batches, depth limits, the media type `Accept` picks and the status and
//! `extensions.code` of request errors under it, health probes, request ids and unknown
//! routes.

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
        "{ parent ".repeat(14),
        "}".repeat(14)
    );
    let (status, body) = app.graphql(&deep, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "refused before execution");
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
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{bad}: refused before execution"
        );
        assert!(body["errors"][0]["message"].is_string(), "{bad}: {body}");
        assert!(body["data"].is_null(), "{bad}: nothing ran: {body}");
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

storage_tests!(
    graphql_gets_are_cacheable_with_etags_and_surrogate_keys,
    persisted_queries_travel_as_a_hash_over_get_and_never_mutate,
);

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn graphql_gets_are_cacheable_with_etags_and_surrogate_keys(app: &TestApp) {
    app.import(newsroom()).await;
    let uri = format!(
        "/graphql?query={}",
        enc(
            "{ article(slug: \"border-reopens\") { id headline section { id } authors { id } tags { id } } articles(first: 2) { edges { node { slug } } } }"
        )
    );
    let (status, headers, body) = app.get(&uri).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let etag = headers[header::ETAG].to_str().expect("etag").to_owned();
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=60, stale-while-revalidate=300"
    );
    assert_eq!(
        headers[header::VARY],
        "Authorization, Accept, Accept-Encoding",
        "the media type follows Accept"
    );
    let keys: Vec<&str> = headers["surrogate-key"]
        .to_str()
        .expect("keys")
        .split(' ')
        .collect();
    let a = &body["data"]["article"];
    for want in [
        format!("a{}", a["id"].as_str().unwrap_or("")),
        format!("s{}", a["section"]["id"].as_str().unwrap_or("")),
        format!("u{}", a["authors"][0]["id"].as_str().unwrap_or("")),
        format!("t{}", a["tags"][0]["id"].as_str().unwrap_or("")),
    ] {
        assert!(keys.contains(&want.as_str()), "{want} in {keys:?}");
    }
    assert!(
        keys.len() >= 6,
        "the listed articles are keys too: {keys:?}"
    );

    let revalidate = Request::get(&uri)
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .expect("req");
    let (status, _, body) = app.send(revalidate).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(body, serde_json::Value::String(String::new()));

    let with_token = Request::get(&uri)
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", crate::helpers::token("ed", "editor")),
        )
        .body(Body::empty())
        .expect("req");
    let (_, headers, _) = app.send(with_token).await;
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");

    // An edit changes the answer, so the ETag.
    let (id, v) = app.id_version("border-reopens").await;
    app.ok_as(
        &crate::helpers::token("ed", "editor"),
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { headline: \"Border reopens fully\" }) { version } }",
        json!({ "id": id, "v": v }),
    )
    .await;
    let stale = Request::get(&uri)
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .expect("req");
    let (status, headers, body) = app.send(stale).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(headers[header::ETAG].to_str().ok(), Some(etag.as_str()));
    assert_eq!(body["data"]["article"]["headline"], "Border reopens fully");

    // Answers with errors are not cached.
    let (status, headers, _) = app
        .get(&format!(
            "/graphql?query={}",
            enc("{ articles(first: 500) { totalCount } }")
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");
}

async fn persisted_queries_travel_as_a_hash_over_get_and_never_mutate(app: &TestApp) {
    use sha2::Digest as _;
    app.import(newsroom()).await;
    let hash = |q: &str| {
        sha2::Sha256::digest(q.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let query = "{ article(slug: \"summit-ends\") { headline } }";
    let ext =
        |h: &str| enc(&json!({ "persistedQuery": { "version": 1, "sha256Hash": h } }).to_string());

    let (status, _, body) = app
        .get(&format!("/graphql?extensions={}", ext(&hash(query))))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["errors"][0]["message"], "PersistedQueryNotFound",
        "{body}"
    );
    let (_, _, body) = app
        .get(&format!(
            "/graphql?query={}&extensions={}",
            enc(query),
            ext(&hash(query))
        ))
        .await;
    assert_eq!(
        body["data"]["article"]["headline"],
        "Headline of summit-ends"
    );
    let (status, headers, body) = app
        .get(&format!("/graphql?extensions={}", ext(&hash(query))))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"]["article"]["headline"], "Headline of summit-ends",
        "the hash alone is enough now"
    );
    assert!(headers.get(header::ETAG).is_some());

    // A mutation registered over POST cannot be replayed over GET by its hash.
    let mutation = "mutation { createSection(input: { name: \"Sneaky\" }) { path } }";
    let ed = crate::helpers::token("ed", "editor");
    let post = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {ed}"))
        .body(Body::from(json!({ "query": mutation, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash(mutation) } } }).to_string()))
        .expect("req");
    let (_, _, body) = app.send(post).await;
    assert_eq!(body["data"]["createSection"]["path"], "sneaky");
    let sections = app.count_rows("sections").await;
    let replay = Request::get(format!("/graphql?extensions={}", ext(&hash(mutation))))
        .header(header::AUTHORIZATION, format!("Bearer {ed}"))
        .body(Body::empty())
        .expect("req");
    let (_, headers, body) = app.send(replay).await;
    assert_eq!(
        body["errors"][0]["message"], "mutations must be sent with POST",
        "{body}"
    );
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");
    assert_eq!(
        app.count_rows("sections").await,
        sections,
        "nothing was written"
    );
}

#[tokio::test]
async fn responses_are_compressed_sniff_proof_and_cors_ready() {
    let app = TestApp::sqlite().await;
    gazette::commands::load_demo(&app.db).await.expect("demo");
    let uri = format!(
        "/graphql?query={}",
        enc("{ articles(first: 20) { edges { node { headline dek } } } }")
    );
    for (enc_name, want) in [("gzip", "gzip"), ("br", "br")] {
        let req = Request::get(&uri)
            .header(header::ACCEPT_ENCODING, enc_name)
            .body(Body::empty())
            .expect("req");
        let res = tower::ServiceExt::oneshot(app.router.clone(), req)
            .await
            .expect("response");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_ENCODING], want);
    }
    let (_, headers, _) = app.get("/api/v1/sections").await;
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(headers.get("x-request-id").is_some());

    let preflight = Request::builder()
        .method("OPTIONS")
        .uri("/graphql")
        .header(header::ORIGIN, "https://front.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,content-type",
        )
        .body(Body::empty())
        .expect("req");
    let (status, headers, _) = app.send(preflight).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(
        headers
            .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .is_none(),
        "no credentials with a wildcard"
    );

    // A configured list: only those origins, with credentials.
    let state = gazette::AppState::new(app.db.clone(), crate::helpers::test_auth()).with_http(
        gazette::state::HttpSettings {
            cors_origins: Some(vec!["https://front.example".into()]),
            ..Default::default()
        },
    );
    let router = gazette::app(state);
    for (origin, allowed) in [
        ("https://front.example", true),
        ("https://evil.example", false),
    ] {
        let req = Request::get("/healthz")
            .header(header::ORIGIN, origin)
            .body(Body::empty())
            .expect("req");
        let res = tower::ServiceExt::oneshot(router.clone(), req)
            .await
            .expect("response");
        assert_eq!(
            res.headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_some(),
            allowed,
            "{origin}"
        );
        if allowed {
            assert_eq!(
                res.headers()[header::ACCESS_CONTROL_ALLOW_CREDENTIALS],
                "true"
            );
        }
    }
    app.cleanup().await;
}

#[tokio::test]
async fn responses_follow_the_selection_order_byte_for_byte() {
    let app = TestApp::sqlite().await;
    app.import(newsroom()).await;
    let q = "{ z: sections { path name } a: article(slug: \"border-reopens\") { tags { slug } authors { slug } headline } m: articles(first: 1) { totalCount edges { cursor } } }";
    let mut bodies = Vec::new();
    for _ in 0..5 {
        let req = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "query": q }).to_string()))
            .expect("req");
        let res = tower::ServiceExt::oneshot(app.router.clone(), req)
            .await
            .expect("response");
        let bytes = http_body_util::BodyExt::collect(res.into_body())
            .await
            .expect("body")
            .to_bytes();
        bodies.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    assert!(
        bodies[0].starts_with("{\"data\":{\"z\":[{\"path\":"),
        "{}",
        bodies[0]
    );
    assert!(
        bodies[0].contains("\"a\":{\"tags\":[{\"slug\":\"ceasefire-talks\"}],\"authors\":"),
        "{}",
        bodies[0]
    );
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "the same bytes every time"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn query_limits_refuse_abuse_before_any_sql_runs() {
    let app = TestApp::sqlite().await;
    app.import(newsroom()).await;
    let aliases: String = (0..31).map(|i| format!("a{i}: path ")).collect();
    let roots: String = (0..21)
        .map(|i| format!("s{i}: sections {{ path }} "))
        .collect();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "three-level fan-out",
            "{ sections { articles(first: 100) { edges { node { authors { articles(first: 100) { edges { node { headline } } } } } } } } }".into(),
            "complex",
        ),
        ("deep nesting", format!("{{ sections {} path {} }}", "{ parent ".repeat(14), "}".repeat(14)), "nested too deep"),
        ("31 aliases", format!("{{ sections {{ {aliases} }} }}"), "aliases; the limit is 30"),
        ("21 root fields", format!("{{ {roots} }}"), "root fields; the limit is 20"),
        ("fragment cycle", "query { sections { ...A } } fragment A on Section { children { ...B } } fragment B on Section { parent { ...A } }".into(), "recursion"),
        ("directive pile-up", format!("{{ sections {{ path {} }} }}", "@include(if: true) ".repeat(6)), "directive"),
    ];
    for (what, query, want) in cases {
        app.take_statement_count();
        let started = std::time::Instant::now();
        let (status, body) = app.graphql(&query, json!({})).await;
        let took = started.elapsed();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        let msg = body["errors"][0]["message"].as_str().unwrap_or("");
        assert!(
            msg.contains(want),
            "{what}: {msg:?} names the limit ({want})"
        );
        assert_eq!(
            app.take_statement_count(),
            0,
            "{what}: refused before any SQL"
        );
        assert!(
            took < std::time::Duration::from_secs(2),
            "{what}: refused quickly ({took:?})"
        );
    }
    // The front page and an article page stay well within the limits.
    let front = "{ sections { path name articles(first: 5) { edges { node { slug headline dek publishedAt authors { slug name } } } } } }";
    assert_eq!(app.graphql(front, json!({})).await.0, StatusCode::OK);
    app.cleanup().await;
}

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let app = TestApp::sqlite().await;
    let (_, body) = app
        .graphql("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["__schema"]["queryType"]["name"], "QueryRoot",
        "on by default"
    );
    let limits = gazette::graphql::Limits {
        introspection: false,
        ..Default::default()
    };
    let state =
        gazette::AppState::new(app.db.clone(), crate::helpers::test_auth()).with_limits(&limits);
    let router = gazette::app(state);
    let req = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({ "query": "{ __schema { queryType { name } } }" }).to_string(),
        ))
        .expect("req");
    let res = tower::ServiceExt::oneshot(router, req).await.expect("res");
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .expect("body")
        .to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert!(body["data"]["__schema"].is_null(), "{body}");
    app.cleanup().await;
}

#[tokio::test]
async fn slow_requests_time_out_and_overload_is_shed_with_503() {
    use sea_orm::TransactionTrait as _;
    let dir = tempfile::tempdir().expect("dir");
    let url = gazette::db::embedded_url(dir.path());
    let db = gazette::db::connect(&url, 1).await.expect("db");
    gazette::db::migrate(&db).await.expect("migrate");

    // A request that outlives the time limit is answered 503, not left hanging.
    let hurried = gazette::AppState::new(db.clone(), crate::helpers::test_auth()).with_http(
        gazette::state::HttpSettings {
            request_timeout: std::time::Duration::from_nanos(1),
            ..Default::default()
        },
    );
    let req = Request::get("/api/v1/articles")
        .body(Body::empty())
        .expect("req");
    let res = tower::ServiceExt::oneshot(gazette::app(hurried), req)
        .await
        .expect("res");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert_eq!(res.headers()[header::RETRY_AFTER], "2");

    // One request at a time: while one waits for the (held) only connection, the next is shed.
    let narrow = gazette::AppState::new(db.clone(), crate::helpers::test_auth()).with_http(
        gazette::state::HttpSettings {
            max_concurrency: 1,
            ..Default::default()
        },
    );
    let router = gazette::app(narrow);
    let held = db.begin().await.expect("hold the connection");
    let slow = tokio::spawn(tower::ServiceExt::oneshot(
        router.clone(),
        Request::get("/api/v1/sections")
            .body(Body::empty())
            .expect("req"),
    ));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let res = tower::ServiceExt::oneshot(
        router.clone(),
        Request::get("/healthz").body(Body::empty()).expect("req"),
    )
    .await
    .expect("res");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "shed");
    assert_eq!(res.headers()[header::RETRY_AFTER], "2");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(500),
        "shed at once, not queued"
    );
    held.rollback().await.ok();
    let first = slow.await.expect("join").expect("res");
    assert_eq!(
        first.status(),
        StatusCode::OK,
        "the waiting request completes once the connection is free"
    );
}

#[tokio::test]
async fn clients_over_their_rate_get_429_with_retry_after_and_nothing_written() {
    let app = TestApp::sqlite().await;
    app.import(newsroom()).await;
    let settings = gazette::state::HttpSettings {
        read_rate: gazette::http::limits::Rate {
            per_second: 1,
            burst: 3,
        },
        write_rate: gazette::http::limits::Rate {
            per_second: 1,
            burst: 1,
        },
        ..Default::default()
    };
    let router = gazette::app(
        gazette::AppState::new(app.db.clone(), crate::helpers::test_auth()).with_http(settings),
    );
    let from = |ip: [u8; 4], uri: &str| {
        let mut r = Request::get(uri).body(Body::empty()).expect("req");
        r.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                ip, 5000,
            ))));
        r
    };
    for i in 0..3 {
        let res =
            tower::ServiceExt::oneshot(router.clone(), from([198, 51, 100, 1], "/api/v1/sections"))
                .await
                .expect("res");
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "request {i} is within the burst"
        );
    }
    let res =
        tower::ServiceExt::oneshot(router.clone(), from([198, 51, 100, 1], "/api/v1/sections"))
            .await
            .expect("res");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    assert!(
        res.headers()[header::RETRY_AFTER]
            .to_str()
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|s| s >= 1)
    );
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .expect("body")
        .to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(body["code"], "RATE_LIMITED");
    let other =
        tower::ServiceExt::oneshot(router.clone(), from([198, 51, 100, 2], "/api/v1/sections"))
            .await
            .expect("res");
    assert_eq!(
        other.status(),
        StatusCode::OK,
        "another client has its own budget"
    );
    let health = tower::ServiceExt::oneshot(router.clone(), from([198, 51, 100, 1], "/healthz"))
        .await
        .expect("res");
    assert_eq!(health.status(), StatusCode::OK, "probes are never limited");

    // Writes are stricter: one mutation, then 429, and the second is not applied.
    let editor = crate::helpers::token("rate-ed", "editor");
    let mutation = |name: &str| {
        let mut r = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {editor}"))
            .body(Body::from(json!({ "query": format!("mutation {{ createSection(input: {{ name: \"{name}\" }}) {{ path }} }}") }).to_string()))
            .expect("req");
        r.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [198, 51, 100, 3],
                5000,
            ))));
        r
    };
    let sections = app.count_rows("sections").await;
    let first = tower::ServiceExt::oneshot(router.clone(), mutation("Rates one"))
        .await
        .expect("res");
    assert_eq!(first.status(), StatusCode::OK);
    let second = tower::ServiceExt::oneshot(router.clone(), mutation("Rates two"))
        .await
        .expect("res");
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        app.count_rows("sections").await,
        sections + 1,
        "the refused write was not applied"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn metrics_count_requests_operations_errors_and_the_pool() {
    let app = TestApp::sqlite().await;
    app.import(newsroom()).await;
    app.get("/api/v1/sections").await;
    app.get("/api/v1/articles/no-such-story").await;
    let req = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "query": "query FrontPage { sections { path } }", "operationName": "FrontPage" }).to_string()))
        .expect("req");
    app.send(req).await;
    let res = tower::ServiceExt::oneshot(
        app.router.clone(),
        Request::get("/metrics").body(Body::empty()).expect("req"),
    )
    .await
    .expect("res");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()[header::CONTENT_TYPE]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/plain"))
    );
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes);
    for want in [
        "gazette_http_requests_total{route=\"/api/v1/sections\",method=\"GET\",status=\"200\"}",
        "gazette_http_request_duration_seconds_bucket{route=\"/api/v1/sections\",method=\"GET\"",
        "gazette_graphql_operations_total{operation=\"FrontPage\"}",
        "gazette_errors_total{code=\"NOT_FOUND\"}",
        "gazette_db_pool_connections{state=\"in_use\"}",
    ] {
        assert!(text.contains(want), "{want} in:\n{text}");
    }
    app.cleanup().await;
}

/// A GraphQL POST with `Accept` (when given) and a bearer token (when given).
fn post_as(accept: Option<&str>, token: Option<&str>, body: serde_json::Value) -> Request<Body> {
    let mut r = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if let Some(a) = accept {
        r = r.header(header::ACCEPT, a);
    }
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r.body(Body::from(body.to_string())).expect("request")
}

const JSON: &str = "application/json";
const GRAPHQL_JSON: &str = "application/graphql-response+json";

/// The first error's `extensions.code`, or a panic naming the body.
fn code(body: &serde_json::Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("an error with a code: {body}"))
}

#[tokio::test]
async fn request_errors_are_200_for_json_clients_and_400_for_graphql_response_clients() {
    let app = TestApp::sqlite().await;
    // (Accept, status, Content-Type): the spec's two media types, and how Accept picks one.
    let cases = [
        (Some(JSON), StatusCode::OK, JSON),
        (Some(GRAPHQL_JSON), StatusCode::BAD_REQUEST, GRAPHQL_JSON),
        (None, StatusCode::BAD_REQUEST, GRAPHQL_JSON),
        (Some("*/*"), StatusCode::BAD_REQUEST, GRAPHQL_JSON),
        (
            Some("application/graphql-response+json, application/json;q=0.9"),
            StatusCode::BAD_REQUEST,
            GRAPHQL_JSON,
        ),
        (
            Some("application/json, text/plain, */*"),
            StatusCode::OK,
            JSON,
        ),
        (
            Some("application/graphql-response+json;q=0.5, application/json"),
            StatusCode::OK,
            JSON,
        ),
    ];
    for (accept, status, content_type) in cases {
        let (got, headers, body) = app
            .send(post_as(accept, None, json!({ "query": "{ articles { " })))
            .await;
        assert_eq!(got, status, "{accept:?}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], content_type, "{accept:?}");
        assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED", "{accept:?}");
        assert!(
            body.get("data").is_none(),
            "{accept:?}: nothing ran, so no data entry: {body}"
        );
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "private, no-store",
            "{accept:?}"
        );
    }
    // The same over GET.
    for (accept, status, content_type) in [
        (JSON, StatusCode::OK, JSON),
        (GRAPHQL_JSON, StatusCode::BAD_REQUEST, GRAPHQL_JSON),
    ] {
        let req = Request::get("/graphql?query=%7B%20nope%20%7D")
            .header(header::ACCEPT, accept)
            .body(Body::empty())
            .expect("req");
        let (got, headers, body) = app.send(req).await;
        assert_eq!(got, status, "GET {accept}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], content_type, "GET {accept}");
        assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "GET {accept}");
    }
    // Success looks the same under both, but for the media type.
    for accept in [JSON, GRAPHQL_JSON] {
        let (status, headers, body) = app
            .send(post_as(
                Some(accept),
                None,
                json!({ "query": "{ __typename }" }),
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{accept}");
        assert_eq!(headers[header::CONTENT_TYPE], accept);
        assert_eq!(body, json!({ "data": { "__typename": "QueryRoot" } }));
    }
    app.cleanup().await;
}

#[tokio::test]
async fn every_request_error_names_what_failed_in_its_code() {
    let app = TestApp::sqlite().await;
    let cases = [
        (
            "parse",
            json!({ "query": "{ articles { " }),
            "GRAPHQL_PARSE_FAILED",
        ),
        (
            "unknown field",
            json!({ "query": "{ nope }" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "wrong argument type",
            json!({ "query": "{ articles(first: \"ten\") { totalCount } }" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "variable of the wrong type",
            json!({ "query": "query($n: Int) { articles(first: $n) { totalCount } }", "variables": { "n": "ten" } }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "missing required variable",
            json!({ "query": "query($s: String!) { article(slug: $s) { id } }" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "null for a required variable",
            json!({ "query": "query($s: String!) { article(slug: $s) { id } }", "variables": { "s": null } }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "unknown operation",
            json!({ "query": "query A { __typename }", "operationName": "B" }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "too deep",
            json!({ "query": format!("{{ sections {} path {} }}", "{ parent ".repeat(14), "}".repeat(14)) }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "too many aliases",
            json!({ "query": format!("{{ sections {{ {} }} }}", (0..31).map(|i| format!("a{i}: path ")).collect::<String>()) }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "unknown persisted query",
            json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "00" } } }),
            "PERSISTED_QUERY_NOT_FOUND",
        ),
    ];
    for (what, request, want) in cases {
        for (accept, status) in [
            (JSON, StatusCode::OK),
            (GRAPHQL_JSON, StatusCode::BAD_REQUEST),
        ] {
            let (got, _, body) = app.send(post_as(Some(accept), None, request.clone())).await;
            assert_eq!(got, status, "{what} ({accept}): {body}");
            assert_eq!(code(&body), want, "{what} ({accept}): {body}");
        }
    }
    // A variable the executor coerces only when its field runs is still the client's input.
    let (status, _, body) = app
        .send(post_as(
            Some(GRAPHQL_JSON),
            None,
            json!({ "query": "query($d: DateTime) { articles(filter: { publishedAfter: $d }) { totalCount } }", "variables": { "d": "yesterday" } }),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "an error while executing: {body}");
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    app.cleanup().await;
}

storage_tests!(a_one_of_violation_is_refused_with_a_code_and_writes_nothing);

async fn a_one_of_violation_is_refused_with_a_code_and_writes_nothing(app: &TestApp) {
    app.import(newsroom()).await;
    let editor = crate::helpers::token("ed", "editor");
    let create = "mutation($body: [BlockInput!]!) { createArticle(input: { headline: \"Two at once\", section: \"world\", authors: [\"omar-haddad\"], body: $body }) { id } }";
    let two = json!([{ "paragraph": { "html": "a" }, "heading": { "level": 2, "text": "b" } }]);
    let literal = "mutation { createArticle(input: { headline: \"Two at once\", section: \"world\", authors: [\"omar-haddad\"], body: [{ paragraph: { html: \"a\" }, heading: { level: 2, text: \"b\" } }] }) { id } }";
    let before = app.count_rows("articles").await;
    for (what, request) in [
        ("in the document", json!({ "query": literal })),
        (
            "in a variable",
            json!({ "query": create, "variables": { "body": two } }),
        ),
        (
            "no member",
            json!({ "query": create, "variables": { "body": [{}] } }),
        ),
    ] {
        for accept in [JSON, GRAPHQL_JSON] {
            let (_, headers, body) = app
                .send(post_as(Some(accept), Some(&editor), request.clone()))
                .await;
            assert_eq!(headers[header::CONTENT_TYPE], accept, "{what}");
            assert!(
                matches!(code(&body), "GRAPHQL_VALIDATION_FAILED" | "BAD_USER_INPUT"),
                "{what} ({accept}): {body}"
            );
        }
    }
    assert_eq!(
        app.count_rows("articles").await,
        before,
        "nothing was written"
    );
}

#[tokio::test]
async fn refusals_before_graphql_runs_keep_their_status_under_either_media_type() {
    let app = TestApp::sqlite().await;
    for accept in [JSON, GRAPHQL_JSON] {
        // A bad token: 401 over POST and GET, shaped as a GraphQL response in the media type.
        let (status, headers, body) = app
            .send(post_as(
                Some(accept),
                Some("not-a-token"),
                json!({ "query": "{ __typename }" }),
            ))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{accept}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], accept);
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(code(&body), "UNAUTHENTICATED");
        let get = Request::get("/graphql?query=%7B__typename%7D")
            .header(header::ACCEPT, accept)
            .header(header::AUTHORIZATION, "Bearer not-a-token")
            .body(Body::empty())
            .expect("req");
        let (status, headers, body) = app.send(get).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "GET {accept}: {body}");
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(code(&body), "UNAUTHENTICATED");

        // Not JSON, and too large: problem+json whatever Accept says.
        let form = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "text/plain")
            .header(header::ACCEPT, accept)
            .body(Body::from("{\"query\": \"{ __typename }\"}"))
            .expect("req");
        let (status, headers, _) = app.send(form).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{accept}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        let big = post_as(
            Some(accept),
            None,
            json!({ "query": "{ __typename }", "x": "a".repeat(2 << 20) }),
        );
        let (status, _, _) = app.send(big).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{accept}");
        // Not a GraphQL request at all.
        let (status, headers, _) = app
            .send(post_as(
                Some(accept),
                None,
                json!({ "qeury": "{ __typename }" }),
            ))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{accept}: no query");
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    }
    // An Accept that allows neither media type.
    let (status, headers, body) = app
        .send(post_as(
            Some("text/html"),
            None,
            json!({ "query": "{ __typename }" }),
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    app.cleanup().await;
}

#[tokio::test]
async fn error_answers_are_never_cached_and_media_types_are_cached_apart() {
    let app = TestApp::sqlite().await;
    app.import(newsroom()).await;
    // Request errors (200 under application/json) and field errors, over POST and GET (a
    // case without a POST body is a GET of the same query).
    let field_error = "{ articles(first: 500) { totalCount } }";
    let cases = [
        ("POST parse error as JSON", JSON, Some("{ articles { ")),
        ("POST unknown field", GRAPHQL_JSON, Some("{ nope }")),
        ("POST field error as JSON", JSON, Some(field_error)),
        ("GET field error as JSON", JSON, None),
        ("GET field error", GRAPHQL_JSON, None),
    ];
    let requests = cases.map(|(what, accept, post)| {
        let request = move || match post {
            Some(q) => post_as(Some(accept), None, json!({ "query": q })),
            None => Request::get(format!("/graphql?query={}", enc(field_error)))
                .header(header::ACCEPT, accept)
                .body(Body::empty())
                .expect("req"),
        };
        (what, request)
    });
    for (what, request) in requests {
        for round in ["first", "second"] {
            let (_, headers, body) = app.send(request()).await;
            assert!(body["errors"].is_array(), "{what}: {body}");
            assert_eq!(headers["x-cache"], "MISS", "{what}, {round} time");
            assert_eq!(
                headers[header::CACHE_CONTROL],
                "private, no-store",
                "{what}"
            );
        }
    }

    // An answer kept for one media type is never replayed to a client of the other.
    let query = json!({ "query": "{ article(slug: \"summit-ends\") { headline } }" });
    for (accept, cached) in [
        (JSON, "MISS"),
        (JSON, "HIT"),
        (GRAPHQL_JSON, "MISS"),
        (GRAPHQL_JSON, "HIT"),
        (JSON, "HIT"),
    ] {
        let (status, headers, body) = app.send(post_as(Some(accept), None, query.clone())).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(headers["x-cache"], cached, "{accept}");
        assert_eq!(headers[header::CONTENT_TYPE], accept, "{accept} ({cached})");
    }
    app.cleanup().await;
}
