//! The mutation root: the newsroom's writes. Every rule (roles, ownership, workflow,
//! validation) is enforced in `domain/`; resolvers translate inputs and pass the caller.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::inputs::{
    ArticleInput, ArticlePatchInput, AuthorInput, AuthorPatch, SectionInput, SectionPatch,
};
use super::partners::{Partner, PartnerInput, PartnerKey, PartnerPatchInput};
use super::types::{Article, Author, Comment, Section};
use super::webhooks::{Webhook, WebhookDelivery, WebhookInput, WebhookPatchInput, WebhookSecret};
use super::{caller, db};
use crate::auth::Auth;
use crate::domain::access::{Caller, Role};
use crate::domain::workflow::Transition;
use crate::domain::{
    articles, authors, comments, partners, preview, publishing, related, sections, webhooks,
};
use crate::error::AppError;
use crate::graphql::error::{GqlResultExt as _, IntoGraphql as _};

/// Everything writable. Each mutation needs a newsroom token.
pub struct MutationRoot;

/// The caller, once it is known that this server verifies tokens at all.
fn account<'a>(ctx: &Context<'a>) -> Result<&'a Caller> {
    let auth = ctx.data::<Arc<Auth>>()?;
    if !auth.accepts_tokens() {
        return Err(AppError::Unauthenticated(
            "mutations are disabled on this server: it has no token key (set GAZETTE_JWT_SECRET or GAZETTE_JWT_PUBLIC_KEY)".into(),
        )
        .into_graphql());
    }
    Ok(caller(ctx))
}

fn id(id: &ID) -> Result<i32> {
    id.parse::<i32>()
        .map_err(|_| AppError::bad_input(format!("{:?} is not an id", id.as_str())).into_graphql())
}

async fn step(
    ctx: &Context<'_>,
    article: &ID,
    expected: i32,
    t: Transition,
    at: Option<DateTime<Utc>>,
) -> Result<Article> {
    let c = account(ctx)?;
    let a = publishing::transition(db(ctx)?, c, id(article)?, expected, t, at)
        .await
        .gql()?;
    Ok(Article(a))
}

#[Object]
impl MutationRoot {
    /// Posts a reader's comment on a published article whose comments are open (anonymous
    /// readers, and readers with a `reader` token). Rate-limited and spam-checked: the
    /// receipt says `APPROVED` or `PENDING`, never why.
    async fn add_comment(
        &self,
        ctx: &Context<'_>,
        article_slug: String,
        input: super::comments::CommentInput,
    ) -> Result<super::comments::CommentReceipt> {
        let svc = super::comment_service(ctx)?;
        let name = ctx
            .data_opt::<super::ReaderName>()
            .and_then(|n| n.0.as_deref());
        let r = comments::posting::post(
            db(ctx)?,
            svc,
            caller(ctx),
            name,
            &super::comments::client(ctx),
            &article_slug,
            input.into_domain(),
        )
        .await
        .gql()?;
        Ok(r.into())
    }

    /// Moderates one comment (editors): recorded with who, when and the note; the article's
    /// comment count and pages follow at once.
    async fn moderate_comment(
        &self,
        ctx: &Context<'_>,
        id: ID,
        status: super::enums::CommentStatus,
        note: Option<String>,
    ) -> Result<Comment> {
        let c = account(ctx)?;
        let mut done = comments::moderation::moderate(
            db(ctx)?,
            super::comment_service(ctx)?,
            c,
            &[self::id(&id)?],
            status.into(),
            note.as_deref(),
        )
        .await
        .gql()?;
        done.pop()
            .map(Comment)
            .ok_or_else(|| AppError::internal("a decision returned no comment").into_graphql())
    }

    /// Moderates up to 100 comments at once (editors): all or nothing.
    async fn moderate_comments(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
        status: super::enums::CommentStatus,
        note: Option<String>,
    ) -> Result<Vec<Comment>> {
        let c = account(ctx)?;
        let ids = ids.iter().map(id).collect::<Result<Vec<_>>>()?;
        let done = comments::moderation::moderate(
            db(ctx)?,
            super::comment_service(ctx)?,
            c,
            &ids,
            status.into(),
            note.as_deref(),
        )
        .await
        .gql()?;
        Ok(done.into_iter().map(Comment).collect())
    }

    /// Opens or closes an article's comments (editors). Comments also close by themselves
    /// the configured number of days after publication.
    async fn set_comments_open(&self, ctx: &Context<'_>, id: ID, open: bool) -> Result<Article> {
        let c = account(ctx)?;
        let a = comments::moderation::set_open(db(ctx)?, c, self::id(&id)?, open)
            .await
            .gql()?;
        Ok(Article(a))
    }

    /// Creates a `DRAFT`. Writers must be on its byline.
    async fn create_article(&self, ctx: &Context<'_>, input: ArticleInput) -> Result<Article> {
        let c = account(ctx)?;
        Ok(Article(
            publishing::create(db(ctx)?, c, input.into()).await.gql()?,
        ))
    }

    /// Changes an article's content. Fails with `CONFLICT` unless `expectedVersion` is current.
    async fn update_article(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        input: ArticlePatchInput,
    ) -> Result<Article> {
        let c = account(ctx)?;
        let a = publishing::update(db(ctx)?, c, self::id(&id)?, expected_version, input.into())
            .await
            .gql()?;
        Ok(Article(a))
    }

    /// Sends a draft to the editors: `DRAFT → IN_REVIEW`.
    async fn submit_article(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> Result<Article> {
        step(ctx, &id, expected_version, Transition::Submit, None).await
    }

    /// Publishes now, or schedules when `at` is in the future (editors).
    async fn publish_article(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        at: Option<DateTime<Utc>>,
    ) -> Result<Article> {
        step(ctx, &id, expected_version, Transition::Publish, at).await
    }

    /// Takes a published or scheduled article down (editors).
    async fn unpublish_article(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> Result<Article> {
        step(ctx, &id, expected_version, Transition::Unpublish, None).await
    }

    /// Archives a published or unpublished article (editors).
    async fn archive_article(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
    ) -> Result<Article> {
        step(ctx, &id, expected_version, Transition::Archive, None).await
    }

    /// Deletes an article for good (admins); returns its id.
    async fn delete_article(&self, ctx: &Context<'_>, id: ID, expected_version: i32) -> Result<ID> {
        let c = account(ctx)?;
        publishing::delete(db(ctx)?, c, self::id(&id)?, expected_version)
            .await
            .gql()?;
        Ok(id)
    }

    /// Brings back the content of revision `version` as a new version.
    async fn restore_revision(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        version: i32,
    ) -> Result<Article> {
        let c = account(ctx)?;
        let a = publishing::restore(db(ctx)?, c, self::id(&id)?, expected_version, version)
            .await
            .gql()?;
        Ok(Article(a))
    }

    /// A short-lived token that reads this one article, whatever its status, through
    /// `article(…, previewToken:)` (editors, or a writer on its byline).
    async fn preview_token(
        &self,
        ctx: &Context<'_>,
        article_id: ID,
        #[graphql(default = 3600)] ttl_seconds: i32,
    ) -> Result<String> {
        let c = account(ctx)?;
        let db = db(ctx)?;
        let a = articles::find_by_id(db, id(&article_id)?)
            .await
            .gql()?
            .ok_or_else(|| AppError::not_found("no such article").into_graphql())?;
        preview::mint(db, c, &a, i64::from(ttl_seconds)).await.gql()
    }

    /// Chooses, in order, the articles shown first among article `id`'s related articles
    /// (editors; at most 10; an empty list clears the choice). Unpublished choices stay
    /// hidden until they are published.
    async fn set_related_articles(
        &self,
        ctx: &Context<'_>,
        id: ID,
        slugs: Vec<String>,
    ) -> Result<Article> {
        let c = account(ctx)?;
        let a = related::set_pins(db(ctx)?, c, self::id(&id)?, &slugs)
            .await
            .gql()?;
        Ok(Article(a))
    }

    /// Creates a syndication partner (admins).
    async fn create_partner(&self, ctx: &Context<'_>, input: PartnerInput) -> Result<Partner> {
        let c = account(ctx)?;
        Ok(Partner(
            partners::create(db(ctx)?, c, input.into()).await.gql()?,
        ))
    }

    /// Changes a partner's name, sections, embargo permission or rate limit (admins); the
    /// change applies to its next request.
    async fn update_partner(
        &self,
        ctx: &Context<'_>,
        slug: String,
        input: PartnerPatchInput,
    ) -> Result<Partner> {
        let c = account(ctx)?;
        Ok(Partner(
            partners::update(db(ctx)?, c, &slug, input.into())
                .await
                .gql()?,
        ))
    }

    /// Revokes a partner (admins): its next request, with any of its keys, is refused.
    async fn revoke_partner(&self, ctx: &Context<'_>, slug: String) -> Result<Partner> {
        let c = account(ctx)?;
        Ok(Partner(partners::revoke(db(ctx)?, c, &slug).await.gql()?))
    }

    /// Gives a partner a new key, for one of its client systems (admins).
    async fn create_partner_key(
        &self,
        ctx: &Context<'_>,
        partner: String,
        name: Option<String>,
    ) -> Result<PartnerKey> {
        let c = account(ctx)?;
        Ok(PartnerKey(
            partners::create_key(db(ctx)?, c, &partner, name)
                .await
                .gql()?,
        ))
    }

    /// Revokes one key of a partner (admins): requests with its tokens are refused from the
    /// next one on.
    async fn revoke_partner_key(
        &self,
        ctx: &Context<'_>,
        partner: String,
        id: String,
    ) -> Result<PartnerKey> {
        let c = account(ctx)?;
        Ok(PartnerKey(
            partners::revoke_key(db(ctx)?, c, &partner, &id)
                .await
                .gql()?,
        ))
    }

    /// Creates a webhook endpoint (admins); the answer holds its signing secret, shown this
    /// once. It receives the events that follow.
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: WebhookInput,
    ) -> Result<WebhookSecret> {
        let c = account(ctx)?;
        let settings = super::webhooks::settings(ctx)?;
        let (w, secret) = webhooks::create(db(ctx)?, settings, c, input.into())
            .await
            .gql()?;
        Ok(WebhookSecret(w, secret))
    }

    /// Changes a webhook endpoint (admins): its URL, event types, section; `active: false`
    /// pauses it, `true` resumes it from the stream's head.
    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: WebhookPatchInput,
    ) -> Result<Webhook> {
        let c = account(ctx)?;
        let settings = super::webhooks::settings(ctx)?;
        c.require(Role::Admin, "managing webhooks").gql()?;
        let id = webhooks::parse_id(&id).gql()?;
        Ok(Webhook(
            webhooks::update(db(ctx)?, settings, c, id, input.into())
                .await
                .gql()?,
        ))
    }

    /// Deletes a webhook endpoint and its delivery log (admins); returns what it was.
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<Webhook> {
        let c = account(ctx)?;
        c.require(Role::Admin, "managing webhooks").gql()?;
        let id = webhooks::parse_id(&id).gql()?;
        Ok(Webhook(webhooks::delete(db(ctx)?, c, id).await.gql()?))
    }

    /// Gives a webhook endpoint a new signing secret (admins), shown this once; the previous
    /// one keeps signing beside it for the rotation overlap (two `v1,` signatures).
    async fn rotate_webhook_secret(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookSecret> {
        let c = account(ctx)?;
        let settings = super::webhooks::settings(ctx)?;
        c.require(Role::Admin, "managing webhooks").gql()?;
        let id = webhooks::parse_id(&id).gql()?;
        let (w, secret) = webhooks::rotate_secret(db(ctx)?, settings, c, id)
            .await
            .gql()?;
        Ok(WebhookSecret(w, secret))
    }

    /// Sends a delivery again, with the same `webhook-id` (admins): a dead one gets its full
    /// attempt budget again.
    async fn redeliver_webhook_delivery(
        &self,
        ctx: &Context<'_>,
        webhook: ID,
        delivery: ID,
    ) -> Result<WebhookDelivery> {
        let c = account(ctx)?;
        c.require(Role::Admin, "managing webhooks").gql()?;
        let id = webhooks::parse_id(&webhook).gql()?;
        let delivery = webhooks::parse_id(&delivery).gql()?;
        Ok(WebhookDelivery(
            webhooks::redeliver(db(ctx)?, c, id, delivery).await.gql()?,
        ))
    }

    /// Creates a section (editors).
    async fn create_section(&self, ctx: &Context<'_>, input: SectionInput) -> Result<Section> {
        let c = account(ctx)?;
        Ok(Section(
            sections::create(db(ctx)?, c, input.into()).await.gql()?,
        ))
    }

    /// Renames, describes or reorders a section (editors).
    async fn update_section(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: SectionPatch,
    ) -> Result<Section> {
        let c = account(ctx)?;
        Ok(Section(
            sections::update(db(ctx)?, c, self::id(&id)?, input.into())
                .await
                .gql()?,
        ))
    }

    /// Creates an author (editors).
    async fn create_author(&self, ctx: &Context<'_>, input: AuthorInput) -> Result<Author> {
        let c = account(ctx)?;
        Ok(Author(
            authors::create(db(ctx)?, c, input.into()).await.gql()?,
        ))
    }

    /// Updates an author (editors).
    async fn update_author(&self, ctx: &Context<'_>, id: ID, input: AuthorPatch) -> Result<Author> {
        let c = account(ctx)?;
        Ok(Author(
            authors::update(db(ctx)?, c, self::id(&id)?, input.into())
                .await
                .gql()?,
        ))
    }
}
