//! The hostile-input suite: one table of attacks through every entry point. Each case
//! asserts the exact refusal (status and code, or an answer that reveals nothing), that the
//! server did not answer 5xx, and that nothing was written.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::fixtures::newsroom;
use crate::helpers::{
    TestApp, WithHeader as _, editor, graphql_request, now, raw_request, raw_token,
    request as rest, sign, sign_with, writer,
};
use crate::storage_tests;

storage_tests!(hostile_input_is_refused_exactly_and_writes_nothing);

/// What a client must see.
enum Expect {
    /// This status, and this `code` (problem+json `code` or GraphQL `extensions.code`).
    Refused(StatusCode, &'static str),
    /// A GraphQL answer that has the pointer, with null or empty there: nothing revealed.
    Nothing(&'static str),
    /// A GraphQL request error (400) whose message contains this.
    RequestError(&'static str),
}

/// The tables a hostile request could write to.
const WRITABLE: [&str; 7] = [
    "articles",
    "article_revisions",
    "sections",
    "authors",
    "tags",
    "comments",
    "change_log",
];

async fn hostile_input_is_refused_exactly_and_writes_nothing(app: &TestApp) {
    app.import(newsroom()).await;
    let (draft_id, draft_v) = app.id_version("secret-draft").await;
    let (pub_id, pub_v) = app.id_version("talks-resume").await;
    let other = writer("lena");
    let writer = writer("omar");
    let editor = editor();
    let good = json!({ "sub": "a", "role": "admin", "exp": now() + 600 });
    let none_alg = raw_token(json!({ "alg": "none", "typ": "JWT" }), good.clone(), "");
    let wrong_key = sign_with(good, b"not-the-server-secret-but-32-bytes-long!");
    let expired = sign(json!({ "sub": "a", "role": "admin", "exp": now() - 600 }));
    let no_exp = sign(json!({ "sub": "a", "role": "admin" }));
    let superuser = sign(json!({ "sub": "a", "role": "superuser", "exp": now() + 600 }));
    let create = |section: &str, body: Value| json!({ "headline": "Hostile", "section": section, "authors": ["omar-haddad"], "body": body });
    let create_op = "mutation($i: ArticleInput!) { createArticle(input: $i) { id } }";
    let deep = format!(
        "{{ sections {} path {} }}",
        "{ parent ".repeat(14),
        "}".repeat(14)
    );
    let aliases: String = (0..40).map(|i| format!("a{i}: path ")).collect();
    let fanout = "{ sections { articles(first: 100) { edges { node { authors { articles(first: 100) { edges { node { headline } } } } } } } } }";
    let cycle = "query { sections { ...A } } fragment A on Section { children { ...B } } fragment B on Section { parent { ...A } }";
    let batch: Vec<Value> = (0..11)
        .map(|_| json!({ "query": "{ __typename }" }))
        .collect();
    use Expect::*;
    let cases: Vec<(&str, Request<Body>, Expect)> = vec![
        // Token attacks, on a public query.
        (
            "alg none",
            graphql_request(Some(&none_alg), "{ sections { path } }", &json!({})),
            Refused(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        ),
        (
            "wrong key",
            graphql_request(Some(&wrong_key), "{ sections { path } }", &json!({})),
            Refused(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        ),
        (
            "expired",
            rest("GET", "/api/v1/articles", Some(&expired), None),
            Refused(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        ),
        (
            "no exp",
            rest("GET", "/api/v1/sections", Some(&no_exp), None),
            Refused(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        ),
        (
            "unknown role",
            graphql_request(
                Some(&superuser),
                "mutation { createSection(input: { name: \"X\" }) { path } }",
                &json!({}),
            ),
            Refused(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        ),
        (
            "malformed header",
            raw_request(
                "GET",
                "/api/v1/sections",
                None,
                Some("application/json"),
                Body::empty(),
            )
            .with_header(header::AUTHORIZATION, "Basic Zm9vOmJhcg=="),
            Refused(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        ),
        // Role escalation.
        (
            "anonymous mutation",
            graphql_request(
                None,
                "mutation { createSection(input: { name: \"X\" }) { path } }",
                &json!({}),
            ),
            Refused(StatusCode::OK, "UNAUTHENTICATED"),
        ),
        (
            "writer publishes",
            graphql_request(
                Some(&writer),
                "mutation($id: ID!, $v: Int!) { publishArticle(id: $id, expectedVersion: $v) { status } }",
                &json!({ "id": draft_id, "v": draft_v }),
            ),
            Refused(StatusCode::OK, "FORBIDDEN"),
        ),
        (
            "writer deletes",
            rest(
                "DELETE",
                &format!("/api/v1/articles/secret-draft?expected_version={draft_v}"),
                Some(&writer),
                None,
            ),
            Refused(StatusCode::FORBIDDEN, "FORBIDDEN"),
        ),
        (
            "editor deletes",
            graphql_request(
                Some(&editor),
                "mutation($id: ID!, $v: Int!) { deleteArticle(id: $id, expectedVersion: $v) }",
                &json!({ "id": pub_id, "v": pub_v }),
            ),
            Refused(StatusCode::OK, "FORBIDDEN"),
        ),
        (
            "writer edits another's draft",
            graphql_request(
                Some(&other),
                "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { headline: \"Mine now\" }) { id } }",
                &json!({ "id": draft_id, "v": draft_v }),
            ),
            Refused(StatusCode::OK, "FORBIDDEN"),
        ),
        (
            "writer files under another byline",
            rest(
                "POST",
                "/api/v1/articles",
                Some(&other),
                Some(create("world", json!([]))),
            ),
            Refused(StatusCode::FORBIDDEN, "FORBIDDEN"),
        ),
        (
            "writer creates a section",
            rest(
                "POST",
                "/api/v1/sections",
                Some(&writer),
                Some(json!({ "name": "Mine" })),
            ),
            Refused(StatusCode::FORBIDDEN, "FORBIDDEN"),
        ),
        // Drafts through every read path.
        (
            "draft by slug",
            graphql_request(
                None,
                "{ article(slug: \"secret-draft\") { headline } }",
                &json!({}),
            ),
            Nothing("/data/article"),
        ),
        (
            "draft by id",
            graphql_request(
                None,
                "query($id: ID) { article(id: $id) { headline } }",
                &json!({ "id": draft_id }),
            ),
            Nothing("/data/article"),
        ),
        (
            "drafts by status",
            graphql_request(
                None,
                "{ articles(filter: { status: DRAFT }) { edges { node { slug } } } }",
                &json!({}),
            ),
            Nothing("/data/articles/edges"),
        ),
        (
            "draft over REST",
            rest("GET", "/api/v1/articles/secret-draft", None, None),
            Refused(StatusCode::NOT_FOUND, "NOT_FOUND"),
        ),
        (
            "drafts listed over REST",
            rest(
                "GET",
                "/api/v1/articles?status=DRAFT&section=world",
                None,
                None,
            ),
            Nothing("/data"),
        ),
        (
            "draft preview with a forged token",
            graphql_request(
                None,
                "{ article(slug: \"secret-draft\", previewToken: \"eyJhbGciOiJIUzI1NiJ9.e30.x\") { headline } }",
                &json!({}),
            ),
            Refused(StatusCode::OK, "UNAUTHENTICATED"),
        ),
        // Query abuse.
        (
            "depth",
            graphql_request(None, &deep, &json!({})),
            RequestError("nested too deep"),
        ),
        (
            "aliases",
            graphql_request(None, &format!("{{ sections {{ {aliases} }} }}"), &json!({})),
            RequestError("aliases"),
        ),
        (
            "complexity",
            graphql_request(None, fanout, &json!({})),
            RequestError("complex"),
        ),
        (
            "fragment cycle",
            graphql_request(None, cycle, &json!({})),
            RequestError("recursion"),
        ),
        (
            "batch of 11",
            raw_request(
                "POST",
                "/graphql",
                None,
                Some("application/json"),
                serde_json::to_vec(&batch).expect("json"),
            ),
            Refused(StatusCode::BAD_REQUEST, "BAD_USER_INPUT"),
        ),
        // Page sizes and cursors.
        (
            "first -1",
            graphql_request(None, "{ articles(first: -1) { totalCount } }", &json!({})),
            Refused(StatusCode::OK, "BAD_USER_INPUT"),
        ),
        (
            "first 100000",
            graphql_request(
                None,
                "{ articles(first: 100000) { totalCount } }",
                &json!({}),
            ),
            Refused(StatusCode::OK, "BAD_USER_INPUT"),
        ),
        (
            "limit 0",
            rest("GET", "/api/v1/articles?limit=0", None, None),
            Refused(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
        ),
        (
            "limit -1",
            rest("GET", "/api/v1/articles?limit=-1", None, None),
            Refused(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
        ),
        (
            "limit 100000",
            rest("GET", "/api/v1/authors?limit=100000", None, None),
            Refused(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
        ),
        (
            "garbage cursor",
            graphql_request(
                None,
                "{ articles(after: \"' OR 1=1 --\") { totalCount } }",
                &json!({}),
            ),
            Refused(StatusCode::OK, "BAD_USER_INPUT"),
        ),
        (
            "garbage REST cursor",
            rest("GET", "/api/v1/articles?cursor=AAAA%00", None, None),
            Refused(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
        ),
        // Metacharacters, NUL bytes, huge and invalid text.
        (
            "SQL in a slug",
            graphql_request(
                None,
                "query($s: String) { article(slug: $s) { id } }",
                &json!({ "s": "' OR '1'='1' --" }),
            ),
            Nothing("/data/article"),
        ),
        (
            "HTML in a slug",
            rest(
                "GET",
                "/api/v1/articles/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                None,
                None,
            ),
            Refused(StatusCode::NOT_FOUND, "NOT_FOUND"),
        ),
        (
            "NUL in a slug",
            graphql_request(
                None,
                "query($s: String) { article(slug: $s) { id } }",
                &json!({ "s": "talks\u{0}resume" }),
            ),
            Nothing("/data/article"),
        ),
        (
            "NUL in a REST path",
            rest("GET", "/api/v1/authors/omar%00haddad", None, None),
            Refused(StatusCode::NOT_FOUND, "NOT_FOUND"),
        ),
        (
            "NUL in a filter",
            graphql_request(
                None,
                "query($a: String) { articles(filter: { author: $a, tag: $a }) { totalCount } }",
                &json!({ "a": "x\u{0}y" }),
            ),
            Nothing("/data/articles/totalCount"),
        ),
        (
            "10 kB slug",
            graphql_request(
                None,
                "query($s: String) { tag(slug: $s) { id } }",
                &json!({ "s": "a".repeat(10_000) }),
            ),
            Nothing("/data/tag"),
        ),
        (
            "invalid UTF-8 in a path",
            rest("GET", "/api/v1/tags/%FF%FE", None, None),
            Refused(StatusCode::BAD_REQUEST, "BAD_USER_INPUT"),
        ),
        (
            "invalid UTF-8 in a body",
            raw_request(
                "POST",
                "/graphql",
                None,
                Some("application/json"),
                b"{\"query\": \"\xff\xfe\"}".to_vec(),
            ),
            Refused(StatusCode::BAD_REQUEST, "BAD_USER_INPUT"),
        ),
        // Bodies that must not be stored.
        (
            "javascript: image",
            graphql_request(
                Some(&editor),
                create_op,
                &json!({ "i": create("world", json!([{ "image": { "url": "javascript:alert(1)" } }])) }),
            ),
            Refused(StatusCode::OK, "BAD_USER_INPUT"),
        ),
        (
            "data: embed",
            rest(
                "POST",
                "/api/v1/articles",
                Some(&editor),
                Some(create(
                    "world",
                    json!([{ "embed": { "url": "data:text/html,<script>x</script>" } }]),
                )),
            ),
            Refused(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
        ),
        (
            "markup bomb",
            rest(
                "POST",
                "/api/v1/articles",
                Some(&editor),
                Some(create(
                    "world",
                    json!([{ "paragraph": { "html": "<div>".repeat(20_000) } }]),
                )),
            ),
            Refused(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
        ),
        (
            "heading level 9",
            rest(
                "POST",
                "/api/v1/articles",
                Some(&editor),
                Some(create(
                    "world",
                    json!([{ "heading": { "level": 9, "text": "x" } }]),
                )),
            ),
            Refused(StatusCode::UNPROCESSABLE_ENTITY, "BAD_USER_INPUT"),
        ),
        // Transport.
        (
            "malformed JSON",
            raw_request(
                "POST",
                "/graphql",
                None,
                Some("application/json"),
                b"{\"query\":".to_vec(),
            ),
            Refused(StatusCode::BAD_REQUEST, "BAD_USER_INPUT"),
        ),
        (
            "text/plain mutation",
            raw_request(
                "POST",
                "/graphql",
                Some(&editor),
                Some("text/plain"),
                json!({ "query": "mutation { createSection(input: { name: \"X\" }) { path } }" })
                    .to_string()
                    .into_bytes(),
            ),
            Refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, "BAD_USER_INPUT"),
        ),
        (
            "form post",
            raw_request(
                "POST",
                "/api/v1/sections",
                Some(&editor),
                Some("application/x-www-form-urlencoded"),
                b"name=X".to_vec(),
            ),
            Refused(StatusCode::UNSUPPORTED_MEDIA_TYPE, "BAD_USER_INPUT"),
        ),
        (
            "8 MiB GraphQL body",
            raw_request(
                "POST",
                "/graphql",
                None,
                Some("application/json"),
                vec![b' '; 8 << 20],
            ),
            Refused(StatusCode::PAYLOAD_TOO_LARGE, "BAD_USER_INPUT"),
        ),
        (
            "8 MiB REST body",
            raw_request(
                "POST",
                "/api/v1/articles",
                Some(&editor),
                Some("application/json"),
                vec![b' '; 8 << 20],
            ),
            Refused(StatusCode::PAYLOAD_TOO_LARGE, "BAD_USER_INPUT"),
        ),
        (
            "64 KiB of headers",
            rest("GET", "/api/v1/sections", None, None)
                .with_header("x-padding", &"p".repeat(64 << 10)),
            Refused(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "BAD_USER_INPUT",
            ),
        ),
        (
            "mutation over GET",
            rest(
                "GET",
                "/graphql?query=mutation%7BcreateSection(input%3A%7Bname%3A%22X%22%7D)%7Bpath%7D%7D",
                Some(&editor),
                None,
            ),
            Refused(StatusCode::METHOD_NOT_ALLOWED, "BAD_USER_INPUT"),
        ),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let before = app.row_counts(&WRITABLE).await;
    for (what, req, expect) in cases {
        let (status, headers, body) = app.send(req).await;
        assert!(!status.is_server_error(), "{what}: 5xx {body}");
        match expect {
            Refused(want, code) => {
                assert_eq!(status, want, "{what}: {body}");
                let got = if headers
                    .get(header::CONTENT_TYPE)
                    .is_some_and(|c| c == "application/problem+json")
                {
                    body["code"].clone()
                } else {
                    body["errors"][0]["extensions"]["code"].clone()
                };
                assert_eq!(got, code, "{what}: {body}");
            }
            Nothing(pointer) => {
                assert_eq!(status, StatusCode::OK, "{what}: {body}");
                assert!(body.get("errors").is_none(), "{what}: {body}");
                let v = body
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("{what}: the answer has {pointer}: {body}"));
                let empty =
                    v.is_null() || v.as_array().is_some_and(Vec::is_empty) || *v == json!(0);
                assert!(empty, "{what}: nothing is revealed at {pointer}: {body}");
            }
            RequestError(msg) => {
                assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
                let m = body["errors"][0]["message"].as_str().unwrap_or("");
                assert!(m.contains(msg), "{what}: {m:?} should mention {msg:?}");
            }
        }
        assert_eq!(
            app.row_counts(&WRITABLE).await,
            before,
            "{what}: nothing was written"
        );
    }
}
