//! The subscription root: `articlePublished` and `articleChanged`, served over WebSocket at
//! `/graphql/ws` (`crate::http::ws` speaks the protocol).
//!
//! Each subscription follows the change stream through the process's feed
//! ([`crate::live`]) from the moment its `subscribe` message arrived, and decides on each
//! event's facts before and after the write, with the subscriber's own visibility
//! ([`crate::domain::access::Visibility`]), whether to tell them. What it sends is the article
//! as the subscriber may read it *now*, read again through the one rule of who may read an
//! article; an article that left their view meanwhile is skipped.

use std::time::Duration;

use async_graphql::futures_util::stream::{self, BoxStream, StreamExt as _};
use async_graphql::{Context, Result, Subscription};
use sea_orm::DatabaseConnection;

use super::error::{GqlResultExt as _, IntoGraphql as _};
use super::types::Article;
use super::{caller, db, directory};
use crate::domain::access::{self, ArticleFacts, Caller, Visibility};
use crate::domain::articles;
use crate::domain::directory::Directory;
use crate::domain::stream::Stored;
use crate::entities::article;
use crate::entities::change_log::EntityKind;
use crate::error::{AppError, Result as AppResult};
use crate::live::{Follow, Live};

/// Live updates of articles, over WebSocket (`graphql-transport-ws`) at `/graphql/ws`.
pub struct SubscriptionRoot;

/// Where a subscription starts: the stream's head when its `subscribe` message was handled
/// (given by the WebSocket handler as request data), so that a write the client makes once
/// the server has taken the subscription is never missed, and none from before is sent.
#[derive(Clone, Copy, Debug)]
pub struct Start(pub Option<i32>);

#[Subscription]
impl SubscriptionRoot {
    /// Each article as it becomes published to this subscriber: PUBLISHED and visible to
    /// them (for readers without a token, public: at publication, or when its embargo lifts;
    /// for editors, at publication). With `section`, only articles in that section or below
    /// it (`world` includes `world/middle-east`). Yields the article as the subscriber may
    /// read it now; one that has left their view again before it is sent is skipped.
    async fn article_published(
        &self,
        ctx: &Context<'_>,
        section: Option<String>,
    ) -> Result<BoxStream<'static, Result<Article>>> {
        let w = Watch::new(ctx).await?;
        if let Some(path) = &section
            && w.directory
                .section_by_path(&w.db, path)
                .await
                .gql()?
                .is_none()
        {
            return Err(AppError::not_found(format!("no section at path {path:?}")).into_graphql());
        }
        Ok(w.run(Kind::Published(section)))
    }

    /// Every later write of the article with `slug` while it is visible to this subscriber
    /// (an edit, a publication, an embargo lifting, a move), as the subscriber may read it
    /// now. Writes that leave it out of their view send nothing; the subscription completes
    /// when the article is deleted. An article they may not read now is `NOT_FOUND`, as it is
    /// for `article(slug:)`.
    async fn article_changed(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> Result<BoxStream<'static, Result<Article>>> {
        let w = Watch::new(ctx).await?;
        let visible = match articles::find_by_slug(&w.db, &slug).await.gql()? {
            Some(a) => access::can_read(&w.db, &w.caller, &a)
                .await
                .gql()?
                .then_some(a),
            None => None,
        };
        let Some(a) = visible else {
            return Err(AppError::not_found(format!("no article {slug:?}")).into_graphql());
        };
        Ok(w.run(Kind::Changed(a.id)))
    }
}

/// Which subscription a [`Watch`] serves.
enum Kind {
    /// `articlePublished`, within a section subtree or not.
    Published(Option<String>),
    /// `articleChanged` of this article.
    Changed(i32),
}

/// What one event means to a subscription.
enum Outcome {
    /// Nothing to send.
    Skip,
    /// Send this article.
    Send(Box<article::Model>),
    /// The subscription is over (its article was deleted).
    End,
}

/// One subscription's handles and its place in the stream.
struct Watch {
    follow: Follow,
    db: DatabaseConnection,
    caller: Caller,
    vis: Visibility,
    directory: Directory,
}

/// Attempts at one event before its failure is sent to the subscriber and it moves on.
const ATTEMPTS: u32 = 3;

impl Watch {
    async fn new(ctx: &Context<'_>) -> Result<Self> {
        let db = db(ctx)?.clone();
        let live = ctx.data::<Live>()?;
        let start = ctx.data_opt::<Start>().and_then(|s| s.0);
        let caller = caller(ctx).clone();
        Ok(Self {
            follow: live.follow(db.clone(), start).await.gql()?,
            vis: caller.visibility(),
            caller,
            directory: directory(ctx)?.clone(),
            db,
        })
    }

    /// The subscription's stream: what each event means to `kind`, retried on a failure
    /// (the database may be restarting); the stream goes on from its position afterwards.
    fn run(self, kind: Kind) -> BoxStream<'static, Result<Article>> {
        stream::unfold((self, kind), |(mut w, kind)| async move {
            loop {
                let e = match w.follow.next().await {
                    Ok(Some(e)) => e,
                    Ok(None) => return None,
                    Err(err) => {
                        tracing::warn!(error = %err, "a subscription cannot read the change stream; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                if e.entity != EntityKind::Article {
                    continue;
                }
                let mut attempt = 1;
                let outcome = loop {
                    let decided = match &kind {
                        Kind::Published(section) => w.published(&e, section.as_deref()).await,
                        Kind::Changed(id) => w.changed(&e, *id).await,
                    };
                    match decided {
                        Ok(o) => break Ok(o),
                        Err(err) if attempt >= ATTEMPTS => break Err(err),
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt)))
                                .await;
                            attempt += 1;
                        }
                    }
                };
                match outcome {
                    Ok(Outcome::Skip) => {}
                    Ok(Outcome::Send(a)) => return Some((Ok(Article(*a)), (w, kind))),
                    Ok(Outcome::End) => return None,
                    Err(err) => return Some((Err(err.into_graphql()), (w, kind))),
                }
            }
        })
        .boxed()
    }

    /// Whether the subscriber owns the article, read only when their visibility depends on it.
    async fn owned(&self, id: i32, facts: &[Option<&ArticleFacts>]) -> AppResult<bool> {
        match self.caller.writer_sub() {
            Some(sub) if self.vis.depends_on_ownership(facts) => {
                access::owns(&self.db, sub, id).await
            }
            _ => Ok(false),
        }
    }

    /// The article as the subscriber may read it now.
    async fn now(&self, id: i32) -> AppResult<Outcome> {
        let Some(a) = articles::find_by_id(&self.db, id).await? else {
            return Ok(Outcome::Skip);
        };
        Ok(if access::can_read(&self.db, &self.caller, &a).await? {
            Outcome::Send(Box::new(a))
        } else {
            Outcome::Skip
        })
    }

    /// `articlePublished`: did this write publish the article to the subscriber (within
    /// `section`)?
    async fn published(&self, e: &Stored, section: Option<&str>) -> AppResult<Outcome> {
        let (before, after) = (e.before.as_ref(), e.after.as_ref());
        let owned = self.owned(e.id, &[before, after]).await?;
        if !self.vis.became_published(before, after, owned) {
            return Ok(Outcome::Skip);
        }
        if let (Some(root), Some(f)) = (section, after) {
            let found = self
                .directory
                .sections_by_ids(&self.db, &[f.section_id])
                .await?;
            let within = found.get(&f.section_id).is_some_and(|s| {
                s.path == root
                    || s.path
                        .strip_prefix(root)
                        .is_some_and(|rest| rest.starts_with('/'))
            });
            if !within {
                return Ok(Outcome::Skip);
            }
        }
        self.now(e.id).await
    }

    /// `articleChanged`: is this a write of article `id` that the subscriber may see?
    async fn changed(&self, e: &Stored, id: i32) -> AppResult<Outcome> {
        if e.id != id {
            return Ok(Outcome::Skip);
        }
        let (before, after) = (e.before.as_ref(), e.after.as_ref());
        let owned = self.owned(e.id, &[before, after]).await?;
        match after {
            None if before.is_some_and(|f| self.vis.allows_facts(f, owned)) => Ok(Outcome::End),
            Some(f) if self.vis.allows_facts(f, owned) => self.now(id).await,
            _ => Ok(Outcome::Skip),
        }
    }
}
