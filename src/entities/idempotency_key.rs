//! An idempotency key of a caller: the request it was first sent with (a fingerprint), what
//! the write produced, and the response once it was sent.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    /// Whose key it is: `sub:<account>`, or `ip:<address>` for anonymous callers.
    #[sea_orm(primary_key, auto_increment = false)]
    pub scope: String,
    /// The key as the client sent it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub idempotency_key: String,
    /// SHA-256 of the request's method, path and body, in hex.
    pub fingerprint: String,
    /// What the write produced (`article:42`), so a retry whose response was lost can be
    /// answered from it.
    pub outcome: Option<String>,
    /// The response's status, once stored.
    pub status: Option<i32>,
    /// The response's headers that a replay repeats, as a JSON object.
    pub headers: Option<String>,
    /// The response's body.
    pub body: Option<Vec<u8>>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
