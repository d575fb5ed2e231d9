//! The bulk import: idempotent re-imports, record-level errors with rollback, cleaning,
//! and the demo newsroom.

use serde_json::{Value, json};

use crate::fixtures::newsroom;
use crate::helpers::{TestApp, assert_body_html};
use crate::storage_tests;

storage_tests!(
    reimporting_a_file_updates_by_slug_and_creates_no_duplicates,
    reimporting_changed_records_changes_what_readers_see,
    a_bad_record_is_named_and_only_its_batch_is_rolled_back,
    a_malformed_file_is_refused_before_anything_is_written,
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

async fn reimporting_a_file_updates_by_slug_and_creates_no_duplicates(app: &TestApp) {
    let summary = app.import(newsroom()).await;
    assert_eq!(
        (
            summary.sections,
            summary.authors,
            summary.articles,
            summary.comments
        ),
        (3, 2, 8, 6)
    );
    let before = app.row_counts(&IMPORTED).await;
    assert_eq!(before, [3, 2, 5, 8, 9, 11, 6]);
    app.import(newsroom()).await;
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
    assert_eq!(v["article"], json!({ "version": 2, "commentCount": 3 }));
    assert_eq!(
        app.count_rows("article_revisions").await,
        16,
        "each import of each article is a revision"
    );
    assert_eq!(app.count_rows("change_log").await, 16);
}

async fn reimporting_changed_records_changes_what_readers_see(app: &TestApp) {
    app.import(newsroom()).await;
    let mut file = newsroom();
    file["articles"][0]["headline"] = json!("A new headline");
    file["articles"][0]["tags"] = json!(["fresh tag"]);
    file["articles"][0]["authors"] = json!(["lena-berg", "omar-haddad"]);
    file["comments"][1]["status"] = json!("REJECTED");
    app.import(file).await;
    let data = app
        .query("{ article(slug: \"talks-resume\") { headline tags { name } authors { slug } commentCount } }", json!({}))
        .await;
    assert_eq!(
        data["article"],
        json!({
            "headline": "A new headline",
            "tags": [{ "name": "fresh tag" }],
            "authors": [{ "slug": "lena-berg" }, { "slug": "omar-haddad" }],
            "commentCount": 2
        })
    );
}

async fn a_bad_record_is_named_and_only_its_batch_is_rolled_back(app: &TestApp) {
    // The harness imports 3 articles per batch; the 4th article is bad, so the first
    // batch stays and the second is rolled back whole.
    type Case = (&'static str, fn(&mut Value), &'static str);
    let cases: Vec<Case> = vec![
        (
            "unknown section",
            |f| f["articles"][3]["section"] = json!("sport"),
            "articles[3] (\"markets-rally\"): section",
        ),
        (
            "unknown author",
            |f| f["articles"][3]["authors"] = json!(["ghost"]),
            "articles[3] (\"markets-rally\"): authors: \"ghost\"",
        ),
        (
            "bad slug",
            |f| f["articles"][3]["slug"] = json!("Not A Slug"),
            "articles[3] (\"Not A Slug\"): slug",
        ),
        (
            "unsafe image",
            |f| f["articles"][3]["body"][4]["image"]["url"] = json!("javascript:alert(1)"),
            "articles[3] (\"markets-rally\"): body[4]: image.url",
        ),
        (
            "empty headline",
            |f| f["articles"][3]["headline"] = json!("  "),
            "articles[3] (\"markets-rally\"): headline",
        ),
        (
            "no authors",
            |f| f["articles"][3]["authors"] = json!([]),
            "articles[3] (\"markets-rally\"): authors",
        ),
    ];
    for (what, break_it, want) in cases {
        app.exec("DELETE FROM articles").await;
        let mut file = newsroom();
        break_it(&mut file);
        let err = app.try_import(file).await.expect_err(what);
        assert_eq!(err.code(), "BAD_USER_INPUT", "{what}");
        assert!(err.to_string().starts_with(want), "{what}: {err}");
        assert_eq!(
            app.count_rows("articles").await,
            3,
            "{what}: the first batch stays, the second is rolled back"
        );
        assert_eq!(app.count_rows("article_revisions").await, 3, "{what}");
        assert_eq!(
            app.count_rows("comments").await,
            0,
            "{what}: the import stopped"
        );
    }

    // A comment whose parent is not an earlier comment of the same article.
    let mut file = newsroom();
    file["comments"][1]["parent"] = json!("c6");
    let err = app.try_import(file).await.expect_err("bad parent");
    assert!(
        err.to_string().starts_with("comments[1] (\"c2\"): parent"),
        "{err}"
    );
}

async fn a_malformed_file_is_refused_before_anything_is_written(app: &TestApp) {
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "missing headline",
            {
                let mut f = newsroom();
                f["articles"][2]
                    .as_object_mut()
                    .map(|o| o.remove("headline"));
                f
            },
            "articles[2]: missing field `headline`",
        ),
        (
            "unknown status",
            {
                let mut f = newsroom();
                f["articles"][1]["status"] = json!("LIVE");
                f
            },
            "articles[1].status: unknown variant `LIVE`",
        ),
        (
            "unknown block",
            {
                let mut f = newsroom();
                f["articles"][0]["body"][1] = json!({ "video": { "url": "x" } });
                f
            },
            "articles[0].body[1]: unknown variant `video`",
        ),
        (
            "bad date",
            {
                let mut f = newsroom();
                f["articles"][5]["publishedAt"] = json!("yesterday");
                f
            },
            "articles[5].publishedAt",
        ),
        (
            "wrong type",
            {
                let mut f = newsroom();
                f["authors"][0]["name"] = json!(42);
                f
            },
            "authors[0].name: invalid type",
        ),
    ];
    for (what, file, want) in cases {
        let err = app.try_import(file).await.expect_err(what);
        assert_eq!(err.code(), "BAD_USER_INPUT", "{what}");
        assert!(err.to_string().starts_with(want), "{what}: {err}");
        assert_eq!(
            app.count_rows("sections").await,
            0,
            "{what}: nothing written"
        );
        assert_eq!(
            app.count_rows("articles").await,
            0,
            "{what}: nothing written"
        );
    }
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
