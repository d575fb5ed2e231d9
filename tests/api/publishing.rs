//! Publishing: the role matrix, the workflow, optimistic concurrency, revisions, atomic
//! writes, slugs, sanitising, drafts and previews, and scheduled publishing.

use std::time::Duration;

use serde_json::{Value, json};

use crate::fixtures::{newsroom, newsroom_with};
use crate::helpers::{TestApp, assert_body_html, editor, slugs, token, writer};
use crate::storage_tests;

storage_tests!(
    every_mutation_follows_the_role_matrix,
    a_writer_files_submits_and_an_editor_publishes,
    a_stale_expected_version_is_a_conflict_that_changes_nothing,
    eight_concurrent_updates_of_one_version_have_exactly_one_winner,
    every_change_is_a_revision_and_any_revision_can_be_restored,
    illegal_workflow_steps_name_both_states_and_change_nothing,
    a_failed_write_leaves_the_database_as_it_was,
    slugs_are_derived_unique_and_stable_once_published,
    inline_html_is_cleaned_and_sizes_are_limited_on_write,
    drafts_are_seen_by_their_writers_and_editors_only,
    a_preview_token_reads_one_draft_and_nothing_else,
    ownership_follows_the_database_not_the_token,
    scheduled_articles_go_out_once_with_two_instances_running,
);

const OMAR: &str = "omar";
const LENA: &str = "lena";

/// Imports one article of Omar's in `status`, returning its id and version.
async fn case(app: &TestApp, slug: &str, status: &str) -> (String, i64) {
    let mut a = newsroom()["articles"][0].clone();
    a["slug"] = json!(slug);
    a["status"] = json!(status);
    a["publishedAt"] = if status == "PUBLISHED" {
        json!("2026-03-10T09:00:00Z")
    } else {
        Value::Null
    };
    app.import(newsroom_with(vec![a])).await;
    app.id_version(slug).await
}

async fn status_of(app: &TestApp, slug: &str) -> String {
    let data = app
        .ok_as(
            &editor(),
            "query($s: String) { article(slug: $s) { status } }",
            json!({ "s": slug }),
        )
        .await;
    data["article"]["status"]
        .as_str()
        .unwrap_or("missing")
        .to_owned()
}

/// A GraphQL answer without errors whose every root field has a value.
fn succeeded(body: &Value) -> bool {
    body.get("errors").is_none()
        && body["data"]
            .as_object()
            .is_some_and(|d| !d.is_empty() && d.values().all(|v| !v.is_null()))
}

const CREATE: &str = "mutation($a: [String!]!) { createArticle(input: {
    headline: \"Matrix story\", section: \"world\", authors: $a, body: [{ paragraph: { html: \"Hi\" } }] }) { id status } }";

async fn every_mutation_follows_the_role_matrix(app: &TestApp) {
    app.import(newsroom()).await;
    let anon: Option<String> = None;
    let roles: Vec<(&str, Option<String>)> = vec![
        ("anonymous", anon),
        ("writer-owner", Some(writer(OMAR))),
        ("writer-other", Some(writer(LENA))),
        ("editor", Some(editor())),
        ("admin", Some(token("root", "admin"))),
    ];
    // For each mutation: the article state it needs, the operation, and the expected outcome
    // for anonymous, writer-owner, writer-other, editor, admin ("ok" or an error code).
    type Row = (&'static str, &'static str, &'static str, [&'static str; 5]);
    let unauth = "UNAUTHENTICATED";
    let forbid = "FORBIDDEN";
    let matrix: Vec<Row> = vec![
        (
            "updateArticle",
            "DRAFT",
            "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { headline: \"New\" }) { version } }",
            [unauth, "ok", forbid, "ok", "ok"],
        ),
        (
            "submitArticle",
            "DRAFT",
            "mutation($id: ID!, $v: Int!) { submitArticle(id: $id, expectedVersion: $v) { status } }",
            [unauth, "ok", forbid, "ok", "ok"],
        ),
        (
            "publishArticle",
            "IN_REVIEW",
            "mutation($id: ID!, $v: Int!) { publishArticle(id: $id, expectedVersion: $v) { status } }",
            [unauth, forbid, forbid, "ok", "ok"],
        ),
        (
            "publishArticle(at)",
            "IN_REVIEW",
            "mutation($id: ID!, $v: Int!) { publishArticle(id: $id, expectedVersion: $v, at: \"2099-01-01T06:00:00Z\") { status } }",
            [unauth, forbid, forbid, "ok", "ok"],
        ),
        (
            "unpublishArticle",
            "PUBLISHED",
            "mutation($id: ID!, $v: Int!) { unpublishArticle(id: $id, expectedVersion: $v) { status } }",
            [unauth, forbid, forbid, "ok", "ok"],
        ),
        (
            "archiveArticle",
            "PUBLISHED",
            "mutation($id: ID!, $v: Int!) { archiveArticle(id: $id, expectedVersion: $v) { status } }",
            [unauth, forbid, forbid, "ok", "ok"],
        ),
        (
            "deleteArticle",
            "PUBLISHED",
            "mutation($id: ID!, $v: Int!) { deleteArticle(id: $id, expectedVersion: $v) }",
            [unauth, forbid, forbid, forbid, "ok"],
        ),
        (
            "restoreRevision",
            "DRAFT",
            "mutation($id: ID!, $v: Int!) { restoreRevision(id: $id, expectedVersion: $v, version: 1) { version } }",
            [unauth, "ok", forbid, "ok", "ok"],
        ),
        (
            "previewToken",
            "DRAFT",
            "mutation($id: ID!) { previewToken(articleId: $id, ttlSeconds: 60) }",
            [unauth, "ok", forbid, "ok", "ok"],
        ),
        (
            "edit own published",
            "PUBLISHED",
            "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { dek: \"x\" }) { version } }",
            [unauth, forbid, forbid, "ok", "ok"],
        ),
    ];
    let mut n = 0;
    for (name, state, op, expected) in &matrix {
        for ((who, tok), want) in roles.iter().zip(expected) {
            n += 1;
            let slug = format!("case-{n}");
            let (id, v) = case(app, &slug, state).await;
            let revisions_before = app.count_rows("article_revisions").await;
            let (_, body) = app
                .graphql_as(tok.as_deref(), op, json!({ "id": id, "v": v }))
                .await;
            if *want == "ok" {
                assert!(succeeded(&body), "{name} as {who} should succeed: {body}");
            } else {
                assert_eq!(
                    body["errors"][0]["extensions"]["code"], *want,
                    "{name} as {who}: {body}"
                );
                assert_eq!(
                    app.id_version(&slug).await,
                    (id.clone(), v),
                    "{name} as {who}: nothing changed"
                );
                assert_eq!(status_of(app, &slug).await, *state, "{name} as {who}");
                assert_eq!(
                    app.count_rows("article_revisions").await,
                    revisions_before,
                    "{name} as {who}: no revision"
                );
            }
        }
    }

    // Creating: writers only under their own byline.
    let creates = [
        ("anonymous", None, json!(["omar-haddad"]), Some(unauth)),
        (
            "writer-owner",
            Some(writer(OMAR)),
            json!(["omar-haddad"]),
            None,
        ),
        (
            "writer-other",
            Some(writer(LENA)),
            json!(["omar-haddad"]),
            Some(forbid),
        ),
        (
            "writer with a co-byline",
            Some(writer(LENA)),
            json!(["omar-haddad", "lena-berg"]),
            None,
        ),
        ("editor", Some(editor()), json!(["omar-haddad"]), None),
        (
            "admin",
            Some(token("root", "admin")),
            json!(["lena-berg"]),
            None,
        ),
    ];
    for (who, tok, authors, want) in creates {
        let before = app.count_rows("articles").await;
        let (_, body) = app
            .graphql_as(tok.as_deref(), CREATE, json!({ "a": authors }))
            .await;
        match want {
            None => {
                assert_eq!(
                    body["data"]["createArticle"]["status"], "DRAFT",
                    "createArticle as {who}: {body}"
                );
                assert_eq!(app.count_rows("articles").await, before + 1);
            }
            Some(code) => {
                assert_eq!(
                    body["errors"][0]["extensions"]["code"], code,
                    "createArticle as {who}: {body}"
                );
                assert_eq!(
                    app.count_rows("articles").await,
                    before,
                    "createArticle as {who}: nothing written"
                );
            }
        }
    }

    // Sections and authors: editors and admins.
    let admin_ops = [
        (
            "createSection",
            "mutation { createSection(input: { name: \"Sport NAME\", parent: \"world\" }) { path } }",
        ),
        (
            "updateSection",
            "mutation { updateSection(id: \"1\", input: { name: \"Global\" }) { name } }",
        ),
        (
            "createAuthor",
            "mutation { createAuthor(input: { name: \"New Hire NAME\" }) { slug } }",
        ),
        (
            "updateAuthor",
            "mutation { updateAuthor(id: \"1\", input: { title: \"Chief\" }) { title } }",
        ),
    ];
    for (name, op) in admin_ops {
        for (i, ((who, tok), want)) in roles
            .iter()
            .zip([unauth, forbid, forbid, "ok", "ok"])
            .enumerate()
        {
            let op = op.replace("NAME", &i.to_string());
            let sections = app.count_rows("sections").await;
            let authors = app.count_rows("authors").await;
            let (_, body) = app.graphql_as(tok.as_deref(), &op, json!({})).await;
            if want == "ok" {
                assert!(succeeded(&body), "{name} as {who}: {body}");
            } else {
                assert_eq!(
                    body["errors"][0]["extensions"]["code"], want,
                    "{name} as {who}: {body}"
                );
                assert_eq!(
                    app.count_rows("sections").await,
                    sections,
                    "{name} as {who}"
                );
                assert_eq!(app.count_rows("authors").await, authors, "{name} as {who}");
            }
        }
    }
}

async fn a_writer_files_submits_and_an_editor_publishes(app: &TestApp) {
    app.import(newsroom()).await;
    let w = writer(OMAR);
    let created = app
        .ok_as(
            &w,
            "mutation { createArticle(input: {
                headline: \"Harbour pilots return to work\", dek: \"After a week\", section: \"world/middle-east\",
                authors: [\"omar-haddad\"], tags: [\"Harbour\", \"labour\"],
                source: { name: \"Coast Courier\", url: \"https://courier.example/x\" },
                featuredImage: { url: \"https://img.example.org/p.jpg\", alt: \"Pilots\" },
                body: [{ heading: { level: 2, text: \"Back\" } }, { paragraph: { html: \"Boats <em>move</em> again.\" } }]
            }) { id slug status version headline dek tags { slug name } source { name } featuredImage { alt } wordCount } }",
            json!({}),
        )
        .await;
    let a = &created["createArticle"];
    assert_eq!(a["slug"], "harbour-pilots-return-to-work");
    assert_eq!(a["status"], "DRAFT");
    assert_eq!(a["version"], 1);
    assert_eq!(
        a["tags"],
        json!([{ "slug": "harbour", "name": "Harbour" }, { "slug": "labour", "name": "labour" }])
    );
    assert_eq!(a["source"]["name"], "Coast Courier");
    assert_eq!(a["wordCount"], 4);
    let id = a["id"].clone();

    let anon = app
        .query(
            "{ article(slug: \"harbour-pilots-return-to-work\") { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(
        anon["article"],
        Value::Null,
        "a draft is invisible without a token"
    );

    let submitted = app
        .ok_as(
            &w,
            "mutation($id: ID!) { submitArticle(id: $id, expectedVersion: 1) { status version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        submitted["submitArticle"],
        json!({ "status": "IN_REVIEW", "version": 2 })
    );

    let published = app
        .ok_as(
            &editor(),
            "mutation($id: ID!) { publishArticle(id: $id, expectedVersion: 2) { status version publishedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(published["publishArticle"]["status"], "PUBLISHED");
    assert!(published["publishArticle"]["publishedAt"].is_string());
    let anon = app
        .query(
            "{ article(slug: \"harbour-pilots-return-to-work\") { headline authors { slug } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        anon["article"]["headline"], "Harbour pilots return to work",
        "published: visible to all"
    );
    let listed = app
        .query(
            "{ tag(slug: \"labour\") { articles { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["tag"]["articles"]["totalCount"], 1);
}

async fn a_stale_expected_version_is_a_conflict_that_changes_nothing(app: &TestApp) {
    app.import(newsroom()).await;
    let (id, v) = case(app, "stale", "DRAFT").await;
    let ed = editor();
    let op = "mutation($id: ID!, $v: Int!, $h: String!) { updateArticle(id: $id, expectedVersion: $v, input: { headline: $h }) { version headline } }";
    let first = app
        .ok_as(&ed, op, json!({ "id": id, "v": v, "h": "First" }))
        .await;
    assert_eq!(first["updateArticle"]["version"], v + 1);
    let (_, body) = app
        .graphql_as(Some(&ed), op, json!({ "id": id, "v": v, "h": "Second" }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "CONFLICT",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["currentVersion"],
        v + 1,
        "{body}"
    );
    let now = app
        .ok_as(
            &ed,
            "query($id: ID) { article(id: $id) { headline version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        now["article"],
        json!({ "headline": "First", "version": v + 1 })
    );
    // The same for a workflow step, and for an article that does not exist.
    let (_, body) = app
        .graphql_as(Some(&ed), "mutation($id: ID!, $v: Int!) { publishArticle(id: $id, expectedVersion: $v) { status } }", json!({ "id": id, "v": v }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "CONFLICT",
        "{body}"
    );
    assert_eq!(status_of(app, "stale").await, "DRAFT");
    let (_, body) = app
        .graphql_as(Some(&ed), op, json!({ "id": "999999", "v": 1, "h": "x" }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
}

async fn eight_concurrent_updates_of_one_version_have_exactly_one_winner(app: &TestApp) {
    app.import(newsroom()).await;
    let (id, v) = case(app, "contested", "DRAFT").await;
    let ed = editor();
    let op = "mutation($id: ID!, $v: Int!, $h: String!) { updateArticle(id: $id, expectedVersion: $v, input: { headline: $h }) { version } }";
    let calls = (0..8).map(|i| {
        app.graphql_as(
            Some(&ed),
            op,
            json!({ "id": id, "v": v, "h": format!("Edit {i}") }),
        )
    });
    let results = futures_join_all(calls).await;
    let wins = results
        .iter()
        .filter(|(_, b)| b.get("errors").is_none())
        .count();
    let conflicts = results
        .iter()
        .filter(|(_, b)| b["errors"][0]["extensions"]["code"] == "CONFLICT")
        .count();
    assert_eq!((wins, conflicts), (1, 7), "{results:?}");
    assert_eq!(app.id_version("contested").await.1, v + 1);
    let revisions = app
        .count_rows("article_revisions WHERE action = 'update'")
        .await;
    assert_eq!(revisions, 1, "only the winner left a revision");
}

/// Runs futures concurrently on this task, like `join_all`.
async fn futures_join_all<F: std::future::Future>(
    futs: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

async fn every_change_is_a_revision_and_any_revision_can_be_restored(app: &TestApp) {
    app.import(newsroom()).await;
    let (id, v1) = case(app, "revised", "DRAFT").await;
    let w = writer(OMAR);
    let op = "mutation($id: ID!, $v: Int!, $h: String!) { updateArticle(id: $id, expectedVersion: $v, input: { headline: $h, body: [{ paragraph: { html: $h } }] }) { version } }";
    app.ok_as(&w, op, json!({ "id": id, "v": v1, "h": "Second take" }))
        .await;
    app.ok_as(&w, op, json!({ "id": id, "v": v1 + 1, "h": "Third take" }))
        .await;
    let revs = app
        .ok_as(
            &w,
            "query($id: ID) { article(id: $id) { revisions { version action actor headline } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        revs["article"]["revisions"],
        json!([
            { "version": v1 + 2, "action": "update", "actor": OMAR, "headline": "Third take" },
            { "version": v1 + 1, "action": "update", "actor": OMAR, "headline": "Second take" },
            { "version": v1, "action": "import", "actor": null, "headline": "Headline of talks-resume" }
        ])
    );
    let restored = app
        .ok_as(
            &w,
            "mutation($id: ID!, $v: Int!, $r: Int!) { restoreRevision(id: $id, expectedVersion: $v, version: $r) { version headline body { ... on ParagraphBlock { text } } } }",
            json!({ "id": id, "v": v1 + 2, "r": v1 }),
        )
        .await;
    assert_eq!(restored["restoreRevision"]["version"], v1 + 3);
    assert_eq!(
        restored["restoreRevision"]["headline"],
        "Headline of talks-resume"
    );
    assert_eq!(
        restored["restoreRevision"]["body"][1]["text"],
        "The story of talks-resume, with a link."
    );
    let last = app
        .ok_as(
            &w,
            "query($id: ID) { article(id: $id) { revisions { action } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        last["article"]["revisions"][0]["action"],
        format!("restore {v1}")
    );
    // Revisions are not for the public, nor for other writers.
    let code = app
        .code_as(
            None,
            "{ article(slug: \"talks-resume\") { revisions { version } } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "UNAUTHENTICATED");
    let code = app
        .code_as(
            Some(&writer(LENA)),
            "{ article(slug: \"talks-resume\") { revisions { version } } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    let code = app
        .code_as(Some(&w), "mutation($id: ID!, $v: Int!) { restoreRevision(id: $id, expectedVersion: $v, version: 99) { version } }", json!({ "id": id, "v": v1 + 3 }))
        .await;
    assert_eq!(code, "NOT_FOUND");
}

async fn illegal_workflow_steps_name_both_states_and_change_nothing(app: &TestApp) {
    app.import(newsroom()).await;
    let ed = editor();
    let cases = [
        ("DRAFT", "archiveArticle", "DRAFT → ARCHIVED"),
        ("DRAFT", "unpublishArticle", "DRAFT → UNPUBLISHED"),
        ("PUBLISHED", "submitArticle", "PUBLISHED → IN_REVIEW"),
        ("ARCHIVED", "publishArticle", "ARCHIVED → PUBLISHED"),
    ];
    for (i, (state, step, want)) in cases.into_iter().enumerate() {
        let slug = format!("wf-{i}");
        let (id, v) = case(app, &slug, state).await;
        let op = format!(
            "mutation($id: ID!, $v: Int!) {{ {step}(id: $id, expectedVersion: $v) {{ status }} }}"
        );
        let (_, body) = app
            .graphql_as(Some(&ed), &op, json!({ "id": id, "v": v }))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{step} from {state}: {body}"
        );
        let msg = body["errors"][0]["message"].as_str().unwrap_or("");
        assert!(msg.contains(want), "{msg:?} names {want}");
        assert_eq!(
            app.id_version(&slug).await.1,
            v,
            "{step} from {state}: nothing changed"
        );
    }
}

async fn a_failed_write_leaves_the_database_as_it_was(app: &TestApp) {
    app.import(newsroom()).await;
    let (id, v) = case(app, "atomic", "DRAFT").await;
    let ed = editor();
    let tables = [
        "article_authors",
        "article_tags",
        "tags",
        "article_revisions",
        "change_log",
    ];
    let before = app.row_counts(&tables).await;
    let bad_patches = [
        (
            "unknown author",
            json!({ "authors": ["omar-haddad", "ghost"], "tags": ["brand new tag"] }),
        ),
        (
            "unknown section",
            json!({ "section": "nowhere", "tags": ["brand new tag"] }),
        ),
        ("no authors", json!({ "authors": [] })),
        (
            "unsafe image",
            json!({ "tags": ["brand new tag"], "featuredImage": { "url": "javascript:alert(1)" } }),
        ),
        (
            "bad heading",
            json!({ "body": [{ "heading": { "level": 9, "text": "x" } }] }),
        ),
        ("empty headline", json!({ "headline": "   " })),
    ];
    for (what, patch) in bad_patches {
        let (_, body) = app
            .graphql_as(
                Some(&ed),
                "mutation($id: ID!, $v: Int!, $p: ArticlePatch!) { updateArticle(id: $id, expectedVersion: $v, input: $p) { version } }",
                json!({ "id": id, "v": v, "p": patch }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{what}: {body}"
        );
        assert_eq!(app.id_version("atomic").await.1, v, "{what}");
        assert_eq!(
            app.row_counts(&tables).await,
            before,
            "{what}: nothing written"
        );
    }
    // A failure inside the transaction, after the article row was updated: the revision
    // insert fails, and the whole change is rolled back.
    app.make_revisions_fail().await;
    let (_, body) = app
        .graphql_as(
            Some(&ed),
            "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { headline: \"Doomed\", authors: [\"lena-berg\"], tags: [\"brand new tag\"] }) { version } }",
            json!({ "id": id, "v": v }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INTERNAL",
        "{body}"
    );
    let msg = body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(
        msg.starts_with("internal error (request id ") && !msg.contains("boom"),
        "only the request id, no database detail: {msg}"
    );
    app.let_revisions_succeed().await;
    assert_eq!(
        app.id_version("atomic").await.1,
        v,
        "the article row is as it was"
    );
    let seen = app
        .ok_as(
            &ed,
            "{ article(slug: \"atomic\") { headline authors { slug } tags { slug } } }",
            json!({}),
        )
        .await;
    assert_eq!(seen["article"]["headline"], "Headline of talks-resume");
    assert_eq!(
        seen["article"]["authors"],
        json!([{ "slug": "omar-haddad" }])
    );
    assert_eq!(
        app.count_rows("tags").await,
        before[2],
        "the new tag was rolled back too"
    );

    let (_, body) = app
        .graphql_as(Some(&ed), "mutation { createArticle(input: { headline: \"X\", section: \"world\", authors: [\"ghost\"], tags: [\"new one\"], body: [] }) { id } }", json!({}))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(
        app.count_rows("tags").await,
        before[2],
        "no tag created by a refused create"
    );
}

async fn slugs_are_derived_unique_and_stable_once_published(app: &TestApp) {
    app.import(newsroom()).await;
    let ed = editor();
    let create = "mutation($h: String!, $s: String) { createArticle(input: { headline: $h, slug: $s, section: \"world\", authors: [\"omar-haddad\"], body: [] }) { id slug version } }";
    let a = app
        .ok_as(&ed, create, json!({ "h": "Zürich café: “Ünïcode” wins!" }))
        .await;
    assert_eq!(a["createArticle"]["slug"], "zurich-cafe-unicode-wins");
    let b = app
        .ok_as(&ed, create, json!({ "h": "Zürich café: Unicode wins" }))
        .await;
    assert_eq!(
        b["createArticle"]["slug"], "zurich-cafe-unicode-wins-2",
        "derived slugs are made unique"
    );
    let long = app
        .ok_as(&ed, create, json!({ "h": "word ".repeat(60) }))
        .await;
    assert!(
        long["createArticle"]["slug"]
            .as_str()
            .is_some_and(|s| s.len() <= 120)
    );
    let code = app
        .code_as(
            Some(&ed),
            create,
            json!({ "h": "Other", "s": "zurich-cafe-unicode-wins" }),
        )
        .await;
    assert_eq!(code, "CONFLICT", "an explicit slug that is taken");
    let code = app
        .code_as(Some(&ed), create, json!({ "h": "Other", "s": "Bad Slug!" }))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");

    let id = a["createArticle"]["id"].clone();
    app.ok_as(
        &ed,
        "mutation($id: ID!) { publishArticle(id: $id, expectedVersion: 1) { status } }",
        json!({ "id": id }),
    )
    .await;
    let renamed = app
        .ok_as(&ed, "mutation($id: ID!) { updateArticle(id: $id, expectedVersion: 2, input: { headline: \"A new headline\" }) { slug headline } }", json!({ "id": id }))
        .await;
    assert_eq!(
        renamed["updateArticle"]["slug"], "zurich-cafe-unicode-wins",
        "a new headline keeps the slug"
    );
    let moved = app
        .ok_as(&ed, "mutation($id: ID!) { updateArticle(id: $id, expectedVersion: 3, input: { slug: \"zurich-cafe\" }) { slug } }", json!({ "id": id }))
        .await;
    assert_eq!(
        moved["updateArticle"]["slug"], "zurich-cafe",
        "an editor may change it explicitly"
    );
}

async fn inline_html_is_cleaned_and_sizes_are_limited_on_write(app: &TestApp) {
    app.import(newsroom()).await;
    let ed = editor();
    let created = app
        .ok_as(
            &ed,
            "mutation($b: [BlockInput!]!) { createArticle(input: { headline: \"<b>Bold</b> <script>x()</script>claim\", dek: \"<i>plain</i> &amp; simple\",
              section: \"world\", authors: [\"omar-haddad\"], body: $b }) { headline dek body { ... on ParagraphBlock { html } ... on ListBlock { items } ... on QuoteBlock { html } } bodyHtml } }",
            json!({ "b": [
                { "paragraph": { "html": "<p onclick=\"x()\">Hi <a href=\"javascript:alert(1)\">x</a> <a href=\"https://ok.example/\" style=\"color:red\">ok</a></p><script>alert(1)</script>" } },
                { "list": { "ordered": false, "items": ["<img src=x onerror=alert(1)><strong>Lead:</strong> item"] } },
                { "quote": { "html": "<svg onload=alert(1)>said</svg>", "attribution": "Someone" } }
            ] }),
        )
        .await;
    let a = &created["createArticle"];
    assert_eq!(a["headline"], "Bold claim", "headlines are plain text");
    assert_eq!(a["dek"], "plain & simple");
    assert_eq!(
        a["body"][0]["html"],
        "Hi <a rel=\"noopener noreferrer\">x</a> <a href=\"https://ok.example/\" rel=\"noopener noreferrer\">ok</a>"
    );
    assert_eq!(
        a["body"][1]["items"],
        json!(["<strong>Lead:</strong> item"])
    );
    assert_eq!(a["body"][2]["html"], "said");
    assert_body_html(
        a,
        &["<strong>lead:</strong> item", "said"],
        &[
            "script",
            "onclick",
            "onerror",
            "onload",
            "javascript:",
            "style=",
            "<svg",
            "<img",
        ],
    );

    let create = "mutation($h: String!, $b: [BlockInput!]!) { createArticle(input: { headline: $h, section: \"world\", authors: [\"omar-haddad\"], body: $b }) { id } }";
    let para = |s: String| json!({ "paragraph": { "html": s } });
    let limits = [
        ("headline", json!("h".repeat(301)), json!([]), "headline"),
        (
            "blocks",
            json!("ok"),
            json!(vec![para("x".into()); 501]),
            "limit is 500",
        ),
        (
            "list items",
            json!("ok"),
            json!([{ "list": { "ordered": true, "items": vec!["i"; 201] } }]),
            "1 to 200",
        ),
        (
            "fragment",
            json!("ok"),
            json!([para("x".repeat(70_000))]),
            "longer than 65536 bytes",
        ),
    ];
    let before = app.count_rows("articles").await;
    for (what, headline, body, want) in limits {
        let (_, resp) = app
            .graphql_as(Some(&ed), create, json!({ "h": headline, "b": body }))
            .await;
        assert_eq!(
            resp["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{what}"
        );
        let msg = resp["errors"][0]["message"].as_str().unwrap_or("");
        assert!(msg.contains(want), "{what}: {msg:?} names the limit");
    }
    assert_eq!(app.count_rows("articles").await, before);
}

async fn drafts_are_seen_by_their_writers_and_editors_only(app: &TestApp) {
    app.import(newsroom()).await;
    let list = "query($s: ArticleStatus) { articles(first: 100, filter: { status: $s }) { totalCount edges { node { slug status } } } }";
    let omar = app
        .ok_as(&writer(OMAR), list, json!({ "s": "DRAFT" }))
        .await;
    assert_eq!(
        slugs(&omar["articles"]),
        ["secret-draft"],
        "Omar sees his own draft"
    );
    let lena = app
        .ok_as(&writer(LENA), list, json!({ "s": "DRAFT" }))
        .await;
    assert_eq!(
        slugs(&lena["articles"]),
        Vec::<String>::new(),
        "Lena does not see Omar's draft"
    );
    let lena_all = app.ok_as(&writer(LENA), list, json!({})).await;
    assert_eq!(
        lena_all["articles"]["totalCount"], 7,
        "six published plus her own article in review"
    );
    let ed = app.ok_as(&editor(), list, json!({})).await;
    assert_eq!(ed["articles"]["totalCount"], 8, "editors see every status");
    let ed_review = app
        .ok_as(&editor(), list, json!({ "s": "IN_REVIEW" }))
        .await;
    assert_eq!(slugs(&ed_review["articles"]), ["under-review"]);
    let anon = app.query(list, json!({ "s": "DRAFT" })).await;
    assert_eq!(anon["articles"]["totalCount"], 0);

    let one = "{ article(slug: \"secret-draft\") { slug } }";
    assert_eq!(
        app.ok_as(&writer(OMAR), one, json!({})).await["article"]["slug"],
        "secret-draft"
    );
    assert_eq!(
        app.ok_as(&writer(LENA), one, json!({})).await["article"],
        Value::Null
    );
    assert_eq!(app.query(one, json!({})).await["article"], Value::Null);
    let nested = app.ok_as(&writer(LENA), "{ author(slug: \"omar-haddad\") { articles { totalCount } } tag(slug: \"ceasefire-talks\") { articles { totalCount } } }", json!({})).await;
    assert_eq!(nested["author"]["articles"]["totalCount"], 4);
    assert_eq!(nested["tag"]["articles"]["totalCount"], 2);

    // Editors page through every status with stable cursors.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .ok_as(&editor(), "query($a: String) { articles(first: 3, after: $a) { edges { node { slug } } pageInfo { hasNextPage endCursor } } }", json!({ "a": after }))
            .await;
        seen.extend(slugs(&page["articles"]));
        if page["articles"]["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["articles"]["pageInfo"]["endCursor"].clone();
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 8, "every article once: {seen:?}");
}

async fn a_preview_token_reads_one_draft_and_nothing_else(app: &TestApp) {
    app.import(newsroom()).await;
    let (id, _) = app.id_version("secret-draft").await;
    let minted = app
        .ok_as(
            &writer(OMAR),
            "mutation($id: ID!) { previewToken(articleId: $id, ttlSeconds: 600) }",
            json!({ "id": id }),
        )
        .await;
    let preview = minted["previewToken"].as_str().expect("token").to_owned();
    let q = "query($s: String, $p: String) { article(slug: $s, previewToken: $p) { slug status } }";
    let seen = app
        .query(q, json!({ "s": "secret-draft", "p": preview }))
        .await;
    assert_eq!(
        seen["article"],
        json!({ "slug": "secret-draft", "status": "DRAFT" })
    );
    let code = app
        .code_as(None, q, json!({ "s": "under-review", "p": preview }))
        .await;
    assert_eq!(
        code, "UNAUTHENTICATED",
        "a preview token reads only its own article"
    );
    let code = app
        .code_as(None, q, json!({ "s": "secret-draft", "p": "garbage" }))
        .await;
    assert_eq!(code, "UNAUTHENTICATED");
    // It is not a bearer token.
    let (status, _) = app
        .graphql_as(Some(&preview), "{ sections { path } }", json!({}))
        .await;
    assert_eq!(status, 401);
    let code = app
        .code_as(
            Some(&writer(OMAR)),
            "mutation($id: ID!) { previewToken(articleId: $id, ttlSeconds: 999999999) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT", "lifetimes are capped");
}

async fn ownership_follows_the_database_not_the_token(app: &TestApp) {
    app.import(newsroom()).await;
    let (id, v) = app.id_version("secret-draft").await;
    let w = writer(OMAR);
    let edit = "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { dek: \"mine\" }) { version } }";
    app.ok_as(&w, edit, json!({ "id": id, "v": v })).await;
    // The editor moves Omar's author record to another account.
    let (author_id, _) = {
        let data = app
            .query("{ author(slug: \"omar-haddad\") { id } }", json!({}))
            .await;
        (
            data["author"]["id"].as_str().expect("author id").to_owned(),
            (),
        )
    };
    app.ok_as(
        &editor(),
        "mutation($id: ID!) { updateAuthor(id: $id, input: { subject: \"omar-new\" }) { slug } }",
        json!({ "id": author_id }),
    )
    .await;
    let code = app
        .code_as(Some(&w), edit, json!({ "id": id, "v": v + 1 }))
        .await;
    assert_eq!(
        code, "FORBIDDEN",
        "the old token no longer owns the article"
    );
    assert_eq!(
        app.ok_as(
            &w,
            "{ article(slug: \"secret-draft\") { slug } }",
            json!({})
        )
        .await["article"],
        Value::Null
    );
    app.ok_as(&writer("omar-new"), edit, json!({ "id": id, "v": v + 1 }))
        .await;
}

async fn scheduled_articles_go_out_once_with_two_instances_running(app: &TestApp) {
    app.import(newsroom()).await;
    let ed = editor();
    let mut cases = Vec::new();
    for i in 0..6 {
        let slug = format!("sched-{i}");
        let (id, v) = case(app, &slug, "IN_REVIEW").await;
        cases.push((slug, id, v));
    }
    // Two processes' schedulers on the same database, started before anything is due.
    let one = gazette::scheduler::spawn(app.second_connection().await, Duration::from_millis(100));
    let two = gazette::scheduler::spawn(app.second_connection().await, Duration::from_millis(100));
    let due = chrono::Utc::now() + chrono::Duration::seconds(2);
    let mut slugs = Vec::new();
    for (slug, id, v) in cases {
        let data = app
            .ok_as(&ed, "mutation($id: ID!, $v: Int!, $at: DateTime) { publishArticle(id: $id, expectedVersion: $v, at: $at) { status } }", json!({ "id": id, "v": v, "at": due.to_rfc3339() }))
            .await;
        assert_eq!(data["publishArticle"]["status"], "SCHEDULED");
        slugs.push(slug);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.query("{ article(slug: \"sched-0\") { slug } }", json!({}))
            .await["article"],
        Value::Null,
        "not before its time"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let seen_at = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let published = app
            .count_rows("articles WHERE slug LIKE 'sched-%' AND status = 'PUBLISHED'")
            .await;
        if published == 6 || std::time::Instant::now() > deadline {
            break chrono::Utc::now();
        }
    };
    // A few more ticks, in case a second publish were to happen.
    tokio::time::sleep(Duration::from_millis(400)).await;
    one.abort();
    two.abort();
    let late = seen_at - due;
    assert!(
        late < chrono::Duration::seconds(5),
        "published within 5 s of the time, took {late}"
    );
    for slug in &slugs {
        assert_eq!(status_of(app, slug).await, "PUBLISHED", "{slug}");
        let n = app
            .count_rows(&format!("article_revisions r JOIN articles a ON a.id = r.article_id WHERE a.slug = '{slug}' AND r.action = 'publish-scheduled'"))
            .await;
        assert_eq!(n, 1, "{slug} was published exactly once");
    }
    let seen = app
        .query("{ article(slug: \"sched-3\") { publishedAt } }", json!({}))
        .await;
    assert!(seen["article"]["publishedAt"].is_string());
}
