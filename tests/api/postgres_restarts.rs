//! Restarts, lost commits and deadlocks on PostgreSQL: a restart is invisible to readers
//! where it can be and honest to writers where it cannot; a write whose `COMMIT` lost its
//! connection is never reported as failed when it may have succeeded, and its client's retry
//! with the same `Idempotency-Key` ends with exactly one article; a deadlock is run again.
//! Ignored unless asked for, like every PostgreSQL test (see `helpers::postgres`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use sea_orm::{
    ConnectionTrait as _, Database, DatabaseConnection, Statement, TransactionTrait as _,
};
use serde_json::{Value, json};

use crate::fixtures::newsroom;
use crate::helpers::cluster::Cluster;
use crate::helpers::proxy::{Trip, setup};
use crate::helpers::{
    TestApp, WithHeader as _, editor, graphql_request, postgres, rate_limits, request, send_to,
    test_auth, test_site, urlencode,
};

fn article(headline: &str) -> Value {
    json!({
        "headline": headline,
        "section": "world",
        "authors": ["omar-haddad"],
        "body": [{ "paragraph": { "html": "Text." } }]
    })
}

fn create(headline: &str, key: &str) -> Request<Body> {
    request(
        "POST",
        "/api/v1/articles",
        Some(&editor()),
        Some(article(headline)),
    )
    .with_header("idempotency-key", key)
}

/// A router over `db` as `serve` builds it, with the response cache off (so that every
/// read reaches the database) and no rate limits to speak of.
fn router(db: &DatabaseConnection) -> Router {
    let off = gazette::response_cache::Settings {
        max_bytes: 0,
        ..Default::default()
    };
    gazette::app(
        gazette::AppState::new(db.clone(), test_auth())
            .with_response_cache(&off)
            .with_http(rate_limits((1_000_000, 1_000_000), (1_000_000, 1_000_000)))
            .with_site(test_site(|_| {})),
    )
}

/// The code a client reads from an answer: REST's `code`, GraphQL's first
/// `extensions.code`.
fn code_of(body: &Value) -> &str {
    body["code"]
        .as_str()
        .or_else(|| body["errors"][0]["extensions"]["code"].as_str())
        .unwrap_or("")
}

/// Rows of articles with `headline`.
async fn count_headline(db: &DatabaseConnection, headline: &str) -> i64 {
    let row = db
        .query_one(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT COUNT(*) AS n FROM articles WHERE headline = $1",
            [headline.into()],
        ))
        .await
        .expect("count")
        .expect("a row");
    row.try_get("", "n").expect("n")
}

#[tokio::test]
#[ignore = "needs GAZETTE_TEST_POSTGRES_URL (PostgreSQL); CI runs these with --include-ignored"]
async fn a_connection_cut_during_commit_ends_with_exactly_one_article() {
    // (case, where the connection goes, whether the database then stays away, whether the
    // client sends a key, what the first 503 tells the client).
    let cases = [
        (
            "committed, and the database answers: gazette asks it, and reports success",
            Trip::AfterCommit,
            false,
            true,
            "",
        ),
        (
            "committed, then the database is gone: 503, and the retry answers from the write",
            Trip::AfterCommit,
            true,
            true,
            "may or may not have been applied",
        ),
        (
            "not committed, and the database is gone: 503, and the retry applies it",
            Trip::BeforeCommit,
            true,
            true,
            "may or may not have been applied",
        ),
        (
            "committed and known, then the database is gone before the answer is read back",
            Trip::AfterCommitAnswer,
            true,
            true,
            "the write was applied",
        ),
        (
            "the same without a key: the client is told not to send it again",
            Trip::AfterCommitAnswer,
            true,
            false,
            "do not send it again",
        ),
    ];
    crate::helpers::logs();
    // Each case has its own schema and proxy: they run at once.
    let runs: Vec<_> = cases
        .into_iter()
        .enumerate()
        .map(|(i, (what, trip, down, keyed, told))| {
            tokio::spawn(cut_during_commit(i, what, trip, down, keyed, told))
        })
        .collect();
    for run in runs {
        run.await.expect("a case");
    }
}

/// One case of [`a_connection_cut_during_commit_ends_with_exactly_one_article`].
async fn cut_during_commit(
    i: usize,
    what: &'static str,
    trip: Trip,
    down: bool,
    keyed: bool,
    told: &'static str,
) {
    let s = setup(true).await;
    let db = s.gazette_pool(4).await;
    gazette::db::migrate(&db).await.expect("migrate");
    let file = gazette::domain::import::ImportSource::bytes(newsroom().to_string().into_bytes());
    gazette::domain::import::import(&db, file, 100, &|_, _, _| {})
        .await
        .expect("import");
    let direct = Database::connect(postgres::options(&s.url, &s.schema, 1))
        .await
        .expect("a direct connection");
    let app = router(&db);
    let headline = format!("Cut during commit {i}");
    let key = format!("\"cut-{i}\"");
    let send = || {
        let req = create(&headline, &key);
        if keyed {
            req
        } else {
            let mut req = req;
            req.headers_mut().remove("idempotency-key");
            req
        }
    };

    s.proxy.trip_on_commit(trip, down);
    let started = Instant::now();
    let (status, headers, body) = send_to(&app, send()).await;
    assert!(
        s.proxy.tripped(),
        "{what}: the COMMIT was cut ({status} {body})"
    );
    let first_id = if down {
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
        assert_eq!(body["code"], "UNAVAILABLE", "{what}");
        assert_eq!(headers[header::RETRY_AFTER], "2", "{what}");
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains(told)),
            "{what}: the client is told {told:?}: {body}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{what}: {:?}",
            started.elapsed()
        );
        s.proxy.restore();
        if !keyed {
            assert_eq!(count_headline(&direct, &headline).await, 1, "{what}");
            db.close().await.ok();
            direct.close().await.ok();
            s.cleanup().await;
            return;
        }
        // The client retries with the same key until it gets an answer.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let (status, _, body) = send_to(&app, create(&headline, &key)).await;
            if status == StatusCode::CREATED {
                assert_eq!(body["headline"], headline, "{what}");
                break body["id"].clone();
            }
            assert_eq!(
                (status, body["code"].as_str()),
                (StatusCode::SERVICE_UNAVAILABLE, Some("UNAVAILABLE")),
                "{what}: the retry is done or unavailable: {body}"
            );
            assert!(
                Instant::now() < deadline,
                "{what}: the retry succeeds once the database is back"
            );
        }
    } else {
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{what}: reported as done, since it was: {body}"
        );
        body["id"].clone()
    };
    assert_eq!(
        count_headline(&direct, &headline).await,
        1,
        "{what}: exactly one article"
    );
    // Any later retry replays the same answer.
    let (status, headers, body) = send_to(&app, create(&headline, &key)).await;
    assert_eq!(status, StatusCode::CREATED, "{what}: {body}");
    assert_eq!(headers["idempotency-replayed"], "true", "{what}");
    assert_eq!(body["id"], first_id, "{what}");
    assert_eq!(
        count_headline(&direct, &headline).await,
        1,
        "{what}: still one"
    );
    db.close().await.ok();
    direct.close().await.ok();
    s.cleanup().await;
}

/// PostgreSQL's count of deadlocks in the current database.
async fn deadlocks(db: &DatabaseConnection) -> i64 {
    db.execute_unprepared("SELECT pg_stat_clear_snapshot()")
        .await
        .expect("clear stats snapshot");
    let row = db
        .query_one(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()",
        ))
        .await
        .expect("stats")
        .expect("a row");
    row.try_get("", "deadlocks").expect("deadlocks")
}

#[tokio::test]
#[ignore = "needs GAZETTE_TEST_POSTGRES_URL (PostgreSQL); CI runs these with --include-ignored"]
async fn a_deadlock_is_run_again_and_both_transactions_succeed() {
    let app = TestApp::postgres().await;
    app.import(newsroom()).await;
    let pin = |slugs: &[&str]| {
        request(
            "PUT",
            "/api/v1/articles/summit-ends/related",
            Some(&editor()),
            Some(json!({ "slugs": slugs })),
        )
    };
    let (status, _, body) = app.send(pin(&["talks-resume"])).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (summit, _) = app.id_version("summit-ends").await;
    let other = app.second_connection().await;
    let before = deadlocks(&other).await;

    // Another writer locks an article, and only then the pins gazette is replacing; gazette
    // takes the pins first, then needs the article (its new pin refers to it): a deadlock.
    // The other writer waits longer before looking for one, so gazette's transaction is the
    // one PostgreSQL aborts.
    let txn = other.begin().await.expect("begin");
    txn.execute_unprepared("SET LOCAL deadlock_timeout = '60s'")
        .await
        .expect("set deadlock_timeout");
    txn.execute_unprepared("SELECT id FROM articles WHERE slug = 'markets-rally' FOR UPDATE")
        .await
        .expect("lock the article");
    let router = app.router.clone();
    let req = pin(&["markets-rally"]);
    let started = Instant::now();
    let gazette_write = tokio::spawn(async move { send_to(&router, req).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deleted = txn
        .execute_unprepared(&format!(
            "DELETE FROM related_pins WHERE article_id = {summit}"
        ))
        .await
        .expect("the other writer goes on once gazette's transaction is aborted");
    assert_eq!(
        deleted.rows_affected(),
        1,
        "it deleted the pin gazette had locked"
    );
    txn.commit().await.expect("the other writer commits");

    let (status, _, body) = gazette_write.await.expect("gazette's write");
    assert_eq!(
        status,
        StatusCode::OK,
        "gazette's write succeeded on its second run: {body}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "it waited for the deadlock check"
    );
    assert_eq!(
        body["data"][0]["article"]["slug"], "markets-rally",
        "{body}"
    );
    let pins = other
        .query_all(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!("SELECT related_id FROM related_pins WHERE article_id = {summit}"),
        ))
        .await
        .expect("pins");
    assert_eq!(pins.len(), 1, "the pins are gazette's, once");
    let deadline = Instant::now() + Duration::from_secs(10);
    while deadlocks(&other).await <= before {
        assert!(Instant::now() < deadline, "PostgreSQL counted the deadlock");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    other.close().await.ok();
    app.cleanup().await;
}

/// One answer a client saw.
#[derive(Debug)]
struct Seen {
    what: &'static str,
    started: Instant,
    took: Duration,
    status: StatusCode,
    code: String,
    retry_after: bool,
}

/// Makes a request.
type Make = Box<dyn Fn() -> Request<Body> + Send + Sync>;

/// The reads a front end makes: REST and GraphQL (POST under both media types, and GET).
fn reads() -> Vec<(&'static str, Make)> {
    let q = "{ articles(first: 3) { edges { node { slug headline } } } }";
    vec![
        (
            "rest article",
            Box::new(|| request("GET", "/api/v1/articles/talks-resume", None, None)),
        ),
        (
            "rest listing",
            Box::new(|| request("GET", "/api/v1/articles?section=world&limit=5", None, None)),
        ),
        (
            "graphql post",
            Box::new(move || graphql_request(None, q, &json!({}))),
        ),
        (
            "graphql post (application/json)",
            Box::new(move || {
                graphql_request(None, q, &json!({})).with_header(header::ACCEPT, "application/json")
            }),
        ),
        (
            "graphql front page (loaders shared by fields)",
            Box::new(|| {
                graphql_request(
                    None,
                    "{ sections { path articles(first: 5) { edges { node { slug authors { name } tags { name } } } } } }",
                    &json!({}),
                )
            }),
        ),
        (
            "graphql get",
            Box::new(move || {
                request(
                    "GET",
                    &format!("/graphql?query={}", urlencode(q)),
                    None,
                    None,
                )
            }),
        ),
    ]
}

async fn observe(app: &Router, what: &'static str, req: Request<Body>) -> (Seen, Value) {
    let started = Instant::now();
    let (status, headers, body): (StatusCode, HeaderMap, Value) = send_to(app, req).await;
    let seen = Seen {
        what,
        started,
        took: started.elapsed(),
        status,
        code: code_of(&body).to_owned(),
        retry_after: headers.get(header::RETRY_AFTER).is_some(),
    };
    (seen, body)
}

/// Every read once, all at the same time; each must succeed.
async fn all_reads_succeed(app: &Router, when: &str) {
    let mut tasks = Vec::new();
    for _ in 0..2 {
        for (what, make) in reads() {
            let (app, req) = (app.clone(), make());
            tasks.push(tokio::spawn(async move { observe(&app, what, req).await }));
        }
    }
    for t in tasks {
        let (seen, body) = t.await.expect("read");
        assert_eq!(
            seen.status,
            StatusCode::OK,
            "{when}: {} answered {body}",
            seen.what
        );
        assert!(
            body.get("errors").is_none(),
            "{when}: {} answered {body}",
            seen.what
        );
    }
}

#[tokio::test]
#[ignore = "needs GAZETTE_TEST_POSTGRES_URL (PostgreSQL); CI runs these with --include-ignored"]
async fn postgres_restarts_are_invisible_to_readers_and_honest_to_writers() {
    // The shared test server is never stopped: this test makes a cluster of its own.
    let _ = postgres::postgres_url();
    crate::helpers::logs();
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    let db = gazette::db::connect(&cluster.url(), 8)
        .await
        .expect("connect");
    gazette::db::migrate(&db).await.expect("migrate");
    let file = gazette::domain::import::ImportSource::bytes(newsroom().to_string().into_bytes());
    gazette::domain::import::import(&db, file, 100, &|_, _, _| {})
        .await
        .expect("import");
    let app = router(&db);

    // A restart while idle: every pooled connection is dead, and the first reads after it
    // (the INTERNAL) succeed.
    all_reads_succeed(&app, "before the restart").await;
    let idle = db.get_postgres_connection_pool().num_idle();
    assert!(
        idle >= 2,
        "the pool holds connections the restart will kill: {idle}"
    );
    cluster.stop().await;
    cluster.start_again().await;
    all_reads_succeed(&app, "right after an idle restart").await;

    // A restart under readers and writers.
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut clients = Vec::new();
    for reader in 0..4 {
        let (app, stop, seen) = (app.clone(), stop.clone(), seen.clone());
        clients.push(tokio::spawn(async move {
            let reads = reads();
            let mut n = reader;
            while !stop.load(Ordering::SeqCst) {
                let (what, make) = &reads[n % reads.len()];
                let (s, _) = observe(&app, what, make()).await;
                seen.lock().expect("seen").push(s);
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    for writer in 0..2 {
        let (app, stop, seen, acked) = (
            app.clone(),
            stop.clone(),
            seen.clone(),
            acknowledged.clone(),
        );
        clients.push(tokio::spawn(async move {
            for i in 0.. {
                let headline = format!("Writer {writer} story {i}");
                let key = format!("\"w{writer}-{i}\"");
                // As a client should: the same key until the write is acknowledged.
                loop {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let (s, body) = observe(&app, "rest create", create(&headline, &key)).await;
                    let status = s.status;
                    seen.lock().expect("seen").push(s);
                    if status == StatusCode::CREATED {
                        assert_eq!(body["headline"], headline);
                        acked.lock().expect("acked").push(headline.clone());
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.stop().await;
    // Down for longer than the pool's wait (5 s), so that some requests give up.
    tokio::time::sleep(Duration::from_millis(6500)).await;
    cluster.start_again().await;
    let back = Instant::now();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.expect("a client");
    }

    let seen = std::mem::take(&mut *seen.lock().expect("seen"));
    let (mut refused_reads, mut refused_writes) = (0, 0);
    for s in &seen {
        match s.status {
            StatusCode::OK | StatusCode::CREATED => {
                assert!(s.code.is_empty(), "a success without errors: {s:?}");
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                if s.what == "rest create" {
                    refused_writes += 1;
                } else {
                    refused_reads += 1;
                }
                assert_eq!(s.code, "UNAVAILABLE", "{s:?}");
                assert!(s.retry_after, "503 says when to retry: {s:?}");
                // The pool's wait is 5 s; a read that lost its connection may wait it once
                // more, and the request's time limit (10 s) bounds everything.
                assert!(
                    s.took < Duration::from_secs(10),
                    "within the pool's wait: {s:?}"
                );
            }
            _ => panic!("a client saw neither success nor 503: {s:?}"),
        }
    }
    let slowest = seen.iter().map(|s| s.took).max().unwrap_or_default();
    eprintln!(
        "restart under load: {} answers, {refused_reads} reads and {refused_writes} writes refused with 503, slowest answer {slowest:?}",
        seen.len()
    );
    assert!(
        refused_reads > 0,
        "reads during the outage were refused: {seen:?}"
    );
    assert!(
        refused_writes > 0,
        "writes during the outage were refused: {seen:?}"
    );
    let after: Vec<&Seen> = seen.iter().filter(|s| s.started >= back).collect();
    assert!(
        after.len() > 10,
        "clients went on after the restart: {}",
        after.len()
    );
    for s in &after {
        assert!(
            matches!(s.status, StatusCode::OK | StatusCode::CREATED),
            "reads and writes after the restart succeed: {s:?}"
        );
    }

    let acknowledged = std::mem::take(&mut *acknowledged.lock().expect("acked"));
    assert!(
        acknowledged.len() > 4,
        "writes were acknowledged: {acknowledged:?}"
    );
    for h in &acknowledged {
        assert_eq!(count_headline(&db, h).await, 1, "{h} is there, once");
    }
    let twice = db
        .query_all(Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT headline FROM articles GROUP BY headline HAVING COUNT(*) > 1",
        ))
        .await
        .expect("duplicates");
    assert!(twice.is_empty(), "no write was applied twice");

    // After a failover gazette may be left on a read-only server (the old primary, now a
    // standby, until DNS moves): writes are 503, not INTERNAL; reads go on; writes succeed
    // again once the server writes, without restarting gazette.
    read_only(&cluster, true).await;
    all_reads_succeed(&app, "on a read-only server").await;
    let (status, headers, body) = send_to(&app, create("On a standby", "\"ro-1\"")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "UNAVAILABLE");
    assert!(headers.contains_key(header::RETRY_AFTER));
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("read-only")),
        "{body}"
    );
    assert_eq!(count_headline(&db, "On a standby").await, 0);
    read_only(&cluster, false).await;
    let (status, _, body) = send_to(&app, create("On a standby", "\"ro-1\"")).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "writes again, same process: {body}"
    );
    assert_eq!(count_headline(&db, "On a standby").await, 1);
    db.close().await.ok();
}

/// Makes every session of the cluster read-only (or not), as a demoted primary would be.
async fn read_only(cluster: &Cluster, on: bool) {
    let admin = Database::connect(
        sea_orm::ConnectOptions::new(cluster.url())
            .max_connections(1)
            .sqlx_logging(false)
            .to_owned(),
    )
    .await
    .expect("admin connection");
    for sql in [
        "SET default_transaction_read_only = off".to_owned(),
        format!(
            "ALTER SYSTEM SET default_transaction_read_only = {}",
            if on { "on" } else { "off" }
        ),
        "SELECT pg_reload_conf()".to_owned(),
    ] {
        admin.execute_unprepared(&sql).await.expect("configure");
    }
    admin.close().await.ok();
    // Every session rereads the configuration before its next statement.
    tokio::time::sleep(Duration::from_millis(300)).await;
}
