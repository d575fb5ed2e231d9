//! SQLite's write lock held past the busy timeout (another process writing, a backup): a
//! write is refused as `UNAVAILABLE` (503, `Retry-After`), never `INTERNAL`, and leaves
//! nothing behind; it succeeds once the lock is free.

use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};
use sea_orm::{ConnectionTrait as _, TransactionTrait as _};
use serde_json::json;

use crate::fixtures::newsroom;
use crate::helpers::{TestApp, assert_problem, editor, request};

#[tokio::test]
async fn a_write_that_waits_out_sqlites_busy_timeout_is_503_and_writes_nothing() {
    let app = TestApp::sqlite().await;
    app.import(newsroom()).await;
    let before = app.row_counts(&["articles", "article_revisions"]).await;
    let other = app.second_connection().await;
    let txn = other.begin().await.expect("begin");
    txn.execute_unprepared("UPDATE sections SET name = name")
        .await
        .expect("take the write lock");

    let create = || {
        request(
            "POST",
            "/api/v1/articles",
            Some(&editor()),
            Some(
                json!({ "headline": "Blocked", "section": "world", "authors": ["omar-haddad"], "body": [] }),
            ),
        )
    };
    let started = Instant::now();
    let (status, headers, body) = app.send(create()).await;
    assert_problem(
        "busy",
        status,
        &headers,
        &body,
        StatusCode::SERVICE_UNAVAILABLE,
        "UNAVAILABLE",
    );
    assert_eq!(headers[header::RETRY_AFTER], "2");
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "it waited for the lock first: {:?}",
        started.elapsed()
    );
    assert_eq!(
        app.row_counts(&["articles", "article_revisions"]).await,
        before
    );

    txn.rollback().await.expect("release the lock");
    let (status, _, body) = app.send(create()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    other.close().await.ok();
    app.cleanup().await;
}
