//! The newsroom directory: the sections and authors held in memory, and the tags as they
//! are met, so that a read resolves an article's section, breadcrumb, byline and tags
//! without a statement for each.
//!
//! A newsroom has tens of sections and hundreds of authors, read by almost every request
//! and changed a few times a day; a tag never changes once created. Reading them from the
//! database per request was most of the statements of an article page. Here they are one
//! [`Snapshot`], loaded on first use (three statements) and replaced after a write touches
//! a section, an author or a tag.
//!
//! # Never stale
//! It follows the response cache's rule (`crate::response_cache`): a write touches the keys
//! of what it changed (`s<id>`, `u<id>`, `t<id>`, `*` for an import; creating a section or
//! an author touches the new one's key too, see [`is_directory_key`]), this process applies
//! them after the commit, and other processes on the same PostgreSQL hear them through
//! `LISTEN/NOTIFY`. Each invalidation takes the next generation; a snapshot remembers the
//! generation current when its load *started*, and is used only while no invalidation came
//! after (a load that overlapped a write is loaded again by the next reader). While the
//! listener is not connected the directory is not used at all, and every read goes to the
//! database as if it did not exist; a snapshot older than [`MAX_AGE`] is loaded again as a
//! backstop. Tags are loaded with the rest up to [`MAX_TAGS`]; a tag created since, or any tag
//! of a newsroom with more, is read from the database when first met and remembered.
//!
//! Writes never read through the directory: they read inside their own transaction.

use super::invalidation::Key;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DatabaseConnection, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _,
};

use super::{authors, sections, tags};
use crate::entities::{author, section, tag};
use crate::error::Result;

/// Longest a snapshot is used without being loaded again (a backstop: writes replace it).
pub const MAX_AGE: Duration = Duration::from_secs(300);

/// Most tags a snapshot holds: it loads them all up to this many, and when tags met later
/// would pass it, it forgets them and starts again.
pub const MAX_TAGS: usize = 100_000;

/// The process's directory (cheap to clone).
#[derive(Clone)]
pub struct Directory(Arc<Inner>);

struct Inner {
    /// Whether other processes' writes are heard (always on SQLite).
    live: AtomicBool,
    /// The newest invalidation.
    generation: AtomicU64,
    current: RwLock<Option<Arc<Snapshot>>>,
    /// One load at a time; the others wait for it.
    loading: tokio::sync::Mutex<()>,
    /// When the last load failed: for [`RETRY_AFTER`] readers go to the database instead of
    /// queueing one by one behind loads that wait out the pool's timeout.
    failed: std::sync::Mutex<Option<Instant>>,
    /// Where snapshots load from when read replicas are in use: the primary, since a
    /// snapshot is checked against the generation its load started at, and a replica read
    /// then may not have replayed a write invalidated before (`crate::replicas`).
    primary: std::sync::OnceLock<DatabaseConnection>,
}

/// How long after a failed load the directory is bypassed before it tries again.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Whether a touched key names something the directory holds: a section, an author or a
/// tag, or everything.
pub fn is_directory_key(key: Key) -> bool {
    matches!(
        key,
        Key::Section(_) | Key::Author(_) | Key::Tag(_) | Key::All
    )
}

impl Directory {
    /// An empty directory; `shared` says other processes may write to the database, so it
    /// waits to be told they are heard ([`Directory::set_live`]) before it is used.
    pub fn new(shared: bool) -> Self {
        Self(Arc::new(Inner {
            live: AtomicBool::new(!shared),
            generation: AtomicU64::new(0),
            current: RwLock::new(None),
            loading: tokio::sync::Mutex::new(()),
            failed: std::sync::Mutex::new(None),
            primary: std::sync::OnceLock::new(),
        }))
    }

    /// Loads snapshots from `primary`, whatever connection a reader passes (read replicas).
    pub fn load_from(&self, primary: DatabaseConnection) {
        let _ = self.0.primary.set(primary);
    }

    /// Says whether other processes' writes are heard; while not, the directory is bypassed.
    pub fn set_live(&self, live: bool) {
        if live {
            // What was held may have missed notifications while nobody listened.
            self.0.generation.fetch_add(1, Ordering::AcqRel);
        }
        self.0.live.store(live, Ordering::Release);
    }

    /// Applies the keys a write touched: the snapshot goes when one of them is its own.
    pub fn invalidate<'a>(&self, keys: impl IntoIterator<Item = &'a Key>) {
        if keys.into_iter().any(|k| is_directory_key(*k)) {
            self.0.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn fresh(&self) -> Option<Arc<Snapshot>> {
        let s = self.0.current.read().ok()?.clone()?;
        (s.generation == self.0.generation.load(Ordering::Acquire) && s.loaded.elapsed() < MAX_AGE)
            .then_some(s)
    }

    /// The current snapshot, loaded first if there is none or it is out of date; `None`
    /// while the directory is bypassed, or when loading failed (then the caller reads the
    /// database, which reports the failure itself if it persists).
    pub async fn snapshot(&self, db: &DatabaseConnection) -> Option<Arc<Snapshot>> {
        if !self.0.live.load(Ordering::Acquire) {
            return None;
        }
        if let Some(s) = self.fresh() {
            return Some(s);
        }
        let recently_failed = |d: &Self| {
            d.0.failed
                .lock()
                .ok()
                .and_then(|f| *f)
                .is_some_and(|at| at.elapsed() < RETRY_AFTER)
        };
        if recently_failed(self) {
            return None;
        }
        let _one = self.0.loading.lock().await;
        if recently_failed(self) {
            return None;
        }
        if let Some(s) = self.fresh() {
            return Some(s);
        }
        let generation = self.0.generation.load(Ordering::Acquire);
        let db = self.0.primary.get().unwrap_or(db);
        match Snapshot::load(db, generation).await {
            Ok(s) => {
                let s = Arc::new(s);
                if let Ok(mut current) = self.0.current.write() {
                    *current = Some(s.clone());
                }
                Some(s)
            }
            Err(e) => {
                if let Ok(mut f) = self.0.failed.lock() {
                    *f = Some(Instant::now());
                }
                tracing::warn!(error = %e, "cannot load the newsroom directory; reading the database");
                None
            }
        }
    }

    /// Sections by id.
    pub async fn sections_by_ids(
        &self,
        db: &DatabaseConnection,
        ids: &[i32],
    ) -> Result<HashMap<i32, section::Model>> {
        match self.snapshot(db).await {
            Some(s) => Ok(ids
                .iter()
                .filter_map(|id| s.section(*id).map(|m| (*id, m.clone())))
                .collect()),
            None => sections::by_ids(db, ids).await,
        }
    }

    /// Sections by path.
    pub async fn sections_by_paths(
        &self,
        db: &DatabaseConnection,
        paths: &[String],
    ) -> Result<HashMap<String, section::Model>> {
        match self.snapshot(db).await {
            Some(s) => Ok(paths
                .iter()
                .filter_map(|p| s.section_by_path(p).map(|m| (p.clone(), m.clone())))
                .collect()),
            None => sections::by_paths(db, paths).await,
        }
    }

    /// The section at `path`.
    pub async fn section_by_path(
        &self,
        db: &DatabaseConnection,
        path: &str,
    ) -> Result<Option<section::Model>> {
        match self.snapshot(db).await {
            Some(s) => Ok(s.section_by_path(path).cloned()),
            None => sections::by_path(db, path).await,
        }
    }

    /// The top-level sections, in navigation order.
    pub async fn top_sections(&self, db: &DatabaseConnection) -> Result<Vec<section::Model>> {
        match self.snapshot(db).await {
            Some(s) => Ok(s
                .top
                .iter()
                .filter_map(|id| s.section(*id).cloned())
                .collect()),
            None => sections::top_level(db).await,
        }
    }

    /// The children of each parent, in navigation order.
    pub async fn children_of(
        &self,
        db: &DatabaseConnection,
        parents: &[i32],
    ) -> Result<HashMap<i32, Vec<section::Model>>> {
        match self.snapshot(db).await {
            Some(s) => Ok(parents
                .iter()
                .filter_map(|p| {
                    let kids = s.children.get(p)?;
                    Some((
                        *p,
                        kids.iter()
                            .filter_map(|id| s.section(*id).cloned())
                            .collect(),
                    ))
                })
                .collect()),
            None => sections::children_of(db, parents).await,
        }
    }

    /// The author with this slug.
    pub async fn author_by_slug(
        &self,
        db: &DatabaseConnection,
        slug: &str,
    ) -> Result<Option<author::Model>> {
        match self.snapshot(db).await {
            Some(s) => Ok(s.author_by_slug(slug).cloned()),
            None => authors::by_slug(db, slug).await,
        }
    }

    /// The tag with this slug.
    pub async fn tag_by_slug(
        &self,
        db: &DatabaseConnection,
        slug: &str,
    ) -> Result<Option<tag::Model>> {
        let Some(s) = self.snapshot(db).await else {
            return tags::by_slug(db, slug).await;
        };
        if let Some(t) = s.tags.read().ok().and_then(|t| {
            let id = t.slugs.get(slug)?;
            t.by_id.get(id).cloned()
        }) {
            return Ok(Some(t));
        }
        let found = tags::by_slug(db, slug).await?;
        if let Some(t) = &found {
            s.remember_tags(std::slice::from_ref(t));
        }
        Ok(found)
    }

    /// The byline and the tags of each article, in their order.
    pub async fn relations(
        &self,
        db: &DatabaseConnection,
        article_ids: &[i32],
    ) -> Result<HashMap<i32, Relations>> {
        let mut out: HashMap<i32, Relations> = HashMap::new();
        if article_ids.is_empty() {
            return Ok(out);
        }
        let Some(s) = self.snapshot(db).await else {
            for (id, bylines) in authors::bylines(db, article_ids).await? {
                out.entry(id).or_default().authors = bylines;
            }
            for (id, tagged) in tags::of_articles(db, article_ids).await? {
                out.entry(id).or_default().tags = tagged;
            }
            return Ok(out);
        };
        let ids = super::articles::relation_ids(db, article_ids).await?;
        // Authors created since the snapshot (heard of only after this read started) and
        // tags not met yet are read once.
        let missing_authors = unknown(ids.values().flat_map(|r| &r.authors), |id| {
            s.authors.contains_key(id)
        });
        let late_authors: HashMap<i32, author::Model> = if missing_authors.is_empty() {
            HashMap::new()
        } else {
            author::Entity::find()
                .filter(author::Column::Id.is_in(missing_authors))
                .all(db)
                .await?
                .into_iter()
                .map(|a| (a.id, a))
                .collect()
        };
        let missing_tags = {
            let known = s.tags.read().map_err(|_| poisoned())?;
            unknown(ids.values().flat_map(|r| &r.tags), |id| {
                known.by_id.contains_key(id)
            })
        };
        if !missing_tags.is_empty() {
            let found = tag::Entity::find()
                .filter(tag::Column::Id.is_in(missing_tags))
                .order_by_asc(tag::Column::Id)
                .all(db)
                .await?;
            s.remember_tags(&found);
        }
        let known = s.tags.read().map_err(|_| poisoned())?;
        for (article, r) in ids {
            let entry = out.entry(article).or_default();
            entry.authors = r
                .authors
                .iter()
                .filter_map(|id| s.authors.get(id).or_else(|| late_authors.get(id)).cloned())
                .collect();
            entry.tags = r
                .tags
                .iter()
                .filter_map(|id| known.by_id.get(id).cloned())
                .collect();
        }
        Ok(out)
    }
}

/// The distinct ids of `ids` that `known` does not hold, ascending.
fn unknown<'a>(ids: impl Iterator<Item = &'a i32>, known: impl Fn(&i32) -> bool) -> Vec<i32> {
    let mut out: Vec<i32> = ids.filter(|id| !known(id)).copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn poisoned() -> crate::error::AppError {
    crate::error::AppError::Internal(anyhow::anyhow!("the directory's tag map is poisoned"))
}

/// An article's byline and tags.
#[derive(Clone, Debug, Default)]
pub struct Relations {
    pub authors: Vec<author::Model>,
    pub tags: Vec<tag::Model>,
}

/// The ids of an article's byline and tags, in order.
#[derive(Clone, Debug, Default)]
pub struct RelationIds {
    pub authors: Vec<i32>,
    pub tags: Vec<i32>,
}

#[derive(Default)]
struct Tags {
    by_id: HashMap<i32, tag::Model>,
    slugs: HashMap<String, i32>,
}

/// The sections and authors as one load found them, and the tags met since.
pub struct Snapshot {
    /// The generation when the load started.
    generation: u64,
    loaded: Instant,
    sections: HashMap<i32, section::Model>,
    paths: HashMap<String, i32>,
    /// Top-level sections, and each parent's children, in navigation order.
    top: Vec<i32>,
    children: HashMap<i32, Vec<i32>>,
    authors: HashMap<i32, author::Model>,
    author_slugs: HashMap<String, i32>,
    tags: RwLock<Tags>,
}

impl Snapshot {
    async fn load(db: &impl ConnectionTrait, generation: u64) -> Result<Self> {
        let loaded = Instant::now();
        // Navigation order, so that children and the top level come out sorted.
        let all = section::Entity::find()
            .order_by_asc(section::Column::Position)
            .order_by_asc(section::Column::Name)
            .all(db)
            .await?;
        let people = author::Entity::find().all(db).await?;
        // Every tag while there are not too many (a read then never waits for one); beyond
        // that, tags are remembered as they are met.
        let mut tags = Tags::default();
        let all_tags = tag::Entity::find()
            .order_by_asc(tag::Column::Id)
            .limit(MAX_TAGS as u64 + 1)
            .all(db)
            .await?;
        if all_tags.len() <= MAX_TAGS {
            for t in all_tags {
                tags.slugs.insert(t.slug.clone(), t.id);
                tags.by_id.insert(t.id, t);
            }
        }
        let mut top = Vec::new();
        let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
        for s in &all {
            match s.parent_id {
                Some(p) => children.entry(p).or_default().push(s.id),
                None => top.push(s.id),
            }
        }
        Ok(Self {
            generation,
            loaded,
            paths: all.iter().map(|s| (s.path.clone(), s.id)).collect(),
            sections: all.into_iter().map(|s| (s.id, s)).collect(),
            top,
            children,
            author_slugs: people.iter().map(|a| (a.slug.clone(), a.id)).collect(),
            authors: people.into_iter().map(|a| (a.id, a)).collect(),
            tags: RwLock::new(tags),
        })
    }

    fn section(&self, id: i32) -> Option<&section::Model> {
        self.sections.get(&id)
    }

    /// The author with this slug, as loaded.
    pub fn author_by_slug(&self, slug: &str) -> Option<&author::Model> {
        self.author_slugs
            .get(slug)
            .and_then(|id| self.authors.get(id))
    }

    fn section_by_path(&self, path: &str) -> Option<&section::Model> {
        self.paths.get(path).and_then(|id| self.sections.get(id))
    }

    /// The ids of the section at `path` and of all below it, ascending; none for no section.
    pub fn subtree(&self, path: &str) -> Vec<i32> {
        let Some(&root) = self.paths.get(path) else {
            return Vec::new();
        };
        let mut out = vec![root];
        let mut i = 0;
        while let Some(&id) = out.get(i) {
            if let Some(kids) = self.children.get(&id) {
                out.extend_from_slice(kids);
            }
            i += 1;
        }
        out.sort_unstable();
        out
    }

    fn remember_tags(&self, found: &[tag::Model]) {
        let Ok(mut t) = self.tags.write() else { return };
        if t.by_id.len() + found.len() > MAX_TAGS {
            *t = Tags::default();
        }
        for tag in found {
            t.slugs.insert(tag.slug.clone(), tag.id);
            t.by_id.insert(tag.id, tag.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Key, is_directory_key};

    #[test]
    fn sections_authors_tags_and_everything_are_directory_keys() {
        for k in [Key::Section(1), Key::Author(23), Key::Tag(456), Key::All] {
            assert!(is_directory_key(k), "{k}");
        }
        for k in [Key::Article(1), Key::Lists] {
            assert!(!is_directory_key(k), "{k}");
        }
    }
}
