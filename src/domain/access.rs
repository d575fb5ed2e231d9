//! Who is asking, and what they may do. Every rule of DESIGN.md's role table lives here, so
//! GraphQL and REST enforce the same ones; resolvers only pass the caller along.
//!
//! | action | writer | editor | admin |
//! |---|---|---|---|
//! | create an article | under their own byline | yes | yes |
//! | edit, submit, restore | own, while DRAFT or IN_REVIEW | yes | yes |
//! | publish, schedule, unpublish, archive | no | yes | yes |
//! | sections, authors | no | yes | yes |
//! | delete an article | no | no | yes |
//! | read drafts | own | all | all |
//!
//! `partner` (syndication partners) and `reader` (signed-in readers) hold none of these:
//! they may read what an anonymous reader may, and write nothing. Every permission is a grant
//! named per role ([`Role::includes`], [`Caller::visibility`]); roles have no order, so a
//! role added later gets nothing until a grant says so.
//!
//! Ownership is read from the database at the time of the request: a writer owns an article
//! when one of its byline authors has the writer's `sub` as account subject, so removing an
//! author record (or changing its subject) takes effect at once, whatever tokens say.

use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, PaginatorTrait as _, QueryFilter as _,
};
use serde::{Deserialize, Serialize};

use super::ArticleStatus;
use crate::entities::{article, article_author, author};
use crate::error::{AppError, Result};

/// A role, from the token's `role` claim. Deliberately not ordered: what each role may do is
/// listed in [`Role::includes`] and [`Caller::visibility`], never inferred from a rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Writer,
    Editor,
    Admin,
    /// A syndication partner (`sub` is the partner's slug).
    Partner,
    /// A signed-in reader.
    Reader,
}

impl Role {
    /// The claim value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Writer => "writer",
            Self::Editor => "editor",
            Self::Admin => "admin",
            Self::Partner => "partner",
            Self::Reader => "reader",
        }
    }

    /// Parses a claim value; unknown roles are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "writer" => Some(Self::Writer),
            "editor" => Some(Self::Editor),
            "admin" => Some(Self::Admin),
            "partner" => Some(Self::Partner),
            "reader" => Some(Self::Reader),
            _ => None,
        }
    }

    /// Whether this role holds everything `needed` may do: the explicit grant table of the
    /// newsroom's roles (an admin is an editor and a writer; an editor is a writer). Partners
    /// and readers hold only their own role, which no newsroom action asks for.
    pub fn includes(self, needed: Role) -> bool {
        match self {
            Self::Admin => matches!(needed, Self::Admin | Self::Editor | Self::Writer),
            Self::Editor => matches!(needed, Self::Editor | Self::Writer),
            Self::Writer => needed == Self::Writer,
            Self::Partner => needed == Self::Partner,
            Self::Reader => needed == Self::Reader,
        }
    }
}

/// The verified caller of one request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    /// No token: published content only.
    Anonymous,
    /// A verified account (a newsroom role, or a signed-in reader).
    Account { sub: String, role: Role },
    /// A syndication partner, by a token of one of its keys. `grant` is what its records
    /// allow, read from the database on this request (`domain::partners::check`); a token
    /// whose records were not read holds no grant and sees what anonymous readers see.
    Partner {
        slug: String,
        key: String,
        grant: Option<PartnerGrant>,
    },
}

/// What a partner's records allow it to receive.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PartnerGrant {
    pub partner_id: i32,
    /// The sections it receives: its granted subtrees, resolved to ids.
    pub section_ids: Vec<i32>,
    /// Whether it receives published stories under embargo.
    pub embargoed: bool,
    /// Its own rate limit, in requests a minute.
    pub rate_limit_per_minute: Option<i32>,
}

impl Caller {
    /// The account's subject, if any.
    pub fn sub(&self) -> Option<&str> {
        match self {
            Self::Anonymous => None,
            Self::Account { sub, .. } => Some(sub),
            Self::Partner { slug, .. } => Some(slug),
        }
    }

    /// The account's role, if any.
    pub fn role(&self) -> Option<Role> {
        match self {
            Self::Anonymous => None,
            Self::Account { role, .. } => Some(*role),
            Self::Partner { .. } => Some(Role::Partner),
        }
    }

    /// Editors and admins.
    pub fn is_editor(&self) -> bool {
        self.role().is_some_and(|r| r.includes(Role::Editor))
    }

    /// The subject of a writer (editors and admins are not included: they need no ownership).
    /// Ownership is a writer's grant only, so a partner or reader whose `sub` happens to
    /// equal a writer's account subject owns nothing.
    pub fn writer_sub(&self) -> Option<&str> {
        match self {
            Self::Account {
                sub,
                role: Role::Writer,
            } => Some(sub),
            _ => None,
        }
    }

    /// Refuses anonymous callers.
    pub fn require_account(&self) -> Result<(&str, Role)> {
        match self {
            Self::Anonymous => Err(AppError::Unauthenticated(
                "this needs a newsroom account: send `Authorization: Bearer <token>`".into(),
            )),
            Self::Account { sub, role } => Ok((sub, *role)),
            Self::Partner { slug, .. } => Ok((slug, Role::Partner)),
        }
    }

    /// Refuses callers below `role`.
    pub fn require(&self, role: Role, action: &str) -> Result<()> {
        let (_, have) = self.require_account()?;
        if have.includes(role) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "{action} needs the {} role; this token has {}",
                role.as_str(),
                have.as_str()
            )))
        }
    }

    /// What this caller may read of articles (narrowed further by filters). Only the roles
    /// named here see more than an anonymous reader; any other role (partners, readers, and
    /// any added later) falls to the anonymous reader's visibility.
    pub fn visibility(&self) -> Visibility {
        match self {
            Self::Account {
                role: Role::Writer,
                sub,
            } => Visibility::PublishedOrOwn(sub.clone()),
            Self::Account {
                role: Role::Editor | Role::Admin,
                ..
            } => Visibility::Everything,
            Self::Partner { grant: Some(g), .. } => Visibility::Partner {
                section_ids: g.section_ids.clone(),
                embargoed: g.embargoed,
            },
            _ => Visibility::Published,
        }
    }
}

/// The one rule of what is public: a PUBLISHED article that is not under embargo. Every
/// public path reads it, as this function or as its SQL twin `filter::public_condition`.
/// An embargo is lifted by the scheduler when the database's clock passes it, so every
/// process agrees on what is public without comparing clocks of its own.
pub fn is_public(a: &article::Model) -> bool {
    ArticleFacts::of(a).is_public()
}

/// What a visibility decision reads of an article: the same rules decide on a row as it is
/// now ([`Visibility::allows`]) and on the facts the change stream keeps of it before and
/// after each write (`domain::stream`), so "could this caller see it then?" is the same
/// question as "can this caller see it now?".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ArticleFacts {
    #[serde(rename = "s")]
    pub status: ArticleStatus,
    /// Under an embargo that has not lifted.
    #[serde(rename = "e")]
    pub embargoed: bool,
    /// Kept out of every partner route.
    #[serde(rename = "n")]
    pub not_for_syndication: bool,
    #[serde(rename = "c")]
    pub section_id: i32,
}

impl ArticleFacts {
    /// The facts of a row.
    pub fn of(a: &article::Model) -> Self {
        Self {
            status: a.status,
            embargoed: a.embargo_until.is_some(),
            not_for_syndication: a.not_for_syndication,
            section_id: a.section_id,
        }
    }

    /// [`is_public`] on facts.
    pub fn is_public(&self) -> bool {
        self.status == ArticleStatus::Published && !self.embargoed
    }

    /// [`partner_receives`] on facts.
    pub fn partner_receives(&self, section_ids: &[i32], embargoed: bool) -> bool {
        self.status == ArticleStatus::Published
            && (!self.embargoed || embargoed)
            && !self.not_for_syndication
            && section_ids.contains(&self.section_id)
    }
}

/// Which articles a caller may read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// Public articles only ([`is_public`]: anonymous readers, and every role without a
    /// grant of its own).
    #[default]
    Published,
    /// Public articles and the writer's own in any status (embargoed ones included).
    PublishedOrOwn(String),
    /// Every article (editors and admins).
    Everything,
    /// A partner's grant: published articles of these sections that are not marked "not for
    /// syndication", and, with `embargoed`, those under embargo too.
    Partner {
        section_ids: Vec<i32>,
        embargoed: bool,
    },
}

/// Whether a partner with this grant receives `a` (`filter::partner_condition` is its SQL).
pub fn partner_receives(a: &article::Model, section_ids: &[i32], embargoed: bool) -> bool {
    ArticleFacts::of(a).partner_receives(section_ids, embargoed)
}

impl Visibility {
    /// Whether `a`, owned by the caller or not, is visible.
    pub fn allows(&self, a: &article::Model, owned: bool) -> bool {
        self.allows_facts(&ArticleFacts::of(a), owned)
    }

    /// Whether an article with these facts, owned by the caller or not, is visible.
    pub fn allows_facts(&self, f: &ArticleFacts, owned: bool) -> bool {
        match self {
            Self::Published => f.is_public(),
            Self::PublishedOrOwn(_) => f.is_public() || owned,
            Self::Everything => true,
            Self::Partner {
                section_ids,
                embargoed,
            } => f.partner_receives(section_ids, *embargoed),
        }
    }
}

/// What a caller is told live about one article's write (GraphQL subscriptions), decided on
/// the change stream's facts before and after it with the caller's own [`Visibility`].
impl Visibility {
    /// Whether an article with these facts is *published to* this caller: PUBLISHED and
    /// visible to them. For anonymous readers, readers and partners that is their visibility
    /// itself (public, or within the partner's grant); editors and writers also see drafts,
    /// which are visible to them but not published, so a new draft is no publication.
    pub fn shows_published(&self, f: &ArticleFacts, owned: bool) -> bool {
        f.status == ArticleStatus::Published && self.allows_facts(f, owned)
    }

    /// Whether the write from `before` to `after` published the article to this caller: not
    /// published to them before (or not there at all), published to them after. An embargo
    /// lifting publishes a story to anonymous readers; its publication, to editors.
    pub fn became_published(
        &self,
        before: Option<&ArticleFacts>,
        after: Option<&ArticleFacts>,
        owned: bool,
    ) -> bool {
        !before.is_some_and(|f| self.shows_published(f, owned))
            && after.is_some_and(|f| self.shows_published(f, owned))
    }

    /// Whether ownership could change either answer for these facts, so that it is worth
    /// reading from the database (only a writer's visibility depends on it).
    pub fn depends_on_ownership(&self, facts: &[Option<&ArticleFacts>]) -> bool {
        matches!(self, Self::PublishedOrOwn(_))
            && facts
                .iter()
                .flatten()
                .any(|f| self.allows_facts(f, true) != self.allows_facts(f, false))
    }
}

/// Ids of articles whose byline includes an author with account subject `sub`, as a subquery.
pub fn owned_articles_subquery(sub: &str) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column((article_author::Entity, article_author::Column::ArticleId))
        .from(article_author::Entity)
        .inner_join(
            author::Entity,
            Expr::col((author::Entity, author::Column::Id))
                .equals((article_author::Entity, article_author::Column::AuthorId)),
        )
        .and_where(Expr::col((author::Entity, author::Column::Subject)).eq(sub))
        .to_owned()
}

/// Whether the account `sub` is on the byline of `article_id`, read from the database now.
pub async fn owns(db: &impl ConnectionTrait, sub: &str, article_id: i32) -> Result<bool> {
    let n = article::Entity::find()
        .filter(article::Column::Id.eq(article_id))
        .filter(article::Column::Id.in_subquery(owned_articles_subquery(sub)))
        .count(db)
        .await?;
    Ok(n > 0)
}

/// The one rule for reading a single article, whatever the way in (GraphQL, REST, feeds,
/// ninjs): `Some` when `caller` may read it, or when `preview_token` is a live preview of
/// exactly this article; `None` when it is not visible (the caller answers "not found",
/// never a hint that it exists). A preview token that is bad, expired or for another article
/// is a bad credential: `UNAUTHENTICATED`, on every transport alike.
pub async fn read_article(
    db: &impl ConnectionTrait,
    caller: &Caller,
    a: article::Model,
    preview_token: Option<&str>,
) -> Result<Option<article::Model>> {
    if can_read(db, caller, &a).await? {
        return Ok(Some(a));
    }
    match preview_token {
        None => Ok(None),
        Some(t) if super::preview::allows(db, t, a.id).await? => Ok(Some(a)),
        Some(_) => Err(AppError::Unauthenticated(
            "the preview token is invalid, expired, or for another article".into(),
        )),
    }
}

/// Whether `caller` is an editor or admin, or a writer on the byline of `article_id`: who
/// may see an article's workings (revisions, preview links) whatever its status.
pub async fn editor_or_owner(
    db: &impl ConnectionTrait,
    caller: &Caller,
    article_id: i32,
) -> Result<bool> {
    if caller.is_editor() {
        return Ok(true);
    }
    match caller.writer_sub() {
        Some(sub) => owns(db, sub, article_id).await,
        None => Ok(false),
    }
}

/// Whether `caller` may read this article.
pub async fn can_read(
    db: &impl ConnectionTrait,
    caller: &Caller,
    a: &article::Model,
) -> Result<bool> {
    Ok(match caller.visibility() {
        Visibility::Everything => true,
        Visibility::Published => is_public(a),
        Visibility::PublishedOrOwn(sub) => is_public(a) || owns(db, &sub, a.id).await?,
        Visibility::Partner {
            section_ids,
            embargoed,
        } => partner_receives(a, &section_ids, embargoed),
    })
}

/// Checks that `caller` may receive articles as IPTC ninjs items: editors and admins, and
/// partners whose records were checked (which articles, their grant decides).
/// Anonymous callers need a token (`UNAUTHENTICATED`); other roles are refused
/// (`FORBIDDEN`) before anything is looked up, so the answer says nothing of what exists.
pub fn check_can_receive_ninjs(caller: &Caller) -> Result<()> {
    if matches!(caller, Caller::Partner { grant: Some(_), .. }) {
        return Ok(());
    }
    caller.require(Role::Editor, "receiving ninjs items")
}

/// Checks that `caller` may change this article's content (edit, submit, restore).
pub async fn check_can_edit(
    db: &impl ConnectionTrait,
    caller: &Caller,
    a: &article::Model,
) -> Result<()> {
    caller.require(Role::Writer, "changing an article")?;
    if caller.is_editor() {
        return Ok(());
    }
    let Some(sub) = caller.writer_sub() else {
        return Err(AppError::Forbidden(
            "only writers may change articles".into(),
        ));
    };
    if !owns(db, sub, a.id).await? {
        return Err(AppError::Forbidden(
            "writers may only change articles on their own byline".into(),
        ));
    }
    let status = a.status;
    if !matches!(status, ArticleStatus::Draft | ArticleStatus::InReview) {
        return Err(AppError::Forbidden(format!(
            "writers may only change their articles while DRAFT or IN_REVIEW; this one is {}",
            status.as_str()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_granted_explicitly_and_parsed_strictly() {
        assert!(Role::Admin.includes(Role::Editor) && Role::Editor.includes(Role::Writer));
        for outsider in [Role::Partner, Role::Reader] {
            for newsroom in [Role::Writer, Role::Editor, Role::Admin] {
                assert!(
                    !outsider.includes(newsroom),
                    "{outsider:?} is not {newsroom:?}"
                );
                assert!(
                    !newsroom.includes(outsider),
                    "{newsroom:?} is not {outsider:?}"
                );
            }
        }
        assert_eq!(Role::parse("editor"), Some(Role::Editor));
        assert_eq!(Role::parse("partner"), Some(Role::Partner));
        for bad in ["Editor", "root", "", "admin "] {
            assert_eq!(Role::parse(bad), None, "{bad:?}");
        }
    }

    fn article(
        status: ArticleStatus,
        embargo_until: Option<chrono::DateTime<chrono::Utc>>,
    ) -> article::Model {
        let at = chrono::Utc::now();
        article::Model {
            id: 1,
            slug: "s".into(),
            headline: "h".into(),
            dek: None,
            body: serde_json::json!([]),
            word_count: 0,
            section_id: 1,
            status,
            source_name: None,
            source_url: None,
            featured_image: None,
            created_at: at,
            updated_at: at,
            published_at: Some(at),
            scheduled_at: None,
            embargo_until,
            rights: None,
            not_for_syndication: false,
            version: 1,
        }
    }

    #[test]
    fn publication_is_being_published_and_visible_to_the_caller() {
        let facts = |status, embargoed| ArticleFacts {
            status,
            embargoed,
            not_for_syndication: false,
            section_id: 1,
        };
        let draft = facts(ArticleStatus::Draft, false);
        let embargoed = facts(ArticleStatus::Published, true);
        let public = facts(ArticleStatus::Published, false);
        let anonymous = Visibility::Published;
        let editor = Visibility::Everything;
        assert!(!anonymous.became_published(None, Some(&draft), false));
        assert!(
            !editor.became_published(None, Some(&draft), false),
            "a draft is not published"
        );
        assert!(!anonymous.became_published(Some(&draft), Some(&embargoed), false));
        assert!(editor.became_published(Some(&draft), Some(&embargoed), false));
        assert!(
            anonymous.became_published(Some(&embargoed), Some(&public), false),
            "the lift"
        );
        assert!(!editor.became_published(Some(&embargoed), Some(&public), false));
        assert!(
            !anonymous.became_published(Some(&public), Some(&public), false),
            "an edit"
        );
        let writer = Visibility::PublishedOrOwn("w".into());
        assert!(writer.depends_on_ownership(&[Some(&embargoed)]));
        assert!(!writer.depends_on_ownership(&[Some(&public), None]));
        assert!(!editor.depends_on_ownership(&[Some(&draft)]));
    }

    #[test]
    fn visibility_follows_the_role_table() {
        let writer = Caller::Account {
            sub: "w".into(),
            role: Role::Writer,
        };
        let editor = Caller::Account {
            sub: "e".into(),
            role: Role::Editor,
        };
        let published = article(ArticleStatus::Published, None);
        let embargoed = article(ArticleStatus::Published, Some(chrono::Utc::now()));
        let draft = article(ArticleStatus::Draft, None);
        let archived = article(ArticleStatus::Archived, None);
        let anonymous = Caller::Anonymous.visibility();
        assert!(!anonymous.allows(&draft, true));
        assert!(anonymous.allows(&published, false));
        assert!(!anonymous.allows(&embargoed, false), "an embargo hides it");
        assert!(writer.visibility().allows(&draft, true));
        assert!(writer.visibility().allows(&embargoed, true));
        assert!(!writer.visibility().allows(&draft, false));
        assert!(!writer.visibility().allows(&embargoed, false));
        assert!(editor.visibility().allows(&archived, false));
        assert!(editor.visibility().allows(&embargoed, false));
        for role in [Role::Partner, Role::Reader] {
            let outsider = Caller::Account {
                sub: "omar".into(),
                role,
            };
            assert_eq!(outsider.visibility(), Visibility::Published, "{role:?}");
            assert_eq!(outsider.writer_sub(), None, "{role:?}");
            assert!(!outsider.is_editor(), "{role:?}");
        }
        assert!(
            writer
                .require(Role::Editor, "publishing")
                .is_err_and(|e| e.code() == "FORBIDDEN")
        );
        assert!(
            Caller::Anonymous
                .require(Role::Writer, "x")
                .is_err_and(|e| e.code() == "UNAUTHENTICATED")
        );
    }
}
