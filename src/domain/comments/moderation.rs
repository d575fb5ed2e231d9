//! The moderation queue and decisions (editors). A decision is recorded (who, when, from
//! what to what, the note), leaves an event in the change stream with the article's
//! surrogate key in the same transaction (so `commentCount` and the comment pages follow at
//! once), and, when an external checker is configured, is reported to it as spam or ham
//! after the commit.

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, Condition, ConnectionTrait, EntityTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use super::akismet::Submission;
use super::settings::Service;
use crate::domain::access::{ArticleFacts, Caller, Role};
use crate::domain::articles::page_size;
use crate::domain::batched::Page;
use crate::domain::cursor::{Cursor, micros_to_time};
use crate::domain::invalidation::Key;
use crate::domain::stream::{self, Event};
use crate::domain::{CommentStatus, articles, now, transaction};
use crate::entities::{comment, comment_decision, comment_state};
use crate::error::{AppError, Result};

/// Most comments one `moderateComments` decides.
pub const MAX_BATCH: usize = 100;
/// Longest moderation note, in characters.
pub const MAX_NOTE_CHARS: usize = 1_000;

/// One page of the queue.
#[derive(Clone, Debug)]
pub struct QueueRequest {
    pub status: CommentStatus,
    /// An article's slug.
    pub article: Option<String>,
    pub first: Option<i32>,
    pub after: Option<String>,
}

/// The queue: comments of one status, oldest first, with scores and reasons (editors).
pub async fn queue(
    db: &impl ConnectionTrait,
    caller: &Caller,
    req: &QueueRequest,
) -> Result<Page<comment::Model>> {
    caller.require(Role::Editor, "read the comment queue")?;
    let first = page_size(req.first, 20)?;
    let mut q = comment::Entity::find().filter(comment::Column::Status.eq(req.status.as_str()));
    if let Some(slug) = &req.article {
        let Some(a) = articles::find_by_slug(db, slug).await? else {
            return Err(AppError::not_found(format!(
                "no article with slug {slug:?}"
            )));
        };
        q = q.filter(comment::Column::ArticleId.eq(a.id));
    }
    if let Some(after) = req.after.as_deref() {
        let (at, id) = match Cursor::decode(after)? {
            Cursor::Created(micros, id) => (micros_to_time(micros)?, id),
            _ => {
                return Err(AppError::bad_input(
                    "`after` is a cursor of another listing",
                ));
            }
        };
        q = q.filter(
            Condition::any().add(comment::Column::CreatedAt.gt(at)).add(
                Condition::all()
                    .add(comment::Column::CreatedAt.eq(at))
                    .add(comment::Column::Id.gt(id)),
            ),
        );
    }
    let mut items = q
        .order_by_asc(comment::Column::CreatedAt)
        .order_by_asc(comment::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next = items.len() as u64 > first;
    items.truncate(first as usize);
    Ok(Page { items, has_next })
}

/// The cursor of a queue item (and of an article's comment page).
pub fn cursor(c: &comment::Model) -> String {
    Cursor::Created(c.created_at.timestamp_micros(), c.id).encode()
}

/// Moves `ids` to `status`, recording each change; all or nothing (editors).
pub async fn moderate(
    db: &sea_orm::DatabaseConnection,
    svc: &Service,
    caller: &Caller,
    ids: &[i32],
    status: CommentStatus,
    note: Option<&str>,
) -> Result<Vec<comment::Model>> {
    caller.require(Role::Editor, "moderate comments")?;
    let actor = caller.sub().unwrap_or_default().to_owned();
    if ids.is_empty() || ids.len() > MAX_BATCH {
        return Err(AppError::bad_input(format!(
            "moderate between 1 and {MAX_BATCH} comments at once"
        )));
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = note
        && (n.chars().count() > MAX_NOTE_CHARS || n.contains('\0'))
    {
        return Err(AppError::bad_input(format!(
            "the note is longer than {MAX_NOTE_CHARS} characters or holds NUL"
        )));
    }
    let report = svc.akismet.is_some();
    let (done, reports) = transaction::write(db, |txn| {
        let actor = &actor;
        async move {
            let found = comment::Entity::find()
                .filter(comment::Column::Id.is_in(ids.iter().copied()))
                .all(&*txn)
                .await?;
            let mut out = Vec::with_capacity(ids.len());
            let mut decided = Vec::new();
            let mut reports = Vec::new();
            let at = now();
            for id in ids {
                let Some(c) = found.iter().find(|c| c.id == *id) else {
                    return Err(AppError::not_found(format!("no comment {id}")));
                };
                if c.status == status {
                    out.push(c.clone());
                    continue;
                }
                let reported = match (report, status) {
                    (true, CommentStatus::Spam) => Some("spam"),
                    (true, CommentStatus::Approved) => Some("ham"),
                    _ => None,
                };
                comment_decision::ActiveModel {
                    comment_id: Set(Some(c.id)),
                    article_id: Set(c.article_id),
                    actor: Set(actor.clone()),
                    from_status: Set(c.status.as_str().into()),
                    to_status: Set(status.as_str().into()),
                    note: Set(note.map(str::to_owned)),
                    reported: Set(reported.map(str::to_owned)),
                    at: Set(at),
                    ..Default::default()
                }
                .insert(&*txn)
                .await?;
                let mut m: comment::ActiveModel = c.clone().into();
                m.status = Set(status);
                m.updated_at = Set(at);
                let updated = m.update(&*txn).await?;
                decided.push((c.clone(), stream::comment_action(c.status, status)));
                if let Some(r) = reported {
                    reports.push((updated.clone(), r == "spam"));
                }
                out.push(updated);
            }
            stream::append(&*txn, super::decision_events(&*txn, &decided, actor).await?).await?;
            Ok(Decided(out, reports))
        }
    })
    .await
    .map(|Decided(a, b)| (a, b))?;
    if let Some(k) = svc.akismet.clone()
        && !reports.is_empty()
    {
        // After the commit, off the request: the decision stands whatever the service says.
        tokio::spawn(async move {
            for (c, spam) in reports {
                if let Err(why) = k.report(&submission(&c), spam).await {
                    tracing::warn!(
                        comment = c.id,
                        why,
                        "reporting a decision to the spam checker failed"
                    );
                }
            }
        });
    }
    Ok(done)
}

/// What a write of decisions returns.
struct Decided(Vec<comment::Model>, Vec<(comment::Model, bool)>);

impl crate::domain::idempotency::Outcome for Decided {
    fn outcome(&self) -> String {
        "done".into()
    }
}

/// What the external checker is told about a stored comment.
pub fn submission(c: &comment::Model) -> Submission {
    Submission {
        user_ip: c.client_address.clone().unwrap_or_default(),
        user_agent: c.user_agent.clone().unwrap_or_default(),
        permalink: None,
        author: c.author_name.clone(),
        author_email: c.author_email.clone(),
        content: c.body.clone(),
        date_gmt: c.created_at.to_rfc3339(),
    }
}

/// Opens or closes an article's comments (editors); the article's pages follow at once.
pub async fn set_open(
    db: &sea_orm::DatabaseConnection,
    caller: &Caller,
    article_id: i32,
    open: bool,
) -> Result<crate::entities::article::Model> {
    caller.require(Role::Editor, "open or close comments")?;
    let actor = caller.sub().unwrap_or_default().to_owned();
    transaction::write(db, |txn| {
        let actor = &actor;
        async move {
            let a = crate::entities::article::Entity::find_by_id(article_id)
                .one(&*txn)
                .await?
                .ok_or_else(|| AppError::not_found(format!("no article {article_id}")))?;
            comment_state::Entity::insert(comment_state::ActiveModel {
                article_id: Set(a.id),
                closed: Set(!open),
                changed_by: Set(actor.clone()),
                changed_at: Set(now()),
            })
            .on_conflict(
                OnConflict::column(comment_state::Column::ArticleId)
                    .update_columns([
                        comment_state::Column::Closed,
                        comment_state::Column::ChangedBy,
                        comment_state::Column::ChangedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&*txn)
            .await?;
            let facts = ArticleFacts::of(&a);
            stream::append(
                &*txn,
                vec![Event::article(
                    a.id,
                    if open {
                        "comments_opened"
                    } else {
                        "comments_closed"
                    },
                    Some(actor),
                    Some(a.version),
                    Some(facts),
                    Some(facts),
                    [Key::Article(a.id)],
                )],
            )
            .await?;
            Ok(a)
        }
    })
    .await
}

/// Each comment's moderation history, oldest decision first (one statement for all of them).
/// Editors only: callers check the role, as for the other editor-only fields of a comment.
pub async fn history(
    db: &impl ConnectionTrait,
    comment_ids: &[i32],
) -> Result<std::collections::HashMap<i32, Vec<comment_decision::Model>>> {
    let mut out: std::collections::HashMap<i32, Vec<comment_decision::Model>> =
        std::collections::HashMap::new();
    for d in decisions(db, comment_ids).await? {
        if let Some(id) = d.comment_id {
            out.entry(id).or_default().push(d);
        }
    }
    Ok(out)
}

/// The decisions on `comment_ids`, oldest first.
pub async fn decisions(
    db: &impl ConnectionTrait,
    comment_ids: &[i32],
) -> Result<Vec<comment_decision::Model>> {
    Ok(comment_decision::Entity::find()
        .filter(comment_decision::Column::CommentId.is_in(comment_ids.iter().copied()))
        .order_by_asc(comment_decision::Column::At)
        .order_by_asc(comment_decision::Column::Id)
        .all(db)
        .await?)
}
