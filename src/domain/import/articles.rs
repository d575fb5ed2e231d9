//! The articles pass: a reader thread parses each article, applies the rules every way in
//! applies ([`content::check`]) and resolves its section and authors, then hands batches to
//! the writer, which writes each batch in one transaction with bylines, tags, revisions,
//! change-log entries and search rows. Parsing and cleaning (CPU) overlap with the writes.
//!
//! An article already stored exactly as imported (same digest of the record, and no edit
//! since: same version) is left alone, so a re-import or a resumed import adds no version,
//! revision or change; an article edited since is overwritten and counted as updated.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter as _,
    QuerySelect as _, TransactionTrait as _,
};
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;

use super::reader::{self, ImportSource, Take};
use super::records::upsert_tags;
use super::{
    ArticleIn, Failed, ImportReport, OriginIn, Progress, Stage, blocking, check_slug, secs,
};
use crate::domain::access::ArticleFacts;
use crate::domain::content::{self, ArticleContent, Valid};
use crate::domain::invalidation::Key;
use crate::domain::revisions::Snapshot;
use crate::domain::search::{self, SearchDoc};
use crate::domain::stream::{Event, IMPORT_ACTION};
use crate::domain::{ArticleStatus, now};
use crate::entities::{
    article, article_author, article_old_url, article_origin, article_revision, article_tag,
    author, import_digest, section,
};
use crate::error::{AppError, Result};

/// An article validated, cleaned and resolved, ready to write.
pub(super) struct Prepared {
    /// The record's place in the file.
    index: usize,
    /// The slug the file gives (comments name the article by it).
    file_slug: String,
    slug: String,
    /// Where it came from, when another system.
    origin: Option<OriginIn>,
    model: article::ActiveModel,
    valid: Valid,
    snapshot: Snapshot,
    /// SHA-256 of the record as resolved, in hex.
    digest: String,
}

/// A batch from the reader: each article prepared, or skipped with why.
type Batch = Vec<(usize, String, std::result::Result<Prepared, String>)>;

/// Imports every article of `source`; returns slug → id of the articles the file holds.
pub(super) async fn import_articles(
    db: &DatabaseConnection,
    source: &ImportSource,
    total: usize,
    batch: usize,
    report: &mut ImportReport,
    progress: Progress<'_>,
) -> std::result::Result<HashMap<String, i32>, Failed> {
    let mut article_ids = HashMap::with_capacity(total);
    if total == 0 {
        return Ok(article_ids);
    }
    let sections =
        ids_by::<section::Entity>(db, section::Column::Path, section::Column::Id).await?;
    let authors = ids_by::<author::Entity>(db, author::Column::Slug, author::Column::Id).await?;
    // One batch waiting while one is written and the next read: each more in flight held
    // another 500 articles' bodies (several copies each) for no gain in speed.
    let (tx, mut rx) = mpsc::channel::<Batch>(1);
    let reading = {
        let source = source.clone();
        blocking(move || read_articles(&source, batch, &sections, &authors, &tx))
    };
    let mut done = 0;
    let written: std::result::Result<(), Failed> = async {
        while let Some(chunk) = rx.recv().await {
            let mut ready = Vec::with_capacity(chunk.len());
            let n = chunk.len();
            for (i, slug, prepared) in chunk {
                match prepared {
                    Ok(mut p) => {
                        p.index = i;
                        ready.push(p);
                    }
                    Err(e) => report.skip(Stage::Articles, i, &slug, e),
                }
            }
            let txn = db.begin().await?;
            write_articles(&txn, ready, &mut article_ids, report).await?;
            txn.commit().await?;
            done += n;
            progress(Stage::Articles, done, total);
        }
        Ok(())
    }
    .await;
    // The reader stops on its own when the writer has gone.
    drop(rx);
    let read = reading.await;
    written?;
    read.map_err(Failed::Scan)?;
    Ok(article_ids)
}

/// Every row of `E` as `key → id` (sections by path, authors by slug): what an article
/// names, resolved without a statement per article.
async fn ids_by<E: EntityTrait>(
    db: &DatabaseConnection,
    key: E::Column,
    id: E::Column,
) -> Result<HashMap<String, i32>> {
    Ok(E::find()
        .select_only()
        .columns([key, id])
        .into_tuple::<(String, i32)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// The reader thread: parses, checks and resolves articles, `batch` at a time.
fn read_articles(
    source: &ImportSource,
    batch: usize,
    sections: &HashMap<String, i32>,
    authors: &HashMap<String, i32>,
    tx: &mpsc::Sender<Batch>,
) -> std::result::Result<(), reader::ScanError> {
    let mut first_at: HashMap<String, usize> = HashMap::new();
    let mut origin_at: HashMap<(String, String), usize> = HashMap::new();
    let mut pending: Batch = Vec::with_capacity(batch);
    let plan = |s: Stage| {
        if s == Stage::Articles {
            Take::Raw
        } else {
            Take::Skip
        }
    };
    reader::scan(source, &plan, &mut |stage, i, raw| {
        let Some(raw) = raw else { return true };
        let parsed: std::result::Result<ArticleIn, String> = reader::parse_element(stage, i, &raw);
        drop(raw);
        let (slug, prepared) = match parsed {
            Err(e) => (String::new(), Err(strip_place(&e, i))),
            Ok(a) => {
                let slug = a.slug.clone();
                let origin = a.origin.as_ref().map(|o| (o.system.clone(), o.id.clone()));
                let prepared = match (
                    first_at.get(&slug),
                    origin.as_ref().and_then(|o| origin_at.get(o)),
                ) {
                    (Some(first), _) => {
                        Err(format!("duplicate slug: articles[{first}] has it too"))
                    }
                    (_, Some(first)) => Err(format!(
                        "duplicate origin: articles[{first}] has the same source id"
                    )),
                    _ => prepare(a, sections, authors),
                };
                if prepared.is_ok() {
                    first_at.insert(slug.clone(), i);
                    if let Some(o) = origin {
                        origin_at.insert(o, i);
                    }
                }
                (slug, prepared)
            }
        };
        pending.push((i, slug, prepared));
        if pending.len() >= batch {
            let full = std::mem::replace(&mut pending, Vec::with_capacity(batch));
            return tx.blocking_send(full).is_ok();
        }
        true
    })?;
    if !pending.is_empty() && tx.blocking_send(pending).is_err() {
        return Err(reader::ScanError::Stopped);
    }
    Ok(())
}

/// `articles[3].status: …` → `status: …`: the report already names the element.
pub(super) fn strip_place(msg: &str, i: usize) -> String {
    for kind in Stage::ALL {
        let place = format!("{}[{i}]", kind.name());
        if let Some(rest) = msg.strip_prefix(&place) {
            return rest
                .strip_prefix(": ")
                .or_else(|| rest.strip_prefix('.'))
                .unwrap_or(rest)
                .to_owned();
        }
    }
    msg.to_owned()
}

/// Applies the same rules as every other way in ([`content`]), then the import's own: a
/// valid slug, a time for a scheduled article.
fn prepare(
    a: ArticleIn,
    sections: &HashMap<String, i32>,
    authors: &HashMap<String, i32>,
) -> std::result::Result<Prepared, String> {
    check_slug(&a.slug)?;
    let origin = a
        .origin
        .clone()
        .map(crate::domain::origins::clean)
        .transpose()?;
    if a.status == ArticleStatus::Scheduled && a.scheduled_at.is_none() {
        return Err("scheduledAt is required for a SCHEDULED article".into());
    }
    let input = ArticleContent {
        headline: a.headline,
        dek: a.dek,
        body: a.body,
        section: a.section,
        authors: a.authors,
        tags: a.tags,
        source: a.source,
        featured_image: a.featured_image,
        embargo_until: a.embargo_until,
        rights: a.rights,
    };
    let valid = content::check(input)
        .and_then(|c| {
            let section = sections.get(&c.section).copied();
            c.resolve(section, |s| authors.get(s).copied())
        })
        .map_err(|e| e.to_string())?;
    let c = &valid.content;
    let at = now();
    let created = a.created_at.map_or(at, secs);
    let updated = a.updated_at.map_or(created, secs);
    let published = match (a.status, a.published_at) {
        (ArticleStatus::Published, None) => Some(updated),
        (_, p) => p.map(secs),
    };
    let internal = |e: AppError| e.to_string();
    let model = article::ActiveModel {
        id: NotSet,
        slug: Set(a.slug.clone()),
        headline: Set(c.headline.clone()),
        dek: Set(c.dek.clone()),
        body: Set(c.body_json().map_err(internal)?),
        word_count: Set(c.word_count),
        section_id: Set(valid.section_id),
        status: Set(a.status),
        source_name: Set(c.source.as_ref().map(|s| s.name.clone())),
        source_url: Set(c.source.as_ref().and_then(|s| s.url.clone())),
        featured_image: Set(c.featured_image_json().map_err(internal)?),
        created_at: Set(created),
        updated_at: Set(updated),
        published_at: Set(published),
        scheduled_at: Set(a.scheduled_at.map(secs)),
        embargo_until: Set(c.embargo_until.map(secs)),
        rights: Set(c.rights.texts_json()),
        not_for_syndication: Set(c.rights.not_for_syndication),
        version: Set(1),
    };
    let snapshot = Snapshot {
        slug: a.slug.clone(),
        headline: c.headline.clone(),
        dek: c.dek.clone(),
        section: c.section.clone(),
        authors: c.authors.clone(),
        tags: c.tags.iter().map(|(_, name)| name.clone()).collect(),
        status: a.status,
        published_at: published,
        scheduled_at: a.scheduled_at.map(secs),
        source: c.source.clone(),
        featured_image: c.featured_image.clone(),
        body: c.body.clone(),
        embargo_until: c.embargo_until.map(secs),
        rights: c.rights.clone(),
    };
    // What will be stored: the snapshot plus the times a snapshot leaves out, as stored
    // (an export of this article digests the same), except a creation time the file does
    // not give, which would be the time of each run.
    let created_d = a.created_at.map(secs);
    let updated_d = a.updated_at.map(secs).or(created_d);
    let json = serde_json::to_vec(&(&snapshot, created_d, updated_d, &origin))
        .map_err(|e| e.to_string())?;
    let digest = Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Prepared {
        index: 0,
        file_slug: a.slug.clone(),
        slug: a.slug,
        origin,
        model,
        valid,
        snapshot,
        digest,
    })
}

/// Which of `batch` are stored as imported and unedited since, by slug → id.
async fn unchanged(
    txn: &impl ConnectionTrait,
    batch: &[Prepared],
    report: &mut ImportReport,
) -> Result<HashMap<String, (i32, bool)>> {
    use article::Column as C;
    let rows: Vec<(i32, String, i32)> = article::Entity::find()
        .select_only()
        .columns([C::Id, C::Slug, C::Version])
        .filter(C::Slug.is_in(batch.iter().map(|p| p.slug.as_str())))
        .into_tuple()
        .all(txn)
        .await?;
    let digests: HashMap<i32, (String, i32)> = import_digest::Entity::find()
        .filter(import_digest::Column::ArticleId.is_in(rows.iter().map(|r| r.0)))
        .all(txn)
        .await?
        .into_iter()
        .map(|d| (d.article_id, (d.digest, d.version)))
        .collect();
    let stored: HashMap<String, (i32, i32)> =
        rows.into_iter().map(|(id, s, v)| (s, (id, v))).collect();
    let mut out = HashMap::with_capacity(stored.len());
    let counts = report.counts_mut(Stage::Articles);
    for p in batch {
        match stored.get(&p.slug) {
            None => counts.created += 1,
            Some(&(id, version)) => {
                let same = digests
                    .get(&id)
                    .is_some_and(|(d, v)| *d == p.digest && *v == version);
                if same {
                    counts.unchanged += 1;
                } else {
                    counts.updated += 1;
                }
                out.insert(p.slug.clone(), (id, same));
            }
        }
    }
    Ok(out)
}

async fn write_articles(
    txn: &impl ConnectionTrait,
    batch: Vec<Prepared>,
    article_ids: &mut HashMap<String, i32>,
    report: &mut ImportReport,
) -> Result<()> {
    use article::Column as C;
    if batch.is_empty() {
        return Ok(());
    }
    let mut all_tags: Vec<(String, String)> = Vec::new();
    let mut seen = HashSet::new();
    for p in &batch {
        for (slug, name) in &p.valid.content.tags {
            if seen.insert(slug.as_str()) {
                all_tags.push((slug.clone(), name.clone()));
            }
        }
    }
    // A write first, so SQLite takes the write lock before any read in this transaction.
    let tag_ids = upsert_tags(txn, &all_tags, false).await?;
    let batch = match_origins(txn, batch, report).await?;
    let known = unchanged(txn, &batch, report).await?;
    let batch: Vec<Prepared> = batch
        .into_iter()
        .filter(|p| match known.get(&p.slug) {
            Some(&(id, true)) => {
                article_ids.insert(p.file_slug.clone(), id);
                false
            }
            _ => true,
        })
        .collect();
    if batch.is_empty() {
        return Ok(());
    }

    // What anyone could see of the articles this batch replaces, for the change stream.
    let replaced: HashMap<String, ArticleFacts> = article::Entity::find()
        .filter(C::Slug.is_in(batch.iter().map(|p| p.slug.as_str())))
        .all(txn)
        .await?
        .into_iter()
        .map(|a| (a.slug.clone(), ArticleFacts::of(&a)))
        .collect();
    // The models are taken, not cloned: each holds the article's body as a JSON tree.
    let mut batch = batch;
    let models: Vec<article::ActiveModel> = batch
        .iter_mut()
        .map(|p| std::mem::take(&mut p.model))
        .collect();
    article::Entity::insert_many(models)
        .on_conflict(
            OnConflict::column(C::Slug)
                .update_columns([
                    C::Headline,
                    C::Dek,
                    C::Body,
                    C::WordCount,
                    C::SectionId,
                    C::Status,
                    C::SourceName,
                    C::SourceUrl,
                    C::FeaturedImage,
                    C::CreatedAt,
                    C::UpdatedAt,
                    C::PublishedAt,
                    C::ScheduledAt,
                    C::EmbargoUntil,
                    C::Rights,
                    C::NotForSyndication,
                ])
                .value(C::Version, Expr::col((article::Entity, C::Version)).add(1))
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    let rows: Vec<(i32, String, i32)> = article::Entity::find()
        .select_only()
        .columns([C::Id, C::Slug, C::Version])
        .filter(C::Slug.is_in(batch.iter().map(|p| p.slug.as_str())))
        .into_tuple()
        .all(txn)
        .await?;
    let versions: HashMap<String, (i32, i32)> = rows
        .into_iter()
        .map(|(id, slug, v)| (slug, (id, v)))
        .collect();
    let ids: Vec<i32> = versions.values().map(|(id, _)| *id).collect();

    article_author::Entity::delete_many()
        .filter(article_author::Column::ArticleId.is_in(ids.iter().copied()))
        .exec(txn)
        .await?;
    article_tag::Entity::delete_many()
        .filter(article_tag::Column::ArticleId.is_in(ids.iter().copied()))
        .exec(txn)
        .await?;

    let at = now();
    let mut bylines = Vec::new();
    let mut taggings = Vec::new();
    let mut revisions = Vec::with_capacity(batch.len());
    let mut changes = Vec::with_capacity(batch.len());
    let mut docs = Vec::with_capacity(batch.len());
    let mut digests = Vec::with_capacity(batch.len());
    let mut origins = Vec::new();
    // path → (article, URL): an old URL leads to the last article of the file to name it.
    let mut old_urls: HashMap<String, (i32, String)> = HashMap::new();
    for p in batch {
        let (id, version) = *versions.get(&p.slug).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("article {} vanished mid-import", p.slug))
        })?;
        article_ids.insert(p.file_slug.clone(), id);
        if let Some(o) = &p.origin {
            origins.push(article_origin::ActiveModel {
                article_id: Set(id),
                system: Set(o.system.clone()),
                original_id: Set(o.id.clone()),
                path: Set(o.url.as_deref().and_then(crate::domain::origins::old_path)),
                url: Set(o.url.clone()),
            });
            for (path, url) in crate::domain::origins::old_urls(o) {
                old_urls.insert(path, (id, url));
            }
        }
        let c = &p.valid.content;
        docs.push(SearchDoc::new(id, &c.headline, c.dek.as_deref(), &c.body));
        for (pos, author_id) in p.valid.author_ids.iter().enumerate() {
            bylines.push(article_author::ActiveModel {
                article_id: Set(id),
                author_id: Set(*author_id),
                position: Set(pos as i32),
                published_at: Set(None),
            });
        }
        for (pos, (slug, _)) in c.tags.iter().enumerate() {
            let tag_id = *tag_ids.get(slug).ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("tag {slug} vanished mid-import"))
            })?;
            taggings.push(article_tag::ActiveModel {
                article_id: Set(id),
                tag_id: Set(tag_id),
                position: Set(pos as i32),
            });
        }
        revisions.push(article_revision::ActiveModel {
            id: NotSet,
            article_id: Set(id),
            version: Set(version),
            action: Set("import".into()),
            actor: Set(None),
            snapshot: Set(serde_json::to_value(&p.snapshot).map_err(anyhow::Error::from)?),
            created_at: Set(at),
        });
        let after = ArticleFacts {
            status: p.snapshot.status,
            embargoed: p.snapshot.embargo_until.is_some(),
            not_for_syndication: p.snapshot.rights.not_for_syndication,
            section_id: p.valid.section_id,
        };
        let mut event = Event::article(
            id,
            IMPORT_ACTION,
            None,
            Some(version),
            replaced.get(&p.slug).copied(),
            Some(after),
            [Key::Article(id)],
        );
        event.at = at;
        changes.push(event);
        digests.push(import_digest::ActiveModel {
            article_id: Set(id),
            digest: Set(p.digest),
            version: Set(version),
        });
    }
    for chunk in bylines.chunks(5000) {
        article_author::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    crate::domain::discovery::index_bylines(txn, &ids).await?;
    for chunk in taggings.chunks(5000) {
        article_tag::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await?;
    }
    article_revision::Entity::insert_many(revisions)
        .exec_without_returning(txn)
        .await?;
    crate::domain::stream::append(txn, changes).await?;
    import_digest::Entity::insert_many(digests)
        .on_conflict(
            OnConflict::column(import_digest::Column::ArticleId)
                .update_columns([
                    import_digest::Column::Digest,
                    import_digest::Column::Version,
                ])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    search::index(txn, &docs).await?;
    for chunk in origins.chunks(1000) {
        use article_origin::Column as O;
        article_origin::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(O::ArticleId)
                    .update_columns([O::System, O::OriginalId, O::Url, O::Path])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    // Added or moved to this article, never dropped: a re-import after the source's
    // permalinks changed keeps the earlier ones answering.
    let old_urls: Vec<article_old_url::ActiveModel> = old_urls
        .into_iter()
        .map(|(path, (id, url))| article_old_url::ActiveModel {
            path: Set(path),
            article_id: Set(id),
            url: Set(url),
        })
        .collect();
    for chunk in old_urls.chunks(1000) {
        use article_old_url::Column as U;
        article_old_url::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(U::Path)
                    .update_columns([U::ArticleId, U::Url])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Matches articles from another system on their origin first: one imported before keeps
/// its gazette slug even when the source's slug changed since; one whose slug belongs to an
/// article from elsewhere (written in gazette, or another source post) is skipped rather
/// than overwriting it.
async fn match_origins(
    txn: &impl ConnectionTrait,
    batch: Vec<Prepared>,
    report: &mut ImportReport,
) -> Result<Vec<Prepared>> {
    use article_origin::Column as O;
    if batch.iter().all(|p| p.origin.is_none()) {
        return Ok(batch);
    }
    let mut by_origin: HashMap<(String, String), (i32, String)> = HashMap::new();
    let systems: HashSet<&str> = batch
        .iter()
        .filter_map(|p| p.origin.as_ref().map(|o| o.system.as_str()))
        .collect();
    for system in systems {
        let ids = batch
            .iter()
            .filter_map(|p| p.origin.as_ref())
            .filter(|o| o.system == system)
            .map(|o| o.id.clone());
        let rows = article_origin::Entity::find()
            .filter(O::System.eq(system))
            .filter(O::OriginalId.is_in(ids))
            .all(txn)
            .await?;
        let slugs: HashMap<i32, String> = article::Entity::find()
            .select_only()
            .columns([article::Column::Id, article::Column::Slug])
            .filter(article::Column::Id.is_in(rows.iter().map(|r| r.article_id)))
            .into_tuple::<(i32, String)>()
            .all(txn)
            .await?
            .into_iter()
            .collect();
        for r in rows {
            if let Some(slug) = slugs.get(&r.article_id) {
                by_origin.insert((r.system, r.original_id), (r.article_id, slug.clone()));
            }
        }
    }
    // Who holds the slugs of the records not matched by origin.
    let holders: HashMap<String, i32> = article::Entity::find()
        .select_only()
        .columns([article::Column::Slug, article::Column::Id])
        .filter(article::Column::Slug.is_in(batch.iter().map(|p| p.slug.as_str())))
        .into_tuple::<(String, i32)>()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let held: HashSet<i32> = by_origin.values().map(|(id, _)| *id).collect();
    let mut used = HashSet::new();
    let mut out = Vec::with_capacity(batch.len());
    for mut p in batch {
        let key = p.origin.as_ref().map(|o| (o.system.clone(), o.id.clone()));
        match key.as_ref().and_then(|k| by_origin.get(k)) {
            Some((_, slug)) if *slug != p.slug => {
                p.slug.clone_from(slug);
                p.model.slug = Set(slug.clone());
                p.snapshot.slug.clone_from(slug);
            }
            Some(_) => {}
            None if key.is_some() => {
                if let Some(id) = holders.get(&p.slug) {
                    let why = if held.contains(id) {
                        "another post of this import"
                    } else {
                        "an article that did not come from this source post"
                    };
                    report.skip(
                        Stage::Articles,
                        p.index,
                        &p.file_slug,
                        format!("slug {:?} is taken by {why}; rename one of them", p.slug),
                    );
                    continue;
                }
            }
            None => {}
        }
        if !used.insert(p.slug.clone()) {
            report.skip(
                Stage::Articles,
                p.index,
                &p.file_slug,
                format!("slug {:?} is used twice in one batch", p.slug),
            );
            continue;
        }
        out.push(p);
    }
    Ok(out)
}
