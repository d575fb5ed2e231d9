//! The article workflow as one state machine:
//!
//! ```text
//! DRAFT ──submit──▶ IN_REVIEW ──publish──▶ PUBLISHED ──unpublish──▶ UNPUBLISHED
//!   │                  │   └──schedule──▶ SCHEDULED ──(due)──▶ PUBLISHED     │
//!   └──publish/schedule┘                      └──unpublish──▶ UNPUBLISHED    │
//! PUBLISHED, UNPUBLISHED ──archive──▶ ARCHIVED        UNPUBLISHED ──submit/publish/schedule
//! ```
//!
//! Editors may publish a draft directly (breaking news skips review). `ARCHIVED` is final.

use super::ArticleStatus::{self, *};
use crate::error::{AppError, Result};

/// A workflow step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Submit,
    Publish,
    Schedule,
    Unpublish,
    Archive,
    /// The scheduler publishing a due article.
    PublishDue,
}

impl Transition {
    /// The verb, as revisions and the change log record it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Publish => "publish",
            Self::Schedule => "schedule",
            Self::Unpublish => "unpublish",
            Self::Archive => "archive",
            Self::PublishDue => "publish-scheduled",
        }
    }

    /// The state this step leads to from `from`, or `BAD_USER_INPUT` naming both states.
    pub fn apply(self, from: ArticleStatus) -> Result<ArticleStatus> {
        let to = match self {
            Self::Submit => InReview,
            Self::Publish | Self::PublishDue => Published,
            Self::Schedule => Scheduled,
            Self::Unpublish => Unpublished,
            Self::Archive => Archived,
        };
        let allowed = match self {
            Self::Submit => matches!(from, Draft | Unpublished),
            Self::Publish => matches!(from, Draft | InReview | Scheduled | Unpublished),
            Self::Schedule => matches!(from, Draft | InReview | Scheduled | Unpublished),
            Self::Unpublish => matches!(from, Published | Scheduled),
            Self::Archive => matches!(from, Published | Unpublished),
            Self::PublishDue => from == Scheduled,
        };
        if allowed {
            Ok(to)
        } else {
            Err(AppError::bad_input(format!(
                "cannot {} an article that is {}: {} → {} is not a workflow step",
                self.name(),
                from.as_str(),
                from.as_str(),
                to.as_str()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_steps_lead_where_the_diagram_says() {
        assert_eq!(Transition::Submit.apply(Draft).ok(), Some(InReview));
        assert_eq!(Transition::Publish.apply(InReview).ok(), Some(Published));
        assert_eq!(Transition::Schedule.apply(InReview).ok(), Some(Scheduled));
        assert_eq!(
            Transition::Unpublish.apply(Published).ok(),
            Some(Unpublished)
        );
        assert_eq!(Transition::Archive.apply(Unpublished).ok(), Some(Archived));
        assert_eq!(
            Transition::PublishDue.apply(Scheduled).ok(),
            Some(Published)
        );
    }

    #[test]
    fn illegal_steps_name_both_states() {
        let cases = [
            (Transition::Submit, Published, "PUBLISHED → IN_REVIEW"),
            (Transition::Publish, Archived, "ARCHIVED → PUBLISHED"),
            (Transition::Unpublish, Draft, "DRAFT → UNPUBLISHED"),
            (Transition::Archive, InReview, "IN_REVIEW → ARCHIVED"),
            (Transition::PublishDue, Published, "PUBLISHED → PUBLISHED"),
        ];
        for (t, from, want) in cases {
            let err = t.apply(from).expect_err(want);
            assert_eq!(err.code(), "BAD_USER_INPUT");
            assert!(err.to_string().contains(want), "{err}");
        }
    }
}
