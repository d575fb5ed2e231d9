//! The small lists of an import file: sections (in any order, parents resolved through the
//! file and the database, cycles refused), authors and tags. Each record is compared with
//! what is stored, so the report can say created, updated or unchanged, and an unchanged
//! record is not written at all.

use std::collections::HashMap;

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, EntityTrait as _, QueryFilter as _,
    QuerySelect as _, TransactionTrait as _,
};

use super::{
    AuthorIn, ImportReport, Parsed, Progress, SectionIn, Stage, TagIn, check_slug, clean_text,
    trimmed,
};
use crate::domain::{now, slug};
use crate::entities::{author, section, tag};
use crate::error::{AppError, Result};

/// How deep sections may nest; deeper chains are refused rather than followed.
const MAX_DEPTH: usize = 32;

/// Splits parsed records into the good ones and the skipped (reported).
fn parsed<T>(stage: Stage, input: Parsed<T>, report: &mut ImportReport) -> Vec<(usize, T)> {
    let mut ok = Vec::with_capacity(input.len());
    for (i, r) in input {
        match r {
            Ok(t) => ok.push((i, t)),
            Err(msg) => report.skip(stage, i, "", super::articles::strip_place(&msg, i)),
        }
    }
    ok
}

/// Resolves each section's full path through its parent, wherever the parent is listed.
struct SectionPlan<'a> {
    input: &'a [(usize, SectionIn)],
    first_by_slug: HashMap<&'a str, usize>,
    stored_paths: &'a HashMap<String, section::Model>,
    stored_by_slug: HashMap<&'a str, Vec<&'a str>>,
    resolved: Vec<Option<std::result::Result<String, String>>>,
    stack: Vec<usize>,
    /// Parents before children.
    order: Vec<usize>,
}

impl SectionPlan<'_> {
    fn resolve(&mut self, k: usize) -> std::result::Result<String, String> {
        if let Some(done) = &self.resolved[k] {
            return done.clone();
        }
        if let Some(at) = self.stack.iter().position(|&j| j == k) {
            let mut cycle: Vec<&str> = self.stack[at..]
                .iter()
                .map(|&j| self.input[j].1.slug.as_str())
                .collect();
            cycle.push(&self.input[k].1.slug);
            return Err(format!(
                "parent: the sections form a cycle ({})",
                cycle.join(" → ")
            ));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(format!(
                "parent: sections nest deeper than {MAX_DEPTH} levels"
            ));
        }
        self.stack.push(k);
        let result = self.path_of(k);
        self.stack.pop();
        if result.is_ok() {
            self.order.push(k);
        }
        self.resolved[k] = Some(result.clone());
        result
    }

    fn path_of(&mut self, k: usize) -> std::result::Result<String, String> {
        let s = &self.input[k].1;
        let slug = s.slug.clone();
        let Some(parent) = s
            .parent
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
        else {
            return Ok(slug);
        };
        let last = parent.rsplit('/').next().unwrap_or_default();
        if let Some(&j) = self.first_by_slug.get(last) {
            match self.resolve(j) {
                Ok(p) if !parent.contains('/') || p == parent => return Ok(format!("{p}/{slug}")),
                Ok(_) => {}
                Err(e) if e.contains("cycle") || e.contains("nest deeper") => return Err(e),
                Err(e) => return Err(format!("parent {parent:?} was skipped ({e})")),
            }
        }
        if parent.contains('/') {
            return if self.stored_paths.contains_key(&parent) {
                Ok(format!("{parent}/{slug}"))
            } else {
                Err(format!(
                    "parent: {parent:?} is not a section in the file or stored"
                ))
            };
        }
        match self.stored_by_slug.get(parent.as_str()).map(Vec::as_slice) {
            Some([only]) => Ok(format!("{only}/{slug}")),
            Some([_, _, ..]) => Err(format!(
                "parent: {parent:?} names several stored sections; give the parent's full path"
            )),
            _ => Err(format!(
                "parent: {parent:?} is not a section in the file or stored"
            )),
        }
    }
}

pub(super) async fn import_sections(
    db: &DatabaseConnection,
    input: Parsed<SectionIn>,
    report: &mut ImportReport,
    progress: Progress<'_>,
) -> Result<()> {
    let stage = Stage::Sections;
    let mut good = Vec::new();
    for (i, s) in parsed(stage, input, report) {
        let name = clean_text(&s.name);
        if let Err(e) = check_slug(&s.slug) {
            report.skip(stage, i, &s.slug, e);
        } else if name.is_empty() {
            report.skip(stage, i, &s.slug, "name is empty");
        } else {
            good.push((i, SectionIn { name, ..s }));
        }
    }
    if good.is_empty() {
        return Ok(());
    }
    let txn = db.begin().await?;
    let stored: HashMap<String, section::Model> = section::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|s| (s.path.clone(), s))
        .collect();
    let mut plan = SectionPlan {
        input: &good,
        first_by_slug: HashMap::new(),
        stored_paths: &stored,
        stored_by_slug: HashMap::new(),
        resolved: vec![None; good.len()],
        stack: Vec::new(),
        order: Vec::new(),
    };
    for (k, (_, s)) in good.iter().enumerate() {
        plan.first_by_slug.entry(s.slug.as_str()).or_insert(k);
    }
    for s in stored.values() {
        plan.stored_by_slug
            .entry(s.slug.as_str())
            .or_default()
            .push(s.path.as_str());
    }
    for (k, (i, s)) in good.iter().enumerate() {
        if let Err(e) = plan.resolve(k) {
            report.skip(stage, *i, &s.slug, e);
        }
    }
    let order = std::mem::take(&mut plan.order);
    let paths: Vec<Option<String>> = plan
        .resolved
        .iter()
        .map(|r| r.as_ref().and_then(|r| r.as_ref().ok()).cloned())
        .collect();
    let mut ids: HashMap<String, i32> = stored.values().map(|s| (s.path.clone(), s.id)).collect();
    let mut first_at: HashMap<String, usize> = HashMap::new();
    let at = now();
    let total = good.len();
    for (done, k) in order.into_iter().enumerate() {
        let (i, s) = &good[k];
        let Some(path) = paths[k].clone() else {
            continue;
        };
        if let Some(first) = first_at.get(&path) {
            report.skip(
                stage,
                *i,
                &s.slug,
                format!("duplicate: sections[{first}] has the same path {path:?}"),
            );
            continue;
        }
        first_at.insert(path.clone(), *i);
        let parent_id = match path.rsplit_once('/') {
            Some((parent, _)) => Some(*ids.get(parent).ok_or_else(|| {
                AppError::Internal(anyhow::anyhow!("section {parent} resolved but not stored"))
            })?),
            None => None,
        };
        let description = trimmed(s.description.clone());
        let position = i32::try_from(*i).unwrap_or(i32::MAX);
        let counts = report.counts_mut(stage);
        match stored.get(&path) {
            Some(old)
                if old.name == s.name
                    && old.description == description
                    && old.position == position
                    && old.parent_id == parent_id =>
            {
                counts.unchanged += 1;
                continue;
            }
            Some(_) => counts.updated += 1,
            None => counts.created += 1,
        }
        section::Entity::insert(section::ActiveModel {
            id: NotSet,
            slug: Set(s.slug.clone()),
            name: Set(s.name.clone()),
            path: Set(path.clone()),
            parent_id: Set(parent_id),
            description: Set(description),
            position: Set(position),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .on_conflict(
            OnConflict::column(section::Column::Path)
                .update_columns([
                    section::Column::Name,
                    section::Column::Description,
                    section::Column::Position,
                    section::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
        let id = section::Entity::find()
            .select_only()
            .column(section::Column::Id)
            .filter(section::Column::Path.eq(&path))
            .into_tuple::<i32>()
            .one(&txn)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("section {path} vanished")))?;
        ids.insert(path, id);
        progress(stage, done + 1, total);
    }
    txn.commit().await?;
    Ok(())
}

pub(super) async fn import_authors(
    db: &DatabaseConnection,
    input: Parsed<AuthorIn>,
    report: &mut ImportReport,
    progress: Progress<'_>,
) -> Result<()> {
    let stage = Stage::Authors;
    let input = parsed(stage, input, report);
    if input.is_empty() {
        return Ok(());
    }
    let stored: HashMap<String, author::Model> = author::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.slug.clone(), a))
        .collect();
    let mut first_at: HashMap<String, usize> = HashMap::new();
    let at = now();
    let mut models = Vec::new();
    for (i, a) in &input {
        let skip = |report: &mut ImportReport, msg: String| report.skip(stage, *i, &a.slug, msg);
        if let Err(e) = check_slug(&a.slug) {
            skip(report, e);
            continue;
        }
        let name = clean_text(&a.name);
        if name.is_empty() {
            skip(report, "name is empty".into());
            continue;
        }
        let avatar_url = trimmed(a.avatar_url.clone());
        if avatar_url
            .as_deref()
            .is_some_and(|url| !crate::domain::html::is_web_url(url))
        {
            skip(report, "avatarUrl must be an absolute http(s) URL".into());
            continue;
        }
        if let Some(first) = first_at.get(&a.slug) {
            skip(
                report,
                format!("duplicate slug: authors[{first}] has it too"),
            );
            continue;
        }
        first_at.insert(a.slug.clone(), *i);
        let (title, bio, subject) = (
            trimmed(a.title.clone()),
            trimmed(a.bio.clone()),
            trimmed(a.subject.clone()),
        );
        let counts = report.counts_mut(stage);
        match stored.get(&a.slug) {
            Some(old)
                if old.name == name
                    && old.title == title
                    && old.bio == bio
                    && old.avatar_url == avatar_url
                    && old.subject == subject =>
            {
                counts.unchanged += 1;
                continue;
            }
            Some(_) => counts.updated += 1,
            None => counts.created += 1,
        }
        models.push(author::ActiveModel {
            id: NotSet,
            slug: Set(a.slug.clone()),
            name: Set(name),
            title: Set(title),
            bio: Set(bio),
            avatar_url: Set(avatar_url),
            subject: Set(subject),
            created_at: Set(at),
            updated_at: Set(at),
        });
    }
    let total = models.len();
    let mut done = 0;
    for chunk in models.chunks(500) {
        let txn = db.begin().await?;
        author::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(author::Column::Slug)
                    .update_columns([
                        author::Column::Name,
                        author::Column::Title,
                        author::Column::Bio,
                        author::Column::AvatarUrl,
                        author::Column::Subject,
                        author::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        done += chunk.len();
        progress(stage, done, total);
    }
    Ok(())
}

pub(super) async fn import_tags(
    db: &DatabaseConnection,
    input: Parsed<TagIn>,
    report: &mut ImportReport,
    progress: Progress<'_>,
) -> Result<()> {
    let stage = Stage::Tags;
    let input = parsed(stage, input, report);
    if input.is_empty() {
        return Ok(());
    }
    let stored: HashMap<String, String> = tag::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.slug, t.name))
        .collect();
    let mut first_at: HashMap<String, usize> = HashMap::new();
    let mut tags = Vec::with_capacity(input.len());
    for (i, t) in &input {
        let name = clean_text(&t.name);
        let slug = t.slug.clone().unwrap_or_else(|| slug::slugify(&name));
        if name.is_empty() || !slug::is_valid(&slug) {
            report.skip(stage, *i, &name, "needs a name and a valid slug");
            continue;
        }
        if let Some(first) = first_at.get(&slug) {
            report.skip(
                stage,
                *i,
                &slug,
                format!("duplicate slug: tags[{first}] has it too"),
            );
            continue;
        }
        first_at.insert(slug.clone(), *i);
        let counts = report.counts_mut(stage);
        match stored.get(&slug) {
            Some(old) if *old == name => {
                counts.unchanged += 1;
                continue;
            }
            Some(_) => counts.updated += 1,
            None => counts.created += 1,
        }
        tags.push((slug, name));
    }
    let txn = db.begin().await?;
    upsert_tags(&txn, &tags, true).await?;
    txn.commit().await?;
    progress(stage, tags.len(), tags.len());
    Ok(())
}

/// Creates missing tags (and renames existing ones when `rename`), returning slug → id.
pub(super) async fn upsert_tags(
    txn: &impl ConnectionTrait,
    tags: &[(String, String)],
    rename: bool,
) -> Result<HashMap<String, i32>> {
    let mut out = HashMap::with_capacity(tags.len());
    let at = now();
    for chunk in tags.chunks(1000) {
        let models = chunk.iter().map(|(slug, name)| tag::ActiveModel {
            id: NotSet,
            slug: Set(slug.clone()),
            name: Set(name.clone()),
            created_at: Set(at),
        });
        let mut conflict = OnConflict::column(tag::Column::Slug);
        if rename {
            conflict.update_column(tag::Column::Name);
        } else {
            conflict.do_nothing();
        }
        tag::Entity::insert_many(models)
            .on_conflict(conflict.to_owned())
            .exec_without_returning(txn)
            .await?;
        let rows: Vec<(i32, String)> = tag::Entity::find()
            .select_only()
            .columns([tag::Column::Id, tag::Column::Slug])
            .filter(tag::Column::Slug.is_in(chunk.iter().map(|(s, _)| s.as_str())))
            .into_tuple()
            .all(txn)
            .await?;
        out.extend(rows.into_iter().map(|(id, slug)| (slug, id)));
    }
    Ok(out)
}
