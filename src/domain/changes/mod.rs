//! Delta sync: what changed since a client's position, as the caller may see it — GraphQL
//! `changes`, REST `/api/v1/changes`, and the partner feed (`/api/v1/partner/items`), which
//! is this for a partner's grant, articles only.
//!
//! - **A page** lists at most `first` entities, oldest change first. An entity changed
//!   several times in the range is listed once, at its last change; an upsert carries the
//!   entity as the caller may read it *now* (so a client that replays pages holds the
//!   current state, whatever happened in between).
//! - **Tombstones** only for an entity the caller could have seen: an article that is not
//!   visible to the caller now produces one only when an event of the range shows it was
//!   visible to the caller before or after that write (the event's
//!   [`ArticleFacts`], judged by the caller's own
//!   [`Visibility`]). A draft that was never public never produces one, and nothing in a page
//!   names an entity the caller never could see.
//! - **No `since`**: a snapshot of everything the caller may see (sections, authors, tags,
//!   then articles, each by id), in pages. The stream position it continues from is read
//!   *before* its first page and carried in its positions, so whatever changes while a
//!   client pages through it is in the stream after the snapshot.
//! - **Positions** are opaque ([`Position`]); one older than the stream keeps is refused
//!   with `RESYNC_REQUIRED`.
//!
//! Why replaying the stream ends in the database's state: the entity's state is read after
//! the events, and positions commit in order (`domain::stream`), so any write the read did
//! not see has a position after every event of this page: it is in a later page.

mod window;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};

use super::ArticleStatus;
use super::access::{ArticleFacts, Caller, Visibility, owned_articles_subquery};
use super::stream::{self, Head, Position};
use crate::entities::change_log::EntityKind;
use crate::entities::{article, author, section, tag};
use crate::error::{AppError, Result};
use window::{ArticleNow, Event};

/// Most entities a page lists.
pub const MAX_FIRST: u64 = 100;

/// Most events one page reads: a page of a stream full of changes the caller may not see
/// (drafts, for a reader) stops there and says `has_more`.
const SCAN: u64 = 2000;

/// What a page covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Sections, authors, tags and articles (delta sync).
    Everything,
    /// Articles only (the partner feed).
    Articles,
}

/// Whether an entity is there for the caller or gone from its view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Upsert,
    Tombstone,
}

/// An entity as the caller may read it now.
#[derive(Clone, Debug, PartialEq)]
pub enum Entity {
    Article(article::Model),
    Section(section::Model),
    Author(author::Model),
    Tag(tag::Model),
}

/// One entry of a page.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The position after this entry (to resume from it).
    pub position: String,
    pub kind: ChangeKind,
    pub entity: EntityKind,
    pub id: i32,
    /// Its slug (a section's path); none for what no longer exists.
    pub slug: Option<String>,
    /// When it last changed.
    pub at: DateTime<Utc>,
    /// Why a tombstone: `deleted`, `unpublished`, `embargoed`, or `out_of_view` (moved out of
    /// the caller's view: another section, not for syndication, no longer theirs).
    pub reason: Option<&'static str>,
    /// An article's version after its last change.
    pub version: Option<i32>,
    /// On upserts, the entity now.
    pub now: Option<Entity>,
}

/// A page of changes.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangePage {
    pub items: Vec<Change>,
    /// Where the next page starts (hold on to it: it is the client's position).
    pub next: String,
    /// Whether the next page would list more now.
    pub has_more: bool,
}

/// Checks a requested page size: 1 to [`MAX_FIRST`], [`MAX_FIRST`] when absent.
pub fn page_size(first: Option<i64>) -> Result<u64> {
    match first {
        None => Ok(MAX_FIRST),
        Some(n) if (1..=MAX_FIRST as i64).contains(&n) => Ok(n as u64),
        Some(n) => Err(AppError::bad_input(format!(
            "`first` (`limit`) must be between 1 and {MAX_FIRST}, not {n}"
        ))),
    }
}

/// The page after `since` (a position this server handed out; none for a snapshot) as
/// `caller` may see it.
pub async fn page(
    db: &impl ConnectionTrait,
    caller: &Caller,
    since: Option<&str>,
    first: u64,
    scope: Scope,
) -> Result<ChangePage> {
    let since = since.map(Position::decode).transpose()?;
    let head = stream::head(db).await?;
    let first_kind = match scope {
        Scope::Everything => 0,
        Scope::Articles => ARTICLES,
    };
    match since {
        None => snapshot(db, caller, head, head.last_seq, first_kind, 0, first, scope).await,
        Some(Position::Snapshot {
            head: from,
            kind,
            id,
        }) => {
            stream::check(head, from)?;
            snapshot(
                db,
                caller,
                head,
                from,
                kind.max(first_kind),
                id,
                first,
                scope,
            )
            .await
        }
        Some(Position::Stream(from)) => {
            stream::check(head, from)?;
            follow(db, caller, from, head.last_seq, first, scope).await
        }
    }
}

/// The snapshot's kinds, in order.
const KINDS: [EntityKind; 4] = [
    EntityKind::Section,
    EntityKind::Author,
    EntityKind::Tag,
    EntityKind::Article,
];
const ARTICLES: u8 = 3;

#[expect(
    clippy::too_many_arguments,
    reason = "a position's parts, the page's size and its scope"
)]
async fn snapshot(
    db: &impl ConnectionTrait,
    caller: &Caller,
    head: Head,
    from: i32,
    mut kind: u8,
    mut after: i32,
    first: u64,
    scope: Scope,
) -> Result<ChangePage> {
    let visibility = caller.visibility();
    let mut items = Vec::new();
    while (items.len() as u64) < first && usize::from(kind) < KINDS.len() {
        let want = first - items.len() as u64;
        let rows = list(
            db,
            &visibility,
            KINDS[usize::from(kind)],
            after,
            want + 1,
            scope,
        );
        let mut rows = rows.await?;
        let more = rows.len() as u64 > want;
        rows.truncate(want as usize);
        for e in rows {
            let (id, slug, at, version) = describe(&e);
            after = id;
            items.push(Change {
                position: Position::Snapshot {
                    head: from,
                    kind,
                    id,
                }
                .encode(),
                kind: ChangeKind::Upsert,
                entity: KINDS[usize::from(kind)],
                id,
                slug: Some(slug),
                at,
                reason: None,
                version,
                now: Some(e),
            });
        }
        if !more {
            kind += 1;
            after = 0;
        }
    }
    if usize::from(kind) >= KINDS.len() {
        return Ok(ChangePage {
            items,
            next: Position::Stream(from).encode(),
            has_more: head.last_seq > from,
        });
    }
    Ok(ChangePage {
        items,
        next: Position::Snapshot {
            head: from,
            kind,
            id: after,
        }
        .encode(),
        has_more: true,
    })
}

/// Up to `limit` entities of `kind` after id `after` that `visibility` may see, by id.
async fn list(
    db: &impl ConnectionTrait,
    visibility: &Visibility,
    kind: EntityKind,
    after: i32,
    limit: u64,
    scope: Scope,
) -> Result<Vec<Entity>> {
    Ok(match kind {
        EntityKind::Article => {
            let select = article::Entity::find()
                .filter(super::filter::visibility_condition(visibility))
                .filter(article::Column::Id.gt(after))
                .order_by_asc(article::Column::Id)
                .limit(limit);
            let rows = match scope {
                Scope::Articles => super::articles::find_all_without_body(db, select).await?,
                Scope::Everything => super::articles::find_all(db, select).await?,
            };
            rows.into_iter().map(Entity::Article).collect()
        }
        EntityKind::Section => section::Entity::find()
            .filter(section::Column::Id.gt(after))
            .order_by_asc(section::Column::Id)
            .limit(limit)
            .all(db)
            .await?
            .into_iter()
            .map(Entity::Section)
            .collect(),
        EntityKind::Author => author::Entity::find()
            .filter(author::Column::Id.gt(after))
            .order_by_asc(author::Column::Id)
            .limit(limit)
            .all(db)
            .await?
            .into_iter()
            .map(Entity::Author)
            .collect(),
        EntityKind::Tag => tag::Entity::find()
            .filter(tag::Column::Id.gt(after))
            .order_by_asc(tag::Column::Id)
            .limit(limit)
            .all(db)
            .await?
            .into_iter()
            .map(Entity::Tag)
            .collect(),
        EntityKind::Comment => Vec::new(),
    })
}

/// Id, slug, time of the last change and version of an entity.
fn describe(e: &Entity) -> (i32, String, DateTime<Utc>, Option<i32>) {
    match e {
        Entity::Article(a) => (a.id, a.slug.clone(), a.updated_at, Some(a.version)),
        Entity::Section(s) => (s.id, s.path.clone(), s.updated_at, None),
        Entity::Author(a) => (a.id, a.slug.clone(), a.updated_at, None),
        Entity::Tag(t) => (t.id, t.slug.clone(), t.created_at, None),
    }
}

fn in_scope(scope: Scope, kind: EntityKind) -> bool {
    match scope {
        Scope::Everything => kind != EntityKind::Comment,
        Scope::Articles => kind == EntityKind::Article,
    }
}

/// The entities a page's events name, as they are now, by kind and id; loaded batch by batch.
#[derive(Default)]
struct Current {
    articles: HashMap<i32, ArticleNow>,
    owned: HashSet<i32>,
    sections: HashMap<i32, section::Model>,
    authors: HashMap<i32, author::Model>,
    tags: HashMap<i32, tag::Model>,
    loaded: HashSet<(EntityKind, i32)>,
}

impl Current {
    /// Takes the articles of a window as they are now (the first reading of each is kept),
    /// and loads the other entities its events name that are not loaded yet.
    async fn load(
        &mut self,
        db: &impl ConnectionTrait,
        caller: &Caller,
        window: Vec<(Event, Option<ArticleNow>)>,
    ) -> Result<Vec<Event>> {
        let mut ids: HashMap<EntityKind, Vec<i32>> = HashMap::new();
        let mut events = Vec::with_capacity(window.len());
        for (e, now) in window {
            if self.loaded.insert((e.entity, e.id)) {
                ids.entry(e.entity).or_default().push(e.id);
                if let Some(now) = now {
                    self.articles.insert(e.id, now);
                }
            }
            events.push(e);
        }
        let of = |k: EntityKind| ids.get(&k).cloned().unwrap_or_default();
        if let Some(sub) = caller.writer_sub() {
            for chunk in of(EntityKind::Article).chunks(1000) {
                let owned: Vec<i32> = article::Entity::find()
                    .select_only()
                    .column(article::Column::Id)
                    .filter(article::Column::Id.is_in(chunk.iter().copied()))
                    .filter(article::Column::Id.in_subquery(owned_articles_subquery(sub)))
                    .into_tuple()
                    .all(db)
                    .await?;
                self.owned.extend(owned);
            }
        }
        for chunk in of(EntityKind::Section).chunks(1000) {
            self.sections
                .extend(super::sections::by_ids(db, chunk).await?);
        }
        for chunk in of(EntityKind::Author).chunks(1000) {
            let found = author::Entity::find()
                .filter(author::Column::Id.is_in(chunk.iter().copied()))
                .all(db)
                .await?;
            self.authors.extend(found.into_iter().map(|m| (m.id, m)));
        }
        for chunk in of(EntityKind::Tag).chunks(1000) {
            let found = tag::Entity::find()
                .filter(tag::Column::Id.is_in(chunk.iter().copied()))
                .all(db)
                .await?;
            self.tags.extend(found.into_iter().map(|m| (m.id, m)));
        }
        Ok(events)
    }

    /// Whether the caller may see the entity now.
    fn visible(&self, visibility: &Visibility, kind: EntityKind, id: i32) -> bool {
        match kind {
            EntityKind::Article => self.articles.get(&id).is_some_and(|a| {
                a.facts()
                    .is_some_and(|f| visibility.allows_facts(&f, self.owned.contains(&id)))
            }),
            EntityKind::Section => self.sections.contains_key(&id),
            EntityKind::Author => self.authors.contains_key(&id),
            EntityKind::Tag => self.tags.contains_key(&id),
            EntityKind::Comment => false,
        }
    }

    /// The entity now, for an upsert (articles come from `full`, read with their bodies).
    fn entity(
        &self,
        full: &HashMap<i32, article::Model>,
        kind: EntityKind,
        id: i32,
    ) -> Option<Entity> {
        match kind {
            EntityKind::Article => full.get(&id).cloned().map(Entity::Article),
            EntityKind::Section => self.sections.get(&id).cloned().map(Entity::Section),
            EntityKind::Author => self.authors.get(&id).cloned().map(Entity::Author),
            EntityKind::Tag => self.tags.get(&id).cloned().map(Entity::Tag),
            EntityKind::Comment => None,
        }
    }

    fn slug(&self, kind: EntityKind, id: i32) -> Option<String> {
        match kind {
            EntityKind::Article => self.articles.get(&id).map(|a| a.slug.clone()),
            EntityKind::Section => self.sections.get(&id).map(|s| s.path.clone()),
            EntityKind::Author => self.authors.get(&id).map(|a| a.slug.clone()),
            EntityKind::Tag => self.tags.get(&id).map(|t| t.slug.clone()),
            EntityKind::Comment => None,
        }
    }
}

/// Why an article the caller could see is no longer in its view, from the facts after its
/// last change (none: deleted).
fn reason(after: Option<&ArticleFacts>) -> &'static str {
    match after {
        None => "deleted",
        Some(f) if f.status != ArticleStatus::Published => "unpublished",
        Some(f) if f.embargoed => "embargoed",
        Some(_) => "out_of_view",
    }
}

/// One entity's entry while a page is assembled.
struct Pending {
    last: usize,
    /// Whether the caller could see it around some event of the range.
    seen: bool,
}

/// The stream's page after `from`, up to the head `upto` (read before it: every event up to
/// it is committed).
async fn follow(
    db: &impl ConnectionTrait,
    caller: &Caller,
    from: i32,
    upto: i32,
    first: u64,
    scope: Scope,
) -> Result<ChangePage> {
    let visibility = caller.visibility();
    let chunk = (first * 4).clamp(100, 1000);
    let mut cur = Current::default();
    let mut events: Vec<Event> = Vec::new();
    // Walk the events in order; each entity takes a slot from the first event at which it
    // has something to say (visible now, or seen by the caller around that event).
    let mut entries: HashMap<(EntityKind, i32), Pending> = HashMap::new();
    let mut order: Vec<(EntityKind, i32)> = Vec::new();
    let mut cut = from;
    let mut stopped = false;
    let mut exhausted = false;
    let mut read_to = from;
    while !stopped && !exhausted && (events.len() as u64) < SCAN {
        // The partner feed's window holds article events only: the others would say nothing.
        let batch = window::read(db, read_to, upto, chunk, scope == Scope::Articles).await?;
        exhausted = (batch.len() as u64) < chunk;
        let batch = cur.load(db, caller, batch).await?;
        if let Some(last) = batch.last() {
            read_to = last.seq;
        }
        let offset = events.len();
        events.extend(batch);
        for (i, e) in events.iter().enumerate().skip(offset) {
            if !in_scope(scope, e.entity) {
                cut = e.seq;
                continue;
            }
            let key = (e.entity, e.id);
            let owned = cur.owned.contains(&e.id);
            let seen_here = e.entity != EntityKind::Article
                || e.touched_view(|f| visibility.allows_facts(f, owned));
            match entries.get_mut(&key) {
                Some(p) => {
                    p.last = i;
                    p.seen |= seen_here;
                }
                None if seen_here || cur.visible(&visibility, e.entity, e.id) => {
                    if order.len() as u64 == first {
                        // The next page starts at this event (whatever the window left out
                        // before it said nothing to the caller).
                        cut = e.seq - 1;
                        stopped = true;
                        break;
                    }
                    entries.insert(
                        key,
                        Pending {
                            last: i,
                            seen: seen_here,
                        },
                    );
                    order.push(key);
                }
                None => {}
            }
            cut = e.seq;
        }
    }
    if exhausted && !stopped {
        // Every event up to the head was read (those the window left out say nothing).
        cut = cut.max(upto);
    }

    // The articles of the page's upserts, with their bodies.
    let upserts: Vec<i32> = order
        .iter()
        .filter(|(k, id)| *k == EntityKind::Article && cur.visible(&visibility, *k, *id))
        .map(|(_, id)| *id)
        .collect();
    let full: HashMap<i32, article::Model> = if upserts.is_empty() {
        HashMap::new()
    } else {
        let select = article::Entity::find().filter(article::Column::Id.is_in(upserts));
        match scope {
            // The partner feed writes ninjs items, whose bodies come rendered (and whose
            // items are mostly kept): reading and parsing each body here was most of a page.
            Scope::Articles => super::articles::find_all_without_body(db, select).await?,
            Scope::Everything => super::articles::find_all(db, select).await?,
        }
        .into_iter()
        .map(|a| (a.id, a))
        .collect()
    };

    let mut items: Vec<(i32, Change)> = Vec::with_capacity(order.len());
    for key in order {
        let Some(p) = entries.get(&key) else { continue };
        let e = &events[p.last];
        let now = if cur.visible(&visibility, key.0, key.1) {
            cur.entity(&full, key.0, key.1)
        } else {
            None
        };
        if now.is_none() && !p.seen {
            continue;
        }
        let (kind, reason) = match &now {
            Some(_) => (ChangeKind::Upsert, None),
            None if key.0 == EntityKind::Article => {
                (ChangeKind::Tombstone, Some(reason(e.after.as_ref())))
            }
            None => (ChangeKind::Tombstone, Some("deleted")),
        };
        let version = match &now {
            Some(Entity::Article(a)) => Some(a.version),
            _ => e.version,
        };
        items.push((
            e.seq,
            Change {
                position: Position::Stream(e.seq).encode(),
                kind,
                entity: key.0,
                id: key.1,
                slug: cur.slug(key.0, key.1),
                at: e.at,
                reason,
                version,
                now,
            },
        ));
    }
    items.sort_by_key(|(seq, _)| *seq);
    Ok(ChangePage {
        items: items.into_iter().map(|(_, c)| c).collect(),
        next: Position::Stream(cut).encode(),
        has_more: stopped || !exhausted,
    })
}
