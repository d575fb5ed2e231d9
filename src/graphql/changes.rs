//! Delta sync over GraphQL: `changes(since:, first:)` (see `domain::changes`).

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::surrogate_keys::no_store;
use super::types::{Article, Author, Section, Tag, author, section, tag};
use crate::domain::changes::{self, Entity};
use crate::entities::change_log::EntityKind;

/// Whether a change brings an entity (as the caller may see it now) or takes it away.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "ChangeKind", remote = "crate::domain::changes::ChangeKind")]
pub enum ChangeKind {
    /// Store (or replace) the entity given.
    Upsert,
    /// Remove the entity: it is gone from the caller's view (`reason` says why).
    Tombstone,
}

/// What kind of entity changed.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "ChangeEntity")]
pub enum ChangeEntity {
    Article,
    Section,
    Author,
    Tag,
}

impl ChangeEntity {
    fn of(k: EntityKind) -> Self {
        match k {
            EntityKind::Article | EntityKind::Comment => Self::Article,
            EntityKind::Section => Self::Section,
            EntityKind::Author => Self::Author,
            EntityKind::Tag => Self::Tag,
        }
    }
}

/// One entry of a page of changes.
pub struct Change(changes::Change);

#[Object]
impl Change {
    /// The position after this entry: a client that stops here resumes from it.
    async fn position(&self) -> &str {
        &self.0.position
    }

    async fn kind(&self) -> ChangeKind {
        self.0.kind.into()
    }

    async fn entity(&self) -> ChangeEntity {
        ChangeEntity::of(self.0.entity)
    }

    /// The entity's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Its slug (a section's path); null for what no longer exists.
    async fn slug(&self) -> Option<&str> {
        self.0.slug.as_deref()
    }

    /// When it last changed.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }

    /// Why a tombstone: `deleted`, `unpublished`, `embargoed` or `out_of_view`; null on upserts.
    async fn reason(&self) -> Option<&str> {
        self.0.reason
    }

    /// An article's version after its last change.
    async fn version(&self) -> Option<i32> {
        self.0.version
    }

    /// The article now, on an upsert of an article.
    async fn article(&self) -> Option<Article> {
        match &self.0.now {
            Some(Entity::Article(a)) => Some(Article(a.clone())),
            _ => None,
        }
    }

    /// The section now, on an upsert of a section.
    async fn section(&self, ctx: &Context<'_>) -> Option<Section> {
        match &self.0.now {
            Some(Entity::Section(s)) => Some(section(ctx, s.clone())),
            _ => None,
        }
    }

    /// The author now, on an upsert of an author.
    async fn author(&self, ctx: &Context<'_>) -> Option<Author> {
        match &self.0.now {
            Some(Entity::Author(a)) => Some(author(ctx, a.clone())),
            _ => None,
        }
    }

    /// The tag now, on an upsert of a tag.
    async fn tag(&self, ctx: &Context<'_>) -> Option<Tag> {
        match &self.0.now {
            Some(Entity::Tag(t)) => Some(tag(ctx, t.clone())),
            _ => None,
        }
    }
}

/// A page of changes, oldest first.
#[derive(SimpleObject)]
pub struct ChangePage {
    pub items: Vec<Change>,
    /// Where the next page starts: keep it, it is the client's position.
    pub next: String,
    /// Whether asking again at once, from `next`, would list more.
    pub has_more: bool,
}

impl From<changes::ChangePage> for ChangePage {
    fn from(p: changes::ChangePage) -> Self {
        Self {
            items: p.items.into_iter().map(Change).collect(),
            next: p.next,
            has_more: p.has_more,
        }
    }
}

/// Runs `changes` for the request's caller; never cached (every write moves it).
pub(crate) async fn changes(
    ctx: &Context<'_>,
    since: Option<String>,
    first: Option<i32>,
) -> Result<ChangePage> {
    use crate::graphql::error::GqlResultExt as _;
    no_store(ctx);
    let first = changes::page_size(first.map(i64::from)).gql()?;
    let page = changes::page(
        super::db(ctx)?,
        super::caller(ctx),
        since.as_deref(),
        first,
        changes::Scope::Everything,
    )
    .await
    .gql()?;
    Ok(page.into())
}
