//! The stored side of related articles: document frequencies, signatures and the top list
//! of every published article, kept up to date one article at a time, or rebuilt whole.
//!
//! A publish runs [`refresh`]: the article's terms are counted into `term_df`, its
//! signature is written, and it is scored against the articles that share a signature term
//! or a tag with it (found through indexes, never by scanning the archive). Its own list is
//! the best [`STORED`] of those; and since scores are symmetric, each of them whose list it
//! now beats gets it too. Leaving `PUBLISHED` runs [`remove`]: the counts go, the article
//! leaves every list, and a list left shorter than a reader may ask for is scored again.
//! Lists keep [`STORED`] entries while readers get at most [`super::MAX_LIMIT`], so an
//! unpublish seldom needs any list scored again.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Statement};

use super::score::{self, Lookup, Profile, Scored};
use super::text::{self, TermCounts};
use super::{MAX_LIMIT, Settings};
use crate::domain::ArticleStatus;
use crate::domain::sql::Sql;
use crate::entities::article;
use crate::error::Result;

/// Entries kept per list.
pub const STORED: usize = 20;
/// Candidates scored in full per article.
const SHORTLIST: usize = 100;
/// Candidates taken from each index before the shortlist.
const CANDIDATES: usize = 300;

/// The status of the articles the lists hold; each statement also asks for
/// `embargo_until IS NULL`, as `access::is_public` does.
fn published() -> &'static str {
    ArticleStatus::Published.as_str()
}

async fn published_count(db: &impl ConnectionTrait) -> Result<u64> {
    let b = db.get_database_backend();
    let mut q = Sql::new(
        b,
        "SELECT COUNT(*) AS n FROM articles WHERE embargo_until IS NULL AND status = ",
    );
    q.bind(published());
    let n: i64 = match db.query_one(q.build()).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Adds `delta` to the document frequency of each term.
async fn adjust_df(db: &impl ConnectionTrait, terms: &[String], delta: i32) -> Result<()> {
    let b = db.get_database_backend();
    for chunk in terms.chunks(400) {
        let mut q = Sql::new(b, "INSERT INTO term_df (term, df) VALUES ");
        for (i, t) in chunk.iter().enumerate() {
            q.row(i, [t.clone().into(), delta.into()]);
        }
        q.push(" ON CONFLICT (term) DO UPDATE SET df = term_df.df + excluded.df");
        db.execute(q.build()).await?;
    }
    if delta < 0 {
        for chunk in terms.chunks(400) {
            let mut q = Sql::new(b, "DELETE FROM term_df WHERE df <= 0 AND term IN ");
            q.list(chunk);
            db.execute(q.build()).await?;
        }
    }
    Ok(())
}

async fn df_of(db: &impl ConnectionTrait, terms: &[String]) -> Result<HashMap<String, u64>> {
    let b = db.get_database_backend();
    let mut out = HashMap::with_capacity(terms.len());
    for chunk in terms.chunks(400) {
        let mut q = Sql::new(b, "SELECT term, df FROM term_df WHERE term IN ");
        q.list(chunk);
        for r in db.query_all(q.build()).await? {
            let t: String = r.try_get("", "term")?;
            let n: i32 = r.try_get("", "df")?;
            out.insert(t, u64::try_from(n).unwrap_or(0));
        }
    }
    Ok(out)
}

async fn write_signature(db: &impl ConnectionTrait, id: i32, sig: &[(String, f64)]) -> Result<()> {
    let b = db.get_database_backend();
    let mut q = Sql::new(b, "DELETE FROM article_terms WHERE article_id = ");
    q.bind(id);
    db.execute(q.build()).await?;
    if sig.is_empty() {
        return Ok(());
    }
    let mut q = Sql::new(
        b,
        "INSERT INTO article_terms (article_id, term, weight) VALUES ",
    );
    for (i, (t, w)) in sig.iter().enumerate() {
        q.row(i, [id.into(), t.clone().into(), (*w).into()]);
    }
    db.execute(q.build()).await?;
    Ok(())
}

async fn stored_signature(db: &impl ConnectionTrait, id: i32) -> Result<Vec<(String, f64)>> {
    let b = db.get_database_backend();
    let mut q = Sql::new(
        b,
        "SELECT term, weight FROM article_terms WHERE article_id = ",
    );
    q.bind(id);
    q.push(" ORDER BY weight DESC, term");
    db.query_all(q.build())
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get("", "term")?, r.try_get("", "weight")?)))
        .collect()
}

/// Counts an article that became published and writes its signature and lists.
pub async fn refresh(db: &impl ConnectionTrait, s: &Settings, a: &article::Model) -> Result<()> {
    let counts = TermCounts::of(a);
    let distinct = counts.distinct();
    adjust_df(db, &distinct, 1).await?;
    let n = published_count(db).await?;
    let df = df_of(db, &distinct).await?;
    let sig = text::signature(&counts, &s.shape, n, |t| df.get(t).copied().unwrap_or(1));
    write_signature(db, a.id, &sig).await?;
    relate(db, s, n, a.id, &sig, true).await
}

/// Takes an article that is leaving `PUBLISHED` (or being deleted) out of the counts and
/// out of every list; `before` is its text as it was counted.
pub async fn remove(
    db: &impl ConnectionTrait,
    s: &Settings,
    before: &article::Model,
) -> Result<()> {
    let b = db.get_database_backend();
    adjust_df(db, &TermCounts::of(before).distinct(), -1).await?;
    let mut q = Sql::new(b, "DELETE FROM article_terms WHERE article_id = ");
    q.bind(before.id);
    db.execute(q.build()).await?;
    let mut q = Sql::new(
        b,
        "SELECT article_id FROM related_articles WHERE related_id = ",
    );
    q.bind(before.id);
    let holders: Vec<i32> = db
        .query_all(q.build())
        .await?
        .into_iter()
        .map(|r| r.try_get("", "article_id"))
        .collect::<Result<_, _>>()?;
    let mut q = Sql::new(b, "DELETE FROM related_articles WHERE article_id = ");
    q.bind(before.id).push(" OR related_id = ").bind(before.id);
    db.execute(q.build()).await?;
    if holders.is_empty() {
        return Ok(());
    }
    // Lists now shorter than a reader may ask for are scored again.
    let mut q = Sql::new(
        b,
        "SELECT article_id, COUNT(*) AS n FROM related_articles WHERE article_id IN ",
    );
    q.list(&holders).push(" GROUP BY article_id");
    let mut sizes: HashMap<i32, i64> = HashMap::new();
    for r in db.query_all(q.build()).await? {
        sizes.insert(r.try_get("", "article_id")?, r.try_get("", "n")?);
    }
    let short: Vec<i32> = holders
        .into_iter()
        .filter(|y| sizes.get(y).copied().unwrap_or(0) < MAX_LIMIT as i64)
        .collect();
    if short.is_empty() {
        return Ok(());
    }
    let n = published_count(db).await?;
    for y in short {
        let sig = stored_signature(db, y).await?;
        relate(db, s, n, y, &sig, false).await?;
    }
    Ok(())
}

/// Published articles sharing a signature term with `sig`, by the dot product of weights.
async fn by_wording(
    db: &impl ConnectionTrait,
    id: i32,
    sig: &[(String, f64)],
) -> Result<Vec<(i32, f64)>> {
    if sig.is_empty() {
        return Ok(Vec::new());
    }
    let b = db.get_database_backend();
    let mut q = Sql::new(b, "WITH q (term, w) AS (VALUES ");
    for (i, (t, w)) in sig.iter().enumerate() {
        q.row(i, [t.clone().into(), (*w).into()]);
    }
    q.push(
        ") SELECT t.article_id AS id, SUM(t.weight * q.w) AS dot \
         FROM q JOIN article_terms t ON t.term = q.term WHERE t.article_id <> ",
    )
    .bind(id)
    .push(&format!(
        " GROUP BY t.article_id ORDER BY dot DESC, t.article_id DESC LIMIT {CANDIDATES}"
    ));
    db.query_all(q.build())
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get("", "id")?, r.try_get("", "dot")?)))
        .collect()
}

/// Rows `(article, tag)` of published articles other than `id` carrying any of `tags`.
async fn tag_rows(db: &impl ConnectionTrait, id: i32, tags: &[i32]) -> Result<Vec<(i32, i32)>> {
    if tags.is_empty() {
        return Ok(Vec::new());
    }
    let b = db.get_database_backend();
    let mut q = Sql::new(
        b,
        "SELECT at.article_id, at.tag_id FROM article_tags at \
         JOIN articles a ON a.id = at.article_id WHERE at.tag_id IN ",
    );
    q.list(tags)
        .push(" AND a.embargo_until IS NULL AND a.status = ")
        .bind(published())
        .push(" AND at.article_id <> ")
        .bind(id);
    db.query_all(q.build())
        .await?
        .into_iter()
        .map(|r| Ok((r.try_get("", "article_id")?, r.try_get("", "tag_id")?)))
        .collect()
}

/// The profiles of `ids` (published ones only), in no particular order.
async fn profiles(db: &impl ConnectionTrait, ids: &[i32]) -> Result<HashMap<i32, Profile>> {
    let b = db.get_database_backend();
    let mut out = HashMap::with_capacity(ids.len());
    let mut q = Sql::new(
        b,
        "SELECT id, section_id, published_at FROM articles WHERE id IN ",
    );
    q.list(ids)
        .push(" AND embargo_until IS NULL AND status = ")
        .bind(published());
    for r in db.query_all(q.build()).await? {
        let id: i32 = r.try_get("", "id")?;
        let at: Option<DateTime<Utc>> = r.try_get("", "published_at")?;
        out.insert(
            id,
            Profile {
                id,
                section_id: r.try_get("", "section_id")?,
                published_at: at.unwrap_or(DateTime::<Utc>::MIN_UTC),
                authors: Vec::new(),
                tags: Vec::new(),
            },
        );
    }
    let mut q = Sql::new(
        b,
        "SELECT article_id, author_id FROM article_authors WHERE article_id IN ",
    );
    q.list(ids).push(" ORDER BY article_id, position");
    for r in db.query_all(q.build()).await? {
        let id: i32 = r.try_get("", "article_id")?;
        if let Some(p) = out.get_mut(&id) {
            p.authors.push(r.try_get("", "author_id")?);
        }
    }
    let mut q = Sql::new(
        b,
        "SELECT article_id, tag_id FROM article_tags WHERE article_id IN ",
    );
    q.list(ids).push(" ORDER BY article_id, position");
    for r in db.query_all(q.build()).await? {
        let id: i32 = r.try_get("", "article_id")?;
        if let Some(p) = out.get_mut(&id) {
            p.tags.push(r.try_get("", "tag_id")?);
        }
    }
    Ok(out)
}

/// IDF of each tag among the `n` published articles.
async fn tag_idf(db: &impl ConnectionTrait, tags: &[i32], n: u64) -> Result<HashMap<i32, f64>> {
    let b = db.get_database_backend();
    let mut out = HashMap::with_capacity(tags.len());
    for chunk in tags.chunks(400) {
        let mut q = Sql::new(
            b,
            "SELECT at.tag_id, COUNT(*) AS n FROM article_tags at \
             JOIN articles a ON a.id = at.article_id \
             WHERE a.embargo_until IS NULL AND a.status = ",
        );
        q.bind(published())
            .push(" AND at.tag_id IN ")
            .list(chunk)
            .push(" GROUP BY at.tag_id");
        for r in db.query_all(q.build()).await? {
            let df: i64 = r.try_get("", "n")?;
            out.insert(r.try_get("", "tag_id")?, idf(n, df as u64));
        }
    }
    Ok(out)
}

fn idf(n: u64, df: u64) -> f64 {
    ((n.max(1) as f64) / (df.max(1) as f64)).ln().max(0.0)
}

/// Names for reasons: every section, and the given authors and tags.
async fn names(db: &impl ConnectionTrait, authors: &[i32], tags: &[i32]) -> Result<Lookup> {
    let b = db.get_database_backend();
    let mut look = Lookup::default();
    for s in crate::domain::sections::all(db).await? {
        look.sections.insert(s.id, (s.path, s.name));
    }
    if !authors.is_empty() {
        let mut q = Sql::new(b, "SELECT id, name FROM authors WHERE id IN ");
        q.list(authors);
        for r in db.query_all(q.build()).await? {
            look.authors
                .insert(r.try_get("", "id")?, r.try_get("", "name")?);
        }
    }
    if !tags.is_empty() {
        let mut q = Sql::new(b, "SELECT id, name FROM tags WHERE id IN ");
        q.list(tags);
        for r in db.query_all(q.build()).await? {
            look.tags
                .insert(r.try_get("", "id")?, r.try_get("", "name")?);
        }
    }
    Ok(look)
}

/// Scores article `id` (signature `sig`) against its candidates among the `n` published
/// articles and writes its list; with `push`, also offers it to the lists it scored.
async fn relate(
    db: &impl ConnectionTrait,
    s: &Settings,
    n: u64,
    id: i32,
    sig: &[(String, f64)],
    push: bool,
) -> Result<()> {
    let me = profiles(db, &[id]).await?;
    let Some(me) = me.get(&id).cloned() else {
        return Ok(());
    };
    let wording = by_wording(db, id, sig).await?;
    let tagged = tag_rows(db, id, &me.tags).await?;

    // Shortlist by the two parts the indexes give: wording and tags.
    let mut my_tag_df: HashMap<i32, u64> = me.tags.iter().map(|t| (*t, 1)).collect();
    for (_, t) in &tagged {
        *my_tag_df.entry(*t).or_default() += 1;
    }
    let my_idf: HashMap<i32, f64> = my_tag_df.iter().map(|(t, df)| (*t, idf(n, *df))).collect();
    let mut rough: HashMap<i32, f64> = HashMap::new();
    for (a, dot) in &wording {
        *rough.entry(*a).or_default() += s.weights.wording * dot;
    }
    let my_norm: f64 = my_idf
        .values()
        .map(|v| v * v)
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    for (a, t) in &tagged {
        let v = my_idf.get(t).copied().unwrap_or(0.0);
        *rough.entry(*a).or_default() += s.weights.tags * v * v / my_norm;
    }
    let mut shortlist: Vec<(i32, f64)> = rough.into_iter().collect();
    shortlist.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
    shortlist.truncate(SHORTLIST);
    let ids: Vec<i32> = shortlist.iter().map(|(a, _)| *a).collect();

    let mut scored: Vec<(i32, Scored)> = Vec::new();
    if !ids.is_empty() {
        let others = profiles(db, &ids).await?;
        let mut all_tags: Vec<i32> = others
            .values()
            .flat_map(|p| p.tags.iter().copied())
            .collect();
        all_tags.extend(&me.tags);
        all_tags.sort_unstable();
        all_tags.dedup();
        let mut look = names(db, &me.authors, &me.tags).await?;
        look.tag_idf = tag_idf(db, &all_tags, n).await?;
        let shared = shared_terms(db, &ids, sig).await?;
        let my_sig: HashMap<&str, f64> = sig.iter().map(|(t, w)| (t.as_str(), *w)).collect();
        for y in &ids {
            let Some(p) = others.get(y) else { continue };
            let (dot, terms) = match shared.get(y) {
                Some(rows) => wording_of(&my_sig, rows),
                None => (0.0, Vec::new()),
            };
            scored.push((*y, score::score(&s.weights, &look, &me, p, dot, &terms)));
        }
    }
    scored.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(b.0.cmp(&a.0)));
    write_list(db, id, &scored[..scored.len().min(STORED)]).await?;
    if push {
        offer(db, id, &scored).await?;
    }
    Ok(())
}

/// The signature rows of `ids` on the terms of `sig`.
async fn shared_terms(
    db: &impl ConnectionTrait,
    ids: &[i32],
    sig: &[(String, f64)],
) -> Result<HashMap<i32, Vec<(String, f64)>>> {
    let mut out: HashMap<i32, Vec<(String, f64)>> = HashMap::new();
    if sig.is_empty() {
        return Ok(out);
    }
    let terms: Vec<String> = sig.iter().map(|(t, _)| t.clone()).collect();
    let mut q = Sql::new(
        db.get_database_backend(),
        "SELECT article_id, term, weight FROM article_terms WHERE article_id IN ",
    );
    q.list(ids).push(" AND term IN ").list(&terms);
    for r in db.query_all(q.build()).await? {
        out.entry(r.try_get("", "article_id")?)
            .or_default()
            .push((r.try_get("", "term")?, r.try_get("", "weight")?));
    }
    Ok(out)
}

/// The cosine of two signatures and the shared terms, most telling first.
fn wording_of<T: AsRef<str>>(mine: &HashMap<&str, f64>, theirs: &[(T, f64)]) -> (f64, Vec<String>) {
    let mut parts: Vec<(f64, &str)> = theirs
        .iter()
        .filter_map(|(t, w)| mine.get(t.as_ref()).map(|m| (m * w, t.as_ref())))
        .collect();
    parts.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let dot = parts.iter().map(|(p, _)| p).sum();
    (dot, parts.into_iter().map(|(_, t)| t.to_owned()).collect())
}

fn reasons_json(r: &Scored) -> String {
    serde_json::to_string(&r.reasons).unwrap_or_else(|_| "[]".into())
}

async fn write_list(db: &impl ConnectionTrait, id: i32, list: &[(i32, Scored)]) -> Result<()> {
    let b = db.get_database_backend();
    let mut q = Sql::new(b, "DELETE FROM related_articles WHERE article_id = ");
    q.bind(id);
    db.execute(q.build()).await?;
    let rows: Vec<(i32, i32, &Scored)> = list.iter().map(|(y, sc)| (id, *y, sc)).collect();
    insert_rows(db, &rows).await
}

async fn insert_rows(db: &impl ConnectionTrait, rows: &[(i32, i32, &Scored)]) -> Result<()> {
    let b = db.get_database_backend();
    for chunk in rows.chunks(500) {
        let mut q = Sql::new(
            b,
            "INSERT INTO related_articles (article_id, related_id, score, reasons) VALUES ",
        );
        for (i, (a, r, sc)) in chunk.iter().enumerate() {
            q.row(
                i,
                [
                    (*a).into(),
                    (*r).into(),
                    sc.score.into(),
                    reasons_json(sc).into(),
                ],
            );
        }
        q.push(
            " ON CONFLICT (article_id, related_id) DO UPDATE SET score = excluded.score, \
             reasons = excluded.reasons",
        );
        db.execute(q.build()).await?;
    }
    Ok(())
}

/// Offers article `id` to the lists of the articles it was scored against, where it beats
/// their weakest entry or they have room; lists are then cut back to [`STORED`].
async fn offer(db: &impl ConnectionTrait, id: i32, scored: &[(i32, Scored)]) -> Result<()> {
    if scored.is_empty() {
        return Ok(());
    }
    let b = db.get_database_backend();
    let ids: Vec<i32> = scored.iter().map(|(y, _)| *y).collect();
    let mut q = Sql::new(
        b,
        "SELECT article_id, COUNT(*) AS n, MIN(score) AS low FROM related_articles \
         WHERE article_id IN ",
    );
    q.list(&ids).push(" GROUP BY article_id");
    let mut lists: HashMap<i32, (i64, f64)> = HashMap::new();
    for r in db.query_all(q.build()).await? {
        lists.insert(
            r.try_get("", "article_id")?,
            (r.try_get("", "n")?, r.try_get("", "low")?),
        );
    }
    let takers: Vec<(i32, i32, &Scored)> = scored
        .iter()
        .filter(|(y, sc)| match lists.get(y) {
            None => true,
            Some((n, low)) => (*n as usize) < STORED || sc.score > *low,
        })
        .map(|(y, sc)| (*y, id, sc))
        .collect();
    let full: Vec<i32> = takers
        .iter()
        .filter(|(y, _, _)| lists.get(y).is_some_and(|(n, _)| *n as usize >= STORED))
        .map(|(y, _, _)| *y)
        .collect();
    insert_rows(db, &takers).await?;
    if !full.is_empty() {
        let mut q = Sql::new(
            b,
            "DELETE FROM related_articles WHERE (article_id, related_id) IN (\
             SELECT article_id, related_id FROM (SELECT article_id, related_id, ROW_NUMBER() \
             OVER (PARTITION BY article_id ORDER BY score DESC, related_id DESC) AS r \
             FROM related_articles WHERE article_id IN ",
        );
        q.list(&full).push(&format!(") ranked WHERE r > {STORED})"));
        db.execute(q.build()).await?;
    }
    Ok(())
}

/// Rebuilds every count, signature and list from the published articles, in memory: the
/// way after a bulk import, or when the tables are new.
/// A page of published articles after id `last`, with what their signatures are made of.
async fn published_page(db: &impl ConnectionTrait, last: i32) -> Result<Vec<sea_orm::QueryResult>> {
    let mut q = Sql::new(
        db.get_database_backend(),
        "SELECT id, headline, dek, body, featured_image, section_id, published_at \
         FROM articles WHERE embargo_until IS NULL AND status = ",
    );
    q.bind(published())
        .push(" AND id > ")
        .bind(last)
        .push(" ORDER BY id LIMIT 500");
    Ok(db.query_all(q.build()).await?)
}

/// An article's id and the counts of the terms of its headline, dek, caption and body.
fn term_counts(r: &sea_orm::QueryResult) -> Result<(i32, TermCounts)> {
    let id: i32 = r.try_get("", "id")?;
    let body: serde_json::Value = r.try_get("", "body")?;
    let image: Option<serde_json::Value> = r.try_get("", "featured_image")?;
    let headline: String = r.try_get("", "headline")?;
    let dek: Option<String> = r.try_get("", "dek")?;
    let blocks: Vec<crate::domain::blocks::Block> =
        serde_json::from_value(body).unwrap_or_default();
    let caption = image
        .as_ref()
        .and_then(|i| i.get("caption"))
        .and_then(|c| c.as_str());
    Ok((
        id,
        TermCounts::from_parts(&headline, dek.as_deref(), caption, &blocks),
    ))
}

pub async fn rebuild(db: &impl ConnectionTrait, s: &Settings) -> Result<usize> {
    let b = db.get_database_backend();
    // Everything needed, article by article, in pages by id.
    // Terms are interned: the archive's texts are counted once and kept as ids.
    // Two passes over the published articles, in pages by id, so that memory holds the
    // archive's vocabulary and each article's short signature, never every article's full
    // term counts at once (800 MB for 50,000 articles): the first counts in how many
    // articles each term appears, the second counts each article's terms again and keeps
    // only its signature, which needs those document frequencies.
    let mut vocabulary: Vec<String> = Vec::new();
    let mut term_ids: HashMap<String, u32> = HashMap::new();
    let mut df: Vec<u64> = Vec::new();
    let mut arts: Vec<Profile> = Vec::new();
    let mut last = 0;
    loop {
        let rows = published_page(db, last).await?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            let (id, counts) = term_counts(&r)?;
            last = id;
            for (t, _) in counts.weighted(&s.shape) {
                let id = match term_ids.get(t) {
                    Some(id) => *id,
                    None => {
                        let id = vocabulary.len() as u32;
                        vocabulary.push(t.to_owned());
                        term_ids.insert(t.to_owned(), id);
                        df.push(0);
                        id
                    }
                };
                df[id as usize] += 1;
            }
            let at: Option<DateTime<Utc>> = r.try_get("", "published_at")?;
            arts.push(Profile {
                id,
                section_id: r.try_get("", "section_id")?,
                published_at: at.unwrap_or(DateTime::<Utc>::MIN_UTC),
                authors: Vec::new(),
                tags: Vec::new(),
            });
        }
    }
    let index: HashMap<i32, usize> = arts.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
    // Bylines and tags in pages (all of them at once were 250,000 rows held together).
    for (table, column) in [("article_authors", "author_id"), ("article_tags", "tag_id")] {
        let (mut after_a, mut after_p) = (-1i32, -1i32);
        loop {
            let rows = db
                .query_all(Statement::from_string(
                    b,
                    format!(
                        "SELECT article_id, position, {column} AS x FROM {table} \
                         WHERE article_id > {after_a} OR (article_id = {after_a} AND position > {after_p}) \
                         ORDER BY article_id, position LIMIT 5000"
                    ),
                ))
                .await?;
            if rows.is_empty() {
                break;
            }
            for r in rows {
                let a: i32 = r.try_get("", "article_id")?;
                (after_a, after_p) = (a, r.try_get("", "position")?);
                if let Some(i) = index.get(&a) {
                    let x: i32 = r.try_get("", "x")?;
                    if column == "author_id" {
                        arts[*i].authors.push(x);
                    } else {
                        arts[*i].tags.push(x);
                    }
                }
            }
        }
    }
    let n = arts.len() as u64;

    // Signatures, as term ids into the vocabulary (a `String` per entry held 60 MB more
    // for 50,000 articles). An article published between the passes has none this time;
    // terms new since the first pass are left out.
    let mut sigs: Vec<Vec<(u32, f64)>> = vec![Vec::new(); arts.len()];
    let mut last = 0;
    loop {
        let rows = published_page(db, last).await?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            let (id, counts) = term_counts(&r)?;
            last = id;
            let Some(&i) = index.get(&id) else { continue };
            let weighted: Vec<(u32, f64)> = counts
                .weighted(&s.shape)
                .into_iter()
                .filter_map(|(t, c)| term_ids.get(t).map(|id| (*id, c)))
                .collect();
            let mut top = text::top_terms(
                weighted,
                s.shape.terms,
                n,
                |t| df[*t as usize],
                |t| vocabulary[*t as usize].as_str(),
            );
            top.shrink_to_fit();
            sigs[i] = top;
        }
    }
    drop(term_ids);

    // Inverted indexes over signatures and tags.
    let mut term_post: HashMap<u32, Vec<(usize, f64)>> = HashMap::new();
    for (i, sig) in sigs.iter().enumerate() {
        for (t, w) in sig {
            term_post.entry(*t).or_default().push((i, *w));
        }
    }
    let mut tag_post: HashMap<i32, Vec<usize>> = HashMap::new();
    for (i, p) in arts.iter().enumerate() {
        for t in &p.tags {
            tag_post.entry(*t).or_default().push(i);
        }
    }
    let mut look = names(db, &[], &[]).await?;
    look.tag_idf = tag_post
        .iter()
        .map(|(t, p)| (*t, idf(n, p.len() as u64)))
        .collect();
    for (table, map) in [("authors", &mut look.authors), ("tags", &mut look.tags)] {
        let rows = db
            .query_all(Statement::from_string(
                b,
                format!("SELECT id, name FROM {table}"),
            ))
            .await?;
        for r in rows {
            map.insert(r.try_get("", "id")?, r.try_get("", "name")?);
        }
    }

    // The counts and signatures replace the old ones; the lists follow as they are scored.
    for t in ["related_articles", "article_terms", "term_df"] {
        db.execute(Statement::from_string(b, format!("DELETE FROM {t}")))
            .await?;
    }
    let df_rows: Vec<(&String, &u64)> = vocabulary.iter().zip(&df).collect();
    for chunk in df_rows.chunks(500) {
        let mut q = Sql::new(b, "INSERT INTO term_df (term, df) VALUES ");
        for (i, (t, n)) in chunk.iter().enumerate() {
            q.row(
                i,
                [
                    (*t).clone().into(),
                    i32::try_from(**n).unwrap_or(i32::MAX).into(),
                ],
            );
        }
        db.execute(q.build()).await?;
    }
    drop(df_rows);
    let mut term_rows: Vec<(i32, &str, f64)> = Vec::with_capacity(500);
    for (p, sig) in arts.iter().zip(&sigs) {
        for (t, w) in sig {
            term_rows.push((p.id, vocabulary[*t as usize].as_str(), *w));
            if term_rows.len() == 500 {
                insert_terms(db, &term_rows).await?;
                term_rows.clear();
            }
        }
    }
    insert_terms(db, &term_rows).await?;

    // Score each article against its shortlist, writing the lists 500 rows at a time: held
    // whole (20 scored entries with reasons per article) they were the rebuild's largest
    // allocation, growing with the archive.
    let mut dots = vec![0.0f64; arts.len()];
    let mut tag_part = vec![0.0f64; arts.len()];
    let mut seen = vec![false; arts.len()];
    let mut touched: Vec<usize> = Vec::new();
    let mut pending: Vec<(i32, i32, Scored)> = Vec::with_capacity(500 + STORED);
    for (i, me) in arts.iter().enumerate() {
        for (t, w) in &sigs[i] {
            for (j, wj) in term_post.get(t).map(Vec::as_slice).unwrap_or(&[]) {
                if !std::mem::replace(&mut seen[*j], true) {
                    touched.push(*j);
                }
                dots[*j] += w * wj;
            }
        }
        let my_norm: f64 = me
            .tags
            .iter()
            .map(|t| look.tag_idf.get(t).copied().unwrap_or(0.0).powi(2))
            .sum::<f64>()
            .max(f64::MIN_POSITIVE);
        for t in &me.tags {
            let v = look.tag_idf.get(t).copied().unwrap_or(0.0);
            for j in tag_post.get(t).map(Vec::as_slice).unwrap_or(&[]) {
                if !std::mem::replace(&mut seen[*j], true) {
                    touched.push(*j);
                }
                tag_part[*j] += v * v / my_norm;
            }
        }
        let mut rough: Vec<(usize, f64)> = touched
            .iter()
            .filter(|j| **j != i)
            .map(|j| {
                (
                    *j,
                    s.weights.wording * dots[*j] + s.weights.tags * tag_part[*j],
                )
            })
            .collect();
        rough.sort_by(|a, b| b.1.total_cmp(&a.1).then(arts[b.0].id.cmp(&arts[a.0].id)));
        rough.truncate(SHORTLIST);
        let my_sig: HashMap<&str, f64> = sigs[i]
            .iter()
            .map(|(t, w)| (vocabulary[*t as usize].as_str(), *w))
            .collect();
        let mut scored: Vec<(i32, Scored)> = rough
            .iter()
            .map(|(j, _)| {
                let theirs: Vec<(&str, f64)> = sigs[*j]
                    .iter()
                    .map(|(t, w)| (vocabulary[*t as usize].as_str(), *w))
                    .collect();
                let (dot, terms) = wording_of(&my_sig, &theirs);
                let other = &arts[*j];
                (
                    other.id,
                    score::score(&s.weights, &look, me, other, dot, &terms),
                )
            })
            .collect();
        scored.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(b.0.cmp(&a.0)));
        scored.truncate(STORED);
        pending.extend(scored.into_iter().map(|(y, sc)| (me.id, y, sc)));
        if pending.len() >= 500 {
            flush_rows(db, &mut pending).await?;
        }
        for j in touched.drain(..) {
            dots[j] = 0.0;
            tag_part[j] = 0.0;
            seen[j] = false;
        }
    }
    flush_rows(db, &mut pending).await?;
    Ok(arts.len())
}

/// Writes the scored rows held and empties the buffer.
async fn flush_rows(db: &impl ConnectionTrait, rows: &mut Vec<(i32, i32, Scored)>) -> Result<()> {
    let refs: Vec<(i32, i32, &Scored)> = rows.iter().map(|(a, r, sc)| (*a, *r, sc)).collect();
    insert_rows(db, &refs).await?;
    drop(refs);
    rows.clear();
    Ok(())
}

/// Writes signature rows `(article, term, weight)`.
async fn insert_terms(db: &impl ConnectionTrait, rows: &[(i32, &str, f64)]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut q = Sql::new(
        db.get_database_backend(),
        "INSERT INTO article_terms (article_id, term, weight) VALUES ",
    );
    for (i, (a, t, w)) in rows.iter().enumerate() {
        q.row(i, [(*a).into(), (*t).to_owned().into(), (*w).into()]);
    }
    db.execute(q.build()).await?;
    Ok(())
}
