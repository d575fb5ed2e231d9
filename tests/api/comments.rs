//! Comments: approved only, threaded, paged oldest first, counted.

use serde_json::json;

use crate::fixtures::newsroom;
use crate::helpers::TestApp;
use crate::storage_tests;

storage_tests!(
    only_approved_comments_are_shown_threaded_under_their_parent,
    comments_are_paged_oldest_first,
);

async fn only_approved_comments_are_shown_threaded_under_their_parent(app: &TestApp) {
    app.import(newsroom()).await;
    let data = app
        .query(
            "{ article(slug: \"talks-resume\") {
                commentCount
                comments { edges { node { authorName body status parentId replies { authorName parentId } } } }
            } }",
            json!({}),
        )
        .await;
    let a = &data["article"];
    assert_eq!(
        a["commentCount"], 3,
        "two threads and one reply are approved"
    );
    let edges = a["comments"]["edges"].as_array().expect("edges");
    let names: Vec<&str> = edges
        .iter()
        .map(|e| e["node"]["authorName"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        ["Ana", "Di"],
        "spam and pending comments are not shown"
    );
    assert_eq!(edges[0]["node"]["status"], "APPROVED");
    assert_eq!(edges[0]["node"]["parentId"], serde_json::Value::Null);
    let replies = edges[0]["node"]["replies"].as_array().expect("replies");
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["authorName"], "Ben");
    assert!(replies[0]["parentId"].is_string());
    assert_eq!(edges[1]["node"]["replies"], json!([]));
}

async fn comments_are_paged_oldest_first(app: &TestApp) {
    app.import(newsroom()).await;
    let q = "query($after: String) { article(slug: \"talks-resume\") {
        comments(first: 1, after: $after) { edges { cursor node { authorName } } pageInfo { hasNextPage endCursor } }
    } }";
    let first = app.query(q, json!({})).await;
    let conn = &first["article"]["comments"];
    assert_eq!(conn["edges"][0]["node"]["authorName"], "Ana");
    assert_eq!(conn["pageInfo"]["hasNextPage"], true);
    let second = app
        .query(q, json!({ "after": conn["pageInfo"]["endCursor"] }))
        .await;
    let conn = &second["article"]["comments"];
    assert_eq!(conn["edges"][0]["node"]["authorName"], "Di");
    assert_eq!(conn["pageInfo"]["hasNextPage"], false);
}
