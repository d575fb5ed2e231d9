//! The partner records as admins see them through GraphQL, and their inputs. The rules
//! (who may manage them, what a valid one is) are `domain::partners`.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result};
use chrono::{DateTime, Utc};

use super::db;
use crate::domain::partners::{self, NewPartner, PartnerPatch};
use crate::entities::{partner, partner_key};
use crate::graphql::error::GqlResultExt as _;

/// A syndication partner (admins).
pub struct Partner(pub partner::Model);

#[Object]
impl Partner {
    /// The `sub` of its tokens.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The section paths it receives; each covers the section and its descendants.
    async fn sections(&self) -> Vec<String> {
        partners::sections_of(&self.0)
    }

    /// Whether it receives published stories while they are under embargo (marked with the
    /// time in ninjs).
    async fn embargoed(&self) -> bool {
        self.0.embargoed
    }

    /// Its own rate limit, in requests a minute (null: the server's default).
    async fn rate_limit_per_minute(&self) -> Option<i32> {
        self.0.rate_limit_per_minute
    }

    /// When it was revoked (null while active): every request of a revoked partner is
    /// refused.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// Its keys, oldest first (one per client system).
    async fn keys(&self, ctx: &Context<'_>) -> Result<Vec<PartnerKey>> {
        Ok(partners::keys(db(ctx)?, self.0.id)
            .await
            .gql()?
            .into_iter()
            .map(PartnerKey)
            .collect())
    }
}

/// One of a partner's keys. Tokens name it in their `key` claim; mint one with
/// `gazette token --role partner --sub SLUG --key ID`.
pub struct PartnerKey(pub partner_key::Model);

#[Object]
impl PartnerKey {
    /// The key id (a token's `key` claim).
    async fn id(&self) -> &str {
        &self.0.id
    }

    /// What it is for ("newsroom CMS").
    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it was revoked (null while active).
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

/// A new partner.
#[derive(InputObject)]
pub struct PartnerInput {
    pub name: String,
    /// Derived from the name when absent.
    pub slug: Option<String>,
    /// Section paths it receives (each with its descendants).
    pub sections: Vec<String>,
    /// Whether it receives stories under embargo.
    #[graphql(default)]
    pub embargoed: bool,
    pub rate_limit_per_minute: Option<i32>,
}

impl From<PartnerInput> for NewPartner {
    fn from(p: PartnerInput) -> Self {
        Self {
            name: p.name,
            slug: p.slug,
            sections: p.sections,
            embargoed: p.embargoed,
            rate_limit_per_minute: p.rate_limit_per_minute,
        }
    }
}

/// Changes to a partner: fields left out stay; `null` clears `rateLimitPerMinute`.
#[derive(InputObject)]
#[graphql(name = "PartnerPatch")]
pub struct PartnerPatchInput {
    pub name: Option<String>,
    pub sections: Option<Vec<String>>,
    pub embargoed: Option<bool>,
    pub rate_limit_per_minute: MaybeUndefined<i32>,
}

impl From<PartnerPatchInput> for PartnerPatch {
    fn from(p: PartnerPatchInput) -> Self {
        Self {
            name: p.name,
            sections: p.sections,
            embargoed: p.embargoed,
            rate_limit_per_minute: match p.rate_limit_per_minute {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(v) => Some(Some(v)),
            },
        }
    }
}
