//! Full-text search on both databases: words, phrases, prefixes, ranking, highlights,
//! filters, paging, hostile input, and drafts kept from anonymous readers.

use serde_json::{Value, json};

use crate::fixtures::{april_article, newsroom, newsroom_with};
use crate::helpers::{
    TestApp, editor, rest_slugs, slugs as connection_slugs, token, urlencode, writer,
};
use crate::storage_tests;

storage_tests!(
    search_finds_by_word_phrase_and_prefix,
    a_headline_match_ranks_above_a_body_only_match,
    highlights_mark_the_matches_and_escape_the_text,
    anonymous_readers_never_find_drafts,
    search_follows_edits_in_the_same_write,
    search_takes_the_filters_of_articles_and_pages,
    any_input_is_a_result_or_bad_user_input,
    rest_search_mirrors_graphql,
    listings_filter_by_several_tags_any_or_all,
    a_broad_search_ranks_old_headline_matches_and_pages_through_every_match,
);

/// An article about `text`, with `headline`, in `status`: on even days Lena's, in business
/// and tagged markets; on odd days Omar's, in the Middle East and tagged diplomacy.
fn story(slug: &str, headline: &str, text: &str, status: &str, day: u32) -> Value {
    let even = day.is_multiple_of(2);
    let mut a = april_article(slug, headline, text, status, day);
    a["section"] = json!(if even {
        "business"
    } else {
        "world/middle-east"
    });
    a["authors"] = json!([if even { "lena-berg" } else { "omar-haddad" }]);
    a["tags"] = json!([if even { "markets" } else { "diplomacy" }]);
    a
}

const SEARCH: &str = "query($q: String!, $first: Int, $after: String, $f: ArticleFilter) {
    search(query: $q, first: $first, after: $after, filter: $f) {
        totalCount
        edges { cursor score highlight node { slug section { path } } }
        pageInfo { hasNextPage endCursor } } }";

/// The slugs `q` finds for `tok`; panics unless the search answered, so that no slugs
/// means nothing found.
async fn slugs_as(app: &TestApp, tok: Option<&str>, q: &str) -> Vec<String> {
    let (status, body) = app.graphql_as(tok, SEARCH, json!({ "q": q })).await;
    assert_eq!(status, 200, "{q}: {body}");
    assert!(body["errors"].is_null(), "{q}: {body}");
    connection_slugs(&body["data"]["search"])
}

async fn slugs(app: &TestApp, q: &str) -> Vec<String> {
    slugs_as(app, None, q).await
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn search_finds_by_word_phrase_and_prefix(app: &TestApp) {
    app.import(newsroom_with(vec![
        story(
            "kabul-talks",
            "Envoys meet in Kabul",
            "The Taliban delegation arrived for peace talks.",
            "PUBLISHED",
            1,
        ),
        story(
            "doha-round",
            "A new round in Doha",
            "Talks about peace resumed; the Taliban sent envoys.",
            "PUBLISHED",
            3,
        ),
        story(
            "harvest",
            "Farmers count the harvest",
            "Rain came late to the valley this year.",
            "PUBLISHED",
            2,
        ),
    ]))
    .await;
    assert_eq!(
        sorted(slugs(app, "taliban").await),
        ["doha-round", "kabul-talks"]
    );
    // Stemming: "talk" finds "talks".
    assert_eq!(
        sorted(slugs(app, "talk").await),
        ["doha-round", "kabul-talks"]
    );
    assert_eq!(slugs(app, "\"peace talks\"").await, ["kabul-talks"]);
    assert_eq!(
        sorted(slugs(app, "taliba*").await),
        ["doha-round", "kabul-talks"]
    );
    assert_eq!(slugs(app, "taliban -kabul").await, ["doha-round"]);
    assert_eq!(
        sorted(slugs(app, "harvest OR doha").await),
        ["doha-round", "harvest"]
    );
    assert_eq!(slugs(app, "harvest taliban").await, Vec::<String>::new());
    assert_eq!(slugs(app, "zeppelin").await, Vec::<String>::new());
}

async fn a_headline_match_ranks_above_a_body_only_match(app: &TestApp) {
    app.import(newsroom_with(vec![
        story(
            "body-only",
            "Council meets on Tuesday",
            "Members discussed the lighthouse repairs at length.",
            "PUBLISHED",
            1,
        ),
        story(
            "in-headline",
            "Lighthouse repairs begin",
            "Work started on Monday after months of delay.",
            "PUBLISHED",
            3,
        ),
    ]))
    .await;
    let (_, body) = app.graphql(SEARCH, json!({ "q": "lighthouse" })).await;
    let edges = &body["data"]["search"]["edges"];
    assert_eq!(edges[0]["node"]["slug"], "in-headline", "{body}");
    assert_eq!(edges[1]["node"]["slug"], "body-only", "{body}");
    let (a, b) = (
        edges[0]["score"].as_f64().unwrap_or(0.0),
        edges[1]["score"].as_f64().unwrap_or(0.0),
    );
    assert!(a > b && b > 0.0, "scores {a} and {b}");
}

async fn highlights_mark_the_matches_and_escape_the_text(app: &TestApp) {
    app.import(newsroom_with(vec![story(
        "escaped",
        "Quiet week",
        "The mayor said 5 &lt; 6 &amp; the <em>ferry</em> timetable changes in May.",
        "PUBLISHED",
        1,
    )]))
    .await;
    let (_, body) = app.graphql(SEARCH, json!({ "q": "ferry" })).await;
    let h = body["data"]["search"]["edges"][0]["highlight"]
        .as_str()
        .unwrap_or_else(|| panic!("a highlight: {body}"));
    assert!(h.contains("<mark>ferry</mark>"), "{h}");
    assert!(h.contains("5 &lt; 6 &amp;"), "text is escaped: {h}");
    assert!(!h.contains("<em>"), "{h}");
}

async fn anonymous_readers_never_find_drafts(app: &TestApp) {
    app.import(newsroom_with(vec![
        story(
            "public",
            "Bridge opens",
            "The zeppelin hangar bridge opened.",
            "PUBLISHED",
            1,
        ),
        story(
            "draft",
            "Bridge scandal",
            "Secret zeppelin plans leaked.",
            "DRAFT",
            3,
        ),
        story(
            "review",
            "Bridge review",
            "The zeppelin review is pending.",
            "IN_REVIEW",
            5,
        ),
    ]))
    .await;
    assert_eq!(slugs(app, "zeppelin").await, ["public"]);
    let (_, body) = app.graphql(SEARCH, json!({ "q": "zeppelin" })).await;
    assert_eq!(body["data"]["search"]["totalCount"], 1);
    // Even asking for drafts by status finds nothing without a token.
    let (_, body) = app
        .graphql(
            SEARCH,
            json!({ "q": "zeppelin", "f": { "status": "DRAFT" } }),
        )
        .await;
    assert_eq!(body["data"]["search"]["edges"], json!([]), "{body}");
    let (s, _, rest) = app.get("/api/v1/search?q=zeppelin").await;
    assert_eq!(s, 200);
    assert_eq!(rest["data"].as_array().map(Vec::len), Some(1), "{rest}");
    // Editors find everything; the drafts' writer finds their own.
    let editor = editor();
    assert_eq!(
        sorted(slugs_as(app, Some(&editor), "zeppelin").await),
        ["draft", "public", "review"]
    );
    let omar = writer("omar");
    assert_eq!(
        sorted(slugs_as(app, Some(&omar), "zeppelin").await),
        ["draft", "public", "review"]
    );
    let lena = writer("lena");
    assert_eq!(slugs_as(app, Some(&lena), "zeppelin").await, ["public"]);
}

async fn search_follows_edits_in_the_same_write(app: &TestApp) {
    app.import(newsroom_with(vec![story(
        "changing",
        "Old headline",
        "Nothing about boats.",
        "PUBLISHED",
        1,
    )]))
    .await;
    let editor = editor();
    let (id, v) = app.id_version("changing").await;
    app.ok_as(
        &editor,
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: {
            headline: \"Catamaran race\", body: [{ paragraph: { html: \"Sails everywhere.\" } }] }) { version } }",
        json!({ "id": id, "v": v }),
    )
    .await;
    assert_eq!(slugs(app, "catamaran").await, ["changing"]);
    assert_eq!(slugs(app, "boats").await, Vec::<String>::new());
    let (id, v) = app.id_version("changing").await;
    app.ok_as(
        &editor,
        "mutation($id: ID!, $v: Int!) { unpublishArticle(id: $id, expectedVersion: $v) { status } }",
        json!({ "id": id, "v": v }),
    )
    .await;
    assert_eq!(slugs(app, "catamaran").await, Vec::<String>::new());
    let (id, v) = app.id_version("changing").await;
    app.ok_as(
        &token("root", "admin"),
        "mutation($id: ID!, $v: Int!) { deleteArticle(id: $id, expectedVersion: $v) }",
        json!({ "id": id, "v": v }),
    )
    .await;
    assert_eq!(
        slugs_as(app, Some(&editor), "catamaran").await,
        Vec::<String>::new()
    );
    // A new article is searchable as soon as it is created (by editors, as a draft).
    app.ok_as(
        &editor,
        "mutation { createArticle(input: { headline: \"Trimaran trials\", section: \"world\",
            authors: [\"omar-haddad\"], body: [{ paragraph: { html: \"Fast hulls.\" } }] }) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(slugs_as(app, Some(&editor), "hulls").await.len(), 1);
    assert_eq!(slugs(app, "hulls").await, Vec::<String>::new());
}

async fn search_takes_the_filters_of_articles_and_pages(app: &TestApp) {
    let stories: Vec<Value> = (1..=9)
        .map(|d| {
            story(
                &format!("storm-{d}"),
                &format!("Storm update {d}"),
                "Storm warnings continue.",
                "PUBLISHED",
                d,
            )
        })
        .collect();
    app.import(newsroom_with(stories)).await;
    let (_, body) = app
        .graphql(SEARCH, json!({ "q": "storm", "f": { "section": "world" } }))
        .await;
    let edges = body["data"]["search"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("edges: {body}"));
    assert_eq!(edges.len(), 5, "{body}");
    assert!(
        edges
            .iter()
            .all(|e| e["node"]["section"]["path"] == "world/middle-east")
    );
    let (_, body) = app
        .graphql(SEARCH, json!({ "q": "storm", "f": { "author": "lena-berg", "publishedAfter": "2026-04-04T00:00:00Z" } }))
        .await;
    assert_eq!(body["data"]["search"]["totalCount"], 3, "{body}");
    // Pages of 4: 4 + 4 + 1, no result twice.
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let (_, body) = app
            .graphql(SEARCH, json!({ "q": "storm", "first": 4, "after": after }))
            .await;
        let s = &body["data"]["search"];
        seen.extend(connection_slugs(s));
        if s["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = s["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 9);
    assert_eq!(
        sorted(seen.clone())
            .windows(2)
            .filter(|w| w[0] == w[1])
            .count(),
        0,
        "{seen:?}"
    );
    // A cursor of another listing is refused.
    let (_, body) = app
        .graphql(
            "{ articles(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let other = body["data"]["articles"]["pageInfo"]["endCursor"].clone();
    let (_, body) = app
        .graphql(SEARCH, json!({ "q": "storm", "after": other }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
}

async fn any_input_is_a_result_or_bad_user_input(app: &TestApp) {
    app.import(newsroom_with(vec![story(
        "plain",
        "Plain",
        "Ordinary words about al-Qaeda and the U.S. in 2024.",
        "PUBLISHED",
        1,
    )]))
    .await;
    let long = "storm ".repeat(2000);
    let cases: Vec<String> = vec![
        "\"unbalanced".into(),
        "\"".into(),
        "AND OR NOT".into(),
        "NEAR(a b)".into(),
        "headline:plain".into(),
        "^plain".into(),
        "plain*".into(),
        "*".into(),
        "-".into(),
        "--plain".into(),
        "'); DROP TABLE articles; --".into(),
        "al-qaeda".into(),
        "U.S.".into(),
        "\\u0000 \u{0}".into(),
        "ö ü ß 東京".into(),
        "a & b | !c <-> d:*".into(),
        long,
        "x".repeat(10_000),
        "".into(),
        "   ".into(),
        "!!!".into(),
    ];
    for q in cases {
        let (status, body) = app.graphql(SEARCH, json!({ "q": q })).await;
        let shown: String = q.chars().take(40).collect();
        match body["errors"][0]["extensions"]["code"].as_str() {
            None => assert!(
                body["data"]["search"]["edges"].is_array(),
                "{shown}: {body}"
            ),
            Some(code) => assert_eq!(code, "BAD_USER_INPUT", "{shown}: {body}"),
        }
        assert_eq!(status, 200, "{shown}");
        let (status, _, rest) = app
            .get(&format!("/api/v1/search?q={}", urlencode(&q)))
            .await;
        assert!(status == 200 || status == 422, "{shown}: {status} {rest}");
    }
    assert_eq!(slugs(app, "al-qaeda").await, ["plain"]);
    assert_eq!(slugs(app, "\"al qaeda\"").await, ["plain"]);
}

async fn rest_search_mirrors_graphql(app: &TestApp) {
    app.import(newsroom_with(
        (1..=3)
            .map(|d| {
                story(
                    &format!("quay-{d}"),
                    &format!("Quay works {d}"),
                    "The quay is rebuilt.",
                    "PUBLISHED",
                    d,
                )
            })
            .collect(),
    ))
    .await;
    let (s, h, body) = app.get("/api/v1/search?q=quay&limit=2").await;
    assert_eq!(s, 200, "{body}");
    let data = body["data"].as_array().expect("data");
    assert_eq!(data.len(), 2, "{body}");
    assert!(
        data[0]["article"]["slug"]
            .as_str()
            .is_some_and(|x| x.starts_with("quay-"))
    );
    assert!(data[0]["score"].as_f64().is_some_and(|x| x > 0.0));
    assert!(
        data[0]["highlight"]
            .as_str()
            .is_some_and(|x| x.contains("<mark>")),
        "{body}"
    );
    assert!(h.get("etag").is_some());
    assert!(h.get("link").is_some());
    let next = body["next_cursor"].as_str().unwrap_or("");
    let (_, _, more) = app
        .get(&format!("/api/v1/search?q=quay&limit=2&cursor={next}"))
        .await;
    assert_eq!(more["data"].as_array().map(Vec::len), Some(1), "{more}");
    assert!(more["next_cursor"].is_null());
    let (s, _, body) = app.get("/api/v1/search?q=quay&section=business").await;
    assert_eq!(s, 200);
    assert_eq!(body["data"].as_array().map(Vec::len), Some(1), "{body}");
    let (s, h, body) = app.get("/api/v1/search").await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(h["content-type"], "application/problem+json");
    let (s, _, body) = app.get("/api/v1/search?q=%22%22").await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["code"], "BAD_USER_INPUT");
}

async fn listings_filter_by_several_tags_any_or_all(app: &TestApp) {
    app.import(newsroom()).await;
    let list = |f: Value| async move {
        let (_, body) = app
            .graphql(
                "query($f: ArticleFilter) { articles(filter: $f) { edges { node { slug } } } }",
                json!({ "f": f }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        sorted(connection_slugs(&body["data"]["articles"]))
    };
    assert_eq!(
        list(json!({ "tags": ["diplomacy", "shipping"] })).await,
        ["port-profits", "summit-ends", "talks-resume"]
    );
    assert_eq!(
        list(json!({ "tags": ["diplomacy", "ceasefire-talks"], "tagsMatch": "ALL" })).await,
        ["talks-resume"]
    );
    assert_eq!(
        list(json!({ "tags": ["diplomacy", "no-such-tag"], "tagsMatch": "ALL" })).await,
        Vec::<String>::new()
    );
    assert_eq!(
        list(json!({ "tag": "markets", "tags": ["shipping", "diplomacy"] })).await,
        ["port-profits"]
    );
    let (_, _, body) = app
        .get("/api/v1/articles?tags=diplomacy,shipping&section=world")
        .await;
    assert_eq!(rest_slugs(&body).len(), 2, "{body}");
    let (_, _, body) = app
        .get("/api/v1/articles?tags=diplomacy,ceasefire-talks&tags_match=all")
        .await;
    assert_eq!(body["data"].as_array().map(Vec::len), Some(1), "{body}");
    let (s, _, body) = app.get("/api/v1/articles?tags_match=some").await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["code"], "BAD_USER_INPUT");
    let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let (_, body) = app
        .graphql(
            "query($f: ArticleFilter) { articles(filter: $f) { totalCount } }",
            json!({ "f": { "tags": many } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
}

async fn a_broad_search_ranks_old_headline_matches_and_pages_through_every_match(app: &TestApp) {
    // More body matches than a search ranks at once, and the one headline match the oldest.
    let mut stories = vec![story(
        "gulls-return",
        "Gulls return to the quay",
        "Birds everywhere.",
        "PUBLISHED",
        1,
    )];
    for i in 0..340 {
        stories.push(story(
            &format!("note-{i}"),
            &format!("Harbour note {i}"),
            "A gull was seen near the pier.",
            "PUBLISHED",
            2 + i % 27,
        ));
    }
    app.import(newsroom_with(stories)).await;
    let (_, body) = app
        .graphql(SEARCH, json!({ "q": "gulls", "first": 1 }))
        .await;
    assert_eq!(
        body["data"]["search"]["edges"][0]["node"]["slug"], "gulls-return",
        "{body}"
    );
    assert_eq!(body["data"]["search"]["totalCount"], 341);
    let (_, body) = app
        .graphql(
            "{ search(query: \"gulls\", first: 1) { totalCount totalCountIsExact } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["search"],
        json!({ "totalCount": 341, "totalCountIsExact": true })
    );
    // Past the bound a count says "at least" (10,000 in the API; smaller here).
    let req = gazette::domain::search::SearchRequest::new(
        "gulls",
        gazette::domain::filter::ArticleFilter::default(),
        None,
        None,
    )
    .expect("a request");
    use gazette::domain::search::{Count, count_up_to};
    for (bound, want) in [
        (
            100,
            Count {
                n: 100,
                exact: false,
            },
        ),
        (
            340,
            Count {
                n: 340,
                exact: false,
            },
        ),
        (
            341,
            Count {
                n: 341,
                exact: true,
            },
        ),
        (
            10_000,
            Count {
                n: 341,
                exact: true,
            },
        ),
    ] {
        assert_eq!(
            count_up_to(&app.db, &req, bound).await.expect("count"),
            want
        );
    }
    let mut seen = std::collections::HashSet::new();
    let mut after = Value::Null;
    for _ in 0..10 {
        let (_, body) = app
            .graphql(SEARCH, json!({ "q": "gull", "first": 100, "after": after }))
            .await;
        let s = &body["data"]["search"];
        for slug in connection_slugs(s) {
            assert!(seen.insert(slug.clone()), "twice: {slug}");
        }
        if s["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = s["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.len(), 341);
}
