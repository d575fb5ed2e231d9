//! The `Idempotency-Key` header on writes (REST and GraphQL), on both databases: a retry
//! gets the first response and changes nothing, the same key with another request is 422,
//! a key in flight is 409, keys expire, keys are per caller, a failed write keeps nothing,
//! and a write whose response was lost is answered from what it produced, once.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sea_orm::{ConnectionTrait as _, TransactionTrait as _};
use serde_json::{Value, json};

use crate::fixtures::newsroom;
use crate::helpers::{
    TestApp, WithHeader as _, assert_problem, editor, graphql_request, rate_limits, request,
    send_raw, send_to, test_auth, test_site, token,
};
use crate::storage_tests;

const KEY: &str = "idempotency-key";

fn article(headline: &str) -> Value {
    json!({
        "headline": headline,
        "section": "world",
        "authors": ["omar-haddad"],
        "body": [{ "paragraph": { "html": "Text." } }]
    })
}

fn create(token: &str, body: &Value, key: &str) -> Request<Body> {
    request("POST", "/api/v1/articles", Some(token), Some(body.clone())).with_header(KEY, key)
}

async fn articles(app: &TestApp) -> i64 {
    app.count_rows("articles").await
}

async fn a_retried_write_gets_the_same_response_and_changes_nothing(app: &TestApp) {
    app.import(newsroom()).await;
    let ed = editor();
    let body = article("Port strike ends");
    let before = app
        .row_counts(&["articles", "article_revisions", "change_log"])
        .await;

    let (status, headers, first) = send_raw(&app.router, create(&ed, &body, "\"k-1\"")).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&first)
    );
    assert!(
        headers.get("idempotency-replayed").is_none(),
        "the first answer is no replay"
    );
    let after = app
        .row_counts(&["articles", "article_revisions", "change_log"])
        .await;

    for retry in 0..2 {
        let (status, again_headers, again) =
            send_raw(&app.router, create(&ed, &body, "\"k-1\"")).await;
        assert_eq!(status, StatusCode::CREATED, "retry {retry}");
        assert_eq!(again, first, "retry {retry} gets the same bytes");
        assert_eq!(
            again_headers["idempotency-replayed"], "true",
            "retry {retry}"
        );
        for h in ["content-type", "location", "etag"] {
            assert_eq!(again_headers.get(h), headers.get(h), "retry {retry}: {h}");
        }
    }
    // A bare key (not a structured-field string) is the same key.
    let (status, h, _) = send_raw(&app.router, create(&ed, &body, "k-1")).await;
    assert_eq!(
        (status, &h["idempotency-replayed"]),
        (StatusCode::CREATED, &"true".parse().expect("value"))
    );
    assert_eq!(
        app.row_counts(&["articles", "article_revisions", "change_log"])
            .await,
        after,
        "retries wrote nothing"
    );
    assert_eq!(after[0], before[0] + 1, "one article");

    // GraphQL mutations too.
    let op = "mutation { createSection(input: { name: \"Climate\" }) { id path } }";
    let gql = || graphql_request(Some(&ed), op, &json!({})).with_header(KEY, "\"s-1\"");
    let (s1, _, b1) = send_raw(&app.router, gql()).await;
    let (s2, h2, b2) = send_raw(&app.router, gql()).await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(b1, b2, "{}", String::from_utf8_lossy(&b1));
    assert_eq!(h2["idempotency-replayed"], "true");
    assert_eq!(app.count_rows("sections").await, 4, "one new section");
}

async fn the_same_key_with_another_request_is_422_and_changes_nothing(app: &TestApp) {
    app.import(newsroom()).await;
    let ed = editor();
    let (status, _, _) = send_to(&app.router, create(&ed, &article("First"), "k-2")).await;
    assert_eq!(status, StatusCode::CREATED);
    let n = articles(app).await;

    let other_path = request(
        "POST",
        "/api/v1/sections",
        Some(&ed),
        Some(json!({ "name": "First" })),
    )
    .with_header(KEY, "k-2");
    let cases = [
        ("another body", create(&ed, &article("Second"), "k-2")),
        ("another path", other_path),
        (
            "a GraphQL request",
            graphql_request(
                Some(&ed),
                "mutation { createSection(input: { name: \"X\" }) { id } }",
                &json!({}),
            )
            .with_header(KEY, "k-2"),
        ),
    ];
    for (what, req) in cases {
        let (status, headers, body) = send_to(&app.router, req).await;
        assert_problem(
            what,
            status,
            &headers,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        );
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("Idempotency-Key")),
            "{what}: {body}"
        );
    }
    assert_eq!(articles(app).await, n, "nothing written");
    assert_eq!(app.count_rows("sections").await, 3, "nothing written");
}

async fn a_key_of_one_caller_is_invisible_to_another(app: &TestApp) {
    app.import(newsroom()).await;
    let (ana, ben) = (token("ana", "editor"), token("ben", "editor"));
    let body = article("Same headline");
    let (s1, _, first) = send_to(&app.router, create(&ana, &body, "shared")).await;
    let (s2, h2, second) = send_to(&app.router, create(&ben, &body, "shared")).await;
    assert_eq!(
        (s1, s2),
        (StatusCode::CREATED, StatusCode::CREATED),
        "{second}"
    );
    assert!(h2.get("idempotency-replayed").is_none(), "not ana's answer");
    assert_ne!(
        first["id"], second["id"],
        "ben's request made its own article"
    );
    // Ben's key with another body is his own business, not a mismatch with Ana's.
    let (s3, _, _) = send_to(&app.router, create(&ben, &article("Other"), "ana-only")).await;
    assert_eq!(s3, StatusCode::CREATED);
    let (s4, h4, _) = send_to(&app.router, create(&ana, &body, "shared")).await;
    assert_eq!(
        (s4, &h4["idempotency-replayed"]),
        (StatusCode::CREATED, &"true".parse().expect("value"))
    );
}

async fn a_key_expires_after_the_retention_period(app: &TestApp) {
    app.import(newsroom()).await;
    let short = gazette::state::HttpSettings {
        idempotency_retention: Duration::from_secs(1),
        ..rate_limits((100_000, 100_000), (100_000, 100_000))
    };
    let router = gazette::app(
        gazette::AppState::new(app.db.clone(), test_auth())
            .with_http(short)
            .with_site(test_site(|_| {})),
    );
    let ed = editor();
    let body = article("Short-lived");
    let (s1, _, first) = send_to(&router, create(&ed, &body, "k-exp")).await;
    let (s2, h2, _) = send_to(&router, create(&ed, &body, "k-exp")).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(h2["idempotency-replayed"], "true", "replayed while kept");

    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (s3, h3, third) = send_to(&router, create(&ed, &body, "k-exp")).await;
    assert_eq!(s3, StatusCode::CREATED, "{third}");
    assert!(
        h3.get("idempotency-replayed").is_none(),
        "an expired key runs again"
    );
    assert_ne!(third["id"], first["id"], "a second article");
    // And the key now holds the new request; another body is a mismatch again.
    let (s4, _, _) = send_to(&router, create(&ed, &article("Other"), "k-exp")).await;
    assert_eq!(s4, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        gazette::domain::idempotency::purge_expired(&app.db)
            .await
            .expect("purge"),
        0,
        "the live key stays"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        gazette::domain::idempotency::purge_expired(&app.db)
            .await
            .expect("purge"),
        1,
        "expired keys are removed"
    );
}

async fn a_write_that_fails_keeps_nothing_with_its_key(app: &TestApp) {
    app.import(newsroom()).await;
    let ed = editor();
    let n = articles(app).await;
    // Refused by a rule: the key is not kept, so the corrected request may use it.
    let bad = json!({ "headline": "X", "section": "nope", "authors": ["omar-haddad"], "body": [] });
    let (s1, _, b1) = send_to(&app.router, create(&ed, &bad, "k-fix")).await;
    assert_eq!(s1, StatusCode::UNPROCESSABLE_ENTITY, "{b1}");
    let (s2, _, b2) = send_to(&app.router, create(&ed, &article("Fixed"), "k-fix")).await;
    assert_eq!(s2, StatusCode::CREATED, "{b2}");

    // A write that fails inside its transaction leaves neither the write nor the key.
    app.make_revisions_fail().await;
    let (s3, _, b3) = send_to(&app.router, create(&ed, &article("Doomed"), "k-doomed")).await;
    assert_eq!(s3, StatusCode::INTERNAL_SERVER_ERROR, "{b3}");
    assert_eq!(
        app.count_rows("idempotency_keys").await,
        1,
        "only k-fix is kept"
    );
    app.let_revisions_succeed().await;
    let (s4, h4, _) = send_to(&app.router, create(&ed, &article("Doomed"), "k-doomed")).await;
    assert_eq!(s4, StatusCode::CREATED);
    assert!(h4.get("idempotency-replayed").is_none());
    assert_eq!(articles(app).await, n + 2);
}

async fn a_key_in_flight_is_409_and_the_retry_writes_nothing(app: &TestApp) {
    app.import(newsroom()).await;
    let n = articles(app).await;
    // Another request with the key holds its transaction open, its claim not yet committed.
    let other = app.second_connection().await;
    let txn = other.begin().await.expect("begin");
    let sql = match other.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "INSERT INTO idempotency_keys (scope, idempotency_key, fingerprint, outcome, created_at, expires_at) \
             VALUES ('sub:ed', 'k-busy', 'x', 'article:1', now(), now() + interval '1 hour')"
        }
        _ => {
            "INSERT INTO idempotency_keys (scope, idempotency_key, fingerprint, outcome, created_at, expires_at) \
             VALUES ('sub:ed', 'k-busy', 'x', 'article:1', '2000-01-01T00:00:00+00:00', '9999-01-01T00:00:00+00:00')"
        }
    };
    txn.execute_unprepared(sql).await.expect("claim");
    let router = app.router.clone();
    let retry = tokio::spawn(async move {
        send_to(&router, create(&editor(), &article("Busy"), "k-busy")).await
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    txn.commit().await.expect("the first commits");
    let (status, headers, body) = retry.await.expect("retry");
    assert_problem(
        "in flight",
        status,
        &headers,
        &body,
        StatusCode::CONFLICT,
        "CONFLICT",
    );
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("being processed")),
        "{body}"
    );
    assert_eq!(articles(app).await, n, "the retry wrote nothing");
    other.close().await.ok();
}

async fn a_write_whose_response_was_lost_is_answered_from_its_outcome_once(app: &TestApp) {
    app.import(newsroom()).await;
    let ed = editor();
    let body = article("Lost answer");
    let (s1, _, first) = send_to(&app.router, create(&ed, &body, "k-lost")).await;
    assert_eq!(s1, StatusCode::CREATED);
    let n = articles(app).await;
    // The write committed, then the database went away before the response was kept.
    app.exec("UPDATE idempotency_keys SET status = NULL, headers = NULL, body = NULL")
        .await;

    let (s2, h2, second) = send_to(&app.router, create(&ed, &body, "k-lost")).await;
    assert_eq!(s2, StatusCode::CREATED, "{second}");
    assert!(
        h2.get("idempotency-replayed").is_none(),
        "answered anew, from the outcome"
    );
    assert_eq!(
        second, first,
        "the same article, as the first answer showed it"
    );
    assert_eq!(articles(app).await, n, "not written again");
    let (s3, h3, third) = send_to(&app.router, create(&ed, &body, "k-lost")).await;
    assert_eq!((s3, &third), (StatusCode::CREATED, &first));
    assert_eq!(h3["idempotency-replayed"], "true", "and kept this time");

    // The same for a workflow step over GraphQL.
    let (id, v) = app.id_version("talks-resume").await;
    let op = "mutation($id: ID!, $v: Int!) { unpublishArticle(id: $id, expectedVersion: $v) { status version } }";
    let step =
        || graphql_request(Some(&ed), op, &json!({ "id": id, "v": v })).with_header(KEY, "k-step");
    let (_, _, b1) = send_to(&app.router, step()).await;
    assert_eq!(
        b1["data"]["unpublishArticle"]["status"], "UNPUBLISHED",
        "{b1}"
    );
    app.exec("UPDATE idempotency_keys SET status = NULL, headers = NULL, body = NULL WHERE idempotency_key = 'k-step'").await;
    let (_, _, b2) = send_to(&app.router, step()).await;
    assert_eq!(
        b2, b1,
        "not a stale-version CONFLICT: the step was applied, once"
    );
    assert_eq!(app.id_version("talks-resume").await.1, v + 1);
}

async fn keys_are_checked_and_cover_one_write(app: &TestApp) {
    app.import(newsroom()).await;
    let ed = editor();
    let sections = app.count_rows("sections").await;
    let long = "k".repeat(256);
    for (what, key) in [
        ("empty", "\"\""),
        ("unterminated", "\"abc"),
        ("too long", long.as_str()),
    ] {
        let (status, headers, body) = send_to(&app.router, create(&ed, &article("X"), key)).await;
        assert_problem(
            what,
            status,
            &headers,
            &body,
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
        );
    }
    let two = "mutation { a: createSection(input: { name: \"A\" }) { id } b: createSection(input: { name: \"B\" }) { id } }";
    let one = "mutation { createSection(input: { name: \"C\" }) { id } }";
    let batch = request(
        "POST",
        "/graphql",
        Some(&ed),
        Some(json!([{ "query": one }, { "query": one }])),
    );
    for (what, req) in [
        (
            "two mutation fields",
            graphql_request(Some(&ed), two, &json!({})),
        ),
        ("a batch", batch),
    ] {
        let (status, headers, body) = send_to(&app.router, req.with_header(KEY, "k-many")).await;
        assert_problem(
            what,
            status,
            &headers,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        );
    }
    assert_eq!(
        app.count_rows("sections").await,
        sections,
        "nothing written"
    );
    // Reads ignore the header.
    let (status, _, _) = send_to(
        &app.router,
        request("GET", "/api/v1/sections", None, None).with_header(KEY, "\"\""),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

storage_tests!(
    a_retried_write_gets_the_same_response_and_changes_nothing,
    the_same_key_with_another_request_is_422_and_changes_nothing,
    a_key_of_one_caller_is_invisible_to_another,
    a_key_expires_after_the_retention_period,
    a_write_that_fails_keeps_nothing_with_its_key,
    a_key_in_flight_is_409_and_the_retry_writes_nothing,
    a_write_whose_response_was_lost_is_answered_from_its_outcome_once,
    keys_are_checked_and_cover_one_write,
);
