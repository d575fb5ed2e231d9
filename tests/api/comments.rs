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

// ---------------------------------------------------------------------------------------
// Posting, scoring, moderation, commenter data (issue 17).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use gazette::domain::comments::Settings;
use gazette::domain::comments::akismet::AkismetSettings;
use serde_json::Value;

use crate::helpers::{editor, graphql_request, now, request, send_to, sign, token};

storage_tests!(
    a_reader_posts_sees_it_pending_and_an_editor_approves_it_and_the_count_changes,
    a_clean_comment_is_approved_at_once_and_counted,
    bad_comments_are_refused_and_nothing_is_written,
    drafts_closed_and_unpublished_articles_take_no_comments,
    markup_is_shown_as_text_and_links_are_nofollow,
    one_client_is_limited_in_the_database_with_retry_after,
    the_same_spam_text_from_many_clients_is_held_or_marked_spam,
    robots_read_pending_and_learn_nothing,
    trust_by_history_never_carries_a_blocked_domain,
    the_external_check_joins_the_reasons_and_holds_when_it_fails,
    decisions_are_recorded_streamed_and_reported,
    only_editors_see_the_queue_and_moderate,
    admins_export_and_erase_a_commenters_data,
    addresses_are_cleared_after_the_retention,
    an_editor_sees_each_moderation_decision_in_order_and_readers_never_do,
    the_moderation_history_of_a_queue_page_costs_the_same_statements_for_1_or_4_comments,
    one_article_is_limited_in_the_database_with_retry_after,
    refused_posts_on_closed_draft_and_unpublished_articles_write_nothing,
);

fn settings() -> Settings {
    Settings {
        close_after_days: 0,
        blocked_words: vec!["casino".into()],
        blocked_domains: vec!["spam.example".into()],
        email_key: Some(vec![7; 32]),
        ..Settings::default()
    }
}

async fn router(app: &TestApp) -> Router {
    app.import(newsroom()).await;
    app.with_comments(settings()).await
}

/// A REST post of `body` on `slug` from the client address `ip`.
async fn post_from(
    r: &Router,
    ip: &str,
    token: Option<&str>,
    slug: &str,
    body: Value,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = request(
        "POST",
        &format!("/api/v1/articles/{slug}/comments"),
        token,
        Some(body),
    );
    let addr: SocketAddr = format!("{ip}:4000").parse().expect("address");
    req.extensions_mut().insert(ConnectInfo(addr));
    send_to(r, req).await
}

async fn gql(r: &Router, token: Option<&str>, q: &str, vars: Value) -> Value {
    let (status, _, body) = send_to(r, graphql_request(token, q, &vars)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn count(r: &Router, slug: &str) -> i64 {
    let b = gql(
        r,
        None,
        "query($s: String!) { article(slug: $s) { commentCount } }",
        json!({ "s": slug }),
    )
    .await;
    b["data"]["article"]["commentCount"]
        .as_i64()
        .expect("count")
}

fn reader(name: &str) -> String {
    sign(json!({ "sub": format!("r-{name}"), "role": "reader", "name": name, "exp": now() + 3600 }))
}

const ADD: &str = "mutation($s: String!, $i: CommentInput!) { addComment(articleSlug: $s, input: $i) { id status viewToken } }";

async fn a_reader_posts_sees_it_pending_and_an_editor_approves_it_and_the_count_changes(
    app: &TestApp,
) {
    let r = router(app).await;
    assert_eq!(
        count(&r, "talks-resume").await,
        3,
        "primes the response cache"
    );
    let body = "Three sources: https://a.test/1 https://b.test/2 https://c.test/3";
    let got = gql(
        &r,
        Some(&reader("Rita")),
        ADD,
        json!({ "s": "talks-resume", "i": { "authorName": "ignored", "body": body } }),
    )
    .await;
    let receipt = &got["data"]["addComment"];
    assert_eq!(receipt["status"], "PENDING", "three links hold it: {got}");
    let id = receipt["id"].as_str().expect("id").to_owned();
    let view = receipt["viewToken"].as_str().expect("token").to_owned();
    let list = "query($t: String) { article(slug: \"talks-resume\") { comments(viewToken: $t) { edges { node { id authorName status } } } } }";
    let public = gql(&r, None, list, json!({})).await;
    assert!(
        !public.to_string().contains(&format!("\"{id}\"")),
        "nobody sees it before approval"
    );
    let own = gql(&r, None, list, json!({ "t": view })).await;
    let nodes = own["data"]["article"]["comments"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    let mine = nodes
        .iter()
        .find(|e| e["node"]["id"] == id.as_str())
        .expect("the poster sees it");
    assert_eq!(
        mine["node"]["authorName"], "Rita",
        "the name comes from the token"
    );
    assert_eq!(mine["node"]["status"], "PENDING");
    let queue = gql(
        &r,
        Some(&editor()),
        "{ commentQueue(first: 50) { edges { node { id authorName score reasons } } } }",
        json!({}),
    )
    .await;
    let queued = queue["data"]["commentQueue"]["edges"]
        .as_array()
        .expect("queue")
        .clone();
    assert_eq!(queued[0]["node"]["authorName"], "Cy", "oldest first");
    let row = queued
        .iter()
        .find(|e| e["node"]["id"] == id.as_str())
        .expect("queued");
    assert!(
        row["node"]["reasons"]
            .to_string()
            .contains("3 links (more than 2)"),
        "{row}"
    );
    let done = gql(
        &r,
        Some(&editor()),
        "mutation($id: ID!) { moderateComment(id: $id, status: APPROVED, note: \"sourced\") { status } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(
        done["data"]["moderateComment"]["status"], "APPROVED",
        "{done}"
    );
    assert_eq!(
        count(&r, "talks-resume").await,
        4,
        "the cached count follows at once"
    );
}

async fn a_clean_comment_is_approved_at_once_and_counted(app: &TestApp) {
    let r = router(app).await;
    assert_eq!(count(&r, "border-reopens").await, 0);
    let (status, headers, body) = post_from(
        &r,
        "192.0.2.1",
        None,
        "border-reopens",
        json!({ "author_name": "Ana", "author_email": "ana@example.org", "body": "Clear and fair reporting." }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["status"], "APPROVED");
    assert_eq!(headers["cache-control"], "private, no-store");
    assert_eq!(count(&r, "border-reopens").await, 1);
    let id = body["id"].as_i64().expect("id");
    let (_, _, seen) = send_to(
        &r,
        request("GET", &format!("/api/v1/comments/{id}"), None, None),
    )
    .await;
    assert_eq!(seen["body_html"], "<p>Clear and fair reporting.</p>");
    assert!(
        seen.get("author_email").is_none(),
        "emails are for editors only: {seen}"
    );
    let (_, _, as_editor) = send_to(
        &r,
        request(
            "GET",
            &format!("/api/v1/comments/{id}"),
            Some(&editor()),
            None,
        ),
    )
    .await;
    assert_eq!(as_editor["author_email"], "ana@example.org");
    assert_eq!(as_editor["client_address"], "192.0.2.1");
    assert_eq!(
        as_editor["reasons"],
        json!(["first comment from this email address (+10)"])
    );
}

async fn bad_comments_are_refused_and_nothing_is_written(app: &TestApp) {
    let r = router(app).await;
    let id_of = |key: &'static str| async move {
        use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
        gazette::entities::comment::Entity::find()
            .filter(gazette::entities::comment::Column::ImportKey.eq(key))
            .one(&app.db)
            .await
            .expect("read")
            .expect("imported")
            .id
    };
    let (c1, c2, c4, c6) = (
        id_of("c1").await,
        id_of("c2").await,
        id_of("c4").await,
        id_of("c6").await,
    );
    // A third level under c1 > c2, then a fourth that is too deep.
    let (s, _, third) = post_from(
        &r,
        "192.0.2.9",
        Some(&editor()),
        "talks-resume",
        json!({ "author_name": "Ed", "body": "Third level", "parent_id": c2 }),
    )
    .await;
    assert_eq!(
        (s, third["status"].as_str()),
        (StatusCode::CREATED, Some("APPROVED")),
        "{third}"
    );
    let third = third["id"].as_i64().expect("id");
    let before = app.count_rows("comments").await;
    let long = "x".repeat(5_001);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "an empty body",
            json!({ "author_name": "A", "body": "" }),
            "empty",
        ),
        (
            "a whitespace body",
            json!({ "author_name": "A", "body": " \n\t " }),
            "empty",
        ),
        (
            "5,001 characters",
            json!({ "author_name": "A", "body": long }),
            "5000",
        ),
        (
            "a NUL",
            json!({ "author_name": "A", "body": "a\u{0}b" }),
            "control",
        ),
        (
            "a control character",
            json!({ "author_name": "A", "body": "a\u{7}b" }),
            "control",
        ),
        ("no name", json!({ "body": "hello" }), "authorName"),
        (
            "an 81-character name",
            json!({ "author_name": "n".repeat(81), "body": "hello" }),
            "80",
        ),
        (
            "a bad email",
            json!({ "author_name": "A", "author_email": "not-an-email", "body": "hello" }),
            "email",
        ),
        (
            "a reply to a missing comment",
            json!({ "author_name": "A", "body": "hi", "parent_id": 999_999 }),
            "no such comment",
        ),
        (
            "a reply to a pending comment",
            json!({ "author_name": "A", "body": "hi", "parent_id": c4 }),
            "no such comment",
        ),
        (
            "a reply to a comment on another article",
            json!({ "author_name": "A", "body": "hi", "parent_id": c6 }),
            "another article",
        ),
        (
            "a thread deeper than the limit",
            json!({ "author_name": "A", "body": "hi", "parent_id": third }),
            "3 levels",
        ),
        (
            "an unknown field",
            json!({ "author_name": "A", "body": "hi", "rating": 5 }),
            "rating",
        ),
    ];
    for (what, body, says) in cases {
        let (status, _, problem) = post_from(&r, "192.0.2.2", None, "talks-resume", body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {problem}"
        );
        assert_eq!(problem["code"], "BAD_USER_INPUT", "{what}");
        assert!(
            problem["detail"].as_str().unwrap_or("").contains(says),
            "{what}: {problem}"
        );
    }
    let bad = gql(
        &r,
        None,
        ADD,
        json!({ "s": "talks-resume", "i": { "authorName": "A", "body": "" } }),
    )
    .await;
    assert_eq!(
        bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{bad}"
    );
    assert_eq!(
        app.count_rows("comments").await,
        before,
        "nothing half-written"
    );
    let _ = c1;
}

async fn drafts_closed_and_unpublished_articles_take_no_comments(app: &TestApp) {
    let r = router(app).await;
    let body = json!({ "author_name": "A", "body": "hello there" });
    let (draft, _, d) = post_from(&r, "192.0.2.3", None, "secret-draft", body.clone()).await;
    let (missing, _, m) = post_from(&r, "192.0.2.3", None, "no-such-story", body.clone()).await;
    assert_eq!(
        (draft, missing),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
    );
    assert_eq!(
        d["detail"].as_str().map(|s| s.replace("secret-draft", "X")),
        m["detail"]
            .as_str()
            .map(|s| s.replace("no-such-story", "X")),
        "a draft reads exactly as a missing slug"
    );
    let (id, _) = app.id_version("summit-ends").await;
    let closed = gql(
        &r,
        Some(&editor()),
        "mutation($id: ID!) { setCommentsOpen(id: $id, open: false) { commentsOpen } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(
        closed["data"]["setCommentsOpen"]["commentsOpen"], false,
        "{closed}"
    );
    let (status, _, p) = post_from(&r, "192.0.2.3", None, "summit-ends", body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p}");
    assert!(p["detail"].as_str().unwrap_or("").contains("closed"));
    // The default setting closes comments 30 days after publication: the fixtures are older.
    let defaults = app.with_comments(Settings::default()).await;
    let open = gql(
        &defaults,
        None,
        "{ article(slug: \"talks-resume\") { commentsOpen } }",
        json!({}),
    )
    .await;
    assert_eq!(open["data"]["article"]["commentsOpen"], false);
    let (status, _, _) = post_from(&defaults, "192.0.2.3", None, "talks-resume", body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (unpublished, _) = app.id_version("markets-rally").await;
    let _ = app
        .step_as(&editor(), "unpublishArticle", "markets-rally")
        .await;
    let (status, _, _) = post_from(
        &r,
        "192.0.2.3",
        None,
        "markets-rally",
        json!({ "author_name": "A", "body": "hi there" }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "unpublished ({unpublished})");
}

async fn markup_is_shown_as_text_and_links_are_nofollow(app: &TestApp) {
    let r = router(app).await;
    let text = "<script>alert(1)</script> &amp; <b>bold</b>\n[x](javascript:alert(1)) see https://example.org/a.";
    let (_, _, got) = post_from(
        &r,
        "192.0.2.4",
        None,
        "talks-resume",
        json!({ "author_name": "<i>Eve</i>", "body": text }),
    )
    .await;
    let id = got["id"].as_i64().expect("id");
    let (_, _, c) = send_to(
        &r,
        request(
            "GET",
            &format!("/api/v1/comments/{id}"),
            Some(&editor()),
            None,
        ),
    )
    .await;
    let html = c["body_html"].as_str().expect("html");
    assert!(
        html.starts_with(
            "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp; &lt;b&gt;bold&lt;/b&gt;<br>"
        ),
        "{html}"
    );
    assert!(
        html.contains("[x](javascript:alert(1))"),
        "never a link: {html}"
    );
    assert!(html.contains(r#"<a href="https://example.org/a" rel="nofollow ugc noopener">https://example.org/a</a>."#), "{html}");
    assert_eq!(c["body"], text, "the plain text is kept as written");
    assert_eq!(
        c["author_name"], "<i>Eve</i>",
        "names are text, escaped by clients"
    );
}

async fn one_client_is_limited_in_the_database_with_retry_after(app: &TestApp) {
    let r = router(app).await;
    let before = app.count_rows("comments").await;
    let mut limited = 0;
    for i in 0..1_000 {
        let (status, headers, _) = post_from(
            &r,
            "198.51.100.7",
            None,
            "aid-arrives",
            json!({ "author_name": "Flood", "body": format!("message number {i}") }),
        )
        .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
            let wait: u64 = headers["retry-after"]
                .to_str()
                .expect("ascii")
                .parse()
                .expect("secs");
            assert!((1..=600).contains(&wait), "{wait}");
        } else {
            assert_eq!(status, StatusCode::CREATED);
        }
    }
    assert_eq!(limited, 995, "five per window, the rest refused");
    assert_eq!(
        app.count_rows("comments").await,
        before + 5,
        "nothing past the limit stored"
    );
    // Another process (its own state, the same database) counts the same posts.
    let other = app.with_comments(settings()).await;
    let (status, _, p) = post_from(
        &other,
        "198.51.100.7",
        None,
        "aid-arrives",
        json!({ "author_name": "Flood", "body": "again" }),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{p}");
    assert_eq!(p["code"], "RATE_LIMITED");
    let (status, _, _) = post_from(
        &other,
        "198.51.100.8",
        None,
        "aid-arrives",
        json!({ "author_name": "Other", "body": "a different reader" }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "other clients are not held back"
    );
}

async fn reasons_of(r: &Router, id: i64) -> (String, Vec<String>) {
    let (_, _, c) = send_to(
        r,
        request(
            "GET",
            &format!("/api/v1/comments/{id}"),
            Some(&editor()),
            None,
        ),
    )
    .await;
    let reasons = c["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_owned())
        .collect();
    (c["status"].as_str().unwrap_or("").to_owned(), reasons)
}

async fn the_same_spam_text_from_many_clients_is_held_or_marked_spam(app: &TestApp) {
    let r = router(app).await;
    let spam = "Great article! Visit my page for more.";
    let mut ids = Vec::new();
    for i in 1..=4 {
        let (status, _, got) = post_from(
            &r,
            &format!("203.0.113.{i}"),
            None,
            "port-profits",
            json!({ "author_name": format!("Bot {i}"), "body": spam }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(got["id"].as_i64().expect("id"));
    }
    let (first, _) = reasons_of(&r, ids[0]).await;
    assert_eq!(
        first, "APPROVED",
        "the first of them is not yet a duplicate"
    );
    let (last, why) = reasons_of(&r, ids[3]).await;
    assert_ne!(last, "APPROVED", "{why:?}");
    assert!(
        why.iter()
            .any(|w| w.starts_with("the same text was posted 3 time(s)")),
        "{why:?}"
    );
}

async fn robots_read_pending_and_learn_nothing(app: &TestApp) {
    let r = router(app).await;
    let (_, _, honeypot) = post_from(
        &r,
        "203.0.113.50",
        None,
        "talks-resume",
        json!({ "author_name": "Bot", "body": "hello", "website": "http://bot.test" }),
    )
    .await;
    assert_eq!(
        honeypot["status"], "PENDING",
        "spam reads PENDING to its poster"
    );
    let (status, _) = reasons_of(&r, honeypot["id"].as_i64().expect("id")).await;
    assert_eq!(status, "SPAM");
    let rendered = chrono::Utc::now().to_rfc3339();
    let (_, _, fast) = post_from(
        &r,
        "203.0.113.51",
        None,
        "talks-resume",
        json!({ "author_name": "Quick", "body": "hello there", "rendered_at": rendered }),
    )
    .await;
    assert_eq!(fast["status"], "PENDING");
    let (_, why) = reasons_of(&r, fast["id"].as_i64().expect("id")).await;
    assert!(
        why.iter()
            .any(|w| w.starts_with("posted 0 s after the page loaded")),
        "{why:?}"
    );
    let (_, _, shout) = post_from(&r, "203.0.113.52", None, "talks-resume", json!({ "author_name": "Loud", "body": "THIS IS ALL CAPITALS AND LOUD", "author_email": "loud@example.org" })).await;
    let (_, why) = reasons_of(&r, shout["id"].as_i64().expect("id")).await;
    assert!(
        why.iter().any(|w| w.starts_with("written all in capitals")),
        "{why:?}"
    );
}

async fn trust_by_history_never_carries_a_blocked_domain(app: &TestApp) {
    let r = router(app).await;
    for i in 0..3 {
        let (_, _, ok) = post_from(&r, &format!("192.0.2.{}", 100 + i), None, "summit-ends", json!({ "author_name": "Kim", "author_email": "Kim@Example.org", "body": format!("Comment {i} on the summit") })).await;
        assert_eq!(ok["status"], "APPROVED", "{ok}");
    }
    let (_, _, trusted) = post_from(&r, "192.0.2.110", None, "summit-ends", json!({ "author_name": "Kim", "author_email": "kim@example.org", "body": "more at http://www.spam.example/deal and the casino" })).await;
    let (status, why) = reasons_of(&r, trusted["id"].as_i64().expect("id")).await;
    assert_eq!(status, "SPAM", "{why:?}");
    assert!(
        why.iter()
            .any(|w| w.starts_with("3 earlier comment(s) from this email approved")),
        "{why:?}"
    );
    assert!(
        why.iter()
            .any(|w| w.starts_with("links to a blocked domain: spam.example")),
        "{why:?}"
    );
    assert!(
        why.iter().any(|w| w.starts_with("blocked words: casino")),
        "{why:?}"
    );
}

/// A stand-in for the Akismet API on 127.0.0.1: answers `comment-check` by the comment's
/// content (`spam`, `blatant`, `error`, `slow`, `garbage`, else ham) and records reports.
async fn stand_in() -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::routing::post;
    let reports = Arc::new(Mutex::new(Vec::new()));
    let check = |axum::Form(f): axum::Form<std::collections::HashMap<String, String>>| async move {
        assert_eq!(f.get("api_key").map(String::as_str), Some("test-key"));
        let content = f.get("comment_content").cloned().unwrap_or_default();
        let mut res =
            axum::response::Response::new(axum::body::Body::from(match content.as_str() {
                c if c.contains("blatant") || c.contains("spam") => "true",
                c if c.contains("garbage") => "invalid",
                _ => "false",
            }));
        if content.contains("blatant") {
            res.headers_mut()
                .insert("x-akismet-pro-tip", "discard".parse().expect("header"));
        }
        if content.contains("error") {
            *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        }
        if content.contains("slow") {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        res
    };
    let (spam, ham) = (reports.clone(), reports.clone());
    let app = Router::new()
        .route("/1.1/comment-check", post(check))
        .route("/1.1/submit-spam", post(move |axum::Form(f): axum::Form<std::collections::HashMap<String, String>>| async move {
            spam.lock().expect("lock").push(format!("spam:{}", f["comment_content"]));
            "Thanks"
        }))
        .route("/1.1/submit-ham", post(move |axum::Form(f): axum::Form<std::collections::HashMap<String, String>>| async move {
            ham.lock().expect("lock").push(format!("ham:{}", f["comment_content"]));
            "Thanks"
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (format!("http://{addr}/1.1"), reports)
}

async fn with_checker(app: &TestApp) -> (Router, Arc<Mutex<Vec<String>>>) {
    app.import(newsroom()).await;
    let (url, reports) = stand_in().await;
    let r = app
        .with_comments(Settings {
            akismet: Some(AkismetSettings {
                key: "test-key".into(),
                url,
                blog: "https://news.example".into(),
                timeout: Duration::from_millis(500),
            }),
            ..settings()
        })
        .await;
    (r, reports)
}

async fn the_external_check_joins_the_reasons_and_holds_when_it_fails(app: &TestApp) {
    let (r, _) = with_checker(app).await;
    let cases = [
        (
            "a fine comment",
            "APPROVED",
            "the external spam check says not spam",
        ),
        (
            "this is spam",
            "SPAM",
            "the external spam check says spam (+60)",
        ),
        (
            "blatant stuff",
            "SPAM",
            "the external spam check says spam, blatant (discard) (+100)",
        ),
        (
            "an error here",
            "PENDING",
            "the external spam check was unavailable (HTTP status 500); held for review",
        ),
        (
            "a slow one",
            "PENDING",
            "the external spam check was unavailable (timed out); held for review",
        ),
        (
            "garbage answer",
            "PENDING",
            "the external spam check was unavailable (an answer that is neither true nor false); held for review",
        ),
    ];
    for (i, (body, status, reason)) in cases.into_iter().enumerate() {
        let (code, _, got) = post_from(
            &r,
            &format!("192.0.2.{}", 200 + i),
            None,
            "talks-resume",
            json!({ "author_name": "A", "body": body }),
        )
        .await;
        assert_eq!(code, StatusCode::CREATED, "{body}: never lost");
        let (stored, why) = reasons_of(&r, got["id"].as_i64().expect("id")).await;
        assert_eq!(stored, status, "{body}: {why:?}");
        assert!(why.iter().any(|w| w == reason), "{body}: {why:?}");
    }
}

async fn decisions_are_recorded_streamed_and_reported(app: &TestApp) {
    let (r, reports) = with_checker(app).await;
    let (_, _, a) = post_from(
        &r,
        "192.0.2.60",
        None,
        "talks-resume",
        json!({ "author_name": "A", "body": "an error here" }),
    )
    .await;
    let (_, _, b) = post_from(
        &r,
        "192.0.2.61",
        None,
        "talks-resume",
        json!({ "author_name": "B", "body": "an error there" }),
    )
    .await;
    let ids = [a["id"].as_i64().expect("id"), b["id"].as_i64().expect("id")];
    let events_before = app.count_rows("change_log").await;
    let (status, _, done) = send_to(
        &r,
        request(
            "POST",
            "/api/v1/comments/moderate",
            Some(&editor()),
            Some(json!({ "ids": [ids[0]], "status": "APPROVED", "note": "fine" })),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (status, _, one) = send_to(
        &r,
        request(
            "POST",
            &format!("/api/v1/comments/{}/moderate", ids[1]),
            Some(&editor()),
            Some(json!({ "status": "SPAM" })),
        ),
    )
    .await;
    assert_eq!(
        (status, one["status"].as_str()),
        (StatusCode::OK, Some("SPAM"))
    );
    assert_eq!(
        app.count_rows("change_log").await,
        events_before + 2,
        "each decision is in the stream"
    );
    assert_eq!(app.count_rows("comment_decisions").await, 2);
    let (s, _, missing) = send_to(
        &r,
        request(
            "POST",
            "/api/v1/comments/moderate",
            Some(&editor()),
            Some(json!({ "ids": [ids[0], 999_999], "status": "REJECTED" })),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{missing}");
    assert_eq!(
        app.count_rows("comment_decisions").await,
        2,
        "all or nothing"
    );
    for _ in 0..50 {
        if reports.lock().expect("lock").len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut got = reports.lock().expect("lock").clone();
    got.sort();
    assert_eq!(got, ["ham:an error here", "spam:an error there"]);
}

async fn only_editors_see_the_queue_and_moderate(app: &TestApp) {
    let r = router(app).await;
    for t in [None, Some(reader("Rita")), Some(token("w", "writer"))] {
        let q = gql(
            &r,
            t.as_deref(),
            "{ commentQueue { edges { node { id } } } }",
            json!({}),
        )
        .await;
        let code = q["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(code == "FORBIDDEN" || code == "UNAUTHENTICATED", "{q}");
    }
    let m = gql(
        &r,
        Some(&reader("Rita")),
        "mutation { moderateComment(id: \"1\", status: APPROVED) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(m["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let partner = gql(
        &r,
        Some(&reader("")),
        ADD,
        json!({ "s": "talks-resume", "i": { "body": "hi" } }),
    )
    .await;
    assert_eq!(
        partner["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "a reader token needs a name: {partner}"
    );
}

async fn admins_export_and_erase_a_commenters_data(app: &TestApp) {
    let r = router(app).await;
    for (i, e) in ["gdpr@example.org", "GDPR@example.org"].iter().enumerate() {
        let (s, _, _) = post_from(
            &r,
            &format!("192.0.2.{}", 70 + i),
            None,
            "talks-resume",
            json!({ "author_name": "Gina", "author_email": e, "body": format!("Comment {i}") }),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let admin = token("root", "admin");
    let ask = |path: &str, body: Value, t: &str| request("POST", path, Some(t), Some(body));
    let (s, _, _) = send_to(
        &r,
        ask(
            "/api/v1/comments/commenter/export",
            json!({ "email": "gdpr@example.org" }),
            &editor(),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "admins only");
    let (s, _, export) = send_to(
        &r,
        ask(
            "/api/v1/comments/commenter/export",
            json!({ "email": "gdpr@example.org" }),
            &admin,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        export["comments"].as_array().map(Vec::len),
        Some(2),
        "{export}"
    );
    assert_eq!(count(&r, "talks-resume").await, 5);
    let (s, _, erased) = send_to(
        &r,
        ask(
            "/api/v1/comments/commenter/erase",
            json!({ "email": "gdpr@example.org", "mode": "anonymise" }),
            &admin,
        ),
    )
    .await;
    assert_eq!(
        (s, erased["comments"].as_i64()),
        (StatusCode::OK, Some(2)),
        "{erased}"
    );
    let (_, _, after) = send_to(
        &r,
        ask(
            "/api/v1/comments/commenter/export",
            json!({ "email": "gdpr@example.org" }),
            &admin,
        ),
    )
    .await;
    assert_eq!(after["comments"], json!([]));
    assert_eq!(
        count(&r, "talks-resume").await,
        5,
        "anonymised comments stay"
    );
    let names = gql(
        &r,
        None,
        "{ article(slug: \"talks-resume\") { comments { edges { node { authorName } } } } }",
        json!({}),
    )
    .await;
    assert!(
        names.to_string().contains("Anonymous") && !names.to_string().contains("Gina"),
        "{names}"
    );
    let (s, _, _) = post_from(
        &r,
        "192.0.2.80",
        None,
        "talks-resume",
        json!({ "author_name": "Del", "author_email": "del@example.org", "body": "Delete me" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, _, del) = send_to(
        &r,
        ask(
            "/api/v1/comments/commenter/erase",
            json!({ "email": "del@example.org", "mode": "delete" }),
            &admin,
        ),
    )
    .await;
    assert_eq!(del["comments"], 1);
    assert_eq!(
        count(&r, "talks-resume").await,
        5,
        "the deleted comment left the count"
    );
    assert_eq!(
        app.count_rows("comment_erasures").await,
        2,
        "each erasure is recorded"
    );
    let leaked = app
        .row_counts(&["comment_erasures WHERE actor = 'root' AND mode IN ('anonymise', 'delete')"])
        .await;
    assert_eq!(leaked, [2]);
}

async fn addresses_are_cleared_after_the_retention(app: &TestApp) {
    let r = router(app).await;
    let (_, _, got) = post_from(
        &r,
        "192.0.2.90",
        None,
        "talks-resume",
        json!({ "author_name": "Old", "body": "An old comment" }),
    )
    .await;
    let id = got["id"].as_i64().expect("id");
    app.exec(&format!(
        "UPDATE comments SET created_at = '2020-01-01 00:00:00+00:00' WHERE id = {id}"
    ))
    .await;
    let n = gazette::domain::comments::commenters::clear_expired(
        &app.db,
        Duration::from_secs(30 * 86_400),
    )
    .await
    .expect("cleared");
    assert_eq!(n, 1);
    let (_, _, c) = send_to(
        &r,
        request(
            "GET",
            &format!("/api/v1/comments/{id}"),
            Some(&editor()),
            None,
        ),
    )
    .await;
    assert!(
        c.get("client_address").is_none() && c.get("user_agent").is_none(),
        "{c}"
    );
}

/// Moves comment `id` to `status` through GraphQL as the editor "ed".
async fn decide(r: &Router, id: i64, status: &str, note: Option<&str>) {
    let done = gql(
        r,
        Some(&editor()),
        "mutation($id: ID!, $s: CommentStatus!, $n: String) { moderateComment(id: $id, status: $s, note: $n) { status } }",
        json!({ "id": id.to_string(), "s": status, "n": note }),
    )
    .await;
    assert_eq!(done["data"]["moderateComment"]["status"], status, "{done}");
}

async fn an_editor_sees_each_moderation_decision_in_order_and_readers_never_do(app: &TestApp) {
    let r = router(app).await;
    let (_, _, got) = post_from(
        &r,
        "192.0.2.70",
        None,
        "talks-resume",
        json!({ "author_name": "Mo", "body": "Links: https://a.test/1 https://b.test/2 https://c.test/3" }),
    )
    .await;
    let id = got["id"].as_i64().expect("id");
    decide(&r, id, "SPAM", Some("link farm")).await;
    // The REST mirror records its decisions the same way.
    let (status, _, one) = send_to(
        &r,
        request(
            "POST",
            &format!("/api/v1/comments/{id}/moderate"),
            Some(&editor()),
            Some(json!({ "status": "REJECTED" })),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(
        one["moderation"].as_array().map(Vec::len),
        Some(2),
        "the answer to a decision shows the history with it: {one}"
    );
    decide(&r, id, "APPROVED", Some("checked the sources")).await;
    let expected = [
        ("PENDING", "SPAM", json!("link farm")),
        ("SPAM", "REJECTED", Value::Null),
        ("REJECTED", "APPROVED", json!("checked the sources")),
    ];

    // GraphQL, as an editor: the queue and the article's page.
    let q = gql(
        &r,
        Some(&editor()),
        "{ commentQueue(status: APPROVED, article: \"talks-resume\", first: 50) { edges { node { id moderation { actor at fromStatus toStatus note } } } } }",
        json!({}),
    )
    .await;
    let edges = q["data"]["commentQueue"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    let node = &edges
        .iter()
        .find(|e| e["node"]["id"] == id.to_string().as_str())
        .expect("in the queue")["node"];
    let history = node["moderation"]
        .as_array()
        .expect("history for an editor");
    assert_eq!(history.len(), 3, "{node}");
    let mut last_at = String::new();
    for (d, (from, to, note)) in history.iter().zip(&expected) {
        assert_eq!(d["actor"], "ed", "who: {d}");
        assert_eq!(
            (d["fromStatus"].as_str(), d["toStatus"].as_str()),
            (Some(*from), Some(*to)),
            "{d}"
        );
        assert_eq!(&d["note"], note, "{d}");
        let at = d["at"].as_str().expect("when").to_owned();
        assert!(at >= last_at, "oldest first: {history:?}");
        last_at = at;
    }
    let imported = edges
        .iter()
        .find(|e| e["node"]["id"] != id.to_string().as_str())
        .expect("an imported comment");
    assert_eq!(
        imported["node"]["moderation"],
        json!([]),
        "no decisions yet reads as an empty history"
    );

    // REST, as an editor: the comment and the queue.
    let (status, _, c) = send_to(
        &r,
        request(
            "GET",
            &format!("/api/v1/comments/{id}"),
            Some(&editor()),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    let rest = c["moderation"].as_array().expect("history for an editor");
    assert_eq!(rest.len(), 3, "{c}");
    for (d, (from, to, note)) in rest.iter().zip(&expected) {
        assert_eq!(d["actor"], "ed");
        assert_eq!(
            (d["from_status"].as_str(), d["to_status"].as_str()),
            (Some(*from), Some(*to)),
            "{d}"
        );
        assert_eq!(&d["note"], note, "{d}");
        assert!(d["at"].is_string(), "{d}");
    }
    let (_, _, page) = send_to(
        &r,
        request(
            "GET",
            "/api/v1/comments?status=APPROVED&article=talks-resume&limit=50",
            Some(&editor()),
            None,
        ),
    )
    .await;
    let item = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == id)
        .expect("in the queue")
        .clone();
    assert_eq!(
        item["moderation"], c["moderation"],
        "the queue shows the same history"
    );

    // Anonymous readers and reader tokens: the comment is public now, its history is not.
    let page = "{ article(slug: \"talks-resume\") { comments(first: 50) { edges { node { id moderation { actor note } } } } } }";
    for who in [None, Some(reader("Rita"))] {
        let seen = gql(&r, who.as_deref(), page, json!({})).await;
        assert!(
            seen.get("errors").is_none(),
            "a reader's page never fails on it: {seen}"
        );
        let edges = seen["data"]["article"]["comments"]["edges"]
            .as_array()
            .expect("edges")
            .clone();
        let node = &edges
            .iter()
            .find(|e| e["node"]["id"] == id.to_string().as_str())
            .expect("approved, so shown")["node"];
        assert_eq!(node["moderation"], Value::Null, "{who:?}: {node}");
        let (status, _, c) = send_to(
            &r,
            request(
                "GET",
                &format!("/api/v1/comments/{id}"),
                who.as_deref(),
                None,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{c}");
        assert!(c.get("moderation").is_none(), "{who:?}: {c}");
        assert!(!c.to_string().contains("link farm"), "no note leaks: {c}");
    }
    // Readers cannot reach the queue that carries it either.
    let (status, _, p) = send_to(
        &r,
        request(
            "GET",
            "/api/v1/comments?status=APPROVED",
            Some(&reader("Rita")),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{p}");
}

async fn the_moderation_history_of_a_queue_page_costs_the_same_statements_for_1_or_4_comments(
    app: &TestApp,
) {
    let r = router(app).await;
    for i in 0..4 {
        let (_, _, got) = post_from(
            &r,
            &format!("192.0.2.{}", 80 + i),
            None,
            "aid-arrives",
            json!({ "author_name": "Lk", "body": format!("Sources {i}: https://a.test/{i} https://b.test/{i} https://c.test/{i}") }),
        )
        .await;
        let id = got["id"].as_i64().expect("id");
        decide(&r, id, "SPAM", Some("links")).await;
        decide(&r, id, "REJECTED", None).await;
    }
    let q = "query($n: Int) { commentQueue(status: REJECTED, first: $n) { edges { node { id moderation { actor toStatus } } } } }";
    let mut seen = Vec::new();
    for n in [1, 4] {
        let _ = gql(&r, Some(&editor()), q, json!({ "n": n })).await;
        app.take_statement_count();
        let got = gql(&r, Some(&editor()), q, json!({ "n": n })).await;
        let statements = app.take_statement_count();
        let edges = got["data"]["commentQueue"]["edges"]
            .as_array()
            .expect("edges")
            .clone();
        assert_eq!(edges.len(), n as usize, "{got}");
        assert!(
            edges
                .iter()
                .all(|e| e["node"]["moderation"].as_array().map(Vec::len) == Some(2)),
            "{got}"
        );
        seen.push(statements);
    }
    assert_eq!(
        seen[0], seen[1],
        "statements for 1 and 4 comments: {seen:?}"
    );
}

async fn one_article_is_limited_in_the_database_with_retry_after(app: &TestApp) {
    app.import(newsroom()).await;
    let r = app
        .with_comments(Settings {
            per_article: 3,
            ..settings()
        })
        .await;
    let before = app.count_rows("comments").await;
    for i in 0..3 {
        let (status, _, body) = post_from(
            &r,
            &format!("198.51.100.{}", 20 + i),
            None,
            "summit-ends",
            json!({ "author_name": "Crowd", "body": format!("a view from reader {i}") }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, headers, p) = post_from(
        &r,
        "198.51.100.30",
        None,
        "summit-ends",
        json!({ "author_name": "Late", "body": "one more view" }),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{p}");
    assert_eq!(p["code"], "RATE_LIMITED");
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or("")
            .contains("on this article"),
        "{p}"
    );
    let wait: u64 = headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("secs");
    assert!((1..=600).contains(&wait), "{wait}");
    let gql_refused = gql(
        &r,
        None,
        ADD,
        json!({ "s": "summit-ends", "i": { "authorName": "Late", "body": "and through GraphQL" } }),
    )
    .await;
    assert_eq!(
        gql_refused["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{gql_refused}"
    );
    assert_eq!(
        app.count_rows("comments").await,
        before + 3,
        "nothing past the limit stored"
    );
    let (status, _, _) = post_from(
        &r,
        "198.51.100.30",
        None,
        "talks-resume",
        json!({ "author_name": "Late", "body": "on another story" }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "other articles are not held back"
    );
}

async fn refused_posts_on_closed_draft_and_unpublished_articles_write_nothing(app: &TestApp) {
    let r = router(app).await;
    let (id, _) = app.id_version("summit-ends").await;
    let _ = gql(
        &r,
        Some(&editor()),
        "mutation($id: ID!) { setCommentsOpen(id: $id, open: false) { commentsOpen } }",
        json!({ "id": id }),
    )
    .await;
    let _ = app
        .step_as(&editor(), "unpublishArticle", "markets-rally")
        .await;
    let comments = app.count_rows("comments").await;
    let events = app.count_rows("change_log").await;
    for (slug, status) in [
        ("summit-ends", StatusCode::FORBIDDEN),
        ("secret-draft", StatusCode::NOT_FOUND),
        ("markets-rally", StatusCode::NOT_FOUND),
    ] {
        let (got, _, p) = post_from(
            &r,
            "192.0.2.90",
            None,
            slug,
            json!({ "author_name": "A", "body": "hello there" }),
        )
        .await;
        assert_eq!(got, status, "{slug}: {p}");
        let g = gql(
            &r,
            Some(&reader("Rita")),
            ADD,
            json!({ "s": slug, "i": { "body": "hello again" } }),
        )
        .await;
        let code = if status == StatusCode::FORBIDDEN {
            "FORBIDDEN"
        } else {
            "NOT_FOUND"
        };
        assert_eq!(g["errors"][0]["extensions"]["code"], code, "{slug}: {g}");
    }
    assert_eq!(
        app.count_rows("comments").await,
        comments,
        "no comment written"
    );
    assert_eq!(
        app.count_rows("change_log").await,
        events,
        "no event written"
    );
}
