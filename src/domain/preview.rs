//! Draft previews: a short-lived link token that lets a front end render one unpublished
//! article without an editor's credentials.
//!
//! Preview tokens are signed with a key kept in the database (created on first use, shared
//! by every gazette process), never with the account-token key, and they are accepted only
//! as the `previewToken` argument of an article lookup, never as a bearer token: a preview
//! token can read exactly one article and do nothing else.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait as _};
use serde::{Deserialize, Serialize};

use super::access::{self, Caller};
use crate::entities::{article, secret};
use crate::error::{AppError, Result};

/// Longest preview life, in seconds (a week).
pub const MAX_TTL: i64 = 7 * 24 * 3600;
const KEY_NAME: &str = "preview-signing-key";
const PURPOSE: &str = "article-preview";

#[derive(Serialize, Deserialize)]
struct PreviewClaims {
    /// The article id.
    art: i32,
    exp: i64,
    purpose: String,
}

async fn key(db: &impl ConnectionTrait) -> Result<Vec<u8>> {
    if let Some(s) = secret::Entity::find_by_id(KEY_NAME.to_owned())
        .one(db)
        .await?
    {
        return Ok(s.value.into_bytes());
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))?;
    secret::Entity::insert(secret::ActiveModel {
        name: Set(KEY_NAME.to_owned()),
        value: Set(URL_SAFE_NO_PAD.encode(raw)),
    })
    .on_conflict(
        OnConflict::column(secret::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    // Whoever inserted first wins; everyone reads the same key.
    let s = secret::Entity::find_by_id(KEY_NAME.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("preview key vanished")))?;
    Ok(s.value.into_bytes())
}

/// A preview token for `a`, valid `ttl` seconds (editors, or a writer on its byline).
pub async fn mint(
    db: &impl ConnectionTrait,
    caller: &Caller,
    a: &article::Model,
    ttl: i64,
) -> Result<String> {
    caller.require_account()?;
    if !access::editor_or_owner(db, caller, a.id).await? {
        return Err(AppError::Forbidden(
            "only editors and the article's own writers may share a preview".into(),
        ));
    }
    if !(1..=MAX_TTL).contains(&ttl) {
        return Err(AppError::bad_input(format!(
            "ttlSeconds must be between 1 and {MAX_TTL}"
        )));
    }
    let claims = PreviewClaims {
        art: a.id,
        exp: chrono::Utc::now().timestamp() + ttl,
        purpose: PURPOSE.into(),
    };
    let k = key(db).await?;
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&k),
    )
    .map_err(|e| AppError::Internal(e.into()))
}

/// Whether `token` is a live preview of article `id`.
pub async fn allows(db: &impl ConnectionTrait, token: &str, id: i32) -> Result<bool> {
    if token.len() > 2048 {
        return Ok(false);
    }
    let k = key(db).await?;
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = 0;
    v.validate_aud = false;
    v.set_required_spec_claims(&["exp"]);
    Ok(
        jsonwebtoken::decode::<PreviewClaims>(token, &DecodingKey::from_secret(&k), &v)
            .is_ok_and(|d| d.claims.art == id && d.claims.purpose == PURPOSE),
    )
}
