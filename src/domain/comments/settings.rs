//! What a newsroom sets about comments ([`Settings`]), and the [`Service`] posting and
//! moderation run with: those settings, the external checker, and the keys.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait as _};
use sha2::Sha256;
use tokio::sync::OnceCell;

use super::akismet::{Akismet, AkismetSettings};
use crate::entities::secret;
use crate::error::{AppError, Result};

/// The comment settings (each is a `GAZETTE_COMMENTS_*` setting; the README's table).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Comments close this many days after publication (0: never).
    pub close_after_days: u32,
    /// Deepest thread: a top-level comment is depth 1.
    pub max_depth: u32,
    /// A score at or above this holds a comment as `PENDING`.
    pub hold_score: i32,
    /// A score at or above this marks it `SPAM`.
    pub spam_score: i32,
    /// More links than this count against a comment.
    pub max_links: usize,
    /// Blocked words and phrases, lowercased.
    pub blocked_words: Vec<String>,
    /// Blocked link domains (and their subdomains), lowercased.
    pub blocked_domains: Vec<String>,
    /// Fewest seconds between rendering the form (`renderedAt`) and posting.
    pub min_seconds: u32,
    /// Most comments one client address may post per [`Settings::rate_window`].
    pub per_client: u32,
    /// Most comments one article may receive per [`Settings::rate_window`].
    pub per_article: u32,
    /// The window of the posting limits.
    pub rate_window: Duration,
    /// This many earlier posts from one client within [`Settings::burst_window`] is a burst.
    pub burst_posts: u32,
    /// The window of a burst.
    pub burst_window: Duration,
    /// How far back the same text counts as a duplicate.
    pub duplicate_window: Duration,
    /// How long client addresses and user agents are kept.
    pub retention: Duration,
    /// How long a poster's view token shows them their pending comment.
    pub view_token_ttl: Duration,
    /// The key of the email hashes (`None`: trust by history is off).
    pub email_key: Option<Vec<u8>>,
    /// The external checker, when configured.
    pub akismet: Option<AkismetSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            close_after_days: 30,
            max_depth: 3,
            hold_score: 20,
            spam_score: 60,
            max_links: 2,
            blocked_words: Vec::new(),
            blocked_domains: Vec::new(),
            min_seconds: 3,
            per_client: 5,
            per_article: 120,
            rate_window: Duration::from_secs(600),
            burst_posts: 2,
            burst_window: Duration::from_secs(60),
            duplicate_window: Duration::from_secs(24 * 3600),
            retention: Duration::from_secs(30 * 86_400),
            view_token_ttl: Duration::from_secs(2 * 3600),
            email_key: None,
            akismet: None,
        }
    }
}

/// Posting and moderation's handles: the settings, the external checker, the view-token key.
#[derive(Clone, Debug)]
pub struct Service {
    pub settings: Arc<Settings>,
    pub akismet: Option<Akismet>,
    view_key: Arc<OnceCell<Vec<u8>>>,
}

impl Default for Service {
    fn default() -> Self {
        Self::new(Settings::default()).unwrap_or_else(|_| Self {
            settings: Arc::default(),
            akismet: None,
            view_key: Arc::default(),
        })
    }
}

type HmacSha256 = Hmac<Sha256>;

impl Service {
    /// A service for `settings` (fails only when the HTTP client cannot be built).
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let akismet = settings.akismet.clone().map(Akismet::new).transpose()?;
        Ok(Self {
            settings: Arc::new(settings),
            akismet,
            view_key: Arc::default(),
        })
    }

    /// The keyed hash of an email, or `None` without a key (trust by history off).
    pub fn email_hash(&self, email: &str) -> Option<String> {
        let key = self.settings.email_key.as_ref()?;
        let mut mac = HmacSha256::new_from_slice(key).ok()?;
        mac.update(super::text::normalise_email(email).as_bytes());
        Some(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    /// The key of view tokens: kept in the database (created on first use, shared by every
    /// process), read once per process.
    async fn view_key(&self, db: &impl ConnectionTrait) -> Result<&[u8]> {
        self.view_key
            .get_or_try_init(|| shared_key(db, "comment-view-key"))
            .await
            .map(Vec::as_slice)
    }

    /// A token showing its holder comment `id` until `ttl` from now.
    pub async fn view_token(&self, db: &impl ConnectionTrait, id: i32) -> Result<String> {
        let exp = chrono::Utc::now().timestamp() + self.settings.view_token_ttl.as_secs() as i64;
        let payload = format!("{id}.{exp}");
        let sig = sign(self.view_key(db).await?, &payload)?;
        Ok(format!("{payload}.{sig}"))
    }

    /// The comment a view token shows, if it is genuine and unexpired.
    pub async fn viewed(&self, db: &impl ConnectionTrait, token: &str) -> Result<Option<i32>> {
        let mut parts = token.splitn(3, '.');
        let (Some(id), Some(exp), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
            return Ok(None);
        };
        let (Ok(id), Ok(exp)) = (id.parse::<i32>(), exp.parse::<i64>()) else {
            return Ok(None);
        };
        if exp < chrono::Utc::now().timestamp() {
            return Ok(None);
        }
        let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
            return Ok(None);
        };
        let mut mac = HmacSha256::new_from_slice(self.view_key(db).await?)
            .map_err(|e| AppError::internal(format!("view key: {e}")))?;
        mac.update(format!("{id}.{exp}").as_bytes());
        Ok(mac.verify_slice(&sig).is_ok().then_some(id))
    }
}

fn sign(key: &[u8], payload: &str) -> Result<String> {
    let mut mac =
        HmacSha256::new_from_slice(key).map_err(|e| AppError::internal(format!("key: {e}")))?;
    mac.update(payload.as_bytes());
    Ok(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

async fn shared_key(db: &impl ConnectionTrait, name: &str) -> Result<Vec<u8>> {
    let find = || secret::Entity::find_by_id(name.to_owned()).one(db);
    if let Some(s) = find().await? {
        return Ok(s.value.into_bytes());
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| AppError::internal(format!("no randomness: {e}")))?;
    secret::Entity::insert(secret::ActiveModel {
        name: Set(name.to_owned()),
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
    Ok(find()
        .await?
        .ok_or_else(|| AppError::internal("a comment key vanished"))?
        .value
        .into_bytes())
}
