//! The test harness: `TestApp` (a router over a fresh database) and the `storage_tests!`
//! macro, with request building, tokens and the PostgreSQL set-up in the modules below.
//! Fixtures in the import format are in `crate::fixtures`.

mod auth;
pub mod cluster;
mod http;
pub mod postgres;
pub mod proxy;
pub mod ws;

pub use auth::{TEST_SECRET, editor, now, raw_token, sign, sign_with, test_auth, token, writer};
pub use http::{
    WithHeader, assert_body_html, assert_problem, graphql_request, raw_request, request,
    rest_slugs, send_raw, send_to, slugs, urlencode,
};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use gazette::domain::import::{self, ImportReport, ImportSource};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

/// Generates `name::sqlite` and `name::postgres` tests from `async fn name(app: &TestApp)`.
/// The PostgreSQL one is ignored unless asked for (see [`postgres`]).
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
            #[ignore = "needs GAZETTE_TEST_POSTGRES_URL (PostgreSQL); CI runs these with --include-ignored"]
            async fn postgres() {
                let app = $crate::helpers::TestApp::postgres().await;
                super::$name(&app).await;
                app.cleanup().await;
            }
        }
    )*};
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

    /// Another app on a new, empty database of the same kind (SQLite or PostgreSQL).
    pub async fn empty_sibling(&self) -> Self {
        match self.pg {
            Some(_) => Self::postgres().await,
            None => Self::sqlite().await,
        }
    }

    /// A second pool on the same database, as another gazette process would open.
    pub async fn second_connection(&self) -> DatabaseConnection {
        match (&self.pg, &self._dir) {
            (Some((url, schema)), _) => Database::connect(postgres::options(url, schema, 4))
                .await
                .expect("second postgres pool"),
            (None, Some(dir)) => gazette::db::connect(&gazette::db::embedded_url(dir.path()), 4)
                .await
                .expect("second sqlite pool"),
            (None, None) => unreachable!("every test app has a database"),
        }
    }

    /// In a new schema of the PostgreSQL database at `GAZETTE_TEST_POSTGRES_URL`; panics
    /// when it is not set (PostgreSQL tests are ignored unless asked for: see [`postgres`]).
    pub async fn postgres() -> Self {
        let url = postgres::postgres_url();
        let schema = postgres::create_schema(&url).await;
        let db = Database::connect(postgres::options(&url, &schema, 4))
            .await
            .expect("connect to test schema");
        Self::build(db, Some((url, schema)), None, test_auth()).await
    }

    async fn build(
        mut db: DatabaseConnection,
        pg: Option<(String, String)>,
        dir: Option<tempfile::TempDir>,
        auth: gazette::auth::Auth,
    ) -> Self {
        logs();
        gazette::db::migrate(&db).await.expect("migrate");
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        db.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        // Generous rate limits: a test makes hundreds of requests as one client.
        let http = rate_limits((100_000, 100_000), (100_000, 100_000));
        let state = gazette::AppState::new(db.clone(), auth)
            .with_http(http)
            .with_site(test_site(|_| {}));
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
            postgres::drop_schema(&url, &schema).await;
        }
    }

    /// The PostgreSQL URL and schema of this app, if it is on PostgreSQL.
    pub fn postgres_schema(&self) -> Option<(&str, &str)> {
        self.pg.as_ref().map(|(u, s)| (u.as_str(), s.as_str()))
    }

    /// SQL statements run since the last call.
    pub fn take_statement_count(&self) -> usize {
        self.statements.swap(0, Ordering::SeqCst)
    }

    /// Imports a file in the import format.
    pub async fn import(&self, file: Value) -> ImportReport {
        self.try_import(file).await.expect("import")
    }

    /// Imports a file, returning the refusal if any.
    pub async fn try_import(&self, file: Value) -> Result<ImportReport, gazette::error::AppError> {
        self.try_import_source(ImportSource::bytes(
            serde_json::to_vec(&file).expect("json"),
        ))
        .await
    }

    /// Imports a file given as bytes or a path, three articles per batch.
    pub async fn try_import_source(
        &self,
        source: ImportSource,
    ) -> Result<ImportReport, gazette::error::AppError> {
        // As this process's own write: applied at once, and its notification ignored.
        let touched = gazette::domain::invalidation::Touched::new(self.cache.origin());
        let done = gazette::domain::invalidation::collect(
            touched.clone(),
            import::import(&self.db, source, 3, &|_, _, _| {}),
        )
        .await;
        self.cache.invalidate(touched.take());
        done
    }

    /// Imports a WordPress or Ghost export (or gazette's own format) given as bytes.
    pub async fn try_import_from(
        &self,
        format: import::Format,
        bytes: &[u8],
        site_url: Option<&str>,
    ) -> Result<ImportReport, gazette::error::AppError> {
        let options = import::ForeignOptions {
            site_url: site_url.map(str::to_owned),
            ..Default::default()
        };
        self.try_import_with(format, bytes, options).await
    }

    /// Imports a WordPress or Ghost export given as bytes, with these options (a section map).
    pub async fn try_import_with(
        &self,
        format: import::Format,
        bytes: &[u8],
        options: import::ForeignOptions,
    ) -> Result<ImportReport, gazette::error::AppError> {
        let touched = gazette::domain::invalidation::Touched::new(self.cache.origin());
        let done = gazette::domain::invalidation::collect(
            touched.clone(),
            import::import_from(
                &self.db,
                format,
                ImportSource::bytes(bytes.to_vec()),
                options,
                3,
                &|_, _, _| {},
            ),
        )
        .await;
        self.cache.invalidate(touched.take());
        done
    }

    /// Another gazette process on the same database: its own pool, state and response cache.
    pub async fn second_process(&self) -> (Router, gazette::response_cache::ResponseCache) {
        let state = gazette::AppState::new(self.second_connection().await, test_auth())
            .with_site(test_site(|_| {}));
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

    /// [`Self::uncached`], and without the memo of rendered bodies either: every body is
    /// read and rendered for each answer.
    pub async fn uncached_unrendered(&self) -> Router {
        uncached_router_with(self.db.clone(), |s| {
            s.with_rendered_bodies(0).with_ninjs_items(0)
        })
        .await
    }

    /// This database behind a router whose site settings are the tests' with `change`
    /// applied (another public URL, other templates, none).
    pub async fn with_site(
        &self,
        change: impl FnOnce(&mut gazette::domain::site::SiteSettings),
    ) -> Router {
        let http = rate_limits((100_000, 100_000), (100_000, 100_000));
        let state = gazette::AppState::new(self.db.clone(), test_auth())
            .with_http(http)
            .with_site(test_site(change));
        let cache = state.response_cache.clone();
        let router = gazette::app(state);
        wait_until_live(&cache).await;
        router
    }

    /// This database behind a router (with its own response cache) whose comments follow
    /// `settings`.
    pub async fn with_comments(&self, settings: gazette::domain::comments::Settings) -> Router {
        let http = rate_limits((100_000, 100_000), (100_000, 100_000));
        let state = gazette::AppState::new(self.db.clone(), test_auth())
            .with_http(http)
            .with_site(test_site(|_| {}))
            .with_comments(gazette::domain::comments::Service::new(settings).expect("comments"));
        let cache = state.response_cache.clone();
        let router = gazette::app(state);
        wait_until_live(&cache).await;
        router
    }

    /// Another gazette process on the same database, with the response cache off.
    pub async fn uncached_second_process(&self) -> Router {
        uncached_router(self.second_connection().await).await
    }

    /// Sends a request and returns status, headers and the body as JSON (or a string).
    pub async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        send_to(&self.router, req).await
    }

    /// GET `uri`.
    pub async fn get(&self, uri: &str) -> (StatusCode, HeaderMap, Value) {
        self.send(request("GET", uri, None, None)).await
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
        let (status, _, body) = self.send(graphql_request(token, query, &variables)).await;
        (status, body)
    }

    /// Runs an operation as `token` that must succeed; returns its `data`.
    pub async fn ok_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.graphql_as(Some(token), query, variables).await;
        data_of(status, body)
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
        data_of(status, body)
    }

    /// Runs a workflow step (`publishArticle`, `unpublishArticle`, …) as `token` on the
    /// article with `slug`, at its current version; returns the mutation's `data`.
    pub async fn step_as(&self, token: &str, mutation: &str, slug: &str) -> Value {
        let (id, v) = self.id_version(slug).await;
        let op = format!(
            "mutation($id: ID!, $v: Int!) {{ {mutation}(id: $id, expectedVersion: $v) {{ status }} }}"
        );
        self.ok_as(token, &op, json!({ "id": id, "v": v })).await
    }

    /// Runs raw SQL (test set-up only; it bypasses the writes that invalidate the response
    /// cache, so the cache is cleared).
    pub async fn exec(&self, sql: &str) {
        self.db.execute_unprepared(sql).await.expect("exec");
        self.cache.clear();
    }

    /// The id and version of the article with `slug`, read from the database.
    pub async fn id_version(&self, slug: &str) -> (String, i64) {
        self.id_version_opt(slug)
            .await
            .unwrap_or_else(|| panic!("no article {slug}"))
    }

    /// [`Self::id_version`], or `None` when there is no such article.
    pub async fn id_version_opt(&self, slug: &str) -> Option<(String, i64)> {
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
            .expect("query")?;
        let id: i32 = row.try_get("", "id").expect("id");
        let v: i32 = row.try_get("", "version").expect("version");
        Some((id.to_string(), i64::from(v)))
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

    /// Rows in each of `tables`, in order (to check that nothing was written).
    pub async fn row_counts(&self, tables: &[&str]) -> Vec<i64> {
        let mut out = Vec::with_capacity(tables.len());
        for t in tables {
            out.push(self.count_rows(t).await);
        }
        out
    }

    /// Creates the partner `slug` with a key, as an admin, and returns a token of that key
    /// (what `gazette token --role partner --sub SLUG` mints).
    pub async fn partner(&self, slug: &str, sections: &[&str], embargoed: bool) -> String {
        let admin = token("root", "admin");
        self.ok_as(
            &admin,
            "mutation($i: PartnerInput!) { createPartner(input: $i) { slug } }",
            json!({ "i": { "name": format!("Partner {slug}"), "slug": slug, "sections": sections, "embargoed": embargoed } }),
        )
        .await;
        let data = self
            .ok_as(
                &admin,
                "mutation($p: String!) { createPartnerKey(partner: $p) { id } }",
                json!({ "p": slug }),
            )
            .await;
        let key = data["createPartnerKey"]["id"].as_str().expect("key id");
        sign(json!({ "sub": slug, "role": "partner", "key": key, "exp": now() + 3600 }))
    }

    /// The column `v` (text) of every row `sql` returns, joined by commas.
    pub async fn exec_value(&self, sql: &str) -> String {
        let rows = self
            .db
            .query_all(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .expect("query");
        rows.iter()
            .map(|r| {
                r.try_get::<Option<String>>("", "v")
                    .expect("text")
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join(",")
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

/// Shows server logs (internal errors in particular) in a failing test's output.
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("gazette=debug")
        .try_init();
}

/// The front end's base URL in tests.
pub const PUBLIC_URL: &str = "https://news.example";

/// The tests' site: public URL [`PUBLIC_URL`], publication "The Example Times" in English,
/// default templates, with `change` applied.
pub fn test_site(
    change: impl FnOnce(&mut gazette::domain::site::SiteSettings),
) -> gazette::domain::site::Site {
    let mut s = gazette::domain::site::SiteSettings {
        public_url: Some(PUBLIC_URL.into()),
        name: "The Example Times".into(),
        logo: Some(format!("{PUBLIC_URL}/logo.png")),
        ..Default::default()
    };
    change(&mut s);
    gazette::domain::site::Site::new(s).expect("valid test site")
}

/// HTTP settings with these per-client rate limits, each `(per_second, burst)`, for reads
/// and for writes; the rest default.
pub fn rate_limits(read: (u32, u32), write: (u32, u32)) -> gazette::state::HttpSettings {
    let rate = |(per_second, burst)| gazette::rate_limit::Rate { per_second, burst };
    gazette::state::HttpSettings {
        read_rate: rate(read),
        write_rate: rate(write),
        ..Default::default()
    }
}

async fn uncached_router(db: DatabaseConnection) -> Router {
    uncached_router_with(db, |s| s).await
}

async fn uncached_router_with(
    db: DatabaseConnection,
    change: impl FnOnce(gazette::AppState) -> gazette::AppState,
) -> Router {
    let off = gazette::response_cache::Settings {
        max_bytes: 0,
        ..Default::default()
    };
    let state = change(
        gazette::AppState::new(db, test_auth())
            .with_response_cache(&off)
            .with_site(test_site(|_| {})),
    );
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

/// The `data` of a GraphQL answer that must have succeeded: status 200, no errors, and data
/// present (so a body that is not a GraphQL answer at all never passes for one).
pub fn data_of(status: StatusCode, body: Value) -> Value {
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("errors").is_none(), "unexpected errors: {body}");
    assert!(body["data"].is_object(), "an answer with data: {body}");
    body["data"].clone()
}
