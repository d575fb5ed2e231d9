//! SeaORM models, one per table, and nothing else: the newsroom's rules live in `domain/`,
//! and the API's shapes in `graphql/` and `http/`, so a column can change in one place.

pub mod article;
pub mod article_author;
pub mod article_old_url;
pub mod article_origin;
pub mod article_revision;
pub mod article_tag;
pub mod author;
pub mod change_log;
pub mod comment;
pub mod comment_decision;
pub mod comment_erasure;
pub mod comment_state;
pub mod idempotency_key;
pub mod import_digest;
pub mod partner;
pub mod partner_key;
pub mod secret;
pub mod section;
pub mod tag;
pub mod webhook;
pub mod webhook_delivery;
