//! The PostgreSQL side of the harness: where the server is, and a fresh schema per test.
//!
//! Every test that needs PostgreSQL is `#[ignore]`d, so that `cargo test` runs on a machine
//! with nothing installed and reports those tests as ignored rather than passed. CI runs
//! them with the server's address in `GAZETTE_TEST_POSTGRES_URL`:
//!
//! ```text
//! GAZETTE_TEST_POSTGRES_URL=postgres://… cargo test --test api postgres -- --include-ignored
//! ```
//!
//! Run without the variable, they fail: a PostgreSQL test that did not run never passes.

use std::sync::atomic::{AtomicUsize, Ordering};

use sea_orm::{ConnectOptions, ConnectionTrait as _, Database};

/// The variable that names the PostgreSQL database the tests make their schemas in.
pub const POSTGRES_URL_VAR: &str = "GAZETTE_TEST_POSTGRES_URL";

/// The PostgreSQL database the tests use; panics, naming the variable, when it is not set.
pub fn postgres_url() -> String {
    std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_URL_VAR} is not set, and this test needs PostgreSQL: run it as \
             `{POSTGRES_URL_VAR}=postgres://user@host:port/db cargo test --test api postgres -- --include-ignored`"
        )
    })
}

/// A new, empty schema in the database at `url`, named uniquely for this test.
pub async fn create_schema(url: &str) -> String {
    let schema = unique_name();
    let admin = Database::connect(url).await.expect("connect to postgres");
    admin
        .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create schema");
    admin.close().await.ok();
    schema
}

/// Drops a schema made by [`create_schema`], with everything in it.
pub async fn drop_schema(url: &str, schema: &str) {
    let admin = Database::connect(url).await.expect("connect to postgres");
    admin
        .execute_unprepared(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .expect("drop schema");
    admin.close().await.ok();
}

/// Pool options for `schema` of the database at `url`, `max` connections at most.
pub fn options(url: &str, schema: &str, max: u32) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max)
        .sqlx_logging(false)
        .set_schema_search_path(schema.to_owned());
    opts
}

/// A name no other test, in this process or another, is using.
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
