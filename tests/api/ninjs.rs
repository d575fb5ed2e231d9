//! IPTC ninjs: every article of the demo newsroom and a set of hostile ones, read through
//! GraphQL (`Article.ninjs(version:)`) and REST (`/api/v1/articles/{slug}/ninjs`), is a
//! valid item under the IPTC's own JSON Schemas of ninjs 2.1 and 3.1 (copied into
//! `tests/data/ninjs`, checked offline, formats included); both transports give the same
//! item; the mapping keeps its promises (a `uri` that survives a slug change, `pubstatus`,
//! embargo and rights); and only editors, and partners within their grant, receive items.

use std::path::Path;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::fixtures::{april_article, newsroom, newsroom_with};
use crate::helpers::{TestApp, assert_problem, editor, request, token, writer};

crate::storage_tests!(
    every_demo_article_is_a_valid_ninjs_item_in_both_versions_on_graphql_and_rest,
    hostile_articles_still_make_valid_items_that_keep_the_mapping,
    only_editors_and_partners_receive_ninjs_and_bad_versions_are_refused,
);

/// Validates items against the IPTC schemas of one ninjs version.
pub(crate) struct Schema {
    validator: jsonschema::Validator,
    name: &'static str,
}

impl Schema {
    fn load(file: &'static str) -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/ninjs")
            .join(file);
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("schema file"))
                .expect("schema JSON");
        // `places[].geojson` refers to the GeoJSON schema online; gazette writes no places,
        // so an empty schema stands in for it and nothing is fetched.
        let registry = jsonschema::Registry::new()
            .add("https://geojson.org/schema/GeoJSON.json", json!({}))
            .expect("registry")
            .prepare()
            .expect("registry");
        let validator = jsonschema::options()
            .offline()
            .with_registry(&registry)
            .should_validate_formats(true)
            .build(&schema)
            .expect("the IPTC schema compiles");
        Self {
            validator,
            name: file,
        }
    }

    pub(crate) fn v2() -> Self {
        Self::load("ninjs-schema_2.1.json")
    }

    pub(crate) fn v3() -> Self {
        Self::load("ninjs-schema_3.1.json")
    }

    pub(crate) fn assert_valid(&self, what: &str, item: &Value) {
        let errors: Vec<String> = self
            .validator
            .iter_errors(item)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what} is not valid under {}: {errors:#?}\n{item:#}",
            self.name
        );
    }
}

const PAGE: &str = "query($after: String) { articles(first: 20, after: $after) { pageInfo { hasNextPage endCursor } edges { node { slug v2: ninjs v3: ninjs(version: 3) } } } }";

/// Every article the editor sees, with its items of both versions from GraphQL.
async fn all_items(app: &TestApp) -> Vec<(String, Value, Value)> {
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let data = app.ok_as(&editor(), PAGE, json!({ "after": after })).await;
        for e in data["articles"]["edges"].as_array().expect("edges") {
            let n = &e["node"];
            out.push((
                n["slug"].as_str().expect("slug").to_owned(),
                n["v2"].clone(),
                n["v3"].clone(),
            ));
        }
        if data["articles"]["pageInfo"]["hasNextPage"] != true {
            return out;
        }
        after = data["articles"]["pageInfo"]["endCursor"].clone();
    }
}

async fn rest_item(app: &TestApp, slug: &str, query: &str) -> Value {
    let (status, _, body) = app
        .send(request(
            "GET",
            &format!("/api/v1/articles/{slug}/ninjs{query}"),
            Some(&editor()),
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{slug}{query}: {body}");
    body
}

async fn every_demo_article_is_a_valid_ninjs_item_in_both_versions_on_graphql_and_rest(
    app: &TestApp,
) {
    gazette::commands::load_demo(&app.db).await.expect("demo");
    app.cache.clear();
    let (v2, v3) = (Schema::v2(), Schema::v3());
    let items = all_items(app).await;
    assert!(items.len() >= 40, "the whole demo: {}", items.len());
    let mut validated = 0;
    for (slug, g2, g3) in &items {
        v2.assert_valid(&format!("{slug} (GraphQL, 2.1)"), g2);
        v3.assert_valid(&format!("{slug} (GraphQL, 3.1)"), g3);
        let r2 = rest_item(app, slug, "").await;
        let r3 = rest_item(app, slug, "?version=3").await;
        v2.assert_valid(&format!("{slug} (REST, 2.1)"), &r2);
        v3.assert_valid(&format!("{slug} (REST, 3.1)"), &r3);
        assert_eq!(&r2, g2, "{slug}: one item whatever the transport");
        assert_eq!(&r3, g3, "{slug}: one item whatever the transport");
        assert_eq!(rest_item(app, slug, "?version=2").await, r2, "{slug}");
        validated += 4;
    }
    // What the report counts: documents validated, both schema versions.
    eprintln!(
        "ninjs: {validated} documents of {} demo articles valid under 2.1 and 3.1",
        items.len()
    );
}

/// Articles that push on every field the mapping reads.
fn hostile() -> Vec<Value> {
    let mut everything = april_article(
        "everything-at-once",
        "</script><b>Bold</b> \"quotes\" & ampersands — ünïcödé 🚢 \u{2028}",
        "A <a href=\"https://example.org/?a=1&b=2\">link</a>, <em>emphasis</em>, <code>x < y</code>.",
        "PUBLISHED",
        1,
    );
    everything["dek"] = json!("A dek with <script>alert(1)</script> in it");
    everything["tags"] = json!(["Tag with spaces", "ÉTÉ", "x"]);
    everything["authors"] = json!(["omar-haddad", "lena-berg"]);
    everything["section"] = json!("world/middle-east");
    everything["source"] =
        json!({ "name": "Wire & Co <Ltd>", "url": "https://wire.example/a?b=c&d=e" });
    everything["featuredImage"] = json!({ "url": "https://img.example.org/a.jpg?w=1&h=2", "alt": "Alt \"text\"", "caption": "Caption", "credit": "Photo: Desk" });
    everything["embargoUntil"] = json!("2099-01-01T00:00:00Z");
    everything["rights"] = json!({ "usageTerms": "Online only", "copyrightHolder": "The Example Times", "copyrightNotice": "© 2026", "notForSyndication": true });
    everything["body"] = json!([
        { "heading": { "level": 2, "text": "Heading <i>x</i>" } },
        { "paragraph": { "html": "Para <strong>one</strong><br>two" } },
        { "list": { "ordered": true, "items": ["<b>One:</b> 1", "Two"] } },
        { "quote": { "html": "Quoted", "attribution": "Someone" } },
        { "image": { "url": "https://img.example.org/2.jpg", "alt": "A", "caption": "C", "credit": "D" } },
        { "embed": { "url": "https://www.youtube.com/watch?v=abc" } }
    ]);
    let mut bare = april_article("bare", "Bare", "", "DRAFT", 2);
    bare["body"] = json!([]);
    bare["dek"] = Value::Null;
    let mut unpublished = april_article("withdrawn", "Withdrawn", "Gone.", "UNPUBLISHED", 3);
    unpublished["publishedAt"] = json!("2026-04-03T09:00:00Z");
    let mut no_title = april_article("no-title-author", "Plain", "Text.", "PUBLISHED", 4);
    no_title["authors"] = json!(["lena-berg"]);
    vec![everything, bare, unpublished, no_title]
}

async fn hostile_articles_still_make_valid_items_that_keep_the_mapping(app: &TestApp) {
    app.import(newsroom_with(hostile())).await;
    let (v2, v3) = (Schema::v2(), Schema::v3());
    let items = all_items(app).await;
    assert_eq!(items.len(), 4);
    for (slug, g2, g3) in &items {
        v2.assert_valid(&format!("{slug} (2.1)"), g2);
        v3.assert_valid(&format!("{slug} (3.1)"), g3);
    }
    let (id, v) = app.id_version("everything-at-once").await;
    let item = rest_item(app, "everything-at-once", "").await;
    assert_eq!(item["uri"], format!("urn:gazette:article:{id}"));
    assert_eq!(item["version"], v.to_string());
    assert_eq!(item["pubstatus"], "usable");
    assert_eq!(item["embargoed"], "2099-01-01T00:00:00Z");
    assert_eq!(item["usageterms"], "Online only");
    assert_eq!(item["copyrightholder"], "The Example Times");
    assert_eq!(item["copyrightnotice"], "© 2026");
    assert_eq!(item["language"], "en");
    assert_eq!(item["bodies"][0]["contenttype"], "text/html");
    assert!(
        !item["bodies"][0]["value"]
            .as_str()
            .unwrap_or_default()
            .contains("<script"),
        "{item}"
    );
    assert_eq!(
        item["by"],
        "Omar Haddad, World Editor and Lena Berg, Business Reporter"
    );
    assert_eq!(item["people"][1]["rel"], "author");
    assert_eq!(
        item["infosources"][0]["uri"],
        "https://wire.example/a?b=c&d=e"
    );
    assert_eq!(
        item["associations"][0]["renditions"][0]["href"], "https://img.example.org/a.jpg?w=1&h=2",
        "{item}"
    );
    let subjects: Vec<&str> = item["subjects"]
        .as_array()
        .expect("subjects")
        .iter()
        .filter_map(|s| s["literal"].as_str())
        .collect();
    assert!(
        subjects.contains(&"section:world/middle-east"),
        "{subjects:?}"
    );
    assert!(subjects.contains(&"tag:tag-with-spaces"), "{subjects:?}");

    // 3.1 spells the same item in camelCase.
    let item3 = rest_item(app, "everything-at-once", "?version=3").await;
    assert_eq!(item3["pubStatus"], "usable");
    assert_eq!(item3["embargoedUntil"], "2099-01-01T00:00:00Z");
    assert_eq!(item3["usageTerms"], "Online only");
    assert_eq!(item3["standard"]["version"], "3.1");
    assert!(item3.get("pubstatus").is_none() && item3.get("embargoed").is_none());

    let withdrawn = rest_item(app, "withdrawn", "").await;
    assert_eq!(withdrawn["pubstatus"], "withheld");
    assert_eq!(rest_item(app, "bare", "").await["pubstatus"], "withheld");

    // The uri survives a change of slug.
    app.ok_as(
        &editor(),
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { slug: \"renamed\" }) { slug } }",
        json!({ "id": id, "v": v }),
    )
    .await;
    let renamed = rest_item(app, "renamed", "").await;
    assert_eq!(renamed["uri"], item["uri"]);
    assert_eq!(renamed["version"], (v + 1).to_string());
}

async fn only_editors_and_partners_receive_ninjs_and_bad_versions_are_refused(app: &TestApp) {
    app.import(newsroom()).await;
    let uri = "/api/v1/articles/talks-resume/ninjs";
    let cases: Vec<(&str, Option<String>, StatusCode, &str)> = vec![
        (
            "anonymous",
            None,
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
        ),
        (
            "a writer",
            Some(writer("omar")),
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
        ),
        (
            "a reader",
            Some(token("ana", "reader")),
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
        ),
    ];
    for (who, tok, status, code) in cases {
        for u in [uri, "/api/v1/articles/no-such-story/ninjs"] {
            let (got, headers, body) = app.send(request("GET", u, tok.as_deref(), None)).await;
            assert_problem(&format!("{who}, {u}"), got, &headers, &body, status, code);
        }
        let (_, body) = app
            .graphql_as(
                tok.as_deref(),
                "{ article(slug: \"talks-resume\") { slug ninjs } }",
                json!({}),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "{who}: {body}"
        );
        assert!(body["data"]["article"]["ninjs"].is_null(), "{who}: {body}");
    }
    // A partner receives items of its grant only: outside it, an article is not there.
    let partner = app.partner("acme", &["business"], false).await;
    for u in [uri, "/api/v1/articles/no-such-story/ninjs"] {
        let (got, headers, body) = app.send(request("GET", u, Some(&partner), None)).await;
        assert_problem(
            &format!("a partner, {u}"),
            got,
            &headers,
            &body,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        );
    }
    let (status, _, item) = app
        .send(request(
            "GET",
            "/api/v1/articles/markets-rally/ninjs",
            Some(&partner),
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{item}");
    Schema::v2().assert_valid("a partner's item", &item);
    for (query, what) in [
        ("?version=4", "an unknown version"),
        ("?version=1", "ninjs 1.x"),
        ("?version=abc", "not a number"),
    ] {
        let (status, headers, body) = app
            .send(request(
                "GET",
                &format!("{uri}{query}"),
                Some(&editor()),
                None,
            ))
            .await;
        assert_problem(
            what,
            status,
            &headers,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        );
    }
    let code = app
        .code_as(
            Some(&editor()),
            "{ article(slug: \"talks-resume\") { ninjs(version: 1) } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    let (status, headers, body) = app
        .send(request(
            "GET",
            "/api/v1/articles/no-such-story/ninjs",
            Some(&editor()),
            None,
        ))
        .await;
    assert_problem(
        "a missing story",
        status,
        &headers,
        &body,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
}
