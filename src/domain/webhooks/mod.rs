//! Webhooks: admins register endpoints; every change an endpoint asked for reaches it as a
//! signed HTTP request, in order per article, at least once, from a transactional outbox.
//!
//! ## How an event becomes a delivery
//!
//! 1. A write commits its event in the change stream (`domain::stream`), in its own
//!    transaction: nothing more is needed at write time, so no write waits on a webhook.
//! 2. The **dispatcher** ([`outbox::dispatch`]) follows the stream for each active endpoint
//!    from the endpoint's stored `position`, turns each event into the endpoint's webhook
//!    event ([`events::classify`]: the public-visibility rule on the article's facts before
//!    and after; drafts and imported articles never make one), keeps those the endpoint
//!    subscribed to (type and section subtree), fixes each message's body, and writes the
//!    delivery rows and the new position in one transaction, conditional on the position
//!    it read: a second dispatcher (another process) that read the same position writes
//!    nothing, and a message is unique per endpoint anyway.
//! 3. The **worker** (`crate::delivery`) claims due deliveries with a lease
//!    ([`outbox::claim`]: `FOR UPDATE SKIP LOCKED` on PostgreSQL, so each delivery is
//!    attempted by one process at a time), sends them signed, and records the outcome
//!    ([`outbox::record`]), fenced by the attempt number it claimed. A process killed
//!    mid-delivery leaves its lease to expire; the delivery is then claimed again, with the
//!    same `webhook-id` (at least once).
//!
//! A delivery is claimable only when no earlier message of the same article to the same
//! endpoint is still pending: version 3 waits while version 2 is retried, until 2 has
//! succeeded or is dead-lettered.
//!
//! Failed attempts (timeouts, connection errors, 429, 5xx) are retried on the schedule of
//! [`Settings`] with jitter, later when the endpoint's `Retry-After` asks for it, up to the
//! attempt limit; then the delivery is dead, listed in its endpoint's log, until an admin
//! redelivers it. Other answers (4xx, redirects) are not retried. An endpoint whose attempts
//! have all failed for the pause window is paused; resuming it starts from the stream's
//! head (what happened while it was paused is not sent; its pending deliveries are).
//!
//! Secrets are in the Standard Webhooks `whsec_` form, shown once, stored encrypted
//! ([`secrets`]); a rotation keeps the previous secret signing beside the new one for the
//! overlap setting. URLs pass the SSRF rules of [`ssrf`] when saved and when sent to.

pub mod events;
pub mod outbox;
pub mod secrets;
pub mod ssrf;

use std::time::Duration;

use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    IntoActiveModel as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
    TransactionTrait as _,
};

use self::events::EventType;
use self::secrets::SecretKey;
use super::access::{Caller, Role};
use super::{content::plain_text, now};
use crate::entities::webhook;
use crate::entities::webhook_delivery::{self, DeliveryStatus};
use crate::error::{AppError, Result};

/// Most event patterns one endpoint may list.
pub const MAX_EVENT_TYPES: usize = 20;
/// Most deliveries one page of a log lists.
pub const MAX_PAGE: u64 = 100;

/// How webhooks behave: the server's key for secrets, the SSRF exemption, and the delivery
/// schedule. The defaults follow Svix: attempts at once, then after 5 s, 5 min, 30 min,
/// 2 h, 5 h, 10 h and 10 h (about a day in all); an endpoint failing for 5 days is paused.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Seals secrets at rest; without it, creating an endpoint is refused.
    pub key: Option<SecretKey>,
    /// Allow `http` and every address (local development and tests only).
    pub allow_private: bool,
    /// The wait after each failed attempt (the last one repeats).
    pub schedule: Vec<Duration>,
    /// Attempts before a delivery is dead-lettered.
    pub max_attempts: u32,
    /// Failing this long (no success in between) pauses an endpoint.
    pub pause_after: Duration,
    /// Longest one attempt may take, connecting and reading the answer.
    pub timeout: Duration,
    /// How long a rotated-out secret keeps signing.
    pub rotation_overlap: Duration,
    /// Most bytes of an answer read (the rest is ignored).
    pub max_response_bytes: usize,
    /// How often the worker looks for work.
    pub interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        let m = |n: u64| Duration::from_secs(n * 60);
        Self {
            key: None,
            allow_private: false,
            schedule: vec![
                Duration::from_secs(5),
                m(5),
                m(30),
                m(120),
                m(300),
                m(600),
                m(600),
            ],
            max_attempts: 8,
            pause_after: Duration::from_secs(5 * 86_400),
            timeout: Duration::from_secs(15),
            rotation_overlap: Duration::from_secs(86_400),
            max_response_bytes: 64 * 1024,
            interval: Duration::from_secs(1),
        }
    }
}

impl Settings {
    /// The wait after failed attempt number `attempt` (1-based), with up to ±20 % jitter
    /// so that endpoints that failed together are not retried together.
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        let i = (attempt.max(1) as usize - 1).min(self.schedule.len().saturating_sub(1));
        let base = self
            .schedule
            .get(i)
            .copied()
            .unwrap_or(Duration::from_secs(5));
        let mut r = [0u8; 2];
        let unit = match getrandom::fill(&mut r) {
            Ok(()) => f64::from(u16::from_le_bytes(r)) / f64::from(u16::MAX),
            Err(_) => 0.5,
        };
        base.mul_f64(0.8 + 0.4 * unit)
    }

    /// How long a claimed delivery stays with the process that claimed it: two timeouts
    /// and a second, so that a live attempt is never claimed again.
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(1)
    }

    fn key(&self) -> Result<&SecretKey> {
        self.key.as_ref().ok_or_else(|| AppError::Unavailable {
            message: "webhooks are off on this server: it has no GAZETTE_WEBHOOK_KEY to \
                      encrypt their secrets with (make one with `openssl rand -base64 32`)"
                .into(),
            failure: None,
        })
    }
}

/// A new endpoint, as an admin gives it.
#[derive(Clone, Debug, Default)]
pub struct NewWebhook {
    pub url: String,
    pub description: Option<String>,
    /// Event types or groups (`article.published`, `article.*`, `*`).
    pub event_types: Vec<String>,
    /// A section path: only articles and sections of its subtree.
    pub section: Option<String>,
    /// Paused from the start when false.
    pub active: bool,
}

/// Changes to an endpoint; `None` leaves a field alone, `Some(None)` clears the section.
#[derive(Clone, Debug, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub section: Option<Option<String>>,
    pub active: Option<bool>,
}

/// Why an endpoint is paused.
pub const PAUSED_BY_ADMIN: &str = "admin";
/// Paused because its attempts failed for the pause window.
pub const PAUSED_FAILING: &str = "failing";

fn require_admin(caller: &Caller) -> Result<()> {
    caller.require(Role::Admin, "managing webhooks")
}

/// The endpoint's event patterns.
pub fn event_types_of(w: &webhook::Model) -> Vec<String> {
    serde_json::from_value(w.event_types.clone()).unwrap_or_default()
}

fn check_event_types(types: Vec<String>) -> Result<Vec<String>> {
    if types.is_empty() {
        return Err(AppError::bad_input(
            "eventTypes: name at least one (`*` for all of them)",
        ));
    }
    if types.len() > MAX_EVENT_TYPES {
        return Err(AppError::bad_input(format!(
            "eventTypes: at most {MAX_EVENT_TYPES}, not {}",
            types.len()
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(types.len());
    for t in types {
        let t = t.trim().to_owned();
        if !EventType::is_pattern(&t) {
            let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
            return Err(AppError::bad_input(format!(
                "eventTypes: {t:?} is not an event type; use one of {}, a group such as \
                 `article.*`, or `*`",
                known.join(", ")
            )));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

async fn check_section(
    db: &impl ConnectionTrait,
    section: Option<String>,
) -> Result<Option<String>> {
    let Some(path) = section.map(|p| p.trim().trim_matches('/').to_owned()) else {
        return Ok(None);
    };
    if super::sections::by_path(db, &path).await?.is_none() {
        return Err(AppError::bad_input(format!(
            "section: {path:?} is not a section"
        )));
    }
    Ok(Some(path))
}

/// Checks a URL when it is saved: its form, a literal address, and the addresses its name
/// resolves to now. A name that does not resolve yet is accepted: every delivery resolves
/// and checks it again, and connects only to addresses that pass.
async fn check_url(settings: &Settings, url: &str) -> Result<String> {
    let target = ssrf::parse(url, settings.allow_private)?;
    if !settings.allow_private
        && let Ok(found) = ssrf::lookup(&target).await
    {
        ssrf::check_all(&target, &found, false)?;
    }
    Ok(target.url.to_string())
}

fn check_description(d: Option<String>) -> Result<String> {
    match d {
        Some(d) => plain_text("description", &d, 500),
        None => Ok(String::new()),
    }
}

/// Creates an endpoint (admins); returns it with its secret, which is never shown again.
/// Its deliveries start with the next event.
pub async fn create(
    db: &impl ConnectionTrait,
    settings: &Settings,
    caller: &Caller,
    input: NewWebhook,
) -> Result<(webhook::Model, String)> {
    require_admin(caller)?;
    let key = settings.key()?;
    let event_types = check_event_types(input.event_types)?;
    let description = check_description(input.description)?;
    let section = check_section(db, input.section).await?;
    let url = check_url(settings, &input.url).await?;
    let secret = secrets::generate()?;
    let at = now();
    let head = super::stream::head(db).await?;
    let m = webhook::ActiveModel {
        id: NotSet,
        url: Set(url),
        description: Set(description),
        event_types: Set(serde_json::json!(event_types)),
        section: Set(section),
        secret: Set(key.seal(&secret)?),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        active: Set(input.active),
        paused_reason: Set((!input.active).then(|| PAUSED_BY_ADMIN.to_owned())),
        position: Set(head.last_seq),
        failing_since: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?;
    metrics::counter!("gazette_webhooks_created_total").increment(1);
    Ok((m, secret))
}

async fn find(db: &impl ConnectionTrait, id: i32) -> Result<webhook::Model> {
    webhook::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no webhook {id}")))
}

/// Reads an id as clients send it.
pub fn parse_id(id: &str) -> Result<i32> {
    id.trim()
        .parse::<i32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::not_found(format!("no webhook {id:?}")))
}

/// One endpoint (admins).
pub async fn get(db: &impl ConnectionTrait, caller: &Caller, id: i32) -> Result<webhook::Model> {
    require_admin(caller)?;
    find(db, id).await
}

/// Every endpoint, oldest first (admins).
pub async fn list(db: &impl ConnectionTrait, caller: &Caller) -> Result<Vec<webhook::Model>> {
    require_admin(caller)?;
    Ok(webhook::Entity::find()
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await?)
}

/// Changes an endpoint (admins). Resuming a paused one starts it at the stream's head.
pub async fn update(
    db: &impl ConnectionTrait,
    settings: &Settings,
    caller: &Caller,
    id: i32,
    patch: WebhookPatch,
) -> Result<webhook::Model> {
    require_admin(caller)?;
    let current = find(db, id).await?;
    let was_active = current.active;
    let mut m = current.into_active_model();
    if let Some(url) = patch.url {
        m.url = Set(check_url(settings, &url).await?);
    }
    if let Some(d) = patch.description {
        m.description = Set(check_description(Some(d))?);
    }
    if let Some(t) = patch.event_types {
        m.event_types = Set(serde_json::json!(check_event_types(t)?));
    }
    if let Some(s) = patch.section {
        m.section = Set(check_section(db, s).await?);
    }
    match patch.active {
        Some(true) if !was_active => {
            m.active = Set(true);
            m.paused_reason = Set(None);
            m.failing_since = Set(None);
            m.position = Set(super::stream::head(db).await?.last_seq);
        }
        Some(false) if was_active => {
            m.active = Set(false);
            m.paused_reason = Set(Some(PAUSED_BY_ADMIN.to_owned()));
        }
        _ => {}
    }
    m.updated_at = Set(now());
    Ok(m.update(db).await?)
}

/// Deletes an endpoint and its delivery log (admins); returns what it was.
pub async fn delete(
    db: &sea_orm::DatabaseConnection,
    caller: &Caller,
    id: i32,
) -> Result<webhook::Model> {
    require_admin(caller)?;
    let txn = db.begin().await?;
    let current = find(&txn, id).await?;
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .exec(&txn)
        .await?;
    webhook::Entity::delete_by_id(id).exec(&txn).await?;
    txn.commit().await?;
    Ok(current)
}

/// Gives an endpoint a new secret (admins), returned once; the previous one keeps signing
/// beside it for the rotation overlap, so the receiver can switch without losing a message.
pub async fn rotate_secret(
    db: &impl ConnectionTrait,
    settings: &Settings,
    caller: &Caller,
    id: i32,
) -> Result<(webhook::Model, String)> {
    require_admin(caller)?;
    let key = settings.key()?;
    let current = find(db, id).await?;
    let secret = secrets::generate()?;
    let at = now();
    let overlap =
        chrono::Duration::from_std(settings.rotation_overlap).unwrap_or(chrono::Duration::days(1));
    let previous = current.secret.clone();
    let mut m = current.into_active_model();
    m.secret = Set(key.seal(&secret)?);
    m.previous_secret = Set(Some(previous));
    m.previous_secret_until = Set(Some(at + overlap));
    m.updated_at = Set(at);
    Ok((m.update(db).await?, secret))
}

/// The secrets that sign an endpoint's messages now: the current one, and the previous one
/// during a rotation's overlap.
pub fn signing_secrets(settings: &Settings, w: &webhook::Model) -> Result<Vec<String>> {
    let key = settings.key()?;
    let mut out = vec![key.open(&w.secret)?];
    if let (Some(prev), Some(until)) = (&w.previous_secret, w.previous_secret_until)
        && until > now()
    {
        out.push(key.open(prev)?);
    }
    Ok(out)
}

/// A page of an endpoint's delivery log, newest first (admins): at most `first` (up to
/// [`MAX_PAGE`]), before the delivery `before` when given, of one status when given.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    caller: &Caller,
    webhook_id: i32,
    status: Option<DeliveryStatus>,
    first: u64,
    before: Option<i32>,
) -> Result<Vec<webhook_delivery::Model>> {
    require_admin(caller)?;
    find(db, webhook_id).await?;
    let mut q = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(first.clamp(1, MAX_PAGE));
    if let Some(s) = status {
        q = q.filter(webhook_delivery::Column::Status.eq(s));
    }
    if let Some(b) = before {
        q = q.filter(webhook_delivery::Column::Id.lt(b));
    }
    Ok(q.all(db).await?)
}

/// The newest deliveries of each of `webhook_ids` (the same page of each log: at most
/// `first`, older than `before`, of one status), in two statements whatever the number of
/// endpoints (a window function numbers each log's rows). Callers check the caller first.
pub async fn deliveries_of(
    db: &impl ConnectionTrait,
    webhook_ids: &[i32],
    status: Option<DeliveryStatus>,
    first: u64,
    before: Option<i32>,
) -> Result<std::collections::HashMap<i32, Vec<webhook_delivery::Model>>> {
    use sea_orm::{DbBackend, Statement};
    let mut out: std::collections::HashMap<i32, Vec<webhook_delivery::Model>> =
        webhook_ids.iter().map(|id| (*id, Vec::new())).collect();
    if webhook_ids.is_empty() {
        return Ok(out);
    }
    let b = db.get_database_backend();
    let mut values: Vec<sea_orm::Value> = Vec::new();
    let mut param = |v: sea_orm::Value| {
        values.push(v);
        match b {
            DbBackend::Postgres => format!("${}", values.len()),
            _ => "?".to_owned(),
        }
    };
    let ids: Vec<String> = webhook_ids.iter().map(|id| param((*id).into())).collect();
    let mut filter = format!("webhook_id IN ({})", ids.join(", "));
    if let Some(s) = status {
        filter.push_str(&format!(
            " AND status = {}",
            param(sea_orm::ActiveEnum::to_value(&s).into())
        ));
    }
    if let Some(before) = before {
        filter.push_str(&format!(" AND id < {}", param(before.into())));
    }
    let limit = param((first.clamp(1, MAX_PAGE) as i64).into());
    let sql = format!(
        "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY webhook_id ORDER BY id DESC) \
         AS rn FROM webhook_deliveries WHERE {filter}) numbered WHERE rn <= {limit}"
    );
    let page: Vec<i32> = db
        .query_all(Statement::from_sql_and_values(b, sql, values))
        .await?
        .into_iter()
        .map(|r| r.try_get_by_index::<i32>(0))
        .collect::<std::result::Result<_, _>>()?;
    if page.is_empty() {
        return Ok(out);
    }
    for d in webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::Id.is_in(page))
        .order_by_desc(webhook_delivery::Column::Id)
        .all(db)
        .await?
    {
        out.entry(d.webhook_id).or_default().push(d);
    }
    Ok(out)
}

/// Sends a delivery again (admins), with the same `webhook-id`, as soon as a worker can:
/// a dead one gets the full attempt budget again. One still pending is left as it is.
pub async fn redeliver(
    db: &impl ConnectionTrait,
    caller: &Caller,
    webhook_id: i32,
    delivery_id: i32,
) -> Result<webhook_delivery::Model> {
    require_admin(caller)?;
    let d = webhook_delivery::Entity::find_by_id(delivery_id)
        .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::not_found(format!(
                "webhook {webhook_id} has no delivery {delivery_id}"
            ))
        })?;
    if d.status == DeliveryStatus::Pending {
        return Ok(d);
    }
    let at = now();
    let mut m = d.into_active_model();
    m.status = Set(DeliveryStatus::Pending);
    m.attempts = Set(0);
    m.next_attempt_at = Set(at);
    m.lease_until = Set(None);
    m.updated_at = Set(at);
    metrics::counter!("gazette_webhook_redeliveries_total").increment(1);
    Ok(m.update(db).await?)
}
