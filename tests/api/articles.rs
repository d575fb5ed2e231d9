//! Article reads: listings, filters, pagination, the article page, and drafts staying hidden.

use serde_json::{Value, json};

use crate::fixtures::newsroom;
use crate::helpers::{TestApp, slugs};
use crate::storage_tests;

storage_tests!(
    articles_are_listed_newest_first_in_pages_with_a_total_count,
    a_section_filter_includes_its_subsections,
    author_tag_and_date_filters_narrow_the_listing,
    an_article_page_has_everything_a_front_end_renders,
    an_article_is_found_by_id_as_by_slug,
    drafts_are_invisible_on_every_read_path,
    bad_listing_arguments_are_refused_as_bad_user_input,
);

const LIST: &str = "query($first: Int, $after: String, $filter: ArticleFilter) {
  articles(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { cursor node { slug } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}";

async fn list(app: &TestApp, filter: Value) -> (Vec<String>, i64) {
    let data = app
        .query(LIST, json!({ "first": 50, "filter": filter }))
        .await;
    let conn = &data["articles"];
    (
        slugs(conn),
        conn["totalCount"].as_i64().expect("totalCount"),
    )
}

async fn articles_are_listed_newest_first_in_pages_with_a_total_count(app: &TestApp) {
    app.import(newsroom()).await;

    let first = app.query(LIST, json!({ "first": 4 })).await;
    let conn = &first["articles"];
    assert_eq!(
        slugs(conn),
        [
            "aid-arrives",
            "port-profits",
            "markets-rally",
            "summit-ends"
        ]
    );
    assert_eq!(
        conn["totalCount"], 6,
        "drafts and in-review articles are not counted"
    );
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    assert_eq!(conn["pageInfo"]["hasPreviousPage"], false);
    assert_eq!(conn["pageInfo"]["endCursor"], conn["edges"][3]["cursor"]);

    let after = conn["pageInfo"]["endCursor"].clone();
    let second = app.query(LIST, json!({ "first": 4, "after": after })).await;
    let conn = &second["articles"];
    assert_eq!(slugs(conn), ["border-reopens", "talks-resume"]);
    assert_eq!(conn["pageInfo"]["hasNextPage"], false);
    assert_eq!(conn["pageInfo"]["hasPreviousPage"], true);

    let empty = app.query(LIST, json!({ "first": 0 })).await;
    assert_eq!(slugs(&empty["articles"]), Vec::<String>::new());
    assert_eq!(empty["articles"]["totalCount"], 6);
}

async fn a_section_filter_includes_its_subsections(app: &TestApp) {
    app.import(newsroom()).await;
    let (world, n) = list(app, json!({ "section": "world" })).await;
    assert_eq!(
        world,
        [
            "aid-arrives",
            "summit-ends",
            "border-reopens",
            "talks-resume"
        ]
    );
    assert_eq!(n, 4);
    let (me, n) = list(app, json!({ "section": "world/middle-east" })).await;
    assert_eq!(me, ["aid-arrives", "border-reopens", "talks-resume"]);
    assert_eq!(n, 3);
    for nothing in ["nowhere", "wor", "world/", "wor%", "world/middle-east/x"] {
        assert_eq!(
            list(app, json!({ "section": nothing })).await,
            (vec![], 0),
            "{nothing:?}"
        );
    }
}

async fn author_tag_and_date_filters_narrow_the_listing(app: &TestApp) {
    app.import(newsroom()).await;
    let (lena, _) = list(app, json!({ "author": "lena-berg" })).await;
    assert_eq!(lena, ["port-profits", "markets-rally", "border-reopens"]);
    let (talks, n) = list(app, json!({ "tag": "ceasefire-talks" })).await;
    assert_eq!(
        talks,
        ["border-reopens", "talks-resume"],
        "the draft with the tag stays hidden"
    );
    assert_eq!(n, 2);
    let (both, _) = list(app, json!({ "author": "lena-berg", "tag": "markets" })).await;
    assert_eq!(both, ["port-profits", "markets-rally"]);
    let (window, n) = list(
        app,
        json!({ "publishedAfter": "2026-03-02T09:00:00Z", "publishedBefore": "2026-03-05T09:00:00Z" }),
    )
    .await;
    assert_eq!(
        window,
        ["markets-rally", "summit-ends"],
        "both bounds are exclusive"
    );
    assert_eq!(n, 2);
    assert_eq!(list(app, json!({ "author": "nobody" })).await, (vec![], 0));
}

async fn an_article_page_has_everything_a_front_end_renders(app: &TestApp) {
    app.import(newsroom()).await;
    let data = app
        .query(
            "{ article(slug: \"border-reopens\") {
                id slug headline dek status version publishedAt createdAt wordCount readingTimeMinutes
                body {
                  __typename
                  ... on HeadingBlock { level text }
                  ... on ParagraphBlock { html text }
                  ... on ListBlock { ordered items }
                  ... on QuoteBlock { html attribution }
                  ... on ImageBlock { url alt caption credit }
                  ... on EmbedBlock { url provider }
                }
                bodyHtml
                section { path name }
                breadcrumb { path name }
                authors { slug name title }
                tags { slug name }
                source { name url }
                featuredImage { url }
                commentCount
            } }",
            json!({}),
        )
        .await;
    let a = &data["article"];
    assert_eq!(a["headline"], "Headline of border-reopens");
    assert_eq!(a["dek"], "Dek of border-reopens");
    assert_eq!(a["status"], "PUBLISHED");
    assert_eq!(a["version"], 1);
    assert_eq!(a["publishedAt"], "2026-03-02T09:00:00+00:00");
    let kinds: Vec<&str> = a["body"]
        .as_array()
        .expect("body")
        .iter()
        .map(|b| b["__typename"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "HeadingBlock",
            "ParagraphBlock",
            "ListBlock",
            "QuoteBlock",
            "ImageBlock",
            "EmbedBlock"
        ]
    );
    assert_eq!(
        a["body"][0],
        json!({ "__typename": "HeadingBlock", "level": 2, "text": "What happened" })
    );
    assert_eq!(
        a["body"][1]["html"],
        "The <em>story</em> of border-reopens, with <a href=\"https://example.org/border-reopens\" rel=\"noopener noreferrer\">a link</a>."
    );
    assert_eq!(
        a["body"][1]["text"],
        "The story of border-reopens, with a link."
    );
    assert_eq!(a["body"][2]["items"][0], "<strong>First:</strong> one");
    assert_eq!(a["body"][3]["attribution"], "A spokesperson");
    assert_eq!(a["body"][4]["credit"], "Photo: Desk");
    assert_eq!(a["body"][5]["provider"], "YouTube");
    let html = a["bodyHtml"].as_str().expect("bodyHtml");
    assert!(
        html.starts_with("<h2>What happened</h2>\n<p>The <em>story</em>"),
        "{html}"
    );
    assert!(
        html.contains("<ul><li><strong>First:</strong> one</li>"),
        "{html}"
    );
    assert!(
        html.contains(
            "<blockquote><p>We will see.</p><footer>A spokesperson</footer></blockquote>"
        ),
        "{html}"
    );
    // 2 (heading) + 7 (paragraph) + 4 (list) + 3 (quote) words.
    assert_eq!(a["wordCount"], 16);
    assert_eq!(a["readingTimeMinutes"], 1);
    assert_eq!(
        a["section"],
        json!({ "path": "world/middle-east", "name": "Middle East" })
    );
    assert_eq!(
        a["breadcrumb"],
        json!([{ "path": "world", "name": "World" }, { "path": "world/middle-east", "name": "Middle East" }])
    );
    assert_eq!(
        a["authors"],
        json!([
            { "slug": "omar-haddad", "name": "Omar Haddad", "title": "World Editor" },
            { "slug": "lena-berg", "name": "Lena Berg", "title": "Business Reporter" }
        ]),
        "bylines keep their order"
    );
    assert_eq!(
        a["tags"],
        json!([{ "slug": "ceasefire-talks", "name": "ceasefire talks" }])
    );
    assert_eq!(a["source"], Value::Null);
    assert_eq!(a["commentCount"], 0);
}

async fn an_article_is_found_by_id_as_by_slug(app: &TestApp) {
    app.import(newsroom()).await;
    let by_slug = app
        .query("{ article(slug: \"summit-ends\") { id slug } }", json!({}))
        .await;
    let id = by_slug["article"]["id"].clone();
    let by_id = app
        .query(
            "query($id: ID) { article(id: $id) { id slug } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(by_id, by_slug);
    let missing = app
        .query("{ article(slug: \"no-such-story\") { id } }", json!({}))
        .await;
    assert_eq!(missing["article"], Value::Null);
    let missing = app
        .query("{ article(id: \"999999\") { id } }", json!({}))
        .await;
    assert_eq!(missing["article"], Value::Null);
}

async fn drafts_are_invisible_on_every_read_path(app: &TestApp) {
    app.import(newsroom()).await;
    let draft_id = app
        .query(
            "{ articles(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        draft_id["articles"]["edges"].as_array().map(Vec::len),
        Some(6)
    );

    for slug in ["secret-draft", "under-review"] {
        let data = app
            .query(
                "query($s: String) { article(slug: $s) { slug } }",
                json!({ "s": slug }),
            )
            .await;
        assert_eq!(data["article"], Value::Null, "{slug} by slug");
    }
    // By id: the draft's id is the 7th imported article's; try every id near it. Exactly
    // the six published articles are found, so lookups by id work and hide the others.
    let mut found = 0;
    for id in 1..=20 {
        let data = app
            .query(
                "query($id: ID) { article(id: $id) { slug status } }",
                json!({ "id": id.to_string() }),
            )
            .await;
        if !data["article"].is_null() {
            assert_eq!(data["article"]["status"], "PUBLISHED", "id {id}: {data}");
            found += 1;
        }
    }
    assert_eq!(found, 6, "the published articles are found by id");
    for status in ["DRAFT", "IN_REVIEW", "SCHEDULED", "UNPUBLISHED", "ARCHIVED"] {
        assert_eq!(
            list(app, json!({ "status": status })).await,
            (vec![], 0),
            "status filter {status}"
        );
    }
    assert_eq!(list(app, json!({ "status": "PUBLISHED" })).await.1, 6);

    let nested = app
        .query(
            "{
              section(path: \"world/middle-east\") { articles(first: 100) { totalCount edges { node { slug } } } }
              author(slug: \"omar-haddad\") { articles(first: 100) { totalCount edges { node { slug } } } }
              tag(slug: \"diplomacy\") { articles(first: 100) { totalCount edges { node { slug } } } }
              sections { articles(first: 100) { totalCount edges { node { slug } } } }
            }",
            json!({}),
        )
        .await;
    let text = nested.to_string();
    assert!(
        !text.contains("secret-draft") && !text.contains("under-review"),
        "{text}"
    );
    assert_eq!(nested["section"]["articles"]["totalCount"], 3);
    assert_eq!(nested["author"]["articles"]["totalCount"], 4);
    assert_eq!(nested["tag"]["articles"]["totalCount"], 2);
}

async fn bad_listing_arguments_are_refused_as_bad_user_input(app: &TestApp) {
    app.import(newsroom()).await;
    let author_cursor = app
        .query(
            "{ authors(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await["authors"]["pageInfo"]["endCursor"]
        .clone();
    let cases: Vec<(&str, &str, Value)> = vec![
        (
            "negative first",
            "query($f: Int) { articles(first: $f) { totalCount } }",
            json!({ "f": -1 }),
        ),
        (
            "first over 100",
            "query($f: Int) { articles(first: $f) { totalCount } }",
            json!({ "f": 101 }),
        ),
        (
            "huge first",
            "query($f: Int) { articles(first: $f) { totalCount } }",
            json!({ "f": 100000 }),
        ),
        (
            "garbage cursor",
            "query($a: String) { articles(after: $a) { totalCount } }",
            json!({ "a": "not-a-cursor" }),
        ),
        (
            "cursor of another listing",
            "query($a: String) { articles(after: $a) { totalCount } }",
            json!({ "a": author_cursor }),
        ),
        ("neither slug nor id", "{ article { slug } }", json!({})),
        (
            "both slug and id",
            "{ article(slug: \"summit-ends\", id: \"1\") { slug } }",
            json!({}),
        ),
        (
            "non-numeric id",
            "{ article(id: \"abc\") { slug } }",
            json!({}),
        ),
        (
            "hidden status, bad first",
            "query($f: Int) { articles(first: $f, filter: { status: DRAFT }) { totalCount } }",
            json!({ "f": -5 }),
        ),
        (
            "nested first over 100",
            "{ sections { articles(first: 500) { totalCount } } }",
            json!({}),
        ),
        (
            "authors first over 100",
            "{ authors(first: 101) { totalCount } }",
            json!({}),
        ),
        (
            "comments garbage cursor",
            "{ article(slug: \"talks-resume\") { comments(after: \"x\") { edges { cursor } } } }",
            json!({}),
        ),
    ];
    for (what, query, vars) in cases {
        let (status, body) = app.graphql(query, vars).await;
        assert_eq!(status, 200, "{what}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{what}: {body}"
        );
    }
}
