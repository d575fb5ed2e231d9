//! The export: a full export imported into an empty database gives the same content, field
//! for field; the options choose what is written.

use std::collections::BTreeMap;

use gazette::domain::CommentStatus;
use gazette::domain::export::{ExportOptions, ExportSummary};
use gazette::domain::import::{ImportSource, Stage};
use gazette::entities::{article, article_author, article_tag, author, comment, section, tag};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};
use serde_json::{Value, json};

use crate::fixtures::{many_articles, newsroom};
use crate::helpers::{TestApp, editor};
use crate::storage_tests;

storage_tests!(
    a_full_export_of_the_demo_imported_into_an_empty_database_gives_the_same_content,
    a_full_export_of_a_generated_newsroom_round_trips_with_edits_and_reader_comments,
    an_export_without_options_holds_only_published_articles,
    an_export_since_a_time_holds_only_articles_updated_since,
);

const FULL: ExportOptions = ExportOptions {
    since: None,
    drafts: true,
    revisions: false,
    comments: true,
};

async fn export(app: &TestApp, options: ExportOptions) -> (Vec<u8>, ExportSummary) {
    let mut out = Vec::new();
    let summary = gazette::domain::export::export(&app.db, options, &mut out, &|_, _, _| {})
        .await
        .expect("export");
    (out, summary)
}

/// Everything a newsroom holds, by identity (slugs, paths, comment content), without ids,
/// versions or bookkeeping times.
async fn content(app: &TestApp) -> Value {
    let db = &app.db;
    let sections = section::Entity::find()
        .order_by_asc(section::Column::Position)
        .order_by_asc(section::Column::Id)
        .all(db)
        .await
        .expect("sections");
    let paths: BTreeMap<i32, String> = sections.iter().map(|s| (s.id, s.path.clone())).collect();
    let authors = author::Entity::find().all(db).await.expect("authors");
    let slugs: BTreeMap<i32, String> = authors.iter().map(|a| (a.id, a.slug.clone())).collect();
    let tags = tag::Entity::find().all(db).await.expect("tags");
    let tag_slugs: BTreeMap<i32, String> = tags.iter().map(|t| (t.id, t.slug.clone())).collect();
    let mut bylines: BTreeMap<i32, Vec<(i32, String)>> = BTreeMap::new();
    for b in article_author::Entity::find()
        .all(db)
        .await
        .expect("bylines")
    {
        bylines
            .entry(b.article_id)
            .or_default()
            .push((b.position, slugs[&b.author_id].clone()));
    }
    let mut tagged: BTreeMap<i32, Vec<(i32, String)>> = BTreeMap::new();
    for t in article_tag::Entity::find().all(db).await.expect("tags") {
        tagged
            .entry(t.article_id)
            .or_default()
            .push((t.position, tag_slugs[&t.tag_id].clone()));
    }
    let comments = comment::Entity::find()
        .order_by_asc(comment::Column::Id)
        .all(db)
        .await
        .expect("comments");
    let by_id: BTreeMap<i32, &comment::Model> = comments.iter().map(|c| (c.id, c)).collect();
    let mut article_comments: BTreeMap<i32, Vec<Value>> = BTreeMap::new();
    for c in &comments {
        article_comments
            .entry(c.article_id)
            .or_default()
            .push(json!([
                c.author_name,
                c.body,
                c.status.as_str(),
                c.created_at,
                c.parent_id.map(|p| by_id[&p].body.clone()),
            ]));
    }
    let articles: BTreeMap<String, Value> = article::Entity::find()
        .all(db)
        .await
        .expect("articles")
        .into_iter()
        .map(|a| {
            let mut b = bylines.remove(&a.id).unwrap_or_default();
            b.sort();
            let mut t = tagged.remove(&a.id).unwrap_or_default();
            t.sort();
            let value = json!({
                "headline": a.headline, "dek": a.dek, "body": a.body, "wordCount": a.word_count,
                "section": paths[&a.section_id], "status": a.status.as_str(),
                "source": [a.source_name, a.source_url], "featuredImage": a.featured_image,
                "createdAt": a.created_at, "updatedAt": a.updated_at,
                "publishedAt": a.published_at, "scheduledAt": a.scheduled_at,
                "authors": b, "tags": t,
                "comments": article_comments.remove(&a.id).unwrap_or_default(),
            });
            (a.slug, value)
        })
        .collect();
    json!({
        "sections": sections.iter().map(|s| json!([s.path, s.name, s.description])).collect::<Vec<_>>(),
        "authors": authors.iter().map(|a| json!([a.slug, a.name, a.title, a.bio, a.avatar_url, a.subject])).collect::<Vec<_>>(),
        "tags": tags.iter().map(|t| json!([t.slug, t.name])).collect::<Vec<_>>(),
        "articles": articles,
    })
}

/// Exports `app` in full, imports that into an empty database, and compares the two.
async fn assert_round_trip(app: &TestApp) -> ExportSummary {
    let (file, summary) = export(app, FULL).await;
    let copy = app.empty_sibling().await;
    let report = copy
        .try_import_source(ImportSource::bytes(file))
        .await
        .expect("the export imports");
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    assert_eq!(report.articles.created, summary.articles);
    assert_eq!(report.comments.created, summary.comments);
    let (want, got) = (content(app).await, content(&copy).await);
    copy.cleanup().await;
    assert_eq!(
        want["articles"].as_object().map(|a| a.len()),
        Some(summary.articles)
    );
    for key in ["sections", "authors", "tags"] {
        assert_eq!(got[key], want[key], "{key}");
    }
    for (slug, article) in want["articles"].as_object().expect("articles") {
        assert_eq!(&got["articles"][slug], article, "article {slug}");
    }
    assert_eq!(got, want);
    summary
}

async fn a_full_export_of_the_demo_imported_into_an_empty_database_gives_the_same_content(
    app: &TestApp,
) {
    gazette::commands::load_demo(&app.db).await.expect("demo");
    let summary = assert_round_trip(app).await;
    assert!(
        summary.articles >= 40 && summary.comments > 0,
        "{summary:?}"
    );
}

async fn a_full_export_of_a_generated_newsroom_round_trips_with_edits_and_reader_comments(
    app: &TestApp,
) {
    app.import(newsroom()).await;
    app.import(many_articles(30)).await;
    // Content written in gazette, not by an import: an edit, and a reader's comment.
    let (id, version) = app.id_version("summit-ends").await;
    app.ok_as(
        &editor(),
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { headline: \"Summit ends in a deal\", tags: [\"Deal\", \"diplomacy\"] }) { version } }",
        json!({ "id": id, "v": version }),
    )
    .await;
    let article_id: i32 = id.parse().expect("numeric id");
    let reply_to = comment::Entity::find()
        .filter(comment::Column::ImportKey.eq("c1"))
        .one(&app.db)
        .await
        .expect("c1")
        .expect("c1 is there");
    comment::Entity::insert(comment::ActiveModel {
        id: NotSet,
        article_id: Set(article_id),
        parent_id: Set(None),
        author_name: Set("Reader".into()),
        body: Set("Good news".into()),
        status: Set(CommentStatus::Pending),
        import_key: Set(None),
        created_at: Set("2026-03-10T10:00:00Z".parse().expect("time")),
        updated_at: Set("2026-03-10T10:00:00Z".parse().expect("time")),
        ..Default::default()
    })
    .exec(&app.db)
    .await
    .expect("a reader's comment");
    comment::Entity::insert(comment::ActiveModel {
        id: NotSet,
        article_id: Set(reply_to.article_id),
        parent_id: Set(Some(reply_to.id)),
        author_name: Set("Another reader".into()),
        body: Set("A reply written in gazette".into()),
        status: Set(CommentStatus::Approved),
        import_key: Set(None),
        created_at: Set("2026-03-10T11:00:00Z".parse().expect("time")),
        updated_at: Set("2026-03-10T11:00:00Z".parse().expect("time")),
        ..Default::default()
    })
    .exec(&app.db)
    .await
    .expect("a reply");
    let summary = assert_round_trip(app).await;
    assert_eq!((summary.articles, summary.comments), (38, 38));
}

async fn an_export_without_options_holds_only_published_articles(app: &TestApp) {
    app.import(newsroom()).await;
    let (file, summary) = export(app, ExportOptions::default()).await;
    let file: Value = serde_json::from_slice(&file).expect("the export is JSON");
    assert_eq!((summary.articles, summary.comments), (6, 0));
    let statuses: Vec<&str> = file["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .map(|a| a["status"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["PUBLISHED"; 6]);
    assert!(file.get("comments").is_none());
    assert_eq!(file["sections"][1]["parent"], "world");
    assert!(
        !file.to_string().contains("secret-draft"),
        "no trace of a draft"
    );

    let (file, summary) = export(
        app,
        ExportOptions {
            revisions: true,
            ..FULL
        },
    )
    .await;
    assert_eq!(summary.revisions, 8);
    // An import of a file with revisions says it keeps them in the file only.
    let report = app
        .try_import_source(ImportSource::bytes(file))
        .await
        .expect("import");
    assert_eq!(report.articles.unchanged, 8);
    let rewritten: usize = Stage::ALL
        .iter()
        .map(|s| report.counts(*s).created + report.counts(*s).updated)
        .sum();
    assert_eq!(
        rewritten, 0,
        "imported over its source, a full export changes nothing"
    );
    assert_eq!(report.issues.len(), 1);
    assert!(
        report.issues[0]
            .reason
            .starts_with("revisions: kept in the file")
    );
}

async fn an_export_since_a_time_holds_only_articles_updated_since(app: &TestApp) {
    let mut file = newsroom();
    for (i, a) in file["articles"]
        .as_array_mut()
        .expect("articles")
        .iter_mut()
        .enumerate()
    {
        a["updatedAt"] = json!(format!("2026-03-{:02}T12:00:00Z", i + 1));
    }
    app.import(file).await;
    let since = "2026-03-05T00:00:00Z".parse().expect("time");
    let (out, summary) = export(
        app,
        ExportOptions {
            since: Some(since),
            ..FULL
        },
    )
    .await;
    let out: Value = serde_json::from_slice(&out).expect("JSON");
    let slugs: Vec<&str> = out["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .map(|a| a["slug"].as_str().expect("slug"))
        .collect();
    assert_eq!(
        slugs,
        [
            "port-profits",
            "aid-arrives",
            "secret-draft",
            "under-review"
        ]
    );
    assert_eq!(summary.comments, 1, "the comment on secret-draft");
    assert_eq!(summary.sections, 3, "sections are always whole");
}
