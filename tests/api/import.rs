//! The bulk import: idempotent re-imports, record-level errors with rollback, cleaning,
//! and the demo newsroom.

use serde_json::{Value, json};

use gazette::domain::import::{Counts, ImportSource, Outcome, Stage};

use crate::fixtures::{many_articles, newsroom};
use crate::helpers::{TestApp, assert_body_html};
use crate::storage_tests;

storage_tests!(
    reimporting_a_file_creates_nothing_and_reports_every_record_unchanged,
    reimporting_changed_records_changes_what_readers_see,
    an_article_edited_after_an_import_is_overwritten_and_counted_as_updated,
    a_bad_record_is_skipped_and_named_and_the_rest_is_imported,
    a_record_of_the_wrong_shape_is_skipped_with_the_path_of_its_field,
    a_file_that_is_not_an_import_file_is_refused_before_anything_is_written,
    sections_and_authors_may_come_after_the_articles_that_use_them,
    section_cycles_and_duplicate_slugs_are_reported_not_imported,
    a_twenty_megabyte_post_is_skipped_and_the_rest_imported,
    an_interrupted_import_rerun_ends_as_one_uninterrupted_run,
    imported_inline_html_is_cleaned_to_the_allow_list,
    the_demo_newsroom_loads_and_uses_every_block_kind,
);

/// The tables an import fills.
const IMPORTED: [&str; 7] = [
    "sections",
    "authors",
    "tags",
    "articles",
    "article_authors",
    "article_tags",
    "comments",
];

fn counts(c: &Counts) -> [usize; 4] {
    [c.created, c.updated, c.unchanged, c.skipped]
}

async fn reimporting_a_file_creates_nothing_and_reports_every_record_unchanged(app: &TestApp) {
    let first = app.import(newsroom()).await;
    assert_eq!(counts(&first.sections), [3, 0, 0, 0]);
    assert_eq!(counts(&first.authors), [2, 0, 0, 0]);
    assert_eq!(counts(&first.articles), [8, 0, 0, 0]);
    assert_eq!(counts(&first.comments), [6, 0, 0, 0]);
    assert!(first.issues.is_empty(), "{:?}", first.issues);
    let before = app.row_counts(&IMPORTED).await;
    assert_eq!(before, [3, 2, 5, 8, 9, 11, 6]);

    let again = app.import(newsroom()).await;
    assert_eq!(counts(&again.sections), [0, 0, 3, 0]);
    assert_eq!(counts(&again.authors), [0, 0, 2, 0]);
    assert_eq!(counts(&again.articles), [0, 0, 8, 0]);
    assert_eq!(counts(&again.comments), [0, 0, 6, 0]);
    assert_eq!(
        app.row_counts(&IMPORTED).await,
        before,
        "nothing duplicated"
    );
    let v = app
        .query(
            "{ article(slug: \"talks-resume\") { version commentCount } }",
            json!({}),
        )
        .await;
    assert_eq!(v["article"], json!({ "version": 1, "commentCount": 3 }));
    assert_eq!(
        app.count_rows("article_revisions").await,
        8,
        "an unchanged article gets no new revision"
    );
    assert_eq!(app.count_rows("change_log").await, 8);
}

async fn reimporting_changed_records_changes_what_readers_see(app: &TestApp) {
    app.import(newsroom()).await;
    let mut file = newsroom();
    file["articles"][0]["headline"] = json!("A new headline");
    file["articles"][0]["tags"] = json!(["fresh tag"]);
    file["articles"][0]["authors"] = json!(["lena-berg", "omar-haddad"]);
    file["comments"][1]["status"] = json!("REJECTED");
    file["authors"][1]["title"] = json!("Business Editor");
    let report = app.import(file).await;
    assert_eq!(counts(&report.articles), [0, 1, 7, 0]);
    assert_eq!(counts(&report.comments), [0, 1, 5, 0]);
    assert_eq!(counts(&report.authors), [0, 1, 1, 0]);
    let data = app
        .query("{ article(slug: \"talks-resume\") { headline version tags { name } authors { slug title } commentCount } }", json!({}))
        .await;
    assert_eq!(
        data["article"],
        json!({
            "headline": "A new headline",
            "version": 2,
            "tags": [{ "name": "fresh tag" }],
            "authors": [{ "slug": "lena-berg", "title": "Business Editor" }, { "slug": "omar-haddad", "title": "World Editor" }],
            "commentCount": 2
        })
    );
}

async fn an_article_edited_after_an_import_is_overwritten_and_counted_as_updated(app: &TestApp) {
    app.import(newsroom()).await;
    app.exec(
        "UPDATE articles SET headline = 'Edited in gazette', version = version + 1 WHERE slug = 'summit-ends'",
    )
    .await;
    let report = app.import(newsroom()).await;
    assert_eq!(counts(&report.articles), [0, 1, 7, 0]);
    let data = app
        .query(
            "{ article(slug: \"summit-ends\") { headline version } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["article"],
        json!({ "headline": "Headline of summit-ends", "version": 3 })
    );
}

async fn a_bad_record_is_skipped_and_named_and_the_rest_is_imported(app: &TestApp) {
    // The harness imports 3 articles per batch; the 4th article is bad: it is skipped, and
    // the rest of its batch and the batches after it are imported.
    type Case = (&'static str, fn(&mut Value), &'static str, &'static str);
    let cases: Vec<Case> = vec![
        (
            "unknown section",
            |f| f["articles"][3]["section"] = json!("sport"),
            "markets-rally",
            "section: \"sport\" is not a section",
        ),
        (
            "missing author",
            |f| f["articles"][3]["authors"] = json!(["ghost"]),
            "markets-rally",
            "authors: \"ghost\" is not an author",
        ),
        (
            "bad slug",
            |f| f["articles"][3]["slug"] = json!("Not A Slug"),
            "Not A Slug",
            "slug must be lowercase",
        ),
        (
            "unsafe image",
            |f| f["articles"][3]["body"][4]["image"]["url"] = json!("javascript:alert(1)"),
            "markets-rally",
            "body[4]: image.url",
        ),
        (
            "empty headline",
            |f| f["articles"][3]["headline"] = json!("  "),
            "markets-rally",
            "headline",
        ),
        (
            "no authors",
            |f| f["articles"][3]["authors"] = json!([]),
            "markets-rally",
            "authors",
        ),
        (
            "scheduled without a time",
            |f| f["articles"][3]["status"] = json!("SCHEDULED"),
            "markets-rally",
            "scheduledAt is required",
        ),
    ];
    for (what, break_it, id, want) in cases {
        app.exec("DELETE FROM comments").await;
        app.exec("DELETE FROM articles").await;
        let mut file = newsroom();
        break_it(&mut file);
        let report = app.try_import(file).await.expect(what);
        assert_eq!(counts(&report.articles), [7, 0, 0, 1], "{what}");
        let issue = &report.issues[0];
        assert_eq!(
            (issue.kind, issue.index, issue.id.as_str(), issue.outcome),
            ("articles", Some(3), id, Outcome::Skipped),
            "{what}"
        );
        assert!(issue.reason.starts_with(want), "{what}: {issue:?}");
        assert_eq!(app.count_rows("articles").await, 7, "{what}");
        assert_eq!(
            app.count_rows("articles WHERE slug = 'markets-rally'")
                .await,
            0,
            "{what}: nothing of the skipped article"
        );
        assert_eq!(app.count_rows("article_revisions").await, 7, "{what}");
        assert_eq!(app.count_rows("comments").await, 6, "{what}");
    }

    // A comment whose parent is not a comment of the same article, and one on an article
    // that is not there: both skipped and named, the others imported.
    app.exec("DELETE FROM comments").await;
    let mut file = newsroom();
    file["comments"][1]["parent"] = json!("c6");
    file["comments"][4]["article"] = json!("no-such-article");
    let report = app.try_import(file).await.expect("comments");
    assert_eq!(counts(&report.comments), [4, 0, 0, 2]);
    let skipped: Vec<(Option<usize>, &str, &str)> = report
        .issues
        .iter()
        .map(|i| (i.index, i.id.as_str(), i.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (
                Some(4),
                "c5",
                "article: \"no-such-article\" is not an article"
            ),
            (
                Some(1),
                "c2",
                "parent: \"c6\" is not an earlier comment on the same article"
            ),
        ]
    );
    assert_eq!(app.count_rows("comments").await, 4);
}

async fn a_record_of_the_wrong_shape_is_skipped_with_the_path_of_its_field(app: &TestApp) {
    type Case = (
        &'static str,
        fn(&mut Value),
        &'static str,
        usize,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "missing headline",
            |f| {
                f["articles"][2]
                    .as_object_mut()
                    .map(|o| o.remove("headline"));
            },
            "articles",
            2,
            "missing field `headline`",
        ),
        (
            "unknown status",
            |f| f["articles"][1]["status"] = json!("LIVE"),
            "articles",
            1,
            "status: unknown variant `LIVE`",
        ),
        (
            "unknown block",
            |f| f["articles"][0]["body"][1] = json!({ "video": { "url": "x" } }),
            "articles",
            0,
            "body[1]: unknown variant `video`",
        ),
        (
            "bad date",
            |f| f["articles"][5]["publishedAt"] = json!("yesterday"),
            "articles",
            5,
            "publishedAt: ",
        ),
        (
            "wrong type",
            |f| f["authors"][0]["name"] = json!(42),
            "authors",
            0,
            "name: invalid type",
        ),
    ];
    for (what, break_it, kind, index, want) in cases {
        let mut file = newsroom();
        break_it(&mut file);
        let report = app.try_import(file).await.expect(what);
        let issue = &report.issues[0];
        assert_eq!((issue.kind, issue.index), (kind, Some(index)), "{what}");
        assert!(issue.reason.starts_with(want), "{what}: {issue:?}");
        assert_eq!(report.counts(Stage::parse(kind).expect("kind")).skipped, 1);
    }
}

async fn a_file_that_is_not_an_import_file_is_refused_before_anything_is_written(app: &TestApp) {
    let whole = serde_json::to_vec(&newsroom()).expect("json");
    let mut invalid_utf8 = whole.clone();
    let at = whole
        .windows(7)
        .position(|w| w == b"Omar Ha")
        .expect("a name");
    invalid_utf8[at + 1] = 0xff;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated",
            whole[..whole.len() * 2 / 3].to_vec(),
            ": EOF while parsing",
        ),
        (
            "WordPress XML given as gazette's format",
            b"<?xml version=\"1.0\"?><rss version=\"2.0\"></rss>".to_vec(),
            "is not a gazette import file: expected value at line 1 column 1",
        ),
        (
            "invalid UTF-8",
            invalid_utf8,
            "is not a gazette import file: authors[0]: invalid unicode code point",
        ),
        (
            "a list instead of an object",
            b"[{\"slug\": \"x\"}]".to_vec(),
            "is not a gazette import file: invalid type: sequence, expected a JSON object",
        ),
        (
            "articles not a list",
            br#"{"sections": [], "articles": {"slug": "x"}}"#.to_vec(),
            "is not a gazette import file: invalid type: map, expected an array of articles",
        ),
        (
            "trailing garbage",
            [whole.as_slice(), b" {}"].concat(),
            "is not a gazette import file: trailing characters",
        ),
    ];
    for (what, bytes, want) in cases {
        let err = app
            .try_import_source(ImportSource::bytes(bytes))
            .await
            .expect_err(what);
        assert_eq!(err.code(), "BAD_USER_INPUT", "{what}");
        assert!(err.to_string().contains(want), "{what}: {err}");
        assert_eq!(
            app.row_counts(&IMPORTED).await,
            [0; 7],
            "{what}: nothing written"
        );
    }
    let err = app
        .try_import_source(ImportSource::file("/nonexistent/newsroom.json"))
        .await
        .expect_err("missing file");
    assert!(
        err.to_string()
            .starts_with("cannot read /nonexistent/newsroom.json"),
        "{err}"
    );
}

async fn sections_and_authors_may_come_after_the_articles_that_use_them(app: &TestApp) {
    let file = newsroom();
    // Keys in reverse order, and a child section before its parent.
    let mut sections = file["sections"].as_array().expect("sections").clone();
    sections.reverse();
    let text = format!(
        "{{\"comments\": {}, \"articles\": {}, \"authors\": {}, \"sections\": {}}}",
        file["comments"],
        file["articles"],
        file["authors"],
        json!(sections)
    );
    let report = app
        .try_import_source(ImportSource::bytes(text.into_bytes()))
        .await
        .expect("import");
    assert!(report.issues.is_empty(), "{:?}", report.issues);
    assert_eq!(app.row_counts(&IMPORTED).await, [3, 2, 5, 8, 9, 11, 6]);
    let data = app
        .query(
            "{ article(slug: \"talks-resume\") { breadcrumb { path } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["article"]["breadcrumb"],
        json!([{ "path": "world" }, { "path": "world/middle-east" }])
    );
}

async fn section_cycles_and_duplicate_slugs_are_reported_not_imported(app: &TestApp) {
    let mut file = newsroom();
    file["sections"] = json!([
        { "slug": "world", "name": "World" },
        { "slug": "middle-east", "name": "Middle East", "parent": "world" },
        { "slug": "business", "name": "Business" },
        { "slug": "a", "name": "A", "parent": "c" },
        { "slug": "b", "name": "B", "parent": "a" },
        { "slug": "c", "name": "C", "parent": "b" },
        { "slug": "orphan", "name": "Orphan", "parent": "a" },
        { "slug": "business", "name": "Business again" }
    ]);
    let mut dup = file["articles"][0].clone();
    dup["headline"] = json!("The same slug again");
    file["articles"].as_array_mut().expect("articles").push(dup);
    let mut dup_author = file["authors"][0].clone();
    dup_author["name"] = json!("Someone else");
    file["authors"]
        .as_array_mut()
        .expect("authors")
        .push(dup_author);
    let report = app.import(file).await;
    let reasons: Vec<String> = report
        .issues
        .iter()
        .map(|i| {
            format!(
                "{}[{}] {}: {}",
                i.kind,
                i.index.unwrap_or(0),
                i.id,
                i.reason
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "sections[3] a: parent: the sections form a cycle (a → c → b → a)",
            "sections[4] b: parent: the sections form a cycle (a → c → b → a)",
            "sections[5] c: parent: the sections form a cycle (a → c → b → a)",
            "sections[6] orphan: parent: the sections form a cycle (a → c → b → a)",
            "sections[7] business: duplicate: sections[2] has the same path \"business\"",
            "authors[2] omar-haddad: duplicate slug: authors[0] has it too",
            "articles[8] talks-resume: duplicate slug: articles[0] has it too",
        ]
    );
    assert_eq!(app.row_counts(&IMPORTED).await, [3, 2, 5, 8, 9, 11, 6]);
    let data = app
        .query(
            "{ article(slug: \"talks-resume\") { headline } author(slug: \"omar-haddad\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({ "article": { "headline": "Headline of talks-resume" }, "author": { "name": "Omar Haddad" } }),
        "the first of the duplicates is kept"
    );
}

async fn a_twenty_megabyte_post_is_skipped_and_the_rest_imported(app: &TestApp) {
    let mut file = newsroom();
    let huge = "<p>word </p>".repeat(20 * 1024 * 1024 / 12);
    file["articles"][2]["body"] = json!([{ "paragraph": { "html": huge } }]);
    let report = app.import(file).await;
    assert_eq!(counts(&report.articles), [7, 0, 0, 1]);
    let issue = &report.issues[0];
    assert_eq!((issue.index, issue.id.as_str()), (Some(2), "summit-ends"));
    assert!(issue.reason.contains("body"), "{issue:?}");
    assert_eq!(
        app.count_rows("articles WHERE slug = 'summit-ends'").await,
        0
    );
}

async fn an_interrupted_import_rerun_ends_as_one_uninterrupted_run(app: &TestApp) {
    let file = many_articles(60);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("newsroom.json");
    std::fs::write(&path, serde_json::to_vec(&file).expect("json")).expect("write");

    // Stop the import (as a kill would: mid-transaction, between batches) once a third of
    // the articles are in.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let db = app.db.clone();
    let source = ImportSource::file(&path);
    let task = tokio::spawn(async move {
        let progress = move |stage: Stage, done: usize, _: usize| {
            if stage == Stage::Articles && done >= 20 {
                tx.send(()).ok();
            }
        };
        gazette::domain::import::import(&db, source, 3, &progress).await
    });
    rx.recv().await.expect("the import got a third of the way");
    task.abort();
    assert!(task.await.expect_err("stopped").is_cancelled());
    let stored = app.count_rows("articles").await;
    assert!(
        (20..60).contains(&stored),
        "{stored} articles before the rerun"
    );

    let report = app
        .try_import_source(ImportSource::file(&path))
        .await
        .expect("rerun");
    assert_eq!(report.articles.imported(), 60);
    assert_eq!(report.articles.unchanged, stored as usize);
    assert_eq!(report.articles.created, 60 - stored as usize);
    // The state of one uninterrupted run: every record once, each article at version 1
    // with one revision and one change.
    assert_eq!(
        app.row_counts(&IMPORTED).await,
        [1, 60, 61, 60, 60, 120, 60]
    );
    assert_eq!(app.count_rows("articles WHERE version = 1").await, 60);
    assert_eq!(app.count_rows("article_revisions").await, 60);
    assert_eq!(app.count_rows("change_log").await, 60);
    let data = app
        .query(
            "{ article(slug: \"story-59\") { headline tags { name } commentCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["article"],
        json!({ "headline": "Story 59", "tags": [{ "name": "tag 59" }, { "name": "shared" }], "commentCount": 1 })
    );
}

async fn imported_inline_html_is_cleaned_to_the_allow_list(app: &TestApp) {
    let mut file = newsroom();
    file["articles"][0]["body"] = json!([
        { "paragraph": { "html": "<p onclick=\"steal()\">Hi <script>alert(1)</script><a href=\"javascript:alert(1)\">x</a> <b style=\"color:red\">b</b></p>" } },
        { "list": { "ordered": true, "items": ["<img src=x onerror=alert(1)>item"] } },
        { "quote": { "html": "<iframe src=\"https://evil.example\"></iframe>quoted" } }
    ]);
    app.import(file).await;
    let data = app
        .query(
            "{ article(slug: \"talks-resume\") { body { ... on ParagraphBlock { html } ... on ListBlock { items } ... on QuoteBlock { html } } bodyHtml } }",
            json!({}),
        )
        .await;
    let a = &data["article"];
    assert_eq!(
        a["body"][0]["html"],
        "Hi <a rel=\"noopener noreferrer\">x</a> <b>b</b>"
    );
    assert_eq!(a["body"][1]["items"], json!(["item"]));
    assert_eq!(a["body"][2]["html"], "quoted");
    assert_body_html(
        a,
        &["item", "quoted"],
        &[
            "script",
            "onclick",
            "onerror",
            "javascript:",
            "iframe",
            "style",
        ],
    );
}

async fn the_demo_newsroom_loads_and_uses_every_block_kind(app: &TestApp) {
    let summary = gazette::commands::load_demo(&app.db)
        .await
        .expect("demo loads");
    assert!(
        summary.sections >= 8 && summary.authors >= 6 && summary.articles >= 40,
        "{summary:?}"
    );
    let data = app
        .query(
            "{ sections { path children { path } }
               articles(first: 100) { totalCount edges { node { authors { title } tags { slug } body { __typename } } } } }",
            json!({}),
        )
        .await;
    assert!(
        data["sections"]
            .as_array()
            .expect("sections")
            .iter()
            .any(|s| s["children"].as_array().is_some_and(|c| !c.is_empty())),
        "some sections are nested"
    );
    assert!(data["articles"]["totalCount"].as_i64() >= Some(40));
    let text = data.to_string();
    for kind in [
        "HeadingBlock",
        "ParagraphBlock",
        "ListBlock",
        "QuoteBlock",
        "ImageBlock",
        "EmbedBlock",
    ] {
        assert!(text.contains(kind), "the demo uses {kind}");
    }
    let pending = app.count_rows("comments WHERE status = 'PENDING'").await;
    let approved = app.count_rows("comments WHERE status = 'APPROVED'").await;
    assert!(
        pending > 0 && approved > 0,
        "pending {pending}, approved {approved}"
    );
    // Tags are shared across articles.
    let shared = app
        .count_rows(
            "(SELECT tag_id FROM article_tags GROUP BY tag_id HAVING COUNT(*) > 1) AS shared",
        )
        .await;
    assert!(shared >= 5, "{shared} tags are shared");
}

/// `gazette import` as a user runs it: the report on the terminal and in `--report FILE`,
/// and the exit status (non-zero only when the file is unreadable or nothing could be
/// imported). SQLite only: the command's plumbing; what it stores is tested above on both.
mod command {
    use std::path::Path;
    use std::process::{Command, Output};

    use serde_json::{Value, json};

    use crate::fixtures::newsroom;

    fn gazette(data: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gazette"))
            .env_remove("DATABASE_URL")
            .env("GAZETTE_LOG", "warn")
            .arg("--data-dir")
            .arg(data)
            .args(args)
            .output()
            .expect("gazette runs")
    }

    #[test]
    fn the_command_reports_skipped_records_and_succeeds_when_some_were_imported() {
        let dir = tempfile::tempdir().expect("dir");
        let mut file = newsroom();
        file["articles"][3]["authors"] = json!(["ghost"]);
        let input = dir.path().join("newsroom.json");
        std::fs::write(&input, file.to_string()).expect("write");
        let report = dir.path().join("report.json");
        let out = gazette(
            &dir.path().join("db"),
            &[
                "import",
                input.to_str().expect("path"),
                "--report",
                report.to_str().expect("path"),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.contains(
                "skipped: articles[3] (\"markets-rally\"): authors: \"ghost\" is not an author"
            ),
            "{stderr}"
        );
        let report: Value =
            serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("JSON");
        assert_eq!(
            report["articles"],
            json!({ "created": 7, "updated": 0, "unchanged": 0, "skipped": 1 })
        );
        assert_eq!(report["issues"][0]["id"], "markets-rally");
        assert_eq!(report["format"], "gazette");
    }

    #[test]
    fn the_command_fails_when_the_file_is_unreadable_or_nothing_could_be_imported() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("db");
        let truncated = dir.path().join("truncated.json");
        std::fs::write(&truncated, &newsroom().to_string()[..500]).expect("write");
        let nothing = dir.path().join("nothing.json");
        std::fs::write(
            &nothing,
            json!({ "articles": [{ "slug": "x", "headline": "X", "section": "none", "authors": ["nobody"], "status": "DRAFT", "body": [] }] })
                .to_string(),
        )
        .expect("write");
        let cases = [
            (
                "missing",
                "/nonexistent/file.json",
                "cannot read /nonexistent/file.json",
            ),
            (
                "truncated",
                truncated.to_str().expect("path"),
                "is not a gazette import file: articles[",
            ),
            (
                "nothing importable",
                nothing.to_str().expect("path"),
                "nothing could be imported (1 records in the file, 1 skipped)",
            ),
        ];
        for (what, path, want) in cases {
            let out = gazette(&db, &["import", path]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{what}: {stderr}");
            assert!(stderr.contains(want), "{what}: {stderr}");
        }
    }

    #[test]
    fn a_bad_section_map_stops_the_command_before_anything_is_written() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("db");
        let wxr = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/wordpress/ledger.wxr"
        );
        let bad = dir.path().join("bad.map");
        std::fs::write(&bad, "business = business\nworld sport\n").expect("write");
        let unknown = dir.path().join("unknown.map");
        std::fs::write(&unknown, "world = sport\n").expect("write");
        let input = dir.path().join("newsroom.json");
        std::fs::write(&input, newsroom().to_string()).expect("write");
        let map = |p: &Path| p.to_str().expect("path").to_owned();
        let cases: [(&str, Vec<String>, &str); 4] = [
            (
                "malformed line",
                vec![
                    "--from".into(),
                    "wordpress".into(),
                    wxr.into(),
                    "--map".into(),
                    map(&bad),
                ],
                "bad.map: line 2: expected `category-or-tag-slug = section/path`",
            ),
            (
                "unknown section",
                vec![
                    "--from".into(),
                    "wordpress".into(),
                    wxr.into(),
                    "--map".into(),
                    map(&unknown),
                ],
                "line 1: section \"sport\"",
            ),
            (
                "missing map",
                vec![
                    "--from".into(),
                    "wordpress".into(),
                    wxr.into(),
                    "--map".into(),
                    "/nonexistent.map".into(),
                ],
                "cannot read the map /nonexistent.map",
            ),
            (
                "gazette's own format",
                vec![
                    input.to_str().expect("path").into(),
                    "--map".into(),
                    map(&bad),
                ],
                "--map applies to --from wordpress or --from ghost",
            ),
        ];
        for (what, args, want) in cases {
            let mut all = vec!["import"];
            all.extend(args.iter().map(String::as_str));
            let out = gazette(&db, &all);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{what}: {stderr}");
            assert!(stderr.contains(want), "{what}: {stderr}");
        }
        // Nothing was imported by any of them.
        let out = gazette(&db, &["export"]);
        let file: Value = serde_json::from_slice(&out.stdout).expect("an export");
        assert_eq!(file["articles"], json!([]), "{file}");
    }
}
