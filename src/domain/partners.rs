//! Syndication partners and their keys: the records admins manage, and the check every
//! partner request passes ([`check`]), so that revoking a key or a partner refuses its very
//! next request, whatever its tokens say.
//!
//! A partner names the section subtrees it receives and whether it receives stories under
//! embargo; which articles that makes is `access::partner_receives`, the one rule every
//! route applies through the caller's visibility.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    IntoActiveModel as _, QueryFilter as _, QueryOrder as _,
};

use super::access::{Caller, PartnerGrant, Role};
use super::{content::plain_text, now, slug};
use crate::entities::{partner, partner_key};
use crate::error::{AppError, Result};

/// Most section subtrees one partner may be granted.
pub const MAX_SECTIONS: usize = 100;
/// Highest per-partner rate limit, in requests a minute.
pub const MAX_RATE_LIMIT: i32 = 1_000_000;

/// A new partner, as an admin gives it.
#[derive(Clone, Debug, Default)]
pub struct NewPartner {
    pub name: String,
    /// Derived from the name when absent.
    pub slug: Option<String>,
    /// Section paths; each grants the section and its descendants.
    pub sections: Vec<String>,
    pub embargoed: bool,
    pub rate_limit_per_minute: Option<i32>,
}

/// Changes to a partner; `None` leaves a field alone, `Some(None)` clears the rate limit.
#[derive(Clone, Debug, Default)]
pub struct PartnerPatch {
    pub name: Option<String>,
    pub sections: Option<Vec<String>>,
    pub embargoed: Option<bool>,
    pub rate_limit_per_minute: Option<Option<i32>>,
}

fn require_admin(caller: &Caller) -> Result<()> {
    caller.require(Role::Admin, "managing partners")
}

/// The section paths a partner is granted, checked: each must name a section.
async fn check_sections(db: &impl ConnectionTrait, sections: Vec<String>) -> Result<Vec<String>> {
    if sections.len() > MAX_SECTIONS {
        return Err(AppError::bad_input(format!(
            "sections: at most {MAX_SECTIONS}, not {}",
            sections.len()
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(sections.len());
    for s in sections {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    let found = super::sections::by_paths(db, &out).await?;
    if let Some(missing) = out.iter().find(|p| !found.contains_key(*p)) {
        return Err(AppError::bad_input(format!(
            "sections: {missing:?} is not a section"
        )));
    }
    Ok(out)
}

fn check_rate_limit(limit: Option<i32>) -> Result<Option<i32>> {
    match limit {
        Some(n) if !(1..=MAX_RATE_LIMIT).contains(&n) => Err(AppError::bad_input(format!(
            "rateLimitPerMinute must be between 1 and {MAX_RATE_LIMIT}, not {n}"
        ))),
        other => Ok(other),
    }
}

fn check_name(name: &str) -> Result<String> {
    let name = plain_text("name", name, 200)?;
    if name.is_empty() {
        return Err(AppError::bad_input("name is empty"));
    }
    Ok(name)
}

/// The partner's granted section paths.
pub fn sections_of(p: &partner::Model) -> Vec<String> {
    serde_json::from_value(p.sections.clone()).unwrap_or_default()
}

/// Creates a partner (admins). A taken slug is `CONFLICT`.
pub async fn create(
    db: &impl ConnectionTrait,
    caller: &Caller,
    input: NewPartner,
) -> Result<partner::Model> {
    require_admin(caller)?;
    let name = check_name(&input.name)?;
    let slug = match input.slug {
        Some(s) => {
            slug::check(&s)?;
            s
        }
        None => slug::slugify(&name),
    };
    if slug.is_empty() {
        return Err(AppError::bad_input(
            "name has no letters or digits for a slug",
        ));
    }
    let sections = check_sections(db, input.sections).await?;
    let rate = check_rate_limit(input.rate_limit_per_minute)?;
    let at = now();
    partner::ActiveModel {
        id: NotSet,
        slug: Set(slug.clone()),
        name: Set(name),
        sections: Set(serde_json::json!(sections)),
        embargoed: Set(input.embargoed),
        rate_limit_per_minute: Set(rate),
        revoked_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await
    .map_err(|e| AppError::from_write(e, &format!("partner slug {slug:?}")))
}

/// A partner by slug (admins); missing is `NOT_FOUND`.
pub async fn get(db: &impl ConnectionTrait, caller: &Caller, slug: &str) -> Result<partner::Model> {
    require_admin(caller)?;
    find(db, slug).await
}

async fn find(db: &impl ConnectionTrait, slug: &str) -> Result<partner::Model> {
    partner::Entity::find()
        .filter(partner::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no partner {slug:?}")))
}

/// Every partner, by slug (admins).
pub async fn list(db: &impl ConnectionTrait, caller: &Caller) -> Result<Vec<partner::Model>> {
    require_admin(caller)?;
    Ok(partner::Entity::find()
        .order_by_asc(partner::Column::Slug)
        .all(db)
        .await?)
}

/// Changes a partner (admins).
pub async fn update(
    db: &impl ConnectionTrait,
    caller: &Caller,
    slug: &str,
    patch: PartnerPatch,
) -> Result<partner::Model> {
    require_admin(caller)?;
    let current = find(db, slug).await?;
    let mut m = current.into_active_model();
    if let Some(name) = patch.name {
        m.name = Set(check_name(&name)?);
    }
    if let Some(sections) = patch.sections {
        m.sections = Set(serde_json::json!(check_sections(db, sections).await?));
    }
    if let Some(e) = patch.embargoed {
        m.embargoed = Set(e);
    }
    if let Some(rate) = patch.rate_limit_per_minute {
        m.rate_limit_per_minute = Set(check_rate_limit(rate)?);
    }
    m.updated_at = Set(now());
    Ok(m.update(db).await?)
}

/// Revokes a partner (admins): its next request, with any key, is refused. Revoking twice
/// keeps the first time.
pub async fn revoke(
    db: &impl ConnectionTrait,
    caller: &Caller,
    slug: &str,
) -> Result<partner::Model> {
    require_admin(caller)?;
    let current = find(db, slug).await?;
    if current.revoked_at.is_some() {
        return Ok(current);
    }
    let mut m = current.into_active_model();
    let at = now();
    m.revoked_at = Set(Some(at));
    m.updated_at = Set(at);
    Ok(m.update(db).await?)
}

/// The keys of a partner, oldest first.
pub async fn keys(db: &impl ConnectionTrait, partner_id: i32) -> Result<Vec<partner_key::Model>> {
    Ok(partner_key::Entity::find()
        .filter(partner_key::Column::PartnerId.eq(partner_id))
        .order_by_asc(partner_key::Column::CreatedAt)
        .order_by_asc(partner_key::Column::Id)
        .all(db)
        .await?)
}

/// Gives a partner a new key (admins), for one of its client systems.
pub async fn create_key(
    db: &impl ConnectionTrait,
    caller: &Caller,
    partner_slug: &str,
    name: Option<String>,
) -> Result<partner_key::Model> {
    require_admin(caller)?;
    let p = find(db, partner_slug).await?;
    if p.revoked_at.is_some() {
        return Err(AppError::bad_input(format!(
            "partner {partner_slug:?} is revoked"
        )));
    }
    let name = match name {
        Some(n) => plain_text("name", &n, 200)?,
        None => String::new(),
    };
    let mut raw = [0u8; 12];
    getrandom::fill(&mut raw)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    Ok(partner_key::ActiveModel {
        id: Set(format!("pk_{}", URL_SAFE_NO_PAD.encode(raw))),
        partner_id: Set(p.id),
        name: Set(name),
        created_at: Set(now()),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?)
}

/// Revokes one key of a partner (admins): requests with its tokens are refused from the
/// next one on.
pub async fn revoke_key(
    db: &impl ConnectionTrait,
    caller: &Caller,
    partner_slug: &str,
    key_id: &str,
) -> Result<partner_key::Model> {
    require_admin(caller)?;
    let p = find(db, partner_slug).await?;
    let key = partner_key::Entity::find_by_id(key_id.to_owned())
        .filter(partner_key::Column::PartnerId.eq(p.id))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::not_found(format!("partner {partner_slug:?} has no key {key_id:?}"))
        })?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let mut m = key.into_active_model();
    m.revoked_at = Set(Some(now()));
    Ok(m.update(db).await?)
}

/// The newest active key of an active partner (for `gazette token`).
pub async fn newest_key(db: &impl ConnectionTrait, partner_slug: &str) -> Result<Option<String>> {
    let p = find(db, partner_slug).await?;
    if p.revoked_at.is_some() {
        return Ok(None);
    }
    Ok(keys(db, p.id)
        .await?
        .into_iter()
        .rev()
        .find(|k| k.revoked_at.is_none())
        .map(|k| k.id))
}

/// Counts `n` articles delivered to `caller` as ninjs items, when it is a partner
/// (`gazette_partner_articles_delivered_total` on `/metrics`, beside the requests the gate
/// counts).
pub fn count_delivered(caller: &Caller, n: u64) {
    if let Caller::Partner { slug, .. } = caller {
        metrics::counter!("gazette_partner_articles_delivered_total", "partner" => slug.clone())
            .increment(n);
    }
}

/// The check of a partner token, on every request: the partner exists and is not revoked,
/// the key is one of its keys and is not revoked. Anything else is `UNAUTHENTICATED` with
/// the same sentence, so a token says nothing of which records exist. Returns the grant.
pub async fn check(db: &impl ConnectionTrait, slug: &str, key: &str) -> Result<PartnerGrant> {
    let refused = || {
        AppError::Unauthenticated(
            "this partner token's partner or key is unknown or revoked".into(),
        )
    };
    let p = partner::Entity::find()
        .filter(partner::Column::Slug.eq(slug))
        .filter(partner::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(refused)?;
    partner_key::Entity::find_by_id(key.to_owned())
        .filter(partner_key::Column::PartnerId.eq(p.id))
        .filter(partner_key::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .ok_or_else(refused)?;
    let paths = sections_of(&p);
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let mut section_ids: Vec<i32> = super::filter::section_ids(db, &refs)
        .await?
        .into_values()
        .flatten()
        .collect();
    section_ids.sort_unstable();
    section_ids.dedup();
    Ok(PartnerGrant {
        partner_id: p.id,
        section_ids,
        embargoed: p.embargoed,
        rate_limit_per_minute: p.rate_limit_per_minute,
    })
}
