//! The domain's closed sets as GraphQL enums. Each mirrors its domain type variant for
//! variant (`remote`), so the domain derives nothing of GraphQL's and a variant added there
//! fails to compile here until the schema says what it is.

use async_graphql::Enum;

/// Where an article is in the newsroom's workflow. Only `Published` is public.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "ArticleStatus", remote = "crate::domain::ArticleStatus")]
pub enum ArticleStatus {
    Draft,
    InReview,
    Scheduled,
    Published,
    Unpublished,
    Archived,
}

/// A comment's moderation state. Only `Approved` comments are public.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "CommentStatus", remote = "crate::domain::CommentStatus")]
pub enum CommentStatus {
    Pending,
    Approved,
    Spam,
    Rejected,
}

/// How the tags of a filter combine.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(name = "TagMatch", remote = "crate::domain::filter::TagMatch")]
pub enum TagMatch {
    /// At least one of the tags.
    Any,
    /// Every one of the tags.
    All,
}
