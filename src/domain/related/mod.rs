//! "You may also like": for every published article, the published articles most related
//! to it, each with a score and the reasons in words, and the ones editors pin by hand.
//!
//! - [`text`]: an article's terms (words and names) and its signature.
//! - [`score`]: the score of a pair and its reasons (tags by rarity, bylines, section,
//!   wording, freshness; weights are settings).
//! - [`store`]: the stored counts, signatures and lists, kept fresh by every publish,
//!   update, unpublish and delete inside the write's own transaction, so every process on
//!   one database reads the same lists; rebuilt whole after a bulk import.
//!
//! Reading a list is one indexed lookup; pinned articles come first with the reason
//! `chosen by the editors`, then the computed ones, never the article itself, never an
//! unpublished one, never twice. A list that would be empty falls back to the newest
//! stories of the article's section, then of its parent (`latest in World`).

pub mod score;
pub mod store;
pub mod text;

use crate::domain::invalidation::Key;
use std::collections::HashMap;
use std::sync::OnceLock;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, FromQueryResult, TransactionTrait};

use super::access::{ArticleFacts, Caller, Role};
use super::sql::Sql;
use super::stream::{self, Event};
use super::{ArticleStatus, articles};
use crate::entities::article;
use crate::error::{AppError, Result};
pub use score::Weights;
pub use text::SignatureShape;

/// Most related articles a reader may ask for at once.
pub const MAX_LIMIT: usize = 10;
/// Most articles editors may pin to one.
pub const MAX_PINS: usize = 10;
/// The reason given for a pinned article.
pub const PINNED: &str = "chosen by the editors";

/// How related articles are scored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    pub weights: Weights,
    pub shape: SignatureShape,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Sets this process's scoring settings (once, at start-up; later calls are ignored).
pub fn configure(s: Settings) {
    let _ = SETTINGS.set(s);
}

/// This process's scoring settings.
pub fn settings() -> &'static Settings {
    SETTINGS.get_or_init(Settings::default)
}

/// One related article.
#[derive(Clone, Debug)]
pub struct Related {
    pub article: article::Model,
    pub score: f64,
    pub reasons: Vec<String>,
}

/// Checks a client's `limit`: 0 to [`MAX_LIMIT`], 5 when absent.
pub fn limit(l: Option<i32>) -> Result<usize> {
    match l {
        None => Ok(5),
        Some(n) if (0..=MAX_LIMIT as i32).contains(&n) => Ok(n as usize),
        Some(n) => Err(AppError::bad_input(format!(
            "`limit` must be between 0 and {MAX_LIMIT}, not {n}"
        ))),
    }
}

#[derive(FromQueryResult)]
struct Row {
    of_id: i32,
    pinned: i32,
    score: Option<f64>,
    reasons: Option<String>,
}

/// The columns of `a` (articles) without the body, which reads as JSON `null`.
fn listed_columns(b: DbBackend) -> String {
    use sea_orm::{IdenStatic as _, Iterable as _};
    article::Column::iter()
        .map(|c| match (c, b) {
            (article::Column::Body, DbBackend::Postgres) => "'null'::jsonb AS body".to_owned(),
            (article::Column::Body, _) => "'null' AS body".to_owned(),
            (c, _) => format!("a.{}", c.as_str()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Narrows the articles `a` of a statement to public ones (`access::is_public`): an
/// embargoed or unpublished article is in no list.
fn and_public(q: &mut Sql) -> &mut Sql {
    q.push(" AND a.status = ")
        .bind(ArticleStatus::Published.as_str())
        .push(" AND a.embargo_until IS NULL")
}

/// The related lists of `ids` (pinned first), at most `limit` each, in one statement
/// however many articles ask.
pub async fn of_articles(
    db: &impl ConnectionTrait,
    ids: &[i32],
    limit: usize,
) -> Result<HashMap<i32, Vec<Related>>> {
    let mut out: HashMap<i32, Vec<Related>> = ids.iter().map(|i| (*i, Vec::new())).collect();
    if ids.is_empty() || limit == 0 {
        return Ok(out);
    }
    let b = db.get_database_backend();
    // Bodies stay behind, as in every listing: the article resolver loads one when shown.
    let cols = listed_columns(b);
    let mut q = Sql::new(
        b,
        &format!(
            "SELECT * FROM (\
             SELECT p.article_id AS of_id, 1 AS pinned, p.position AS ord, r.score AS score, \
             r.reasons AS reasons, {cols} \
             FROM related_pins p JOIN articles a ON a.id = p.related_id \
             LEFT JOIN related_articles r \
             ON r.article_id = p.article_id AND r.related_id = p.related_id \
             WHERE p.article_id IN "
        ),
    );
    and_public(q.list(ids)).push(&format!(
        " UNION ALL \
         SELECT r.article_id AS of_id, 0 AS pinned, 0 AS ord, r.score AS score, \
         r.reasons AS reasons, {cols} \
         FROM related_articles r JOIN articles a ON a.id = r.related_id \
         WHERE r.article_id IN "
    ));
    and_public(q.list(ids)).push(") x ORDER BY of_id, pinned DESC, ord, score DESC, id DESC");
    let rows = db.query_all(q.build()).await?;
    for r in rows {
        let row = Row::from_query_result(&r, "")?;
        let a = article::Model::from_query_result(&r, "")?;
        let Some(list) = out.get_mut(&row.of_id) else {
            continue;
        };
        if list.len() >= limit || a.id == row.of_id || list.iter().any(|x| x.article.id == a.id) {
            continue;
        }
        let mut reasons: Vec<String> = row
            .reasons
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default();
        if row.pinned == 1 {
            reasons.insert(0, PINNED.to_owned());
        }
        list.push(Related {
            article: a,
            score: row.score.unwrap_or(0.0),
            reasons,
        });
    }
    let empty: Vec<i32> = ids
        .iter()
        .copied()
        .filter(|i| out.get(i).is_some_and(Vec::is_empty))
        .collect();
    if !empty.is_empty() {
        latest_in_sections(db, &empty, limit, &mut out).await?;
    }
    Ok(out)
}

#[derive(FromQueryResult)]
struct Placed {
    id: i32,
    section_id: i32,
    section_path: String,
    section_name: String,
    parent_id: Option<i32>,
    parent_path: Option<String>,
    parent_name: Option<String>,
}

/// The fallback of an article whose list is empty (a story that shares no tag, byline or
/// distinctive wording with the archive): the newest public articles of its section's
/// subtree, then of its parent's, each with the reason `latest in <section>`, so "You may
/// also like" is never empty while the section has other stories. Two statements for all
/// of `ids`.
async fn latest_in_sections(
    db: &impl ConnectionTrait,
    ids: &[i32],
    limit: usize,
    out: &mut HashMap<i32, Vec<Related>>,
) -> Result<()> {
    let b = db.get_database_backend();
    let mut q = Sql::new(
        b,
        "SELECT a.id AS id, s.id AS section_id, s.path AS section_path, \
         s.name AS section_name, p.id AS parent_id, p.path AS parent_path, \
         p.name AS parent_name \
         FROM articles a JOIN sections s ON s.id = a.section_id \
         LEFT JOIN sections p ON p.id = s.parent_id WHERE a.id IN ",
    );
    q.list(ids);
    let placed: Vec<Placed> = db
        .query_all(q.build())
        .await?
        .iter()
        .map(|r| Placed::from_query_result(r, ""))
        .collect::<Result<_, _>>()?;
    // Each section of the fallback once: (id, path, name), the article's own then its parent.
    let chain = |p: &Placed| {
        let own = (p.section_id, p.section_path.clone(), p.section_name.clone());
        let parent = match (p.parent_id, &p.parent_path, &p.parent_name) {
            (Some(i), Some(path), Some(name)) => Some((i, path.clone(), name.clone())),
            _ => None,
        };
        std::iter::once(own).chain(parent)
    };
    let mut sections: Vec<(i32, String, String)> = placed.iter().flat_map(chain).collect();
    sections.sort_unstable();
    sections.dedup();
    if sections.is_empty() {
        return Ok(());
    }
    // Each subtree's newest, one more than a list holds (the article itself may be one).
    let cols = listed_columns(b);
    let mut q = Sql::new(b, "");
    for (i, (sid, path, _)) in sections.iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        let prefix = format!("{path}/");
        q.push(&format!(
            "SELECT * FROM (SELECT {sid} AS of_section, {cols} \
             FROM articles a JOIN sections s ON s.id = a.section_id WHERE (s.path = "
        ))
        .bind(path.clone())
        .push(" OR substr(s.path, 1, ")
        .bind(prefix.len() as i32)
        .push(") = ")
        .bind(prefix)
        .push(")");
        and_public(&mut q)
            .push(" ORDER BY a.published_at DESC, a.id DESC LIMIT ")
            .bind(limit as i64 + 1)
            .push(&format!(") l{i}"));
    }
    let mut latest: HashMap<i32, Vec<article::Model>> = HashMap::new();
    for r in db.query_all(q.build()).await? {
        let of: i32 = r.try_get("", "of_section")?;
        latest
            .entry(of)
            .or_default()
            .push(article::Model::from_query_result(&r, "")?);
    }
    for p in placed {
        let Some(list) = out.get_mut(&p.id) else {
            continue;
        };
        for (sid, _, name) in chain(&p) {
            for a in latest.get(&sid).into_iter().flatten() {
                if list.len() >= limit || a.id == p.id || list.iter().any(|x| x.article.id == a.id)
                {
                    continue;
                }
                list.push(Related {
                    article: a.clone(),
                    score: 0.0,
                    reasons: vec![format!("latest in {name}")],
                });
            }
        }
    }
    Ok(())
}

/// Replaces the articles editors pin to article `id` (in this order; none clears them).
pub async fn set_pins(
    db: &DatabaseConnection,
    caller: &Caller,
    id: i32,
    slugs: &[String],
) -> Result<article::Model> {
    if super::idempotency::replayed("article")?.is_some() {
        return articles::find_by_id(db, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no article has id {id}")));
    }
    caller.require(Role::Editor, "choosing related articles")?;
    let a = articles::find_by_id(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no article has id {id}")))?;
    if slugs.len() > MAX_PINS {
        return Err(AppError::bad_input(format!(
            "at most {MAX_PINS} related articles may be chosen"
        )));
    }
    let mut pinned: Vec<i32> = Vec::with_capacity(slugs.len());
    for s in slugs {
        let other = articles::find_by_slug(db, s)
            .await?
            .ok_or_else(|| AppError::bad_input(format!("no article has the slug {s:?}")))?;
        if other.id == id {
            return Err(AppError::bad_input(
                "an article cannot be related to itself",
            ));
        }
        if pinned.contains(&other.id) {
            return Err(AppError::bad_input(format!("{s:?} is chosen twice")));
        }
        pinned.push(other.id);
    }
    let b = db.get_database_backend();
    let (a, pinned) = (&a, &pinned);
    super::transaction::write(db, move |txn| async move {
        let mut q = Sql::new(b, "DELETE FROM related_pins WHERE article_id = ");
        q.bind(id);
        txn.execute(q.build()).await?;
        if !pinned.is_empty() {
            let mut q = Sql::new(
                b,
                "INSERT INTO related_pins (article_id, related_id, position) VALUES ",
            );
            for (pos, r) in pinned.iter().enumerate() {
                q.row(pos, [id.into(), (*r).into(), (pos as i32).into()]);
            }
            txn.execute(q.build()).await?;
        }
        // Pins show on this article's page and on any list of related articles. The
        // article's version does not move, nor what anyone may see of it.
        let facts = Some(ArticleFacts::of(a));
        let keys = [Key::Article(id), Key::Lists];
        let event = Event::article(
            id,
            "choose related",
            caller.sub(),
            Some(a.version),
            facts,
            facts,
            keys,
        );
        stream::append(&*txn, vec![event]).await?;
        Ok(a.clone())
    })
    .await
}

/// Lists hold public articles only: an embargoed one joins them when its embargo lifts.
fn is_published(a: &article::Model) -> bool {
    super::access::is_public(a)
}

/// Keeps the lists in step after `after` was written; `before` is the article as it was
/// (None when new or unknown), and `content` says whether its text, section, bylines or
/// tags may have changed.
pub async fn saved(
    txn: &impl ConnectionTrait,
    before: Option<&article::Model>,
    after: &article::Model,
    content: bool,
) -> Result<()> {
    let s = settings();
    let was = before.filter(|b| is_published(b));
    let now = is_published(after);
    if let Some(b) = was
        && (!now || content)
    {
        store::remove(txn, s, b).await?;
    }
    if now && (was.is_none() || content) {
        store::refresh(txn, s, after).await?;
    }
    Ok(())
}

/// Takes an article that is about to be deleted out of every list.
pub async fn deleted(txn: &impl ConnectionTrait, before: &article::Model) -> Result<()> {
    if is_published(before) {
        store::remove(txn, settings(), before).await?;
    }
    Ok(())
}

/// Rebuilds every list from scratch (after a bulk import); returns the articles scored.
pub async fn rebuild(db: &DatabaseConnection) -> Result<usize> {
    let txn = db.begin().await?;
    let n = store::rebuild(&txn, settings()).await?;
    txn.commit().await?;
    Ok(n)
}

/// Whether published articles exist but no list was ever built (a database that predates
/// related articles).
pub async fn needs_rebuild(db: &impl ConnectionTrait) -> Result<bool> {
    let b = db.get_database_backend();
    let mut q = Sql::new(
        b,
        "SELECT EXISTS (SELECT 1 FROM term_df) AS terms, \
         EXISTS (SELECT 1 FROM articles WHERE status = ",
    );
    q.bind(ArticleStatus::Published.as_str())
        .push(" AND embargo_until IS NULL) AS published");
    let row = db.query_one(q.build()).await?;
    Ok(match row {
        Some(r) => {
            let terms: bool = r.try_get("", "terms")?;
            let published: bool = r.try_get("", "published")?;
            !terms && published
        }
        None => false,
    })
}
