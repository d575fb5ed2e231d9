//! gazette's database migrations, one file per step, applied in order.
//!
//! The same migrations run on SQLite and PostgreSQL: only portable column types are used
//! (statuses are text with a CHECK, JSON is `json`/`jsonb` via SeaORM's `json_binary`), so a
//! newsroom can move from the embedded file to PostgreSQL by re-importing its content.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_create_newsroom;
mod m20261126_000002_create_secrets;
mod m20261126_000003_create_discovery;
mod m20261126_000004_add_search_titles;
mod m20261126_000005_index_bylines_by_time;
mod m20261130_000006_index_changes_by_action;
mod m20261130_000007_widen_articles_published_index;
mod m20261130_000008_create_idempotency_keys;
mod m20261201_001501_add_embargo_and_rights;
mod m20261201_001502_create_partners;
mod m20261201_001801_create_import_digests;
mod m20261201_002001_cover_headlines_in_published_index;
mod m20261201_100000_cover_article_facts;
mod m20261202_001601_create_stream;
mod m20261202_001611_create_webhooks;
mod m20261202_001711_add_comment_moderation;
mod m20261202_001811_create_article_origins;
// Named for the day it was written; it runs after the article origins it extends.
mod m20261201_110000_create_article_old_urls;

/// Every migration, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_create_newsroom::Migration),
            Box::new(m20261126_000002_create_secrets::Migration),
            Box::new(m20261126_000003_create_discovery::Migration),
            Box::new(m20261126_000004_add_search_titles::Migration),
            Box::new(m20261126_000005_index_bylines_by_time::Migration),
            Box::new(m20261130_000006_index_changes_by_action::Migration),
            Box::new(m20261130_000007_widen_articles_published_index::Migration),
            Box::new(m20261130_000008_create_idempotency_keys::Migration),
            Box::new(m20261201_001501_add_embargo_and_rights::Migration),
            Box::new(m20261201_001502_create_partners::Migration),
            Box::new(m20261201_001801_create_import_digests::Migration),
            Box::new(m20261201_002001_cover_headlines_in_published_index::Migration),
            Box::new(m20261201_100000_cover_article_facts::Migration),
            Box::new(m20261202_001601_create_stream::Migration),
            Box::new(m20261202_001611_create_webhooks::Migration),
            Box::new(m20261202_001711_add_comment_moderation::Migration),
            Box::new(m20261202_001811_create_article_origins::Migration),
            Box::new(m20261201_110000_create_article_old_urls::Migration),
        ]
    }
}
