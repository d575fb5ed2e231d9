//! The REST mirror: reads, paging with Link headers, HTTP caching, writes with
//! `expected_version` or `If-Match`, and problem+json for every error.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::fixtures::newsroom;
use crate::helpers::{
    TestApp, WithHeader as _, assert_problem, editor, raw_request, request as req, rest_slugs,
    token, writer,
};
use crate::storage_tests;

storage_tests!(
    rest_lists_and_reads_published_articles_only,
    rest_pages_follow_link_headers_through_a_whole_section,
    rest_reads_are_cacheable_and_revalidate_with_etags,
    rest_writes_take_expected_version_or_if_match,
    rest_refusals_are_problem_json_and_change_nothing,
    anonymous_writes_are_refused_before_their_body_is_read,
    rest_serves_sections_authors_and_tags,
    a_database_failure_is_a_500_problem_that_names_only_the_request,
);

async fn rest_lists_and_reads_published_articles_only(app: &TestApp) {
    app.import(newsroom()).await;
    let (status, _, body) = app.get("/api/v1/articles?limit=3").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        rest_slugs(&body),
        ["aid-arrives", "port-profits", "markets-rally"]
    );
    assert!(body["next_cursor"].is_string());
    let first = body["data"][0].as_object().expect("a listed article");
    assert!(
        first.contains_key("headline") && !first.contains_key("body"),
        "listings leave the body out: {body}"
    );
    assert_eq!(body["data"][0]["section"]["path"], "world/middle-east");

    let (status, _, a) = app.get("/api/v1/articles/border-reopens").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(a["headline"], "Headline of border-reopens");
    assert_eq!(a["status"], "PUBLISHED");
    assert_eq!(a["authors"][1]["title"], "Business Reporter");
    assert_eq!(a["breadcrumb"][0]["path"], "world");
    assert_eq!(
        a["body"][0],
        json!({ "heading": { "level": 2, "text": "What happened" } })
    );
    assert!(
        a["body_html"]
            .as_str()
            .is_some_and(|h| h.starts_with("<h2>"))
    );
    assert_eq!(a["word_count"], 16);

    for hidden in ["secret-draft", "under-review", "nope"] {
        let (status, headers, body) = app.get(&format!("/api/v1/articles/{hidden}")).await;
        assert_problem(
            hidden,
            status,
            &headers,
            &body,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        );
    }
    let (status, _, body) = app.get("/api/v1/articles?status=DRAFT").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(rest_slugs(&body), Vec::<String>::new());
    let (_, _, body) = app
        .get("/api/v1/articles?tag=ceasefire-talks&author=omar-haddad")
        .await;
    assert_eq!(rest_slugs(&body), ["border-reopens", "talks-resume"]);
    let (_, _, body) = app
        .send(req(
            "GET",
            "/api/v1/articles?status=DRAFT",
            Some(&editor()),
            None,
        ))
        .await;
    assert_eq!(
        rest_slugs(&body),
        ["secret-draft"],
        "editors read drafts through the same route"
    );
}

async fn rest_pages_follow_link_headers_through_a_whole_section(app: &TestApp) {
    app.import(newsroom()).await;
    let mut uri = "/api/v1/articles?section=world&limit=1".to_owned();
    let mut seen = Vec::new();
    loop {
        let (status, headers, body) = app.get(&uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        seen.extend(rest_slugs(&body));
        match headers.get(header::LINK) {
            Some(link) => {
                let link = link.to_str().expect("ascii");
                assert!(link.ends_with("; rel=\"next\""), "{link}");
                assert!(
                    link.contains("section=world") && link.contains("limit=1"),
                    "filters carry over: {link}"
                );
                uri = link[1..link.find('>').expect("<…>")].to_owned();
                assert_eq!(
                    body["next_cursor"].as_str().map(|c| uri.ends_with(c)),
                    Some(true)
                );
            }
            None => {
                assert_eq!(body["next_cursor"], Value::Null);
                break;
            }
        }
    }
    assert_eq!(
        seen,
        [
            "aid-arrives",
            "summit-ends",
            "border-reopens",
            "talks-resume"
        ],
        "no duplicates, no gaps"
    );
}

async fn rest_reads_are_cacheable_and_revalidate_with_etags(app: &TestApp) {
    app.import(newsroom()).await;
    let (status, headers, _) = app.get("/api/v1/articles/border-reopens").await;
    assert_eq!(status, StatusCode::OK);
    let etag = headers[header::ETAG].to_str().expect("etag").to_owned();
    assert!(
        etag.starts_with("\"v1-"),
        "strong, names the version: {etag}"
    );
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=60, stale-while-revalidate=300"
    );
    assert_eq!(headers[header::VARY], "Authorization, Accept-Encoding");
    let keys = headers["surrogate-key"].to_str().expect("keys");
    let (_, _, a) = app.get("/api/v1/articles/border-reopens").await;
    for want in [
        format!("a{}", a["id"]),
        format!("s{}", a["section"]["id"]),
        format!("u{}", a["authors"][0]["id"]),
        format!("t{}", a["tags"][0]["id"]),
    ] {
        assert!(keys.split(' ').any(|k| k == want), "{want} in {keys}");
    }
    assert_eq!(
        headers["cache-tag"].to_str().ok(),
        Some(keys.replace(' ', ",").as_str())
    );

    let revalidate = req("GET", "/api/v1/articles/border-reopens", None, None)
        .with_header(header::IF_NONE_MATCH, &etag);
    let (status, headers, body) = app.send(revalidate).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(body, Value::String(String::new()), "no body");
    assert_eq!(headers[header::ETAG], etag.as_str());

    // With a token: private.
    let (_, headers, _) = app
        .send(req(
            "GET",
            "/api/v1/articles/border-reopens",
            Some(&editor()),
            None,
        ))
        .await;
    assert_eq!(headers[header::CACHE_CONTROL], "private, no-store");

    // A listing's ETag changes when a publish changes it; an edit changes the article's.
    let (_, list_headers, _) = app.get("/api/v1/articles?section=world").await;
    let (id, v) = app.id_version("secret-draft").await;
    let ed = editor();
    let (status, _, body) = app
        .send(req(
            "POST",
            "/api/v1/articles/secret-draft/publish",
            Some(&ed),
            Some(json!({ "expected_version": v })),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body} {id}");
    let (_, after, body) = app.get("/api/v1/articles?section=world").await;
    assert_ne!(after[header::ETAG], list_headers[header::ETAG]);
    assert_eq!(
        rest_slugs(&body)[0],
        "secret-draft",
        "the published draft leads the listing"
    );
    let (status, _, _) = app
        .send(req(
            "PATCH",
            "/api/v1/articles/border-reopens",
            Some(&ed),
            Some(json!({ "expected_version": 1, "dek": "New dek" })),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let stale = req("GET", "/api/v1/articles/border-reopens", None, None)
        .with_header(header::IF_NONE_MATCH, &etag);
    let (status, headers, body) = app.send(stale).await;
    assert_eq!(status, StatusCode::OK, "a changed article is sent again");
    assert!(
        headers[header::ETAG]
            .to_str()
            .is_ok_and(|e| e.starts_with("\"v2-"))
    );
    assert_eq!(body["dek"], "New dek");
}

async fn rest_writes_take_expected_version_or_if_match(app: &TestApp) {
    app.import(newsroom()).await;
    let w = writer("omar");
    let ed = editor();
    let (status, headers, a) = app
        .send(req("POST", "/api/v1/articles", Some(&w), Some(json!({
            "headline": "Tugboats strike at dawn", "section": "world", "authors": ["omar-haddad"],
            "tags": ["harbour"], "body": [{ "paragraph": { "html": "Tugs <b>stop</b>." } }]
        }))))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    assert_eq!(
        headers[header::LOCATION],
        "/api/v1/articles/tugboats-strike-at-dawn"
    );
    assert_eq!(a["status"], "DRAFT");
    let etag = headers[header::ETAG].to_str().expect("etag").to_owned();

    // If-Match with the ETag, and an empty body.
    let submit = req(
        "POST",
        "/api/v1/articles/tugboats-strike-at-dawn/submit",
        Some(&w),
        None,
    )
    .with_header(header::IF_MATCH, &etag);
    let (status, headers, body) = app.send(submit).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "IN_REVIEW");
    let etag2 = headers[header::ETAG].to_str().expect("etag").to_owned();

    // The old ETag is now stale: 412, nothing changes.
    let stale = req(
        "PATCH",
        "/api/v1/articles/tugboats-strike-at-dawn",
        Some(&ed),
        Some(json!({ "headline": "Late" })),
    )
    .with_header(header::IF_MATCH, &etag);
    let (status, headers, body) = app.send(stale).await;
    assert_problem(
        "stale If-Match",
        status,
        &headers,
        &body,
        StatusCode::PRECONDITION_FAILED,
        "CONFLICT",
    );
    // A stale expected_version: 409.
    let (status, headers, body) = app
        .send(req(
            "PATCH",
            "/api/v1/articles/tugboats-strike-at-dawn",
            Some(&ed),
            Some(json!({ "expected_version": 1, "headline": "Late" })),
        ))
        .await;
    assert_problem(
        "stale expected_version",
        status,
        &headers,
        &body,
        StatusCode::CONFLICT,
        "CONFLICT",
    );
    // Neither: 428.
    let (status, headers, body) = app
        .send(req(
            "PATCH",
            "/api/v1/articles/tugboats-strike-at-dawn",
            Some(&ed),
            Some(json!({ "headline": "Late" })),
        ))
        .await;
    assert_problem(
        "no version",
        status,
        &headers,
        &body,
        StatusCode::PRECONDITION_REQUIRED,
        "BAD_USER_INPUT",
    );
    assert_eq!(
        app.id_version("tugboats-strike-at-dawn").await.1,
        2,
        "nothing changed"
    );

    let publish = req(
        "POST",
        "/api/v1/articles/tugboats-strike-at-dawn/publish",
        Some(&ed),
        Some(json!({})),
    )
    .with_header(header::IF_MATCH, &etag2);
    let (status, _, body) = app.send(publish).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "PUBLISHED");
    let (status, _, body) = app.get("/api/v1/articles/tugboats-strike-at-dawn").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, _, revs) = app
        .send(req(
            "GET",
            "/api/v1/articles/tugboats-strike-at-dawn/revisions",
            Some(&ed),
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = revs
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actions, ["publish", "submit", "create"]);

    let (status, _, _) = app
        .send(req(
            "DELETE",
            "/api/v1/articles/tugboats-strike-at-dawn?expected_version=3",
            Some(&ed),
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "editors may not delete");
    let (status, _, body) = app
        .send(req(
            "DELETE",
            "/api/v1/articles/tugboats-strike-at-dawn?expected_version=3",
            Some(&token("root", "admin")),
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _, _) = app.get("/api/v1/articles/tugboats-strike-at-dawn").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn rest_refusals_are_problem_json_and_change_nothing(app: &TestApp) {
    app.import(newsroom()).await;
    let ed = editor();
    let raw = |method: &str, uri: &str, ct: Option<&str>, body: String| {
        raw_request(method, uri, Some(ed.as_str()), ct, body)
    };
    let article =
        json!({ "headline": "X", "section": "world", "authors": ["omar-haddad"], "body": [] })
            .to_string();
    let cases: Vec<(&str, Request<Body>, StatusCode, &str)> = vec![
        ("unknown route", req("GET", "/api/v1/nothing", None, None), StatusCode::NOT_FOUND, "NOT_FOUND"),
        ("wrong method", req("PUT", "/api/v1/articles", None, None), StatusCode::METHOD_NOT_ALLOWED, "BAD_USER_INPUT"),
        ("malformed JSON", raw("POST", "/api/v1/articles", Some("application/json"), "{\"headline\":".into()), StatusCode::BAD_REQUEST, "BAD_USER_INPUT"),
        ("wrong content type", raw("POST", "/api/v1/articles", Some("text/plain"), article.clone()), StatusCode::UNSUPPORTED_MEDIA_TYPE, "BAD_USER_INPUT"),
        ("oversized body", raw("POST", "/api/v1/articles", Some("application/json"), format!("{{\"headline\":\"{}\"}}", "x".repeat(2 << 20))), StatusCode::PAYLOAD_TOO_LARGE, "BAD_USER_INPUT"),
        ("unknown field", raw("POST", "/api/v1/articles", Some("application/json"), json!({ "headline": "X", "section": "world", "authors": [], "body": [], "evil": 1 }).to_string()), StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
        ("unknown block", raw("POST", "/api/v1/articles", Some("application/json"), json!({ "headline": "X", "section": "world", "authors": ["omar-haddad"], "body": [{ "video": {} }] }).to_string()), StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
        ("unknown section", raw("POST", "/api/v1/articles", Some("application/json"), json!({ "headline": "X", "section": "nope", "authors": ["omar-haddad"], "body": [] }).to_string()), StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
        ("limit 0", req("GET", "/api/v1/articles?limit=0", None, None), StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
        ("limit 101", req("GET", "/api/v1/articles?limit=101", None, None), StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
        ("limit text", req("GET", "/api/v1/articles?limit=many", None, None), StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
        ("garbage cursor", req("GET", "/api/v1/articles?cursor=%27%3B--", None, None), StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
        ("bad version in path", req("POST", "/api/v1/articles/talks-resume/revisions/abc/restore", Some(&ed), None), StatusCode::BAD_REQUEST, "BAD_USER_INPUT"),
        ("anonymous write", req("POST", "/api/v1/articles", None, Some(serde_json::from_str(&article).expect("json"))), StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        ("bad token on a read", req("GET", "/api/v1/articles", Some("garbage"), None), StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        ("writer publishes", req("POST", "/api/v1/articles/secret-draft/publish", Some(&writer("omar")), Some(json!({ "expected_version": 1 }))), StatusCode::FORBIDDEN, "FORBIDDEN"),
        ("illegal step", req("POST", "/api/v1/articles/secret-draft/archive", Some(&ed), Some(json!({ "expected_version": 1 }))), StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
    ];
    let tables = ["articles", "article_revisions"];
    let before = app.row_counts(&tables).await;
    for (what, r, want, code) in cases {
        let (status, headers, body) = app.send(r).await;
        assert_problem(what, status, &headers, &body, want, code);
        if want == StatusCode::METHOD_NOT_ALLOWED {
            assert!(
                headers[header::ALLOW]
                    .to_str()
                    .is_ok_and(|a| a.contains("GET") && a.contains("POST")),
                "{what}"
            );
        }
        if want == StatusCode::UNAUTHORIZED {
            assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer", "{what}");
        }
    }
    assert_eq!(app.row_counts(&tables).await, before, "nothing was written");
}

/// A write request with a raw body and optional content type and token.
fn write(
    method: &str,
    uri: &str,
    token: Option<&str>,
    ct: Option<&str>,
    body: String,
) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(ct) = ct {
        r = r.header(header::CONTENT_TYPE, ct);
    }
    r.body(Body::from(body)).expect("request")
}

async fn anonymous_writes_are_refused_before_their_body_is_read(app: &TestApp) {
    app.import(newsroom()).await;
    let json = Some("application/json");
    let malformed = || "{\"headline\":".to_owned();
    let article =
        json!({ "headline": "X", "section": "world", "authors": ["omar-haddad"], "body": [] })
            .to_string();
    // Every write route, with a body that would be refused if it were read.
    let cases: Vec<(&str, &str, &str, Option<&str>, String)> = vec![
        (
            "create, malformed JSON",
            "POST",
            "/api/v1/articles",
            json,
            malformed(),
        ),
        (
            "create, wrong content type",
            "POST",
            "/api/v1/articles",
            Some("text/plain"),
            article.clone(),
        ),
        (
            "create, no content type",
            "POST",
            "/api/v1/articles",
            None,
            article.clone(),
        ),
        (
            "create, unknown field",
            "POST",
            "/api/v1/articles",
            json,
            json!({ "evil": 1 }).to_string(),
        ),
        (
            "create, oversized",
            "POST",
            "/api/v1/articles",
            json,
            format!("{{\"headline\":\"{}\"}}", "x".repeat(2 << 20)),
        ),
        (
            "patch",
            "PATCH",
            "/api/v1/articles/talks-resume",
            json,
            malformed(),
        ),
        (
            "delete, bad version",
            "DELETE",
            "/api/v1/articles/talks-resume?expected_version=abc",
            None,
            String::new(),
        ),
        (
            "publish",
            "POST",
            "/api/v1/articles/secret-draft/publish",
            Some("text/plain"),
            "x".into(),
        ),
        (
            "submit",
            "POST",
            "/api/v1/articles/secret-draft/submit",
            json,
            malformed(),
        ),
        (
            "restore, bad version",
            "POST",
            "/api/v1/articles/talks-resume/revisions/abc/restore",
            json,
            malformed(),
        ),
        (
            "pin related",
            "PUT",
            "/api/v1/articles/talks-resume/related",
            json,
            malformed(),
        ),
        (
            "create section",
            "POST",
            "/api/v1/sections",
            json,
            malformed(),
        ),
        (
            "patch section",
            "PATCH",
            "/api/v1/sections/world",
            Some("text/plain"),
            "{}".into(),
        ),
        (
            "create author",
            "POST",
            "/api/v1/authors",
            json,
            malformed(),
        ),
        (
            "patch author",
            "PATCH",
            "/api/v1/authors/omar-haddad",
            json,
            malformed(),
        ),
    ];
    let before = (
        app.count_rows("articles").await,
        app.count_rows("sections").await,
        app.count_rows("authors").await,
    );
    for (what, method, uri, ct, body) in cases {
        for token in [None, Some("garbage")] {
            let (status, headers, problem) =
                app.send(write(method, uri, token, ct, body.clone())).await;
            let who = if token.is_some() {
                "bad token"
            } else {
                "anonymous"
            };
            assert_problem(
                &format!("{what} ({who})"),
                status,
                &headers,
                &problem,
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
            );
            assert_eq!(
                headers[header::WWW_AUTHENTICATE],
                "Bearer",
                "{what} ({who})"
            );
        }
    }
    // Someone who may write learns what is wrong with the body.
    let writer = token("omar", "writer");
    let cases: Vec<(&str, Option<&str>, String, StatusCode)> = vec![
        ("malformed JSON", json, malformed(), StatusCode::BAD_REQUEST),
        (
            "wrong content type",
            Some("text/plain"),
            article,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "unknown field",
            json,
            json!({ "evil": 1 }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (what, ct, body, want) in cases {
        let (status, headers, problem) = app
            .send(write("POST", "/api/v1/articles", Some(&writer), ct, body))
            .await;
        assert_problem(
            &format!("writer, {what}"),
            status,
            &headers,
            &problem,
            want,
            "BAD_USER_INPUT",
        );
    }
    assert_eq!(
        (
            app.count_rows("articles").await,
            app.count_rows("sections").await,
            app.count_rows("authors").await,
        ),
        before,
        "nothing was written"
    );
}

async fn rest_serves_sections_authors_and_tags(app: &TestApp) {
    app.import(newsroom()).await;
    let (status, _, tree) = app.get("/api/v1/sections").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tree[0]["path"], "world");
    assert_eq!(tree[0]["children"][0]["path"], "world/middle-east");
    assert_eq!(tree[0]["children"][0]["breadcrumb"][0]["name"], "World");
    let (status, headers, one) = app.get("/api/v1/sections/world/middle-east").await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["name"], "Middle East");
    assert_eq!(one["parent_path"], "world");
    assert!(
        headers["surrogate-key"]
            .to_str()
            .is_ok_and(|k| k.starts_with('s'))
    );
    let (status, _, _) = app.get("/api/v1/sections/world/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, headers, page) = app.get("/api/v1/authors?limit=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["data"][0]["name"], "Lena Berg");
    let link = headers[header::LINK].to_str().expect("link").to_owned();
    let next = &link[1..link.find('>').expect(">")];
    let (_, _, page2) = app.get(next).await;
    assert_eq!(page2["data"][0]["name"], "Omar Haddad");
    assert_eq!(page2["next_cursor"], Value::Null);
    let (_, _, author) = app.get("/api/v1/authors/omar-haddad").await;
    assert_eq!(author["title"], "World Editor");
    let (_, _, tag) = app.get("/api/v1/tags/ceasefire-talks").await;
    assert_eq!(tag["name"], "ceasefire talks");

    let ed = editor();
    let (status, _, s) = app
        .send(req(
            "POST",
            "/api/v1/sections",
            Some(&ed),
            Some(json!({ "name": "Gulf", "parent": "world/middle-east" })),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    assert_eq!(s["path"], "world/middle-east/gulf");
    let (status, _, s) = app
        .send(req(
            "PATCH",
            "/api/v1/sections/world/middle-east/gulf",
            Some(&ed),
            Some(json!({ "description": "The Gulf states" })),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{s}");
    assert_eq!(s["description"], "The Gulf states");
    let (status, _, a) = app.send(req("POST", "/api/v1/authors", Some(&ed), Some(json!({ "name": "Nadia Rahman", "title": "Gulf Correspondent", "subject": "nadia" })))).await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    assert_eq!(a["slug"], "nadia-rahman");
    let (status, _, a) = app
        .send(req(
            "PATCH",
            "/api/v1/authors/nadia-rahman",
            Some(&ed),
            Some(json!({ "bio": "Reports from Doha." })),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["bio"], "Reports from Doha.");
    let (status, _, _) = app
        .send(req(
            "POST",
            "/api/v1/authors",
            Some(&ed),
            Some(json!({ "name": "Nadia Rahman" })),
        ))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "the slug is taken");
}

async fn a_database_failure_is_a_500_problem_that_names_only_the_request(app: &TestApp) {
    app.import(newsroom()).await;
    app.make_revisions_fail().await;
    let ed = editor();
    let r = req(
        "PATCH",
        "/api/v1/articles/talks-resume",
        Some(&ed),
        Some(json!({ "expected_version": 1, "headline": "Doomed" })),
    )
    .with_header("x-request-id", "req-42");
    let (status, headers, body) = app.send(r).await;
    assert_problem(
        "database failure",
        status,
        &headers,
        &body,
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
    );
    assert_eq!(body["detail"], "internal error (request id req-42)");
    assert!(
        !body.to_string().contains("boom"),
        "no database detail leaks: {body}"
    );
    assert_eq!(app.id_version("talks-resume").await.1, 1, "rolled back");
}
