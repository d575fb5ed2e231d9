//! Related articles on both databases: only published ones, never the article itself,
//! reasons in words, lists that follow publishes, unpublishes and deletes, and editors'
//! pins first.

use serde_json::{Value, json};

use crate::fixtures::{april_article, newsroom_with};
use crate::helpers::{TestApp, editor, request, token, writer};
use crate::storage_tests;

storage_tests!(
    related_lists_hold_published_articles_only_with_reasons,
    related_lists_follow_publish_unpublish_and_delete,
    pinned_articles_come_first_and_only_editors_pin,
    rest_related_mirrors_graphql,
    a_story_that_shares_nothing_gets_the_latest_of_its_section_then_its_parent,
);

/// An article about the Kabul talks (or about markets when `kabul` is false).
fn story(slug: &str, kabul: bool, status: &str, day: u32, tags: &[&str]) -> Value {
    let headline = if kabul {
        format!("Kabul talks, day {day}")
    } else {
        format!("Markets, day {day}")
    };
    let text = if kabul {
        format!(
            "Talks resumed as Kwame Tanaka met envoys at the Kabul Ministry on day {day}. \
             Later Kwame Tanaka said the Kabul Ministry would reopen the crossing near Torkham Gate."
        )
    } else {
        format!(
            "Shares climbed as the Lagos Exchange opened on day {day}; Ada Obi of Harbour Capital expects more."
        )
    };
    let mut a = april_article(slug, &headline, &text, status, day);
    a["section"] = json!(if kabul {
        "world/middle-east"
    } else {
        "business"
    });
    a["authors"] = json!([if kabul { "omar-haddad" } else { "lena-berg" }]);
    a["tags"] = json!(tags);
    a
}

fn four() -> Vec<Value> {
    vec![
        story(
            "talks-1",
            true,
            "PUBLISHED",
            1,
            &["ceasefire talks", "diplomacy"],
        ),
        story(
            "talks-2",
            true,
            "PUBLISHED",
            2,
            &["ceasefire talks", "diplomacy"],
        ),
        story("markets-1", false, "PUBLISHED", 3, &["markets"]),
        story("markets-2", false, "PUBLISHED", 4, &["markets"]),
        story(
            "talks-draft",
            true,
            "DRAFT",
            5,
            &["ceasefire talks", "diplomacy"],
        ),
    ]
}

const RELATED: &str = "query($s: String!, $n: Int) { relatedArticles(slug: $s, limit: $n) {
    score reasons article { slug status } } }";

/// The related list of `slug` as `tok` sees it; panics unless the answer holds a list, so
/// that an empty list is one the server gave.
async fn related_as(app: &TestApp, tok: Option<&str>, slug: &str) -> Vec<Value> {
    let (status, body) = app
        .graphql_as(tok, RELATED, json!({ "s": slug, "n": 10 }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["relatedArticles"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("a list of related articles: {body}"))
}

/// The related articles' slugs; panics on an entry without one.
fn slugs(list: &[Value]) -> Vec<&str> {
    list.iter()
        .map(|r| r["article"]["slug"].as_str().expect("article.slug"))
        .collect()
}

async fn related_lists_hold_published_articles_only_with_reasons(app: &TestApp) {
    app.import(newsroom_with(four())).await;
    let list = related_as(app, None, "talks-1").await;
    let got = slugs(&list);
    assert_eq!(got.first(), Some(&"talks-2"), "{list:?}");
    assert!(!got.contains(&"talks-1"), "never itself: {got:?}");
    assert!(!got.contains(&"talks-draft"), "never a draft: {got:?}");
    let mut unique = got.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), got.len(), "no duplicates: {got:?}");
    let reasons: Vec<&str> = list[0]["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| r.as_str().expect("a reason"))
        .collect();
    assert!(
        reasons.iter().any(|r| r.starts_with("2 shared tags: ")),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"same section: Middle East"),
        "{reasons:?}"
    );
    assert!(reasons.contains(&"same author: Omar Haddad"), "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("similar wording: ") && r.contains("kwame tanaka")),
        "{reasons:?}"
    );
    // Scores fall down the list.
    let scores: Vec<f64> = list
        .iter()
        .map(|r| r["score"].as_f64().expect("score"))
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(scores[0] > 0.0);
    // Editors see drafts elsewhere, but related lists are published articles only.
    let editor = editor();
    let editors = related_as(app, Some(&editor), "talks-1").await;
    assert!(!editors.is_empty(), "editors get a list");
    assert!(!slugs(&editors).contains(&"talks-draft"), "{editors:?}");
    // A draft's own list is not shown to anonymous readers; the limit is checked.
    assert!(related_as(app, None, "talks-draft").await.is_empty());
    assert!(related_as(app, None, "no-such-article").await.is_empty());
    let (_, body) = app
        .graphql(RELATED, json!({ "s": "talks-1", "n": 11 }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    // Article.related is the same list, also nested in a listing.
    let (_, body) = app
        .graphql(
            "{ articles(first: 10, filter: { section: \"world\" }) { edges { node { slug related(limit: 1) { article { slug } } } } } }",
            json!({}),
        )
        .await;
    let edges = body["data"]["articles"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("edges: {body}"));
    assert_eq!(edges.len(), 2, "{body}");
    for e in edges {
        let me = e["node"]["slug"].as_str().expect("slug");
        let other = e["node"]["related"][0]["article"]["slug"]
            .as_str()
            .unwrap_or_else(|| panic!("{me} has a related article: {body}"));
        assert!(other.starts_with("talks-") && other != me, "{me} → {other}");
    }
}

async fn related_lists_follow_publish_unpublish_and_delete(app: &TestApp) {
    app.import(newsroom_with(four())).await;
    let editor = editor();
    app.step_as(&editor, "publishArticle", "talks-draft").await;
    assert!(slugs(&related_as(app, None, "talks-1").await).contains(&"talks-draft"));
    let own = related_as(app, None, "talks-draft").await;
    assert!(slugs(&own).contains(&"talks-1"), "{own:?}");
    assert!(!related_as(app, None, "talks-2").await.is_empty());
    app.step_as(&editor, "unpublishArticle", "talks-2").await;
    let after = related_as(app, None, "talks-1").await;
    assert!(
        !after.is_empty() && !slugs(&after).contains(&"talks-2"),
        "{after:?}"
    );
    assert!(related_as(app, None, "talks-2").await.is_empty());
    // An edit of a published article is rescored: without its names and tags it drops.
    let (id, v) = app.id_version("talks-draft").await;
    app.ok_as(
        &editor,
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: {
            tags: [\"markets\"], section: \"business\",
            body: [{ paragraph: { html: \"Shares climbed as the Lagos Exchange opened; Ada Obi of Harbour Capital expects more.\" } }] }) { id } }",
        json!({ "id": id, "v": v }),
    )
    .await;
    let first = related_as(app, None, "talks-draft").await;
    assert!(slugs(&first)[0].starts_with("markets-"), "{first:?}");
    let (id, v) = app.id_version("markets-1").await;
    app.ok_as(
        &token("root", "admin"),
        "mutation($id: ID!, $v: Int!) { deleteArticle(id: $id, expectedVersion: $v) }",
        json!({ "id": id, "v": v }),
    )
    .await;
    for slug in ["talks-1", "talks-draft", "markets-2"] {
        let list = related_as(app, None, slug).await;
        assert!(!list.is_empty(), "{slug} has a list");
        assert!(!slugs(&list).contains(&"markets-1"), "{slug}: {list:?}");
    }
    // A new article is related as soon as it is published.
    let (_, body) = app
        .graphql_as(
            Some(&editor),
            "mutation { createArticle(input: { headline: \"Kabul talks go on\", section: \"world/middle-east\",
                authors: [\"omar-haddad\"], tags: [\"ceasefire talks\"],
                body: [{ paragraph: { html: \"Kwame Tanaka returned to the Kabul Ministry near Torkham Gate.\" } }] }) { slug } }",
            json!({}),
        )
        .await;
    let slug = body["data"]["createArticle"]["slug"]
        .as_str()
        .unwrap_or_else(|| panic!("created: {body}"))
        .to_owned();
    assert!(!slugs(&related_as(app, None, "talks-1").await).contains(&slug.as_str()));
    app.step_as(&editor, "publishArticle", &slug).await;
    assert_eq!(slugs(&related_as(app, None, "talks-1").await)[0], slug);
}

const PIN: &str =
    "mutation($id: ID!, $s: [String!]!) { setRelatedArticles(id: $id, slugs: $s) { slug } }";

async fn pinned_articles_come_first_and_only_editors_pin(app: &TestApp) {
    app.import(newsroom_with(four())).await;
    let (id, _) = app.id_version("talks-1").await;
    let before = related_as(app, None, "talks-1").await;
    for (who, code) in [
        (None, "UNAUTHENTICATED"),
        (Some(writer("omar")), "FORBIDDEN"),
    ] {
        assert_eq!(
            app.code_as(who.as_deref(), PIN, json!({ "id": id, "s": ["markets-2"] }))
                .await,
            code
        );
    }
    let editor = editor();
    for bad in [
        json!(["no-such-slug"]),
        json!(["talks-1"]),
        json!(["markets-2", "markets-2"]),
    ] {
        assert_eq!(
            app.code_as(Some(&editor), PIN, json!({ "id": id, "s": bad }))
                .await,
            "BAD_USER_INPUT"
        );
    }
    assert_eq!(
        related_as(app, None, "talks-1").await,
        before,
        "refusals change nothing"
    );
    app.ok_as(
        &editor,
        PIN,
        json!({ "id": id, "s": ["markets-2", "talks-draft", "markets-1"] }),
    )
    .await;
    let list = related_as(app, None, "talks-1").await;
    assert_eq!(slugs(&list)[..2], ["markets-2", "markets-1"], "{list:?}");
    assert_eq!(list[0]["reasons"][0], "chosen by the editors");
    assert!(
        !slugs(&list).contains(&"talks-draft"),
        "a pinned draft stays hidden"
    );
    assert_eq!(
        slugs(&list).iter().filter(|s| **s == "markets-2").count(),
        1
    );
    assert_eq!(slugs(&list)[2], "talks-2", "computed ones follow: {list:?}");
    app.step_as(&editor, "publishArticle", "talks-draft").await;
    assert_eq!(
        slugs(&related_as(app, None, "talks-1").await)[..3],
        ["markets-2", "talks-draft", "markets-1"]
    );
    app.ok_as(&editor, PIN, json!({ "id": id, "s": [] })).await;
    assert_ne!(
        related_as(app, None, "talks-1").await[0]["reasons"][0],
        "chosen by the editors"
    );
}

async fn rest_related_mirrors_graphql(app: &TestApp) {
    app.import(newsroom_with(four())).await;
    let (s, h, body) = app.get("/api/v1/articles/talks-1/related?limit=1").await;
    assert_eq!(s, 200, "{body}");
    assert!(h.get("etag").is_some());
    let data = body["data"].as_array().expect("data");
    assert_eq!(data.len(), 1, "{body}");
    assert_eq!(data[0]["article"]["slug"], "talks-2");
    assert!(data[0]["reasons"].as_array().is_some_and(|r| !r.is_empty()));
    assert!(data[0]["score"].as_f64().is_some_and(|x| x > 0.0));
    let (s, _, body) = app.get("/api/v1/articles/talks-1/related?limit=11").await;
    assert_eq!(s, 422, "{body}");
    let (s, _, _) = app.get("/api/v1/articles/talks-draft/related").await;
    assert_eq!(s, 404, "a draft is not there for anonymous readers");
    let pin = |tok: Option<String>, body: Value| {
        request(
            "PUT",
            "/api/v1/articles/talks-1/related",
            tok.as_deref(),
            Some(body),
        )
    };
    let (s, _, _) = app.send(pin(None, json!({ "slugs": ["markets-1"] }))).await;
    assert_eq!(s, 401);
    let (s, _, body) = app
        .send(pin(Some(writer("omar")), json!({ "slugs": ["markets-1"] })))
        .await;
    assert_eq!(s, 403, "{body}");
    let (s, _, body) = app
        .send(pin(Some(editor()), json!({ "slugs": ["markets-1"] })))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"][0]["article"]["slug"], "markets-1");
    assert_eq!(body["data"][0]["reasons"][0], "chosen by the editors");
    let (_, _, body) = app.get("/api/v1/articles/talks-1/related").await;
    assert_eq!(body["data"][0]["article"]["slug"], "markets-1", "{body}");
    let (s, _, body) = app
        .send(pin(Some(editor()), json!({ "slugs": "markets-1" })))
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["code"], "BAD_USER_INPUT");
}

/// Creates and publishes, as an editor, a story in `section` by a new author that shares
/// no tag, byline or wording with the archive; returns its slug.
async fn lone_story(app: &TestApp, section: &str, headline: &str, text: &str) -> String {
    let author = app
        .ok_as(
            &editor(),
            "mutation($n: String!) { createAuthor(input: { name: $n }) { slug } }",
            json!({ "n": format!("Stringer of {headline}") }),
        )
        .await;
    let body = app
        .ok_as(
            &editor(),
            "mutation($h: String!, $s: String!, $t: String!, $a: String!) { createArticle(input: {
                headline: $h, section: $s, authors: [$a], body: [{ paragraph: { html: $t } }] }) { slug } }",
            json!({ "h": headline, "s": section, "t": text, "a": author["createAuthor"]["slug"] }),
        )
        .await;
    let slug = body["createArticle"]["slug"]
        .as_str()
        .unwrap_or_else(|| panic!("created: {body}"))
        .to_owned();
    app.step_as(&editor(), "publishArticle", &slug).await;
    slug
}

async fn a_story_that_shares_nothing_gets_the_latest_of_its_section_then_its_parent(app: &TestApp) {
    app.import(newsroom_with(four())).await;
    app.ok_as(
        &editor(),
        "mutation { createSection(input: { name: \"Oceania\", parent: \"world\" }) { path } }",
        json!({}),
    )
    .await;
    let reef = lone_story(
        app,
        "world/oceania",
        "Reef surveys at Funafuti",
        "Divers counted bleached coral along the lagoon's northern rim.",
    )
    .await;
    const LIST: &str = "query($s: String!) { relatedArticles(slug: $s, limit: 10) {
        reasons article { slug status publishedAt section { path } } } }";
    let list_of = |slug: String| async move {
        let (_, body) = app.graphql(LIST, json!({ "s": slug })).await;
        body["data"]["relatedArticles"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| panic!("a list: {body}"))
    };
    // Nothing else in Oceania: the newest of World, said so.
    let list = list_of(reef.clone()).await;
    assert!(
        !list.is_empty(),
        "never an empty list while World has stories"
    );
    for r in &list {
        assert_eq!(r["reasons"], json!(["latest in World"]), "{r}");
        let path = r["article"]["section"]["path"].as_str().expect("path");
        assert!(
            path == "world" || path.starts_with("world/"),
            "World's subtree: {r}"
        );
        assert_eq!(r["article"]["status"], "PUBLISHED", "{r}");
        assert_ne!(r["article"]["slug"], reef.as_str());
    }
    let times: Vec<&str> = list
        .iter()
        .map(|r| r["article"]["publishedAt"].as_str().expect("publishedAt"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    // A second Oceania story lists the first before World's.
    let atoll = lone_story(
        app,
        "world/oceania",
        "Atoll school reopens",
        "Pupils returned to classrooms rebuilt after the cyclone season.",
    )
    .await;
    let list = list_of(atoll.clone()).await;
    assert_eq!(list[0]["article"]["slug"], reef.as_str(), "{list:?}");
    assert!(
        list[1..]
            .iter()
            .all(|r| r["reasons"] == json!(["latest in World"])),
        "{list:?}"
    );
    // Drafts and embargoed stories never fill it.
    assert!(
        !slugs(&list).contains(&"talks-draft"),
        "never a draft: {list:?}"
    );
}
