//! The HTTP side of GraphQL and the service routes: GET queries, GraphiQL, mutations refused
//! over GET, batches, depth limits, the media type `Accept` picks and the status and
//! `extensions.code` of request errors under it, health probes, request ids and unknown
//! routes.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::json;

use crate::fixtures::newsroom;
use crate::helpers::{
    TestApp, WithHeader as _, assert_problem, editor, graphql_request, rate_limits, raw_request,
    request, send_raw, send_to, test_auth, token, urlencode as enc,
};
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
    let (status, _, body) = app
        .send(request("POST", "/graphql", None, Some(batch)))
        .await;
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
    let req = request("GET", "/graphql", None, None)
        .with_header(header::ACCEPT, "text/html,application/xhtml+xml");
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

    let req = request("GET", "/healthz", None, None).with_header("x-request-id", "abc-123");
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
    let editor = editor();
    let mutation =
        json!({ "query": "mutation { createSection(input: { name: \"Sport\" }) { path } }" })
            .to_string();
    let post = |ct: &str, body: String| {
        raw_request("POST", "/graphql", Some(editor.as_str()), Some(ct), body)
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
            raw_request("POST", "/graphql", None, None, mutation.clone()),
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
        assert_problem(what, status, &headers, &body, want, "BAD_USER_INPUT");
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

    let revalidate = request("GET", &uri, None, None).with_header(header::IF_NONE_MATCH, &etag);
    let (status, _, body) = app.send(revalidate).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(body, serde_json::Value::String(String::new()));

    let with_token = request("GET", &uri, Some(&editor()), None);
    let (_, headers, _) = app.send(with_token).await;
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");

    // An edit changes the answer, so the ETag.
    let (id, v) = app.id_version("border-reopens").await;
    app.ok_as(
        &editor(),
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { headline: \"Border reopens fully\" }) { version } }",
        json!({ "id": id, "v": v }),
    )
    .await;
    let stale = request("GET", &uri, None, None).with_header(header::IF_NONE_MATCH, &etag);
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
    let ed = editor();
    let post = request(
        "POST",
        "/graphql",
        Some(&ed),
        Some(
            json!({ "query": mutation, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash(mutation) } } }),
        ),
    );
    let (_, _, body) = app.send(post).await;
    assert_eq!(body["data"]["createSection"]["path"], "sneaky");
    let sections = app.count_rows("sections").await;
    let replay = request(
        "GET",
        &format!("/graphql?extensions={}", ext(&hash(mutation))),
        Some(&ed),
        None,
    );
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
        let req = request("GET", &uri, None, None).with_header(header::ACCEPT_ENCODING, enc_name);
        let (status, headers, _) = send_raw(&app.router, req).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_ENCODING], want);
    }
    let (_, headers, _) = app.get("/api/v1/sections").await;
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(headers.get("x-request-id").is_some());

    let preflight = request("OPTIONS", "/graphql", None, None)
        .with_header(header::ORIGIN, "https://front.example")
        .with_header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .with_header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization,content-type",
        );
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
    let state = gazette::AppState::new(app.db.clone(), test_auth()).with_http(
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
        let req = request("GET", "/healthz", None, None).with_header(header::ORIGIN, origin);
        let (status, headers, _) = send_raw(&router, req).await;
        assert_eq!(status, StatusCode::OK, "{origin}");
        assert_eq!(
            headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_some(),
            allowed,
            "{origin}"
        );
        if allowed {
            assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
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
        let req = request("POST", "/graphql", None, Some(json!({ "query": q })));
        let (_, _, bytes) = send_raw(&app.router, req).await;
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
    let state = gazette::AppState::new(app.db.clone(), test_auth()).with_limits(&limits);
    let router = gazette::app(state);
    // Asked beside an ordinary field, so that a null is the switch, not a failed request.
    let req = graphql_request(
        None,
        "{ __typename __schema { queryType { name } } }",
        &json!({}),
    );
    let (status, _, body) = send_to(&router, req).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["__typename"], "QueryRoot", "{body}");
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
    let hurried =
        gazette::AppState::new(db.clone(), test_auth()).with_http(gazette::state::HttpSettings {
            request_timeout: std::time::Duration::from_nanos(1),
            ..Default::default()
        });
    let (status, headers, _) = send_raw(
        &gazette::app(hurried),
        request("GET", "/api/v1/articles", None, None),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(headers[header::RETRY_AFTER], "2");

    // One request at a time: while one waits for the (held) only connection, the next is shed.
    let narrow =
        gazette::AppState::new(db.clone(), test_auth()).with_http(gazette::state::HttpSettings {
            max_concurrency: 1,
            ..Default::default()
        });
    let router = gazette::app(narrow);
    let held = db.begin().await.expect("hold the connection");
    let slow = {
        let router = router.clone();
        tokio::spawn(async move {
            send_raw(&router, request("GET", "/api/v1/sections", None, None)).await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    let (status, headers, _) = send_raw(&router, request("GET", "/healthz", None, None)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "shed");
    assert_eq!(headers[header::RETRY_AFTER], "2");
    assert!(
        started.elapsed() < std::time::Duration::from_millis(500),
        "shed at once, not queued"
    );
    held.rollback().await.ok();
    let (status, _, _) = slow.await.expect("join");
    assert_eq!(
        status,
        StatusCode::OK,
        "the waiting request completes once the connection is free"
    );
}

#[tokio::test]
async fn clients_over_their_rate_get_429_with_retry_after_and_nothing_written() {
    let app = TestApp::sqlite().await;
    app.import(newsroom()).await;
    let router = gazette::app(
        gazette::AppState::new(app.db.clone(), test_auth()).with_http(rate_limits((1, 3), (1, 1))),
    );
    // A request as it arrives from the client at `ip`.
    let from = |ip: [u8; 4], mut r: Request<Body>| {
        r.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                ip, 5000,
            ))));
        r
    };
    let get = |ip: [u8; 4], uri: &str| from(ip, request("GET", uri, None, None));
    for i in 0..3 {
        let (status, _, _) = send_raw(&router, get([198, 51, 100, 1], "/api/v1/sections")).await;
        assert_eq!(status, StatusCode::OK, "request {i} is within the burst");
    }
    let (status, headers, body) =
        send_to(&router, get([198, 51, 100, 1], "/api/v1/sections")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert!(
        headers[header::RETRY_AFTER]
            .to_str()
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|s| s >= 1)
    );
    assert_eq!(body["code"], "RATE_LIMITED");
    let (status, _, _) = send_raw(&router, get([198, 51, 100, 2], "/api/v1/sections")).await;
    assert_eq!(status, StatusCode::OK, "another client has its own budget");
    let (status, _, _) = send_raw(&router, get([198, 51, 100, 1], "/healthz")).await;
    assert_eq!(status, StatusCode::OK, "probes are never limited");

    // Writes are stricter: one mutation, then 429, and the second is not applied.
    let editor = token("rate-ed", "editor");
    let mutation = |name: &str| {
        let query =
            format!("mutation {{ createSection(input: {{ name: \"{name}\" }}) {{ path }} }}");
        from(
            [198, 51, 100, 3],
            graphql_request(Some(&editor), &query, &json!({})),
        )
    };
    let sections = app.count_rows("sections").await;
    let (status, _, body) = send_to(&router, mutation("Rates one")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = send_to(&router, mutation("Rates two")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
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
    let req = request(
        "POST",
        "/graphql",
        None,
        Some(
            json!({ "query": "query FrontPage { sections { path } }", "operationName": "FrontPage" }),
        ),
    );
    app.send(req).await;
    let (status, headers, bytes) =
        send_raw(&app.router, request("GET", "/metrics", None, None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/plain"))
    );
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
        (Some("*/*"), StatusCode::OK, JSON),
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
