//! The test harness: `TestApp` (a router over a fresh database), request helpers, and
//! fixtures written in the import format.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use gazette::domain::import::{self, ImportSummary};
use http_body_util::BodyExt as _;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// Generates `name::sqlite` and `name::postgres` tests from `async fn name(app: &TestApp)`.
#[macro_export]
macro_rules! storage_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::sqlite().await;
                super::$name(&app).await;
                app.cleanup().await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(app) = $crate::helpers::TestApp::postgres().await else {
                    eprintln!("GAZETTE_TEST_POSTGRES_URL is not set: skipped on PostgreSQL");
                    return;
                };
                super::$name(&app).await;
                app.cleanup().await;
            }
        }
    )*};
}

/// The HS256 secret the test server verifies tokens with (tests only).
pub const TEST_SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";

/// The verifier of the test server: HS256 with [`TEST_SECRET`].
pub fn test_auth() -> gazette::auth::Auth {
    gazette::auth::Auth::hs256(TEST_SECRET.as_bytes(), None, None).expect("auth")
}

/// A token for `sub` with `role`, valid for an hour.
pub fn token(sub: &str, role: &str) -> String {
    sign(json!({ "sub": sub, "role": role, "exp": now() + 3600 }))
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Signs arbitrary claims with the test secret (HS256).
pub fn sign(claims: Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .expect("sign")
}

/// A gazette router over its own fresh, migrated database.
pub struct TestApp {
    pub router: Router,
    pub db: DatabaseConnection,
    /// The router's response cache (set-up writes that bypass gazette's write paths clear it).
    pub cache: gazette::response_cache::ResponseCache,
    statements: Arc<AtomicUsize>,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

fn unique_name() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "t{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

impl TestApp {
    /// On a new SQLite file.
    pub async fn sqlite() -> Self {
        Self::sqlite_with(test_auth()).await
    }

    /// On a new SQLite file, verifying tokens with `auth`.
    pub async fn sqlite_with(auth: gazette::auth::Auth) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = gazette::db::connect(&gazette::db::embedded_url(dir.path()), 4)
            .await
            .expect("open sqlite");
        Self::build(db, None, Some(dir), auth).await
    }

    /// A second pool on the same database, as another gazette process would open.
    pub async fn second_connection(&self) -> DatabaseConnection {
        match (&self.pg, &self._dir) {
            (Some((url, schema)), _) => {
                let mut opts = ConnectOptions::new(url.clone());
                opts.max_connections(4)
                    .sqlx_logging(false)
                    .set_schema_search_path(schema.clone());
                Database::connect(opts).await.expect("second postgres pool")
            }
            (None, Some(dir)) => gazette::db::connect(&gazette::db::embedded_url(dir.path()), 4)
                .await
                .expect("second sqlite pool"),
            (None, None) => unreachable!("every test app has a database"),
        }
    }

    /// In a new schema of the PostgreSQL database at `GAZETTE_TEST_POSTGRES_URL`.
    pub async fn postgres() -> Option<Self> {
        let url = std::env::var("GAZETTE_TEST_POSTGRES_URL").ok()?;
        let schema = unique_name();
        let admin = Database::connect(url.as_str())
            .await
            .expect("connect to postgres");
        admin
            .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
            .await
            .expect("create schema");
        admin.close().await.ok();
        let mut opts = ConnectOptions::new(url.clone());
        opts.max_connections(4)
            .sqlx_logging(false)
            .set_schema_search_path(schema.clone());
        let db = Database::connect(opts)
            .await
            .expect("connect to test schema");
        Some(Self::build(db, Some((url, schema)), None, test_auth()).await)
    }

    async fn build(
        mut db: DatabaseConnection,
        pg: Option<(String, String)>,
        dir: Option<tempfile::TempDir>,
        auth: gazette::auth::Auth,
    ) -> Self {
        // Server logs (internal errors in particular) show in a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("gazette=debug")
            .try_init();
        gazette::db::migrate(&db).await.expect("migrate");
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        // Generous rate limits: a test makes hundreds of requests as one client.
        let http = gazette::state::HttpSettings {
            read_rate: gazette::http::limits::Rate {
                per_second: 100_000,
                burst: 100_000,
            },
            write_rate: gazette::http::limits::Rate {
                per_second: 100_000,
                burst: 100_000,
            },
            ..Default::default()
        };
        let state = gazette::AppState::new(db.clone(), auth).with_http(http);
        let cache = state.response_cache.clone();
        let router = gazette::app(state);
        wait_until_live(&cache).await;
        Self {
            router,
            db,
            cache,
            statements,
            pg,
            _dir: dir,
        }
    }

    /// Drops the PostgreSQL schema (SQLite files go with their temp dir).
    pub async fn cleanup(self) {
        self.db.close().await.ok();
        if let Some((url, schema)) = self.pg {
            let admin = Database::connect(url.as_str())
                .await
                .expect("connect to postgres");
            admin
                .execute_unprepared(&format!("DROP SCHEMA {schema} CASCADE"))
                .await
                .expect("drop schema");
            admin.close().await.ok();
        }
    }

    /// SQL statements run since the last call.
    pub fn take_statement_count(&self) -> usize {
        self.statements.swap(0, Ordering::SeqCst)
    }

    /// Imports a file in the import format.
    pub async fn import(&self, file: Value) -> ImportSummary {
        self.try_import(file).await.expect("import")
    }

    /// Imports a file, returning the refusal if any.
    pub async fn try_import(&self, file: Value) -> Result<ImportSummary, gazette::error::AppError> {
        let bytes = serde_json::to_vec(&file).expect("json");
        let parsed = import::parse(&bytes)?;
        // As this process's own write: applied at once, and its notification ignored.
        let touched = gazette::domain::invalidation::Touched::new(self.cache.origin());
        let done = gazette::domain::invalidation::collect(
            touched.clone(),
            import::import(&self.db, parsed, 3, &|_, _, _| {}),
        )
        .await;
        self.cache.invalidate(touched.take());
        done
    }

    /// Another gazette process on the same database: its own pool, state and response cache.
    pub async fn second_process(&self) -> (Router, gazette::response_cache::ResponseCache) {
        let state = gazette::AppState::new(self.second_connection().await, test_auth());
        let cache = state.response_cache.clone();
        let router = gazette::app(state);
        wait_until_live(&cache).await;
        (router, cache)
    }

    /// This process's database behind a router of its own with the response cache off
    /// (every read executes; sections, authors and tags come from its directory).
    pub async fn uncached(&self) -> Router {
        uncached_router(self.db.clone()).await
    }

    /// Another gazette process on the same database, with the response cache off.
    pub async fn uncached_second_process(&self) -> Router {
        uncached_router(self.second_connection().await).await
    }

    /// Sends a request and returns status, headers and the body as JSON (or a string).
    pub async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("router answers");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, headers, body)
    }

    /// GET `uri`.
    pub async fn get(&self, uri: &str) -> (StatusCode, HeaderMap, Value) {
        self.send(Request::get(uri).body(Body::empty()).expect("request"))
            .await
    }

    /// POSTs a GraphQL operation; returns status and the response body.
    pub async fn graphql(&self, query: &str, variables: Value) -> (StatusCode, Value) {
        self.graphql_as(None, query, variables).await
    }

    /// POSTs a GraphQL operation with `Authorization: Bearer <token>` when given.
    pub async fn graphql_as(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        let body = json!({ "query": query, "variables": variables });
        let mut req = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let (status, _, body) = self
            .send(req.body(Body::from(body.to_string())).expect("request"))
            .await;
        (status, body)
    }

    /// Runs an operation as `token` that must succeed; returns its `data`.
    pub async fn ok_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.graphql_as(Some(token), query, variables).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Runs an operation as `token` (or anonymously) that must fail; returns the first
    /// error's `extensions.code`.
    pub async fn code_as(&self, token: Option<&str>, query: &str, variables: Value) -> String {
        let (_, body) = self.graphql_as(token, query, variables).await;
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code: {body}"))
            .to_owned()
    }

    /// POSTs a query that must succeed; returns its `data`.
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self.graphql(query, variables).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Runs raw SQL (test set-up only; it bypasses the writes that invalidate the response
    /// cache, so the cache is cleared).
    pub async fn exec(&self, sql: &str) {
        self.db.execute_unprepared(sql).await.expect("exec");
        self.cache.clear();
    }

    /// The id and version of the article with `slug`, read from the database.
    pub async fn id_version(&self, slug: &str) -> (String, i64) {
        let row = self
            .db
            .query_one(sea_orm::Statement::from_sql_and_values(
                self.db.get_database_backend(),
                match self.db.get_database_backend() {
                    sea_orm::DbBackend::Postgres => {
                        "SELECT id, version FROM articles WHERE slug = $1"
                    }
                    _ => "SELECT id, version FROM articles WHERE slug = ?",
                },
                [slug.into()],
            ))
            .await
            .expect("query")
            .unwrap_or_else(|| panic!("no article {slug}"));
        let id: i32 = row.try_get("", "id").expect("id");
        let v: i32 = row.try_get("", "version").expect("version");
        (id.to_string(), i64::from(v))
    }

    /// Makes every revision insert fail (a trigger), to test failures inside a transaction.
    pub async fn make_revisions_fail(&self) {
        let sql: &[&str] = match self.db.get_database_backend() {
            sea_orm::DbBackend::Postgres => &[
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER boom BEFORE INSERT ON article_revisions FOR EACH ROW EXECUTE FUNCTION boom()",
            ],
            _ => &[
                "CREATE TRIGGER boom BEFORE INSERT ON article_revisions BEGIN SELECT RAISE(ABORT, 'boom'); END",
            ],
        };
        for s in sql {
            self.exec(s).await;
        }
    }

    /// Undoes [`TestApp::make_revisions_fail`].
    pub async fn let_revisions_succeed(&self) {
        self.exec(match self.db.get_database_backend() {
            sea_orm::DbBackend::Postgres => "DROP TRIGGER boom ON article_revisions",
            _ => "DROP TRIGGER boom",
        })
        .await;
    }

    /// Rows in a table (to check that nothing was written).
    pub async fn count_rows(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("n")
    }
}

async fn uncached_router(db: DatabaseConnection) -> Router {
    let off = gazette::response_cache::Settings {
        max_bytes: 0,
        ..Default::default()
    };
    let state = gazette::AppState::new(db, test_auth()).with_response_cache(&off);
    let cache = state.response_cache.clone();
    let router = gazette::app(state);
    wait_until_live(&cache).await;
    router
}

/// Waits (up to 5 s) until a response cache hears other processes' writes: at once on
/// SQLite, once the listener has connected on PostgreSQL.
pub async fn wait_until_live(cache: &gazette::response_cache::ResponseCache) {
    for _ in 0..500 {
        if cache.hears_others() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the response cache did not start listening");
}

/// A request with an optional bearer token and JSON body.
pub fn request(method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    match body {
        Some(b) => r
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => r.body(Body::empty()),
    }
    .expect("request")
}

/// The slugs of a connection's nodes, in order (`{ edges { node { slug } } }`).
pub fn slugs(connection: &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["slug"].as_str().expect("slug").to_owned())
        .collect()
}

/// The slugs of a REST listing's `data`, in order.
pub fn rest_slugs(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|a| a["slug"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A small newsroom: nested sections, two authors, six published articles over six days
/// (one with two bylines), one draft, one in review, comments approved, pending and threaded.
pub fn newsroom() -> Value {
    let article = |slug: &str,
                   day: u32,
                   section: &str,
                   authors: &[&str],
                   tags: &[&str],
                   status: &str| {
        json!({
            "slug": slug,
            "headline": format!("Headline of {slug}"),
            "dek": format!("Dek of {slug}"),
            "section": section,
            "authors": authors,
            "tags": tags,
            "status": status,
            "publishedAt": if status == "PUBLISHED" { json!(format!("2026-03-{day:02}T09:00:00Z")) } else { Value::Null },
            "createdAt": format!("2026-03-{day:02}T08:00:00Z"),
            "body": [
                { "heading": { "level": 2, "text": "What happened" } },
                { "paragraph": { "html": format!("The <em>story</em> of {slug}, with <a href=\"https://example.org/{slug}\">a link</a>.") } },
                { "list": { "ordered": false, "items": ["<strong>First:</strong> one", "<strong>Second:</strong> two"] } },
                { "quote": { "html": "We will see.", "attribution": "A spokesperson" } },
                { "image": { "url": "https://img.example.org/1.jpg", "alt": "A quay", "caption": "The quay at dawn", "credit": "Photo: Desk" } },
                { "embed": { "url": "https://www.youtube.com/watch?v=abc" } }
            ]
        })
    };
    json!({
        "sections": [
            { "slug": "world", "name": "World", "description": "News from abroad" },
            { "slug": "middle-east", "name": "Middle East", "parent": "world" },
            { "slug": "business", "name": "Business" }
        ],
        "authors": [
            { "slug": "omar-haddad", "name": "Omar Haddad", "title": "World Editor", "bio": "Covers the region.", "subject": "omar" },
            { "slug": "lena-berg", "name": "Lena Berg", "title": "Business Reporter", "subject": "lena" }
        ],
        "articles": [
            article("talks-resume", 1, "world/middle-east", &["omar-haddad"], &["ceasefire talks", "diplomacy"], "PUBLISHED"),
            article("border-reopens", 2, "world/middle-east", &["omar-haddad", "lena-berg"], &["ceasefire talks"], "PUBLISHED"),
            article("summit-ends", 3, "world", &["omar-haddad"], &["diplomacy"], "PUBLISHED"),
            article("markets-rally", 4, "business", &["lena-berg"], &["markets"], "PUBLISHED"),
            article("port-profits", 5, "business", &["lena-berg"], &["markets", "shipping"], "PUBLISHED"),
            article("aid-arrives", 6, "world/middle-east", &["omar-haddad"], &["aid"], "PUBLISHED"),
            article("secret-draft", 7, "world/middle-east", &["omar-haddad"], &["ceasefire talks", "diplomacy"], "DRAFT"),
            article("under-review", 8, "business", &["lena-berg"], &["markets"], "IN_REVIEW")
        ],
        "comments": [
            { "key": "c1", "article": "talks-resume", "authorName": "Ana", "body": "First!", "status": "APPROVED", "createdAt": "2026-03-01T10:00:00Z" },
            { "key": "c2", "article": "talks-resume", "parent": "c1", "authorName": "Ben", "body": "A reply", "status": "APPROVED", "createdAt": "2026-03-01T11:00:00Z" },
            { "key": "c3", "article": "talks-resume", "authorName": "Spammer", "body": "Buy now", "status": "SPAM", "createdAt": "2026-03-01T12:00:00Z" },
            { "key": "c4", "article": "talks-resume", "authorName": "Cy", "body": "Held for review", "status": "PENDING", "createdAt": "2026-03-01T13:00:00Z" },
            { "key": "c5", "article": "talks-resume", "authorName": "Di", "body": "Second thread", "status": "APPROVED", "createdAt": "2026-03-01T14:00:00Z" },
            { "key": "c6", "article": "secret-draft", "authorName": "Eve", "body": "On a draft", "status": "APPROVED", "createdAt": "2026-03-07T10:00:00Z" }
        ]
    })
}

/// `n` published articles in one section, each with its own author and two tags.
pub fn many_articles(n: usize) -> Value {
    let authors: Vec<Value> = (0..n)
        .map(|i| json!({ "slug": format!("author-{i}"), "name": format!("Author {i}") }))
        .collect();
    let articles: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "slug": format!("story-{i}"),
                "headline": format!("Story {i}"),
                "section": "news",
                "authors": [format!("author-{i}")],
                "tags": [format!("tag {i}"), "shared"],
                "status": "PUBLISHED",
                "publishedAt": format!("2026-01-01T00:{:02}:{:02}Z", i / 60, i % 60),
                "body": [{ "paragraph": { "html": "Text." } }]
            })
        })
        .collect();
    let comments: Vec<Value> = (0..n)
        .map(|i| json!({ "key": format!("k{i}"), "article": format!("story-{i}"), "authorName": "R", "body": "Hi" }))
        .collect();
    json!({
        "sections": [{ "slug": "news", "name": "News" }],
        "authors": authors,
        "articles": articles,
        "comments": comments
    })
}
