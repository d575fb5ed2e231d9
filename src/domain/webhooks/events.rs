//! Which webhook event, if any, a change-stream event is: decided on the article's facts
//! before and after the write with the one public-visibility rule
//! ([`ArticleFacts::is_public`]), so an endpoint hears of exactly what an anonymous reader
//! could see change. A draft never produces an event, and neither does an imported article
//! (an import sends one `import.completed` instead).

use crate::domain::access::ArticleFacts;
use crate::domain::stream::{IMPORT_ACTION, Stored};
use crate::entities::change_log::EntityKind;

/// The event types an endpoint can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Became public: published, a scheduled publication fired, an embargo lifted.
    ArticlePublished,
    /// Changed while public.
    ArticleUpdated,
    /// Was public, still exists, no longer public (unpublished, archived, embargoed).
    ArticleUnpublished,
    /// Was public and was deleted.
    ArticleDeleted,
    SectionCreated,
    SectionUpdated,
    AuthorCreated,
    AuthorUpdated,
    TagCreated,
    TagUpdated,
    /// A comment became readable (posted and approved at once, or approved by an editor)
    /// on a public article.
    CommentApproved,
    /// A readable comment changed (its commenter's data anonymised).
    CommentUpdated,
    /// A readable comment was taken down (rejected, marked as spam, held again, erased).
    CommentRemoved,
    /// A bulk import finished: counts, and the stream positions to resync from.
    ImportCompleted,
}

impl EventType {
    /// Every type, in the order the documentation lists them.
    pub const ALL: [Self; 14] = [
        Self::ArticlePublished,
        Self::ArticleUpdated,
        Self::ArticleUnpublished,
        Self::ArticleDeleted,
        Self::SectionCreated,
        Self::SectionUpdated,
        Self::AuthorCreated,
        Self::AuthorUpdated,
        Self::TagCreated,
        Self::TagUpdated,
        Self::CommentApproved,
        Self::CommentUpdated,
        Self::CommentRemoved,
        Self::ImportCompleted,
    ];

    /// The name in bodies and subscriptions.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ArticlePublished => "article.published",
            Self::ArticleUpdated => "article.updated",
            Self::ArticleUnpublished => "article.unpublished",
            Self::ArticleDeleted => "article.deleted",
            Self::SectionCreated => "section.created",
            Self::SectionUpdated => "section.updated",
            Self::AuthorCreated => "author.created",
            Self::AuthorUpdated => "author.updated",
            Self::TagCreated => "tag.created",
            Self::TagUpdated => "tag.updated",
            Self::CommentApproved => "comment.approved",
            Self::CommentUpdated => "comment.updated",
            Self::CommentRemoved => "comment.removed",
            Self::ImportCompleted => "import.completed",
        }
    }

    /// Whether a subscription pattern (`article.published`, `article.*`, `*`) covers it.
    pub fn matches(self, pattern: &str) -> bool {
        let name = self.as_str();
        pattern == "*"
            || pattern == name
            || pattern
                .strip_suffix(".*")
                .is_some_and(|group| name.split('.').next() == Some(group))
    }

    /// Whether `pattern` is one an endpoint may subscribe to: a type's name, a group of
    /// them (`article.*`), or `*`.
    pub fn is_pattern(pattern: &str) -> bool {
        pattern == "*"
            || Self::ALL.iter().any(|t| t.as_str() == pattern)
            || (pattern.ends_with(".*") && Self::ALL.iter().any(|t| t.matches(pattern)))
    }
}

/// The webhook event of a stream event, if any.
pub fn classify(e: &Stored) -> Option<EventType> {
    if e.action == IMPORT_ACTION {
        return None;
    }
    let created = matches!(e.action.as_str(), "create" | "created");
    match e.entity {
        EntityKind::Article => article(e.before.as_ref(), e.after.as_ref()),
        EntityKind::Section if created => Some(EventType::SectionCreated),
        EntityKind::Section => Some(EventType::SectionUpdated),
        EntityKind::Author if created => Some(EventType::AuthorCreated),
        EntityKind::Author => Some(EventType::AuthorUpdated),
        EntityKind::Tag if created => Some(EventType::TagCreated),
        EntityKind::Tag => Some(EventType::TagUpdated),
        EntityKind::Comment => comment(&e.action, e.after.as_ref()),
    }
}

/// A comment's event from its action and its article's facts at the time: only a comment
/// a reader could read (or could until this change) makes one, and only on an article
/// that was public then, so a comment never tells of a draft, an embargoed story or a
/// held comment.
pub fn comment(action: &str, article: Option<&ArticleFacts>) -> Option<EventType> {
    use crate::domain::stream::{COMMENT_APPROVED, COMMENT_REMOVED, COMMENT_UPDATED};
    if !article.is_some_and(ArticleFacts::is_public) {
        return None;
    }
    match action {
        COMMENT_APPROVED => Some(EventType::CommentApproved),
        COMMENT_UPDATED => Some(EventType::CommentUpdated),
        COMMENT_REMOVED => Some(EventType::CommentRemoved),
        _ => None,
    }
}

/// An article's event from its facts before and after a write.
pub fn article(before: Option<&ArticleFacts>, after: Option<&ArticleFacts>) -> Option<EventType> {
    let was = before.is_some_and(ArticleFacts::is_public);
    let is = after.is_some_and(ArticleFacts::is_public);
    match (was, is, after.is_some()) {
        (false, true, _) => Some(EventType::ArticlePublished),
        (true, true, _) => Some(EventType::ArticleUpdated),
        (true, false, true) => Some(EventType::ArticleUnpublished),
        (true, false, false) => Some(EventType::ArticleDeleted),
        // Never public on either side: a draft, a scheduled or embargoed story, an archive.
        (false, false, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ArticleStatus::{self, *};

    fn f(status: ArticleStatus, embargoed: bool) -> Option<ArticleFacts> {
        Some(ArticleFacts {
            status,
            embargoed,
            not_for_syndication: false,
            section_id: 1,
        })
    }

    #[test]
    fn article_events_follow_the_public_rule() {
        use EventType::*;
        let cases = [
            (None, f(Draft, false), None, "a new draft is nothing"),
            (
                f(Draft, false),
                f(InReview, false),
                None,
                "a draft in review is nothing",
            ),
            (f(Draft, false), None, None, "a deleted draft is nothing"),
            (
                f(InReview, false),
                f(Published, false),
                Some(ArticlePublished),
                "publish",
            ),
            (
                f(Scheduled, false),
                f(Published, false),
                Some(ArticlePublished),
                "schedule fires",
            ),
            (
                f(Published, true),
                f(Published, false),
                Some(ArticlePublished),
                "embargo lifts",
            ),
            (
                f(Draft, false),
                f(Published, true),
                None,
                "published under embargo",
            ),
            (
                f(Published, false),
                f(Published, false),
                Some(ArticleUpdated),
                "edit",
            ),
            (
                f(Published, false),
                f(Unpublished, false),
                Some(ArticleUnpublished),
                "unpublish",
            ),
            (
                f(Published, false),
                f(Archived, false),
                Some(ArticleUnpublished),
                "archive",
            ),
            (f(Published, false), None, Some(ArticleDeleted), "delete"),
            (f(Unpublished, false), None, None, "delete of a hidden one"),
        ];
        for (before, after, want, why) in cases {
            assert_eq!(article(before.as_ref(), after.as_ref()), want, "{why}");
        }
    }

    #[test]
    fn comment_events_need_a_readable_comment_on_a_public_article() {
        use EventType::*;
        let public = f(Published, false);
        assert_eq!(comment("approved", public.as_ref()), Some(CommentApproved));
        assert_eq!(comment("removed", public.as_ref()), Some(CommentRemoved));
        assert_eq!(comment("updated", public.as_ref()), Some(CommentUpdated));
        for held in ["spam", "rejected", "pending"] {
            assert_eq!(comment(held, public.as_ref()), None, "{held}");
        }
        for hidden in [
            f(Draft, false),
            f(Published, true),
            f(Unpublished, false),
            None,
        ] {
            assert_eq!(comment("approved", hidden.as_ref()), None, "{hidden:?}");
            assert_eq!(comment("removed", hidden.as_ref()), None, "{hidden:?}");
        }
    }

    #[test]
    fn patterns_cover_their_group() {
        assert!(EventType::ArticleDeleted.matches("article.*"));
        assert!(EventType::ArticleDeleted.matches("*"));
        assert!(!EventType::ArticleDeleted.matches("section.*"));
        assert!(!EventType::ArticleDeleted.matches("article.published"));
        for ok in [
            "*",
            "article.*",
            "tag.created",
            "import.completed",
            "import.*",
            "comment.*",
            "comment.removed",
        ] {
            assert!(EventType::is_pattern(ok), "{ok}");
        }
        for bad in [
            "",
            "article",
            "article.created",
            "article.**",
            "comment.created",
            "x.*",
        ] {
            assert!(!EventType::is_pattern(bad), "{bad}");
        }
    }
}
