//! No N+1: the statements a GraphQL request runs do not grow with the items it lists.
//! Sections, authors and tags come from the newsroom directory once it is loaded (its first
//! use costs three statements), so each test reads once before it counts.

use serde_json::json;

use crate::fixtures::{many_articles, newsroom};
use crate::helpers::TestApp;
use crate::storage_tests;

storage_tests!(
    a_listing_with_relations_costs_the_same_statements_for_5_or_50_articles,
    a_front_page_of_sections_costs_the_same_for_any_number_of_sections,
    an_article_page_costs_a_fixed_handful_of_statements,
    ninjs_items_of_a_listing_cost_the_same_statements_for_5_or_50_articles,
    a_page_of_changes_or_of_the_partner_feed_costs_the_same_for_5_or_50_entries,
);

/// Loads the directory (a query no test counts).
const WARM: &str = "{ sections { name } }";

const LISTING: &str = "query($n: Int) { articles(first: $n) { edges { node {
    section { name } authors { name } tags { name } commentCount
} } } }";

async fn a_listing_with_relations_costs_the_same_statements_for_5_or_50_articles(app: &TestApp) {
    app.import(many_articles(50)).await;
    app.query(WARM, json!({})).await;
    let mut seen = Vec::new();
    for n in [5, 50] {
        app.take_statement_count();
        let data = app.query(LISTING, json!({ "n": n })).await;
        let statements = app.take_statement_count();
        let edges = data["articles"]["edges"].as_array().expect("edges");
        assert_eq!(edges.len(), n as usize);
        assert_eq!(edges[n as usize - 1]["node"]["commentCount"], 1);
        assert_eq!(edges[0]["node"]["tags"].as_array().map(Vec::len), Some(2));
        seen.push(statements);
    }
    assert_eq!(
        seen[0], seen[1],
        "statements for 5 and 50 articles: {seen:?}"
    );
    // The page, the bylines and tags, the comment counts.
    assert_eq!(seen[1], 3, "statements for 50 articles");
}

async fn a_front_page_of_sections_costs_the_same_for_any_number_of_sections(app: &TestApp) {
    let front = "{ sections { path name articles(first: 5) { totalCount edges { node { slug headline authors { name } section { name } } } } } }";
    app.import(newsroom()).await;
    app.query(WARM, json!({})).await;
    app.take_statement_count();
    let small = app.query(front, json!({})).await;
    let few = app.take_statement_count();
    assert_eq!(small["sections"].as_array().map(Vec::len), Some(2));

    // Ten more top-level sections, each with articles.
    let sections: Vec<_> = (0..10)
        .map(|i| json!({ "slug": format!("s{i}"), "name": format!("S{i}") }))
        .collect();
    let articles: Vec<_> = (0..40)
        .map(|i| json!({
            "slug": format!("a{i}"), "headline": "H", "section": format!("s{}", i % 10), "authors": ["lena-berg"],
            "status": "PUBLISHED", "publishedAt": "2026-04-01T00:00:00Z", "body": []
        }))
        .collect();
    app.import(json!({ "sections": sections, "articles": articles }))
        .await;
    app.query(WARM, json!({})).await;
    app.take_statement_count();
    let big = app.query(front, json!({})).await;
    let many = app.take_statement_count();
    assert_eq!(big["sections"].as_array().map(Vec::len), Some(12));
    assert_eq!(big["sections"][11]["articles"]["totalCount"], 4);
    assert_eq!(few, many, "statements for 2 and 12 sections");
    // The pages, their counts, the bylines.
    assert_eq!(many, 3, "statements for 12 sections");
}

async fn an_article_page_costs_a_fixed_handful_of_statements(app: &TestApp) {
    app.import(newsroom()).await;
    let page = "{ article(slug: \"border-reopens\") { headline body { __typename } section { name } breadcrumb { name }
           authors { name title } tags { name } commentCount comments { edges { node { replies { body } } } } } }";
    app.query(WARM, json!({})).await;
    app.take_statement_count();
    let data = app.query(page, json!({})).await;
    let n = app.take_statement_count();
    assert_eq!(data["article"]["breadcrumb"][0]["name"], "World", "{data}");
    assert!(
        !data["article"]["authors"]
            .as_array()
            .expect("authors")
            .is_empty()
    );
    // The article; its bylines and tags; then its comments and their count.
    assert_eq!(n, 4, "article page statements");
}

async fn ninjs_items_of_a_listing_cost_the_same_statements_for_5_or_50_articles(app: &TestApp) {
    app.import(many_articles(50)).await;
    let editor = crate::helpers::editor();
    app.ok_as(&editor, WARM, json!({})).await;
    let mut seen = Vec::new();
    for n in [5, 50] {
        app.take_statement_count();
        let data = app
            .ok_as(
                &editor,
                "query($n: Int) { articles(first: $n) { edges { node { v2: ninjs v3: ninjs(version: 3) } } } }",
                json!({ "n": n }),
            )
            .await;
        seen.push(app.take_statement_count());
        let edges = data["articles"]["edges"].as_array().expect("edges");
        assert_eq!(edges.len(), n as usize);
        assert!(edges[0]["node"]["v2"]["uri"].is_string(), "{data}");
    }
    assert_eq!(seen[0], seen[1], "statements for 5 and 50 items: {seen:?}");
}

async fn a_page_of_changes_or_of_the_partner_feed_costs_the_same_for_5_or_50_entries(
    app: &TestApp,
) {
    app.import(many_articles(60)).await;
    let partner = app.partner("wire", &["news"], false).await;
    let editor = crate::helpers::editor();
    app.query(WARM, json!({})).await;
    // A snapshot page, a page of the stream (the import's events), the partner feed's page.
    let targets: [(&str, Option<&str>, &str); 4] = [
        ("/api/v1/changes?limit=", None, "the snapshot"),
        (
            "/api/v1/changes?since=cDA&limit=",
            None,
            "the stream, anonymous",
        ),
        (
            "/api/v1/changes?since=cDA&limit=",
            Some(editor.as_str()),
            "the stream, editor",
        ),
        (
            "/api/v1/partner/items?limit=",
            Some(partner.as_str()),
            "the partner feed",
        ),
    ];
    for (uri, tok, what) in targets {
        let mut seen = Vec::new();
        for n in [5, 50] {
            app.take_statement_count();
            let (status, _, body) = app
                .send(crate::helpers::request(
                    "GET",
                    &format!("{uri}{n}"),
                    tok,
                    None,
                ))
                .await;
            let statements = app.take_statement_count();
            assert_eq!(status, axum::http::StatusCode::OK, "{what}: {body}");
            assert_eq!(
                body["items"].as_array().map(Vec::len),
                Some(n),
                "{what}: {body}"
            );
            seen.push(statements);
        }
        assert_eq!(seen[0], seen[1], "{what}: statements for 5 and 50 entries");
        assert!(seen[1] <= 12, "{what}: {} statements", seen[1]);
    }
}
