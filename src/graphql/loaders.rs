//! DataLoaders: every relation a resolver follows is a key here, and all keys of one kind
//! asked for while a level of the query resolves are fetched in one statement.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use sea_orm::DatabaseConnection;

use crate::domain::articles::{self, PageRequest};
use crate::domain::batched::Page;
use crate::domain::comments::{self, CommentPageRequest};
use crate::domain::directory::{Directory, Relations};
use crate::domain::filter::ArticleFilter;
use crate::domain::related;
use crate::entities::{article, comment, comment_decision, section};
use crate::error::AppError;
use crate::graphql::error::IntoGraphql as _;

/// Most keys of one kind fetched in one statement.
pub const MAX_BATCH: usize = 100;

/// Loads everything a resolver needs, in batches.
pub struct DbLoader {
    db: DatabaseConnection,
    /// Sections, authors and tags come from here when it is in use.
    directory: Directory,
}

/// The per-request loader handed to resolvers.
pub type Loaders = DataLoader<DbLoader, HashMapCache>;

/// A fresh set of loaders for one request.
pub fn new(db: DatabaseConnection, directory: Directory) -> Loaders {
    DataLoader::with_cache(
        DbLoader { db, directory },
        tokio::spawn,
        HashMapCache::default(),
    )
    .max_batch_size(MAX_BATCH)
    // No timer: the keys a level of the query asks for are all asked for before the
    // executor yields (listings prefetch theirs in one call), so waiting only adds latency.
    .delay(std::time::Duration::ZERO)
}

/// Loader errors are shared between every resolver waiting on the batch.
pub type LoadError = Arc<AppError>;

/// Turns a loader error into the resolver's error, of the same kind for every field that
/// shared the batch (a database outage stays `UNAVAILABLE`).
pub fn load_err(e: LoadError) -> async_graphql::Error {
    Arc::try_unwrap(e)
        .unwrap_or_else(|shared| shared.duplicate())
        .into_graphql()
}

/// An answer for every key, empty where nothing was found, so the request's cache also
/// remembers "nothing" and never asks twice.
fn every_key<K: Eq + std::hash::Hash, V: Default>(
    ids: &[i32],
    found: &mut HashMap<i32, V>,
    key: impl Fn(i32) -> K,
) -> HashMap<K, V> {
    ids.iter()
        .map(|&id| (key(id), found.remove(&id).unwrap_or_default()))
        .collect()
}

/// A section by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SectionById(pub i32);
/// A section by path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SectionByPath(pub String);
/// A section's children.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SectionChildren(pub i32);
/// An article's body, for an article read without it (a listing's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArticleBody(pub i32);
/// An article's byline and tags (asked for together, so one statement answers both).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArticleRelations(pub i32);
/// An article's approved comment count, replies included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommentCount(pub i32);
/// An article's related articles, pinned first, as many as a reader may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RelatedOf(pub i32);
/// A comment's approved replies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Replies(pub i32);
/// A comment's moderation decisions, oldest first (resolved for editors only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decisions(pub i32);
/// Whether an editor closed an article's comments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CommentsClosed(pub i32);
/// How many articles a listing has.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ArticleCount(pub ArticleFilter);

impl Loader<SectionById> for DbLoader {
    type Value = section::Model;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[SectionById],
    ) -> Result<HashMap<SectionById, Self::Value>, Self::Error> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let found = self.directory.sections_by_ids(&self.db, &ids).await?;
        Ok(found
            .into_iter()
            .map(|(id, s)| (SectionById(id), s))
            .collect())
    }
}

impl Loader<SectionByPath> for DbLoader {
    type Value = section::Model;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[SectionByPath],
    ) -> Result<HashMap<SectionByPath, Self::Value>, Self::Error> {
        let paths: Vec<String> = keys.iter().map(|k| k.0.clone()).collect();
        let found = self.directory.sections_by_paths(&self.db, &paths).await?;
        Ok(found
            .into_iter()
            .map(|(p, s)| (SectionByPath(p), s))
            .collect())
    }
}

impl Loader<SectionChildren> for DbLoader {
    type Value = Vec<section::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[SectionChildren],
    ) -> Result<HashMap<SectionChildren, Self::Value>, Self::Error> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let found = self.directory.children_of(&self.db, &ids).await?;
        Ok(found
            .into_iter()
            .map(|(id, s)| (SectionChildren(id), s))
            .collect())
    }
}

impl Loader<ArticleBody> for DbLoader {
    type Value = sea_orm::prelude::Json;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ArticleBody],
    ) -> Result<HashMap<ArticleBody, Self::Value>, Self::Error> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let found = articles::bodies(&self.db, &ids).await?;
        Ok(found
            .into_iter()
            .map(|(id, b)| (ArticleBody(id), b))
            .collect())
    }
}

impl Loader<ArticleRelations> for DbLoader {
    /// Shared: the byline and the tags resolvers each take the value from the request's
    /// cache, which hands out clones.
    type Value = Arc<Relations>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ArticleRelations],
    ) -> Result<HashMap<ArticleRelations, Self::Value>, Self::Error> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let mut found: HashMap<i32, Arc<Relations>> = self
            .directory
            .relations(&self.db, &ids)
            .await?
            .into_iter()
            .map(|(id, r)| (id, Arc::new(r)))
            .collect();
        Ok(every_key(&ids, &mut found, ArticleRelations))
    }
}

impl Loader<CommentCount> for DbLoader {
    type Value = i64;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[CommentCount],
    ) -> Result<HashMap<CommentCount, Self::Value>, Self::Error> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let found = comments::approved_counts(&self.db, &ids).await?;
        Ok(found
            .into_iter()
            .map(|(id, n)| (CommentCount(id), n))
            .collect())
    }
}

impl Loader<CommentsClosed> for DbLoader {
    type Value = bool;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[CommentsClosed],
    ) -> Result<HashMap<CommentsClosed, Self::Value>, Self::Error> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let closed = comments::closed_of(&self.db, &ids).await?;
        Ok(ids
            .into_iter()
            .map(|id| (CommentsClosed(id), closed.contains(&id)))
            .collect())
    }
}

impl Loader<RelatedOf> for DbLoader {
    type Value = Vec<related::Related>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[RelatedOf],
    ) -> Result<HashMap<RelatedOf, Self::Value>, Self::Error> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let mut found = related::of_articles(&self.db, &ids, related::MAX_LIMIT).await?;
        Ok(every_key(&ids, &mut found, RelatedOf))
    }
}

impl Loader<Replies> for DbLoader {
    type Value = Vec<comment::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Replies]) -> Result<HashMap<Replies, Self::Value>, Self::Error> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let mut found = comments::replies(&self.db, &ids).await?;
        Ok(every_key(&ids, &mut found, Replies))
    }
}

impl Loader<Decisions> for DbLoader {
    type Value = Vec<comment_decision::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[Decisions],
    ) -> Result<HashMap<Decisions, Self::Value>, Self::Error> {
        let ids: Vec<i32> = keys.iter().map(|k| k.0).collect();
        let mut found = comments::moderation::history(&self.db, &ids).await?;
        Ok(every_key(&ids, &mut found, Decisions))
    }
}

impl Loader<PageRequest> for DbLoader {
    type Value = Page<article::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[PageRequest],
    ) -> Result<HashMap<PageRequest, Self::Value>, Self::Error> {
        let pages = articles::pages(&self.db, &self.directory, keys).await?;
        Ok(keys.iter().cloned().zip(pages).collect())
    }
}

impl Loader<ArticleCount> for DbLoader {
    type Value = i64;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[ArticleCount],
    ) -> Result<HashMap<ArticleCount, Self::Value>, Self::Error> {
        let filters: Vec<ArticleFilter> = keys.iter().map(|k| k.0.clone()).collect();
        let counts = articles::counts(&self.db, &filters).await?;
        Ok(keys.iter().cloned().zip(counts).collect())
    }
}

impl Loader<CommentPageRequest> for DbLoader {
    type Value = Page<comment::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[CommentPageRequest],
    ) -> Result<HashMap<CommentPageRequest, Self::Value>, Self::Error> {
        let pages = comments::pages(&self.db, keys).await?;
        Ok(keys.iter().cloned().zip(pages).collect())
    }
}

/// A page of a webhook endpoint's delivery log (the same page of every endpoint a level of
/// the query lists: one statement pair for all of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WebhookDeliveries {
    pub webhook_id: i32,
    pub status: Option<crate::entities::webhook_delivery::DeliveryStatus>,
    pub first: u64,
    pub before: Option<i32>,
}

impl Loader<WebhookDeliveries> for DbLoader {
    type Value = Vec<crate::entities::webhook_delivery::Model>;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[WebhookDeliveries],
    ) -> Result<HashMap<WebhookDeliveries, Self::Value>, Self::Error> {
        // Keys asking for the same page go together.
        let mut groups: HashMap<_, Vec<i32>> = HashMap::new();
        for k in keys {
            groups
                .entry((k.status, k.first, k.before))
                .or_default()
                .push(k.webhook_id);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for ((status, first, before), ids) in groups {
            let found =
                crate::domain::webhooks::deliveries_of(&self.db, &ids, status, first, before)
                    .await?;
            for (webhook_id, rows) in found {
                out.insert(
                    WebhookDeliveries {
                        webhook_id,
                        status,
                        first,
                        before,
                    },
                    rows,
                );
            }
        }
        Ok(out)
    }
}
