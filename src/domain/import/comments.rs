//! The comments pass: a reader thread parses and checks comments, the writer resolves their
//! article and parent and writes each batch in one transaction. A comment is identified by
//! its article and `key`; one already stored exactly as in the file is left alone.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait as _, DatabaseConnection, EntityTrait as _, FromQueryResult as _, QueryFilter as _,
    QuerySelect as _, TransactionTrait as _,
};
use tokio::sync::mpsc;

use super::articles::strip_place;
use super::reader::{self, ImportSource, Take};
use super::{CommentIn, Failed, ImportReport, Progress, Stage, blocking, clean_text, secs};
use crate::domain::sql::Sql;
use crate::domain::{now, slug};
use crate::entities::{article, comment};
use crate::error::Result;

type Batch = Vec<(usize, String, std::result::Result<CommentIn, String>)>;

/// (article id, key) → the stored comment.
type Stored = HashMap<(i32, String), comment::Model>;

pub(super) async fn import_comments(
    db: &DatabaseConnection,
    source: &ImportSource,
    total: usize,
    mut article_ids: HashMap<String, i32>,
    batch: usize,
    report: &mut ImportReport,
    progress: Progress<'_>,
) -> std::result::Result<(), Failed> {
    if total == 0 {
        return Ok(());
    }
    let (tx, mut rx) = mpsc::channel::<Batch>(2);
    let reading = {
        let source = source.clone();
        blocking(move || read_comments(&source, batch, &tx))
    };
    let mut done = 0;
    let written: std::result::Result<(), Failed> = async {
        while let Some(chunk) = rx.recv().await {
            let n = chunk.len();
            write_batch(db, chunk, &mut article_ids, report).await?;
            done += n;
            progress(Stage::Comments, done, total);
        }
        Ok(())
    }
    .await;
    drop(rx);
    let read = reading.await;
    written?;
    read.map_err(Failed::Scan)?;
    Ok(())
}

fn read_comments(
    source: &ImportSource,
    batch: usize,
    tx: &mpsc::Sender<Batch>,
) -> std::result::Result<(), reader::ScanError> {
    // (article, key) → the first comment with them, by a 128-bit digest of the pair: 24
    // bytes a comment instead of both strings (the pass grew by about 1 KB a comment).
    let mut first_at: HashMap<[u8; 16], usize> = HashMap::new();
    let mut pending: Batch = Vec::with_capacity(batch);
    let plan = |s: Stage| {
        if s == Stage::Comments {
            Take::Raw
        } else {
            Take::Skip
        }
    };
    reader::scan(source, &plan, &mut |stage, i, raw| {
        let Some(raw) = raw else { return true };
        let item = match reader::parse_element::<CommentIn>(stage, i, &raw) {
            Err(e) => (i, String::new(), Err(strip_place(&e, i))),
            Ok(c) => {
                let key = c.key.clone();
                let checked = check(&c).and_then(|()| {
                    let id = pair_digest(&c.article, &c.key);
                    match first_at.get(&id) {
                        Some(first) => Err(format!(
                            "duplicate key: comments[{first}] has it too on the same article"
                        )),
                        None => {
                            first_at.insert(id, i);
                            Ok(())
                        }
                    }
                });
                (i, key, checked.map(|()| c))
            }
        };
        pending.push(item);
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

/// A digest of (article slug, key) that tells pairs apart (a collision among 128 bits is
/// not a practical concern).
fn pair_digest(article: &str, key: &str) -> [u8; 16] {
    use sha2::{Digest as _, Sha256};
    let mut h = Sha256::new();
    h.update((article.len() as u64).to_le_bytes());
    h.update(article.as_bytes());
    h.update(key.as_bytes());
    let full = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

fn check(c: &CommentIn) -> std::result::Result<(), String> {
    if c.key.trim().is_empty() || c.key.len() > 200 || c.key.chars().any(char::is_control) {
        return Err("key must be 1 to 200 characters".into());
    }
    let name = c.author_name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err("authorName must be 1 to 200 characters".into());
    }
    let body = c.body.trim();
    if body.is_empty() || body.chars().count() > 10_000 {
        return Err("body must be 1 to 10000 characters".into());
    }
    Ok(())
}

async fn write_batch(
    db: &DatabaseConnection,
    chunk: Batch,
    article_ids: &mut HashMap<String, i32>,
    report: &mut ImportReport,
) -> Result<()> {
    let stage = Stage::Comments;
    // Articles not in this file may already be stored.
    let missing: HashSet<&str> = chunk
        .iter()
        .filter_map(|(_, _, c)| c.as_ref().ok())
        .map(|c| c.article.as_str())
        .filter(|s| !article_ids.contains_key(*s) && slug::is_valid(s))
        .collect();
    if !missing.is_empty() {
        let rows: Vec<(i32, String)> = article::Entity::find()
            .select_only()
            .columns([article::Column::Id, article::Column::Slug])
            .filter(article::Column::Slug.is_in(missing))
            .into_tuple()
            .all(db)
            .await?;
        article_ids.extend(rows.into_iter().map(|(id, slug)| (slug, id)));
    }
    let mut pending = Vec::with_capacity(chunk.len());
    for (i, key, c) in chunk {
        match c {
            Err(e) => report.skip(stage, i, &key, e),
            Ok(c) => match article_ids.get(&c.article) {
                Some(&a) => pending.push((i, c, a)),
                None => report.skip(
                    stage,
                    i,
                    &key,
                    format!("article: {:?} is not an article", c.article),
                ),
            },
        }
    }
    if pending.is_empty() {
        return Ok(());
    }
    // The batch's comments as stored, and the parents it names from earlier batches: only
    // these pairs are read, so a batch costs the same at the end of the file as at its start.
    let mut wanted: HashSet<(i32, &str)> = HashSet::with_capacity(pending.len() * 2);
    for (_, c, a) in &pending {
        wanted.insert((*a, c.key.as_str()));
        if let Some(p) = &c.parent {
            wanted.insert((*a, p.as_str()));
        }
    }
    let stored = stored_pairs(db, wanted).await?;
    // (article id, key) → comment id, for the parents in this batch.
    let mut known: HashMap<(i32, String), i32> =
        stored.iter().map(|(k, m)| (k.clone(), m.id)).collect();
    let txn = db.begin().await?;
    // Write in waves: every comment whose parent is known (or absent) goes in, then
    // their ids make the next wave's parents known.
    let at = now();
    while !pending.is_empty() {
        let (ready, rest): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(_, c, a)| {
            c.parent
                .as_ref()
                .is_none_or(|p| known.contains_key(&(*a, p.clone())))
        });
        if ready.is_empty() {
            for (i, c, _) in rest {
                report.skip(
                    stage,
                    i,
                    &c.key,
                    format!(
                        "parent: {:?} is not an earlier comment on the same article",
                        c.parent.as_deref().unwrap_or_default()
                    ),
                );
            }
            break;
        }
        let mut models = Vec::with_capacity(ready.len());
        // The pairs written that a later wave names as parent.
        let parents: HashSet<(i32, &str)> = rest
            .iter()
            .filter_map(|(_, c, a)| Some((*a, c.parent.as_deref()?)))
            .collect();
        let mut written = HashSet::new();
        for (_, c, a) in &ready {
            let old = stored.get(&(*a, c.key.clone()));
            let parent_id = c
                .parent
                .as_ref()
                .and_then(|p| known.get(&(*a, p.clone())).copied());
            let author_name = clean_text(&c.author_name);
            let body = clean_text(&c.body);
            let created_at = c
                .created_at
                .map(secs)
                .or(old.map(|o| o.created_at))
                .unwrap_or(at);
            let counts = report.counts_mut(stage);
            match old {
                Some(o)
                    if o.parent_id == parent_id
                        && o.author_name == author_name
                        && o.body == body
                        && o.status == c.status
                        && o.created_at == created_at =>
                {
                    counts.unchanged += 1;
                    continue;
                }
                Some(_) => counts.updated += 1,
                None => counts.created += 1,
            }
            if parents.contains(&(*a, c.key.as_str())) {
                written.insert((*a, c.key.as_str()));
            }
            models.push(comment::ActiveModel {
                id: NotSet,
                article_id: Set(*a),
                parent_id: Set(parent_id),
                author_name: Set(author_name),
                body: Set(body),
                status: Set(c.status),
                import_key: Set(Some(c.key.clone())),
                created_at: Set(created_at),
                updated_at: Set(at),
                ..Default::default()
            });
        }
        if !models.is_empty() {
            comment::Entity::insert_many(models)
                .on_conflict(
                    OnConflict::columns([comment::Column::ArticleId, comment::Column::ImportKey])
                        .update_columns([
                            comment::Column::ParentId,
                            comment::Column::AuthorName,
                            comment::Column::Body,
                            comment::Column::Status,
                            comment::Column::CreatedAt,
                            comment::Column::UpdatedAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
            let ids = stored_pairs(&txn, written).await?;
            known.extend(ids.into_iter().map(|(k, m)| (k, m.id)));
        }
        pending = rest;
    }
    txn.commit().await?;
    Ok(())
}

/// The stored comments with these (article id, key) pairs, found through the unique index
/// on the pair, a few hundred pairs a statement.
async fn stored_pairs(
    db: &impl sea_orm::ConnectionTrait,
    pairs: HashSet<(i32, &str)>,
) -> Result<Stored> {
    let pairs: Vec<(i32, &str)> = pairs.into_iter().collect();
    let mut out = Stored::with_capacity(pairs.len());
    for chunk in pairs.chunks(500) {
        let mut q = Sql::new(db.get_database_backend(), "SELECT comments.* FROM (VALUES ");
        for (i, (a, key)) in chunk.iter().enumerate() {
            q.row(i, [(*a).into(), (*key).into()]);
        }
        q.push(
            ") AS wanted JOIN comments ON comments.article_id = wanted.column1 \
             AND comments.import_key = wanted.column2",
        );
        let rows = comment::Model::find_by_statement(q.build()).all(db).await?;
        out.extend(
            rows.into_iter()
                .filter_map(|m| Some(((m.article_id, m.import_key.clone()?), m))),
        );
    }
    Ok(out)
}
