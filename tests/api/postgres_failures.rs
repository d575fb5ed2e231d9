//! A failing database (PostgreSQL, through a TCP proxy the test can cut and restore):
//! gazette starts while the database is down and waits for it, answers 503 quickly while it
//! is cut off, recovers by itself, bounds the wait for a connection, and never loses a write
//! it reported as done. Ignored unless asked for, like every PostgreSQL test (see
//! `helpers::postgres`).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sea_orm::TransactionTrait as _;
use serde_json::{Value, json};

use crate::fixtures::newsroom;
use crate::helpers::proxy::setup;
use crate::helpers::{WithHeader as _, editor, request, send_to, test_auth};

async fn call(
    router: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value, Duration) {
    let started = Instant::now();
    let (status, headers, body) = send_to(router, req).await;
    (status, headers, body, started.elapsed())
}

fn get(uri: &str) -> Request<Body> {
    request("GET", uri, None, None)
}

fn create_section(name: &str) -> Request<Body> {
    let query = format!("mutation {{ createSection(input: {{ name: \"{name}\" }}) {{ path }} }}");
    request(
        "POST",
        "/graphql",
        Some(&editor()),
        Some(json!({ "query": query })),
    )
}

#[tokio::test]
#[ignore = "needs GAZETTE_TEST_POSTGRES_URL (PostgreSQL); CI runs these with --include-ignored"]
async fn gazette_starts_while_the_database_is_down_and_waits_for_it() {
    let s = setup(false).await;
    let db = s.pool(4, Duration::from_secs(1)).await;
    let state = gazette::AppState::new(db.clone(), test_auth()).starting();
    let router = gazette::app(state.clone());
    let ready = state.ready.clone();
    let prepare = tokio::spawn(async move {
        gazette::db::migrate_when_reachable(&db).await;
        ready.store(true, Ordering::SeqCst);
    });

    let (status, _, body, _) = call(&router, get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, headers, body, took) = call(&router, get("/api/v1/sections")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "UNAVAILABLE");
    assert_eq!(headers[header::RETRY_AFTER], "2");
    assert!(
        took < Duration::from_secs(1),
        "refused at once while starting: {took:?}"
    );
    let (status, _, _, _) = call(&router, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK, "alive while waiting");

    tokio::time::sleep(Duration::from_millis(800)).await;
    s.proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _, _, _) = call(&router, get("/readyz")).await;
        if status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "ready once the database answers");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    prepare.await.expect("prepare");
    let (status, _, body, _) = call(&router, get("/api/v1/sections")).await;
    assert_eq!((status, body), (StatusCode::OK, json!([])));
    s.cleanup().await;
}

#[tokio::test]
#[ignore = "needs GAZETTE_TEST_POSTGRES_URL (PostgreSQL); CI runs these with --include-ignored"]
async fn a_cut_database_fails_fast_recovers_and_loses_no_acknowledged_write() {
    let s = setup(true).await;
    let db = s.pool(4, Duration::from_secs(2)).await;
    gazette::db::migrate(&db).await.expect("migrate");
    let file = gazette::domain::import::ImportSource::bytes(newsroom().to_string().into_bytes());
    gazette::domain::import::import(&db, file, 100, &|_, _, _| {})
        .await
        .expect("import");
    let router = gazette::app(gazette::AppState::new(db.clone(), test_auth()));

    let mut acknowledged = Vec::new();
    for i in 0..24 {
        if i == 8 {
            s.proxy.cut();
        }
        if i == 16 {
            s.proxy.restore();
        }
        let name = format!("Desk {i}");
        // Legacy clients too: UNAVAILABLE is a 503 whatever the media type.
        let accept = ["application/graphql-response+json", "application/json"][i % 2];
        let (status, headers, body, took) = call(
            &router,
            create_section(&name).with_header(header::ACCEPT, accept),
        )
        .await;
        assert!(
            took < Duration::from_secs(8),
            "request {i} answered within the time limit: {took:?}"
        );
        if body["data"]["createSection"]["path"].is_string() {
            assert_eq!(status, StatusCode::OK, "request {i}: {body}");
            acknowledged.push(format!("desk-{i}"));
        } else {
            let code = body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("");
            assert_eq!(
                (status, code),
                (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
                "request {i} ({accept}) is refused as UNAVAILABLE: {body}"
            );
            assert_eq!(headers[header::RETRY_AFTER], "2", "request {i}");
            assert_eq!(headers[header::CONTENT_TYPE], accept, "request {i}");
            assert!(
                (8..16).contains(&i) || i == 16,
                "request {i} failed outside the cut: {body}"
            );
        }
        // REST reads fail with 503 while cut.
        if (9..15).contains(&i) {
            let (status, headers, body, took) = call(&router, get("/api/v1/sections")).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
            assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
            assert_eq!(body["code"], "UNAVAILABLE");
            assert!(took < Duration::from_secs(8), "{took:?}");
        }
    }
    assert!(
        acknowledged.len() >= 14,
        "writes before and after the cut succeed: {acknowledged:?}"
    );
    assert!(
        acknowledged.iter().any(|p| p == "desk-23"),
        "service recovered by itself"
    );
    let (status, _, tree, _) = call(&router, get("/api/v1/sections")).await;
    assert_eq!(status, StatusCode::OK);
    let paths: Vec<&str> = tree
        .as_array()
        .expect("tree")
        .iter()
        .filter_map(|x| x["path"].as_str())
        .collect();
    for p in &acknowledged {
        assert!(
            paths.contains(&p.as_str()),
            "acknowledged {p} is in the database"
        );
    }
    db.close().await.ok();
    s.cleanup().await;
}

#[tokio::test]
#[ignore = "needs GAZETTE_TEST_POSTGRES_URL (PostgreSQL); CI runs these with --include-ignored"]
async fn an_exhausted_pool_waits_a_bounded_time_then_answers_503() {
    let s = setup(true).await;
    let db = s.pool(1, Duration::from_millis(700)).await;
    gazette::db::migrate(&db).await.expect("migrate");
    let router = gazette::app(gazette::AppState::new(db.clone(), test_auth()));
    // Hold the only connection.
    let txn = db.begin().await.expect("hold the connection");
    let (status, headers, body, took) = call(&router, get("/api/v1/sections")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(headers[header::RETRY_AFTER], "2");
    assert!(
        took >= Duration::from_millis(600) && took < Duration::from_secs(3),
        "waited about the acquire timeout: {took:?}"
    );
    txn.rollback().await.ok();
    let (status, _, _, _) = call(&router, get("/api/v1/sections")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "served again once a connection is free"
    );
    db.close().await.ok();
    s.cleanup().await;
}
