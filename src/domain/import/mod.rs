//! The bulk import of gazette's own format: sections, authors, tags, articles and comments
//! from one JSON file whose records refer to each other by slug (comments by key), so a file
//! can come from any system. The format is described in the README
//! ("Import format") and, for tools, in `docs/import-format.schema.json`.
//!
//! The file is read as a stream (`reader`), in three passes that do not depend on the
//! order of its keys: sections, authors and tags (this pass also checks that the whole file
//! is well-formed, so a truncated or foreign file is refused before anything is written),
//! then articles, then comments. The file is never held whole: the passes keep a batch at a
//! time.
//!
//! A record that breaks a rule is skipped and listed in the [`ImportReport`] with the field
//! at fault; the others are imported. Articles and comments are written in batches, each in
//! one transaction with its bylines, tags, revisions and change-log entries, so a record is
//! written whole or not at all. Re-importing updates by slug (comments by article and key)
//! and never duplicates; a record already stored exactly as in the file is left alone, so
//! rerunning an interrupted import ends in the state of one uninterrupted run.

mod articles;
mod comments;
mod convert;
mod ghost;
pub mod html_blocks;
mod mapping;
mod reader;
mod records;
mod report;
mod wordpress;

use std::time::Instant;

use chrono::{DateTime, SubsecRound as _, Utc};
use sea_orm::{ConnectionTrait as _, DatabaseConnection};
use serde::{Deserialize, Serialize};

use super::blocks::{Block, Image};
use super::content::{Rights, Source};
use super::invalidation::Key;
use super::{ArticleStatus, CommentStatus, slug};
use crate::error::{AppError, Result};

pub use mapping::SectionMap;
pub use reader::ImportSource;
use reader::{ScanError, Take};
pub use report::{Counts, ImportReport, ImportSummary, Issue, Outcome};

/// A section; `parent` is the parent's slug (or full path), listed earlier or already stored.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SectionIn {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// An author.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorIn {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub bio: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
}

/// A tag; the slug is derived from the name when absent.
#[derive(Debug, Deserialize, Serialize)]
pub struct TagIn {
    #[serde(default)]
    pub slug: Option<String>,
    pub name: String,
}

/// An article. `section` is a full path; `authors` are slugs; `tags` are names.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArticleIn {
    pub slug: String,
    pub headline: String,
    #[serde(default)]
    pub dek: Option<String>,
    pub section: String,
    pub authors: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub status: ArticleStatus,
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub scheduled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default)]
    pub featured_image: Option<Image>,
    pub body: Vec<Block>,
    /// Until when a published article stays out of public view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embargo_until: Option<DateTime<Utc>>,
    /// Usage terms, copyright, and whether partners may receive it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rights: Option<Rights>,
    /// Where the article came from (a WordPress or Ghost import): a re-import matches on
    /// the origin's system and id before the slug, and the old URL answers redirects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<OriginIn>,
}

/// An article's identity in the system it came from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct OriginIn {
    /// The source system: `wordpress`, `ghost`, or any name.
    pub system: String,
    /// The article's id there (WordPress's post id, Ghost's object id).
    pub id: String,
    /// Its public URL there, looked up by `articleByOldUrl` and `/api/v1/redirects`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Other URLs it answered to there (WordPress's `?p=ID` short link and guid, Ghost's
    /// `/p/uuid/` link, earlier permalinks): each is looked up like `url`. A re-import adds
    /// to the old URLs already kept and never drops one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
}

/// A comment; `parent` is an earlier comment's key on the same article.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommentIn {
    pub key: String,
    pub article: String,
    #[serde(default)]
    pub parent: Option<String>,
    pub author_name: String,
    pub body: String,
    #[serde(default = "approved")]
    pub status: CommentStatus,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

fn approved() -> CommentStatus {
    CommentStatus::Approved
}

/// The kinds of record in an import file, in the order they are imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    Sections,
    Authors,
    Tags,
    Articles,
    Comments,
}

impl Stage {
    /// Every kind, in import order.
    pub const ALL: [Self; 5] = [
        Self::Sections,
        Self::Authors,
        Self::Tags,
        Self::Articles,
        Self::Comments,
    ];

    /// The plural noun shown to people, and the key of its list in the file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sections => "sections",
            Self::Authors => "authors",
            Self::Tags => "tags",
            Self::Articles => "articles",
            Self::Comments => "comments",
        }
    }

    /// The kind whose list has this key in the file.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == key)
    }
}

/// Reports `(stage, done, total)` as the import advances.
pub type Progress<'a> = &'a (dyn Fn(Stage, usize, usize) + Send + Sync);

/// Trimmed, `None` when empty, without control characters.
fn trimmed(text: Option<String>) -> Option<String> {
    text.map(|t| clean_text(&t)).filter(|t| !t.is_empty())
}

/// Trimmed, without control characters (PostgreSQL refuses NUL in text).
fn clean_text(t: &str) -> String {
    super::html::strip_controls(t.trim()).into_owned()
}

fn secs(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// Imports the file at `source` into `db`, `batch` articles (and 4×`batch` comments) per
/// transaction. Fails only when the file cannot be read or is not a well-formed import
/// file (then nothing is written), or when the database fails (then the batches before
/// stay, and rerunning completes the rest); bad records are skipped and reported.
pub async fn import(
    db: &DatabaseConnection,
    source: ImportSource,
    batch: usize,
    progress: Progress<'_>,
) -> Result<ImportReport> {
    let started = Instant::now();
    let mut report = ImportReport::new("gazette");
    let from = super::stream::head(db).await?.last_seq;
    let done = import_passes(db, source, batch.clamp(1, 2000), progress, &mut report).await;
    // An import touches too much to name: every cached response goes, in every process,
    // even after a failure (the batches before it committed).
    let touched = super::invalidation::touch(db, [Key::All]).await;
    done?;
    touched?;
    announce(db, &report, from).await?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Queues the one `import.completed` webhook message of an import (its articles are not
/// fanned out one by one; the stream still carries every change, from `from` on).
async fn announce(db: &DatabaseConnection, report: &ImportReport, from: i32) -> Result<()> {
    let to = super::stream::head(db).await?.last_seq;
    let counts = serde_json::json!({
        "sections": report.sections,
        "authors": report.authors,
        "tags": report.tags,
        "articles": report.articles,
        "comments": report.comments,
    });
    let done = super::webhooks::outbox::ImportCompleted { counts, from, to };
    super::webhooks::outbox::import_completed(db, &done).await?;
    Ok(())
}

/// The formats `gazette import --from` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// gazette's own JSON (README, "Import format").
    #[default]
    Gazette,
    /// A WordPress export (WXR 1.1 or 1.2).
    WordPress,
    /// A Ghost export (the JSON of Ghost 4 and 5).
    Ghost,
}

impl Format {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gazette => "gazette",
            Self::WordPress => "wordpress",
            Self::Ghost => "ghost",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Gazette => "gazette import file",
            Self::WordPress => "WordPress export",
            Self::Ghost => "Ghost export",
        }
    }
}

/// Settings of an import from another system.
#[derive(Debug, Clone, Default)]
pub struct ForeignOptions {
    /// The old site's address (`https://old.example.com`): Ghost's `__GHOST_URL__` and
    /// relative image URLs resolve against it, and Ghost posts' old URLs are built on it.
    /// WordPress exports name their site themselves; this overrides it.
    pub site_url: Option<String>,
    /// Which category (WordPress) or tag (Ghost) files a post under which section
    /// (`--map FILE`, see [`SectionMap`]); empty: the first category, the primary tag.
    pub map: SectionMap,
}

/// Imports a file in `format`: gazette's own directly, a WordPress or Ghost export through
/// a converted temporary file (see `convert`), so the same guarantees hold for all three.
/// Fails only when the file cannot be read or is not of the format (then nothing is
/// written), or when the database fails.
pub async fn import_from(
    db: &DatabaseConnection,
    format: Format,
    source: ImportSource,
    options: ForeignOptions,
    batch: usize,
    progress: Progress<'_>,
) -> Result<ImportReport> {
    if format == Format::Gazette {
        return import(db, source, batch, progress).await;
    }
    let started = Instant::now();
    let head = super::stream::head(db).await?.last_seq;
    let file = tempfile::NamedTempFile::new()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cannot create a temporary file: {e}")))?;
    let converted = {
        let reading = source.clone();
        let out = file
            .reopen()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("temporary file: {e}")))?;
        let site = options.site_url.clone();
        let map = options.map.clone();
        let handle = tokio::task::spawn_blocking(move || match format {
            Format::WordPress => wordpress::convert(&reading, out, site.as_deref(), &map),
            _ => ghost::convert(&reading, out, site.as_deref(), &map),
        });
        handle
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("the converter stopped: {e}")))?
            .map_err(|m| {
                AppError::bad_input(format!(
                    "{} is not a readable {}: {m}",
                    source.name(),
                    format.title()
                ))
            })?
    };
    check_map_targets(db, &options.map, &converted.section_paths, format).await?;
    let mut report = ImportReport::new(format.name());
    report.issues = converted.issues;
    for note in converted.notes {
        report.note(note);
    }
    report.source_counts = converted.counts;
    let from = report.issues.len();
    let done = import_passes(
        db,
        ImportSource::file(file.path()),
        batch.clamp(1, 2000),
        progress,
        &mut report,
    )
    .await;
    let touched = super::invalidation::touch(db, [Key::All]).await;
    // Name what the converted file's records were in the source.
    let ids = &converted.ids;
    for issue in &mut report.issues[from..] {
        let list = match issue.kind {
            "sections" => &ids.sections,
            "authors" => &ids.authors,
            "tags" => &ids.tags,
            "articles" => &ids.articles,
            "comments" => &ids.comments,
            _ => continue,
        };
        if let Some(id) = issue.index.and_then(|i| list.get(i)) {
            issue.id.clone_from(id);
            issue.index = None;
        }
    }
    done?;
    touched?;
    announce(db, &report, head).await?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Refuses a section map naming a section that is neither one the converted file creates
/// nor one already stored, before anything is written: the line says which.
async fn check_map_targets(
    db: &DatabaseConnection,
    map: &SectionMap,
    created: &[String],
    format: Format,
) -> Result<()> {
    if map.is_empty() {
        return Ok(());
    }
    use sea_orm::{EntityTrait as _, QuerySelect as _};
    let stored: std::collections::HashSet<String> = crate::entities::section::Entity::find()
        .select_only()
        .column(crate::entities::section::Column::Path)
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .chain(created.iter().cloned())
        .collect();
    let unknown: Vec<String> = map
        .entries()
        .iter()
        .filter(|e| !stored.contains(&e.section))
        .map(|e| format!("line {}: section {:?}", e.line, e.section))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let what = match format {
        Format::Ghost => "a tag that becomes a section",
        _ => "a category of the export",
    };
    Err(AppError::bad_input(format!(
        "the section map names sections that are neither {what} nor stored: {} (create them first, or map to one that exists)",
        unknown.join(", ")
    )))
}

/// The records of one kind from the first pass, each parsed or with why not.
type Parsed<T> = Vec<(usize, std::result::Result<T, String>)>;

/// What the first pass keeps: the small lists whole, the large ones counted.
#[derive(Default)]
struct Staged {
    sections: Parsed<SectionIn>,
    authors: Parsed<AuthorIn>,
    tags: Parsed<TagIn>,
    articles: usize,
    comments: usize,
    unknown: Vec<String>,
}

/// Starts a pass on a blocking thread at once (parsing is CPU work; the file is read
/// synchronously); the returned future waits for its end.
fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, ScanError> + Send + 'static,
) -> impl Future<Output = std::result::Result<T, ScanError>> {
    let handle = tokio::task::spawn_blocking(f);
    async move {
        handle
            .await
            .map_err(|e| ScanError::Unreadable(format!("the reader stopped: {e}")))?
    }
}

fn refused(source: &ImportSource, e: ScanError) -> AppError {
    match e {
        ScanError::Malformed(m) => AppError::bad_input(format!(
            "{} is not a gazette import file: {m}",
            source.name()
        )),
        other => AppError::bad_input(other.to_string()),
    }
}

fn first_pass(source: &ImportSource) -> std::result::Result<Staged, ScanError> {
    let mut staged = Staged::default();
    let plan = |s: Stage| match s {
        Stage::Articles | Stage::Comments => Take::Count,
        _ => Take::Raw,
    };
    let unknown = reader::scan(source, &plan, &mut |stage, i, raw| {
        let Some(raw) = raw else {
            match stage {
                Stage::Articles => staged.articles += 1,
                _ => staged.comments += 1,
            }
            return true;
        };
        match stage {
            Stage::Sections => staged
                .sections
                .push((i, reader::parse_element(stage, i, &raw))),
            Stage::Authors => staged
                .authors
                .push((i, reader::parse_element(stage, i, &raw))),
            _ => staged.tags.push((i, reader::parse_element(stage, i, &raw))),
        }
        true
    })?;
    staged.unknown = unknown;
    Ok(staged)
}

async fn import_passes(
    db: &DatabaseConnection,
    source: ImportSource,
    batch: usize,
    progress: Progress<'_>,
    report: &mut ImportReport,
) -> Result<()> {
    let staged = {
        let reading = source.clone();
        blocking(move || first_pass(&reading))
            .await
            .map_err(|e| refused(&source, e))?
    };
    for key in &staged.unknown {
        report.note(if key == "revisions" {
            "revisions: kept in the file for the record, not imported (an import starts each \
             article's history anew)"
                .to_owned()
        } else {
            format!("unknown key {key:?} ignored")
        });
    }
    records::import_sections(db, staged.sections, report, progress).await?;
    records::import_authors(db, staged.authors, report, progress).await?;
    records::import_tags(db, staged.tags, report, progress).await?;

    let article_ids =
        articles::import_articles(db, &source, staged.articles, batch, report, progress)
            .await
            .map_err(|e| match e {
                Failed::Db(e) => e,
                Failed::Scan(e) => refused(&source, e),
            })?;
    comments::import_comments(
        db,
        &source,
        staged.comments,
        article_ids,
        batch * 4,
        report,
        progress,
    )
    .await
    .map_err(|e| match e {
        Failed::Db(e) => e,
        Failed::Scan(e) => refused(&source, e),
    })?;

    // Scoring the archive once beats scoring it article by article while it is loaded.
    super::related::rebuild(db).await?;
    // Fresh statistics, or the planner guesses: on PostgreSQL a related list read walked
    // every published article (70 ms) until autovacuum got round to the new tables.
    let analyze = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "ANALYZE",
        _ => "PRAGMA analysis_limit = 1000; ANALYZE",
    };
    db.execute_unprepared(analyze).await?;
    Ok(())
}

/// Why a pass over articles or comments stopped.
enum Failed {
    Db(AppError),
    Scan(ScanError),
}

impl From<AppError> for Failed {
    fn from(e: AppError) -> Self {
        Self::Db(e)
    }
}

impl From<sea_orm::DbErr> for Failed {
    fn from(e: sea_orm::DbErr) -> Self {
        Self::Db(e.into())
    }
}

/// Whether `slug` is valid, with the message a skipped record gets when it is not.
fn check_slug(slug: &str) -> std::result::Result<(), String> {
    if slug::is_valid(slug) {
        Ok(())
    } else {
        Err("slug must be lowercase letters, digits and hyphens, at most 120".into())
    }
}
