//! Visibility is an explicit grant per role: an anonymous reader, a signed-in `reader`, a
//! syndication `partner` (with no partner record) and a writer off the byline see published
//! articles only; the byline's writer sees their own in every status; editors and admins
//! see everything. Every role is asked about an article in each status (and a published one
//! under embargo), through GraphQL
//! (one article, the listing and its count) and REST (one article, the listing). Roles that
//! hold no newsroom grant write nothing, even when their `sub` equals a writer's account.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::fixtures::{april_article, newsroom_with};
use crate::helpers::{TestApp, editor, request, rest_slugs, slugs, token};

crate::storage_tests!(
    every_role_sees_exactly_what_its_grant_allows_on_graphql_and_rest,
    roles_without_a_newsroom_grant_cannot_write_or_see_workings,
);

/// One article in each status, all on Omar's byline.
fn articles() -> Vec<Value> {
    let mut scheduled = april_article("a-scheduled", "Scheduled", "Later.", "SCHEDULED", 3);
    scheduled["scheduledAt"] = json!("2099-01-01T09:00:00Z");
    let mut unpublished = april_article(
        "an-unpublished",
        "Unpublished",
        "Withdrawn.",
        "UNPUBLISHED",
        4,
    );
    unpublished["publishedAt"] = json!("2026-04-04T09:00:00Z");
    let mut embargoed = april_article("an-embargoed", "Embargoed", "Soon.", "PUBLISHED", 7);
    embargoed["embargoUntil"] = json!("2099-01-01T09:00:00Z");
    vec![
        april_article("a-published", "Published", "Out.", "PUBLISHED", 1),
        april_article("a-draft", "Draft", "Not yet.", "DRAFT", 2),
        scheduled,
        unpublished,
        april_article("in-review", "In review", "Checking.", "IN_REVIEW", 5),
        april_article("an-archived", "Archived", "Old.", "ARCHIVED", 6),
        embargoed,
    ]
}

const ALL: [&str; 7] = [
    "a-published",
    "a-draft",
    "a-scheduled",
    "an-unpublished",
    "in-review",
    "an-archived",
    "an-embargoed",
];

const LISTING: &str = "{ articles(first: 50) { totalCount edges { node { slug } } } }";
const ONE: &str = "query($s: String) { article(slug: $s) { slug status } }";

async fn every_role_sees_exactly_what_its_grant_allows_on_graphql_and_rest(app: &TestApp) {
    app.import(newsroom_with(articles())).await;
    // A partner granted every section the articles are in, without embargoes: it sees
    // exactly the public ones. Its slug is a writer's account subject on purpose.
    let partner = app.partner("omar", &["world"], false).await;
    let published_only = vec!["a-published"];
    let cases: Vec<(&str, Option<String>, Vec<&str>)> = vec![
        ("anonymous", None, published_only.clone()),
        // Partners and readers share a subject with the byline's writer on purpose: the
        // subject alone grants nothing.
        ("a partner", Some(partner.clone()), published_only.clone()),
        (
            "a reader",
            Some(token("omar", "reader")),
            published_only.clone(),
        ),
        (
            "a writer off the byline",
            Some(token("lena", "writer")),
            published_only.clone(),
        ),
        (
            "the byline's writer",
            Some(token("omar", "writer")),
            ALL.to_vec(),
        ),
        ("an editor", Some(editor()), ALL.to_vec()),
        ("an admin", Some(token("root", "admin")), ALL.to_vec()),
    ];
    for (who, tok, visible) in cases {
        let tok = tok.as_deref();
        let mut want: Vec<String> = visible.iter().map(|s| s.to_string()).collect();
        want.sort();

        let (status, body) = app.graphql_as(tok, LISTING, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
        let mut got = slugs(&body["data"]["articles"]);
        got.sort();
        assert_eq!(got, want, "{who}: the GraphQL listing");
        assert_eq!(
            body["data"]["articles"]["totalCount"],
            json!(want.len()),
            "{who}: the GraphQL count"
        );

        let (status, _, body) = app
            .send(request("GET", "/api/v1/articles?limit=50", tok, None))
            .await;
        assert_eq!(status, StatusCode::OK, "{who}: {body}");
        let mut got = rest_slugs(&body);
        got.sort();
        assert_eq!(got, want, "{who}: the REST listing");

        for slug in ALL {
            let seen = visible.contains(&slug);
            let (_, body) = app.graphql_as(tok, ONE, json!({ "s": slug })).await;
            assert!(body["errors"].is_null(), "{who}, {slug}: {body}");
            assert_eq!(
                body["data"]["article"]["slug"].as_str() == Some(slug),
                seen,
                "{who}, {slug} on GraphQL: {body}"
            );
            let uri = format!("/api/v1/articles/{slug}");
            let (status, _, body) = app.send(request("GET", &uri, tok, None)).await;
            let want = if seen {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(status, want, "{who}, {slug} on REST: {body}");
            if !seen {
                assert_eq!(body["code"], "NOT_FOUND", "{who}, {slug}: no hint: {body}");
            }
        }

        // Asking for a status by name narrows within the grant, never widens it.
        let (_, body) = app
            .graphql_as(
                tok,
                "{ articles(filter: { status: DRAFT }) { totalCount } }",
                json!({}),
            )
            .await;
        let drafts = i64::from(visible.contains(&"a-draft"));
        assert_eq!(
            body["data"]["articles"]["totalCount"],
            json!(drafts),
            "{who}: drafts by filter: {body}"
        );
    }
}

async fn roles_without_a_newsroom_grant_cannot_write_or_see_workings(app: &TestApp) {
    app.import(newsroom_with(articles())).await;
    let (id, version) = app.id_version("a-draft").await;
    let tables = [
        "articles",
        "article_revisions",
        "change_log",
        "sections",
        "authors",
        "tags",
    ];
    let partner = app.partner("omar", &["world"], false).await;
    let before = app.row_counts(&tables).await;
    for role in ["partner", "reader"] {
        let tok = if role == "partner" {
            partner.clone()
        } else {
            token("omar", role)
        };
        let mutations = [
            (
                "createArticle",
                "mutation { createArticle(input: { headline: \"H\", section: \"world\", authors: [\"omar-haddad\"], body: [] }) { slug } }",
            ),
            (
                "updateArticle",
                "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { headline: \"Mine now\" }) { slug } }",
            ),
            (
                "submitArticle",
                "mutation($id: ID!, $v: Int!) { submitArticle(id: $id, expectedVersion: $v) { slug } }",
            ),
            (
                "publishArticle",
                "mutation($id: ID!, $v: Int!) { publishArticle(id: $id, expectedVersion: $v) { slug } }",
            ),
            (
                "createSection",
                "mutation { createSection(input: { name: \"Sport\" }) { path } }",
            ),
            (
                "previewToken",
                "mutation($id: ID!) { previewToken(articleId: $id, ttlSeconds: 60) }",
            ),
        ];
        for (name, m) in mutations {
            let code = app
                .code_as(Some(&tok), m, json!({ "id": id, "v": version }))
                .await;
            // A draft the role cannot see is not found; everything else is forbidden.
            assert!(
                code == "FORBIDDEN" || code == "NOT_FOUND",
                "{role}, {name}: {code}"
            );
        }

        let rest = [
            (
                "POST",
                "/api/v1/articles".to_owned(),
                Some(
                    json!({ "headline": "H", "section": "world", "authors": ["omar-haddad"], "body": [] }),
                ),
            ),
            (
                "POST",
                "/api/v1/articles/a-published/unpublish".to_owned(),
                None,
            ),
            (
                "GET",
                "/api/v1/articles/a-published/revisions".to_owned(),
                None,
            ),
        ];
        let (_, headers, _) = app.get("/api/v1/articles/a-published").await;
        let etag = headers["etag"].clone();
        for (method, uri, body) in rest {
            let mut req = request(method, &uri, Some(&tok), body);
            req.headers_mut().insert("if-match", etag.clone());
            let (status, _, body) = app.send(req).await;
            assert_eq!(
                status,
                StatusCode::FORBIDDEN,
                "{role}, {method} {uri}: {body}"
            );
            assert_eq!(body["code"], "FORBIDDEN", "{role}, {method} {uri}: {body}");
        }
    }
    assert_eq!(app.row_counts(&tables).await, before, "nothing was written");
    assert_eq!(
        app.id_version("a-draft").await.1,
        version,
        "the draft is unchanged"
    );
}
