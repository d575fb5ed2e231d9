//! Read replicas on a real streaming replica of the test server: anonymous reads go to the
//! replica and everything else to the primary; a publish is never refilled into the cache
//! from a replica that has not replayed it (replay paused with `pg_wal_replay_pause()`); a
//! replica that lags or goes down leaves rotation and comes back; `/readyz` follows the
//! primary only; `/metrics` shows each replica's state and lag.
//!
//! They need `GAZETTE_TEST_POSTGRES_URL` and `GAZETTE_TEST_REPLICA_URL`, the URL of a hot
//! standby of that server (`postgres://user@host:port`; the database is the primary's, which
//! the standby replays with every test's schema). `.ci/replica.sh start` makes one:
//!
//! ```text
//! .ci/replica.sh start
//! GAZETTE_TEST_REPLICA_URL=postgres://postgres@127.0.0.1:5433 GAZETTE_TEST_POSTGRES_URL=… \
//!     cargo test --test api postgres_replicas -- --include-ignored
//! .ci/replica.sh stop
//! ```
//!
//! Pausing replay pauses it for every database of the standby, so these tests run one at a
//! time ([`REPLICA`]), and each leaves replay running however it ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use gazette::replicas::{Settings, State};
use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

use crate::fixtures::newsroom;
use crate::helpers::proxy::Proxy;
use crate::helpers::{
    TestApp, editor, graphql_request, postgres, rate_limits, request, send_to, test_auth,
    test_site, wait_until_live,
};

/// The variable naming the standby.
const REPLICA_URL_VAR: &str = "GAZETTE_TEST_REPLICA_URL";

/// One test at a time on the standby (replay is paused for all of it).
static REPLICA: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The standby's URL for the primary's database; panics, naming the variable, when unset.
fn replica_url() -> String {
    let server = std::env::var(REPLICA_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{REPLICA_URL_VAR} is not set, and this test needs a streaming replica of the \
             server at GAZETTE_TEST_POSTGRES_URL: run `.ci/replica.sh start` and set it to \
             the URL it prints"
        )
    });
    let primary = postgres::postgres_url();
    let database = primary.rsplit_once('/').map_or("postgres", |(_, d)| d);
    let server = server.split_once("://").map_or(server.as_str(), |(_, r)| r);
    let host = server.split('/').next().unwrap_or(server);
    format!("postgres://{host}/{database}")
}

/// `host:port` of a URL.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// Replay on the standby (superuser functions; on the standby's `postgres` database).
async fn replay(resume: bool) {
    let url = replica_url();
    let admin = format!(
        "{}/postgres",
        url.rsplit_once('/').map_or(url.as_str(), |(h, _)| h)
    );
    let db = Database::connect(admin)
        .await
        .expect("connect to the standby");
    let f = if resume {
        "pg_wal_replay_resume"
    } else {
        "pg_wal_replay_pause"
    };
    db.execute_unprepared(&format!("SELECT {f}()"))
        .await
        .expect("replay control");
    db.close().await.ok();
}

/// Resumes replay when the test ends, however it ends (a failed assertion included).
struct ResumeOnDrop;

impl Drop for ResumeOnDrop {
    fn drop(&mut self) {
        let _ = std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(replay(true));
        })
        .join();
    }
}

/// A gazette process with the standby as its replica, counting the statements each side
/// runs (the health check, the fence and the listener use the pools directly, uncounted).
struct Replicated {
    router: Router,
    state: gazette::AppState,
    on_primary: Arc<AtomicUsize>,
    on_replica: Arc<AtomicUsize>,
    name: String,
}

impl Replicated {
    async fn new(app: &TestApp, cached: bool, settings: Settings, via: Option<&Proxy>) -> Self {
        let (url, schema) = app.postgres_schema().expect("a PostgreSQL app");
        let counted = |mut db: DatabaseConnection| {
            let n = Arc::new(AtomicUsize::new(0));
            let c = n.clone();
            db.set_metric_callback(move |_| {
                c.fetch_add(1, Ordering::SeqCst);
            });
            (db, n)
        };
        let (primary, on_primary) = counted(
            Database::connect(postgres::options(url, schema, 4))
                .await
                .expect("primary pool"),
        );
        let mut replica = replica_url();
        if let Some(p) = via {
            replica = replica.replacen(&host_port(&replica), &p.addr.to_string(), 1);
        }
        let mut opts = postgres::options(&replica, schema, 4);
        opts.connect_lazy(true)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(2))
            .connect_timeout(Duration::from_secs(1));
        let (replica, on_replica) = counted(Database::connect(opts).await.expect("replica pool"));
        let name = format!("standby/{schema}");
        let off = gazette::response_cache::Settings {
            max_bytes: if cached { 64 << 20 } else { 0 },
            ..Default::default()
        };
        let state = gazette::AppState::new(primary, test_auth())
            .with_http(rate_limits((100_000, 100_000), (100_000, 100_000)))
            .with_site(test_site(|_| {}))
            .with_response_cache(&off)
            .with_replicas(vec![(name.clone(), replica)], settings)
            .expect("replicas on PostgreSQL");
        let router = gazette::app(state.clone());
        wait_until_live(&state.response_cache).await;
        Self {
            router,
            state,
            on_primary,
            on_replica,
            name,
        }
    }

    fn replica(&self) -> &gazette::replicas::Replica {
        &self.state.db.replicas().expect("replicas").list()[0]
    }

    /// Waits (up to 20 s) until the replica is in rotation and has replayed up to the fence,
    /// so that the next anonymous read goes to it.
    async fn caught_up(&self) {
        for _ in 0..2000 {
            if self.replica().state() == State::Up
                && self
                    .state
                    .fence
                    .required()
                    .is_some_and(|lsn| self.replica().replayed() >= lsn)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "the replica did not catch up: {:?}, replayed {} of {:?}",
            self.replica().state(),
            self.replica().replayed(),
            self.state.fence.required()
        );
    }

    /// Waits (up to 20 s) until `/metrics` says the replica is in `state`.
    async fn metrics_say(&self, state: &str) -> String {
        let line = format!(
            "gazette_replica_state{{replica=\"{}\",state=\"{state}\"}} 1",
            self.name
        );
        let mut text = String::new();
        for _ in 0..400 {
            text = self.metrics().await;
            if text.lines().any(|l| l == line) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("/metrics never said {line}; last:\n{text}");
    }

    async fn metrics(&self) -> String {
        let (status, _, body) = crate::helpers::send_raw(
            &self.router,
            crate::helpers::raw_request("GET", "/metrics", None, None, ""),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        String::from_utf8(body).expect("utf-8")
    }

    /// Runs `req` and says which side ran statements for it: `(primary, replica)`.
    async fn sides(&self, req: axum::http::Request<axum::body::Body>) -> (Value, usize, usize) {
        let (p0, r0) = (self.primary_count(), self.replica_count());
        let (status, _, body) = send_to(&self.router, req).await;
        assert!(status.is_success(), "{status}: {body}");
        (body, self.primary_count() - p0, self.replica_count() - r0)
    }

    /// Waits (up to 20 s) until `req()` runs on the replica alone: back in rotation. A busy
    /// shared server may push a replica past a tight `max_lag` for a moment, so this asks
    /// again rather than once.
    async fn back_on_replica(&self, req: impl Fn() -> axum::http::Request<axum::body::Body>) {
        for _ in 0..100 {
            self.caught_up().await;
            let (_, primary, replica) = self.sides(req()).await;
            if replica > 0 && primary == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("reads never went back to the replica");
    }

    fn primary_count(&self) -> usize {
        self.on_primary.load(Ordering::SeqCst)
    }

    fn replica_count(&self) -> usize {
        self.on_replica.load(Ordering::SeqCst)
    }

    async fn ready(&self) -> StatusCode {
        send_to(&self.router, request("GET", "/readyz", None, None))
            .await
            .0
    }
}

fn gql(token: Option<&str>, query: &str) -> axum::http::Request<axum::body::Body> {
    graphql_request(token, query, &json!({}))
}

/// The published headline on the standby itself, read directly.
async fn headline_on_standby(app: &TestApp, slug: &str) -> String {
    let (_, schema) = app.postgres_schema().expect("postgres");
    let db = Database::connect(postgres::options(&replica_url(), schema, 1))
        .await
        .expect("standby");
    let row = db
        .query_one(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT headline FROM articles WHERE slug = $1",
            [slug.into()],
        ))
        .await
        .expect("read the standby")
        .expect("the article is on the standby");
    db.close().await.ok();
    row.try_get("", "headline").expect("headline")
}

fn fast() -> Settings {
    Settings {
        max_lag: Duration::from_secs(30),
        check_every: Duration::from_millis(100),
    }
}

async fn set_up() -> (tokio::sync::MutexGuard<'static, ()>, ResumeOnDrop, TestApp) {
    let guard = REPLICA.lock().await;
    replay(true).await;
    let app = TestApp::postgres().await;
    app.import(newsroom()).await;
    (guard, ResumeOnDrop, app)
}

#[tokio::test]
#[ignore = "needs GAZETTE_TEST_POSTGRES_URL and GAZETTE_TEST_REPLICA_URL (.ci/replica.sh); CI runs these with --include-ignored"]
async fn anonymous_reads_go_to_the_replica_and_tokens_and_writes_to_the_primary() {
    let (_one, _resume, app) = set_up().await;
    let g = Replicated::new(&app, false, fast(), None).await;
    g.caught_up().await;
    // The directory loads once, from the primary; what follows reads it from memory.
    g.sides(request("GET", "/api/v1/articles", None, None))
        .await;

    let anonymous = [
        (
            "REST",
            request("GET", "/api/v1/articles?section=world", None, None),
        ),
        (
            "one article",
            request("GET", "/api/v1/articles/talks-resume", None, None),
        ),
        (
            "GraphQL POST",
            gql(
                None,
                "{ articles(first: 3) { edges { node { headline } } } }",
            ),
        ),
        (
            "GraphQL GET",
            request(
                "GET",
                "/graphql?query=%7Barticle(slug%3A%22summit-ends%22)%7Bheadline%7D%7D",
                None,
                None,
            ),
        ),
        ("a feed", request("GET", "/feeds/rss.xml", None, None)),
    ];
    for (what, req) in anonymous {
        g.caught_up().await;
        let (_, primary, replica) = g.sides(req).await;
        assert!(replica > 0, "{what}: an anonymous read runs on the replica");
        assert_eq!(primary, 0, "{what}: and not on the primary");
    }

    let token = editor();
    let on_primary = [
        (
            "REST with a token",
            request("GET", "/api/v1/articles", Some(&token), None),
        ),
        (
            "GraphQL with a token",
            gql(Some(&token), "{ articles(first: 3) { totalCount } }"),
        ),
        (
            "a write",
            request(
                "POST",
                "/api/v1/sections",
                Some(&token),
                Some(json!({ "name": "Climate" })),
            ),
        ),
        (
            "a mutation",
            gql(
                Some(&token),
                r#"mutation { createSection(input: { name: "Science" }) { path } }"#,
            ),
        ),
    ];
    for (what, req) in on_primary {
        let (_, primary, replica) = g.sides(req).await;
        assert!(primary > 0, "{what}: runs on the primary");
        assert_eq!(replica, 0, "{what}: never on the replica");
    }
    assert_eq!(g.ready().await, StatusCode::OK);
    app.cleanup().await;
}

#[tokio::test]
#[ignore = "needs GAZETTE_TEST_POSTGRES_URL and GAZETTE_TEST_REPLICA_URL (.ci/replica.sh); CI runs these with --include-ignored"]
async fn a_change_is_never_refilled_into_the_cache_from_a_replica_that_has_not_replayed_it() {
    let (_one, _resume, app) = set_up().await;
    // Two processes on the same primary and standby, each with its response cache.
    let a = Replicated::new(&app, true, fast(), None).await;
    let b = Replicated::new(&app, true, fast(), None).await;
    let uri = "/api/v1/articles/talks-resume";
    let headline = |v: &Value| v["headline"].as_str().unwrap_or_default().to_owned();
    let old = headline(&send_to(&a.router, request("GET", uri, None, None)).await.2);
    for p in [&a, &b] {
        p.caught_up().await;
        let (status, headers, body) = send_to(&p.router, request("GET", uri, None, None)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headline(&body), old);
        let (_, again, _) = send_to(&p.router, request("GET", uri, None, None)).await;
        assert_eq!(
            again["x-cache"],
            "HIT",
            "cached (first: {:?})",
            headers.get("x-cache")
        );
    }

    // The standby stops replaying; the edit commits on the primary.
    replay(false).await;
    let (_, version) = app.id_version("talks-resume").await;
    let new = "Talks resume after a week of silence";
    let (status, _, body) = send_to(
        &a.router,
        request(
            "PATCH",
            uri,
            Some(&editor()),
            Some(json!({ "expected_version": version, "headline": new })),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        headline_on_standby(&app, "talks-resume").await,
        old,
        "the standby has not replayed the edit"
    );

    // The writing process: its own invalidation, then a read that must not come from the standby.
    let before = a.replica_count();
    for expect in ["MISS", "HIT"] {
        let (status, headers, body) = send_to(&a.router, request("GET", uri, None, None)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headline(&body),
            new,
            "the writer's next anonymous read is the new one"
        );
        assert_eq!(headers["x-cache"], expect);
    }
    assert_eq!(
        a.replica_count(),
        before,
        "nothing was read from the stale standby"
    );

    // The other process hears the write at its commit: until then it may serve what it had
    // (as without replicas), after it never the old answer again.
    let mut heard = false;
    for _ in 0..300 {
        let (_, _, body) = send_to(&b.router, request("GET", uri, None, None)).await;
        if headline(&body) == new {
            heard = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(heard, "the other process heard the edit");
    for _ in 0..5 {
        let (_, headers, body) = send_to(&b.router, request("GET", uri, None, None)).await;
        assert_eq!(headline(&body), new, "never refilled with the old headline");
        assert_eq!(headers["x-cache"], "HIT");
    }
    let listing = "/api/v1/articles?section=world";
    let (_, _, body) = send_to(&b.router, request("GET", listing, None, None)).await;
    assert!(
        body.to_string().contains(new) && !body.to_string().contains(&old),
        "listings too: {body}"
    );

    // Replay resumes: the standby converges, and reads go back to it.
    replay(true).await;
    a.caught_up().await;
    assert_eq!(headline_on_standby(&app, "talks-resume").await, new);
    let (body, _, replica) = a
        .sides(gql(
            None,
            r#"{ article(slug: "talks-resume") { headline } }"#,
        ))
        .await;
    assert!(
        replica > 0,
        "back on the replica once it has replayed the edit"
    );
    assert_eq!(body["data"]["article"]["headline"], new);
    app.cleanup().await;
}

#[tokio::test]
#[ignore = "needs GAZETTE_TEST_POSTGRES_URL and GAZETTE_TEST_REPLICA_URL (.ci/replica.sh); CI runs these with --include-ignored"]
async fn a_replica_that_lags_or_goes_down_leaves_rotation_and_comes_back() {
    let (_one, _resume, app) = set_up().await;
    let proxy = Proxy::start(host_port(&replica_url()), true).await;
    let settings = Settings {
        max_lag: Duration::from_millis(500),
        check_every: Duration::from_millis(100),
    };
    let g = Replicated::new(&app, false, settings, Some(&proxy)).await;
    g.caught_up().await;
    g.metrics_say("up").await;
    let read = || request("GET", "/api/v1/articles?section=business", None, None);
    g.sides(read()).await;

    // Lagging: replay stops while the primary takes a write.
    replay(false).await;
    let (status, _, _) = send_to(
        &g.router,
        request(
            "POST",
            "/api/v1/sections",
            Some(&editor()),
            Some(json!({ "name": "Climate" })),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let text = g.metrics_say("lagging").await;
    let lag = text
        .lines()
        .find(|l| {
            l.starts_with(&format!(
                "gazette_replica_lag_seconds{{replica=\"{}\"}}",
                g.name
            ))
        })
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .expect("the lag is in /metrics");
    assert!(lag > 0.5, "lag {lag} s past the 0.5 s allowed");
    let (_, primary, replica) = g.sides(read()).await;
    assert!(
        primary > 0 && replica == 0,
        "reads go to the primary meanwhile"
    );
    assert_eq!(g.ready().await, StatusCode::OK, "still ready");

    replay(true).await;
    g.metrics_say("up").await;
    g.back_on_replica(read).await;

    // Down: every connection to the standby cut, new ones refused.
    proxy.cut();
    g.metrics_say("down").await;
    let (body, primary, _) = g.sides(read()).await;
    assert!(primary > 0, "reads go to the primary");
    assert!(!body["data"].as_array().expect("a listing").is_empty());
    let (status, _, body) = send_to(&g.router, request("GET", "/readyz", None, None)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a replica outage is no reason to leave the load balancer"
    );
    assert_eq!(body["status"], "ready");

    proxy.restore();
    g.metrics_say("up").await;
    g.back_on_replica(read).await;
    app.cleanup().await;
}
