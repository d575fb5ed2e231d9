//! JSON-LD: `jsonLd` on Article (GraphQL) and `json_ld` on a REST article are the same
//! schema.org text, parsed here with serde_json and checked field by field; safe inside a
//! `<script>` element whatever the headline; never shown for what the reader cannot read;
//! null without a public URL; and fresh after a change to what it shows.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::fixtures::{april_article, many_articles, newsroom, newsroom_with};
use crate::helpers::{PUBLIC_URL, TestApp, editor, request, send_to};
use crate::storage_tests;

storage_tests!(
    json_ld_describes_the_article_its_people_and_its_section_path,
    json_ld_is_the_same_text_in_graphql_and_rest,
    json_ld_is_inert_inside_a_script_element,
    json_ld_is_null_without_a_public_url_and_left_out_of_listings,
    json_ld_is_never_shown_for_an_article_the_reader_cannot_read,
    json_ld_shows_a_change_to_an_author_through_the_response_cache,
    json_ld_of_5_or_50_listed_articles_costs_the_same_statements,
);

const READ: &str = "query($s: String) { article(slug: $s) { url wordCount updatedAt publishedAt breadcrumb { name } jsonLd } }";

/// The newsroom, its first story with a source credit and a lead image.
fn credited_newsroom() -> Value {
    let mut f = newsroom();
    f["articles"][0]["source"] =
        json!({ "name": "Gulf Wire", "url": "https://gulfwire.example/story" });
    f["articles"][0]["featuredImage"] = json!({
        "url": "https://img.example.org/lead.jpg", "alt": "Delegates",
        "caption": "Delegates arrive", "credit": "Photo: Desk"
    });
    f
}

/// The JSON-LD text of an answer's field, parsed; panics when it is not a string of JSON.
fn parsed(text: &Value) -> Value {
    let text = text
        .as_str()
        .unwrap_or_else(|| panic!("JSON-LD as a string: {text}"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("JSON-LD parses ({e}): {text}"))
}

/// The graph's node of `@type` `kind`.
fn node<'a>(doc: &'a Value, kind: &str) -> &'a Value {
    doc["@graph"]
        .as_array()
        .unwrap_or_else(|| panic!("a @graph: {doc}"))
        .iter()
        .find(|n| n["@type"] == kind)
        .unwrap_or_else(|| panic!("a {kind} in {doc}"))
}

async fn json_ld_describes_the_article_its_people_and_its_section_path(app: &TestApp) {
    app.import(credited_newsroom()).await;
    let a = app.query(READ, json!({ "s": "talks-resume" })).await["article"].clone();
    let doc = parsed(&a["jsonLd"]);
    let url = format!("{PUBLIC_URL}/world/middle-east/talks-resume");
    assert_eq!(a["url"], url.as_str());
    assert_eq!(doc["@context"], "https://schema.org");
    assert_eq!(doc["@graph"].as_array().map(Vec::len), Some(2), "{doc}");

    let article = node(&doc, "NewsArticle");
    assert_eq!(article["headline"], "Headline of talks-resume");
    assert_eq!(article["description"], "Dek of talks-resume");
    assert_eq!(article["datePublished"], "2026-03-01T09:00:00Z");
    let modified = chrono::DateTime::parse_from_rfc3339(
        article["dateModified"].as_str().expect("dateModified"),
    )
    .expect("an RFC 3339 dateModified");
    let updated = chrono::DateTime::parse_from_rfc3339(a["updatedAt"].as_str().expect("updatedAt"))
        .expect("updatedAt");
    let published = chrono::DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z").expect("date");
    assert_eq!(modified, updated.max(published), "{article}");
    assert_eq!(article["url"], url.as_str());
    assert_eq!(article["mainEntityOfPage"]["@type"], "WebPage");
    assert_eq!(article["mainEntityOfPage"]["@id"], url.as_str());
    assert_eq!(article["inLanguage"], "en");
    assert_eq!(
        article["author"],
        json!([{ "@type": "Person", "name": "Omar Haddad", "jobTitle": "World Editor",
                 "url": format!("{PUBLIC_URL}/authors/omar-haddad") }])
    );
    assert_eq!(
        article["publisher"],
        json!({ "@type": "Organization", "name": "The Example Times", "url": format!("{PUBLIC_URL}/"),
                "logo": { "@type": "ImageObject", "url": format!("{PUBLIC_URL}/logo.png") } })
    );
    assert_eq!(
        article["image"],
        json!({ "@type": "ImageObject", "url": "https://img.example.org/lead.jpg",
                "caption": "Delegates arrive", "creditText": "Photo: Desk" })
    );
    assert_eq!(article["articleSection"], "Middle East");
    assert_eq!(article["keywords"], json!(["ceasefire talks", "diplomacy"]));
    assert!(a["wordCount"].as_i64().is_some_and(|n| n > 0), "{a}");
    assert_eq!(article["wordCount"], a["wordCount"]);
    assert_eq!(
        article["isBasedOn"],
        json!({ "@type": "CreativeWork", "url": "https://gulfwire.example/story",
                "publisher": { "@type": "Organization", "name": "Gulf Wire" } })
    );

    let crumbs = node(&doc, "BreadcrumbList");
    assert_eq!(
        crumbs["itemListElement"],
        json!([
            { "@type": "ListItem", "position": 1, "name": "World", "item": format!("{PUBLIC_URL}/world") },
            { "@type": "ListItem", "position": 2, "name": "Middle East", "item": format!("{PUBLIC_URL}/world/middle-east") }
        ])
    );
    assert_eq!(
        a["breadcrumb"],
        json!([{ "name": "World" }, { "name": "Middle East" }])
    );
    assert_eq!(
        article["mainEntityOfPage"]["breadcrumb"]["@id"],
        crumbs["@id"]
    );

    // Two bylines in order; no credit, no image: no isBasedOn, no image.
    let b = app.query(READ, json!({ "s": "border-reopens" })).await["article"].clone();
    let doc = parsed(&b["jsonLd"]);
    let article = node(&doc, "NewsArticle");
    let names: Vec<&str> = article["author"]
        .as_array()
        .expect("authors")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Omar Haddad", "Lena Berg"]);
    assert_eq!(article["author"][1]["jobTitle"], "Business Reporter");
    assert!(
        article.get("isBasedOn").is_none() && article.get("image").is_none(),
        "{article}"
    );
    // A top-level section: a breadcrumb of one.
    let c = app.query(READ, json!({ "s": "markets-rally" })).await["article"].clone();
    assert_eq!(
        node(&parsed(&c["jsonLd"]), "BreadcrumbList")["itemListElement"],
        json!([{ "@type": "ListItem", "position": 1, "name": "Business", "item": format!("{PUBLIC_URL}/business") }])
    );
}

async fn json_ld_is_the_same_text_in_graphql_and_rest(app: &TestApp) {
    app.import(credited_newsroom()).await;
    let a = app.query(READ, json!({ "s": "talks-resume" })).await["article"].clone();
    let (status, _, rest) = app.get("/api/v1/articles/talks-resume").await;
    assert_eq!(status, StatusCode::OK, "{rest}");
    assert!(rest["json_ld"].is_string(), "{rest}");
    assert_eq!(
        rest["json_ld"], a["jsonLd"],
        "one text, whichever way it is read"
    );
}

async fn json_ld_is_inert_inside_a_script_element(app: &TestApp) {
    // Headlines are plain text: escaped markup is kept as the characters it stands for.
    let mut hostile = april_article(
        "hostile",
        "Why &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; & <!-- matters \u{2028}now",
        "Text.",
        "PUBLISHED",
        1,
    );
    hostile["dek"] = json!("A &lt;b&gt;dek&lt;/b&gt; & more");
    hostile["tags"] = json!(["R&amp;D &lt;lab&gt;"]);
    app.import(newsroom_with(vec![hostile])).await;
    let a = app
        .query(
            "{ article(slug: \"hostile\") { headline dek tags { name } jsonLd } }",
            json!({}),
        )
        .await["article"]
        .clone();
    let headline = a["headline"].as_str().expect("headline");
    assert!(
        headline.contains("</script><script>") && headline.contains('&'),
        "the stored headline is hostile: {headline}"
    );
    assert_eq!(a["tags"][0]["name"], "R&D <lab>");
    let (_, _, rest) = app.get("/api/v1/articles/hostile").await;
    for (way, text) in [("GraphQL", &a["jsonLd"]), ("REST", &rest["json_ld"])] {
        let text = text.as_str().unwrap_or_else(|| panic!("{way}: a string"));
        for bad in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            assert!(!text.contains(bad), "{way}: {bad:?} in {text}");
        }
        assert!(text.contains("\\u003c/script\\u003e"), "{way}: {text}");
        let doc: Value = serde_json::from_str(text).expect("still JSON");
        let article = node(&doc, "NewsArticle");
        assert_eq!(
            article["headline"], headline,
            "{way}: the same headline once parsed"
        );
        assert_eq!(article["description"], a["dek"], "{way}");
        assert_eq!(article["keywords"], json!([a["tags"][0]["name"]]), "{way}");
    }
}

async fn json_ld_is_null_without_a_public_url_and_left_out_of_listings(app: &TestApp) {
    app.import(newsroom()).await;
    let router = app.with_site(|s| s.public_url = None).await;
    let (status, _, body) = send_to(
        &router,
        crate::helpers::graphql_request(None, READ, &json!({ "s": "talks-resume" })),
    )
    .await;
    let a = &crate::helpers::data_of(status, body)["article"];
    assert!(a["jsonLd"].is_null() && a["url"].is_null(), "{a}");
    let (status, _, rest) = send_to(
        &router,
        request("GET", "/api/v1/articles/talks-resume", None, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rest}");
    assert!(rest.get("json_ld").is_some_and(Value::is_null), "{rest}");

    let (_, _, list) = app.get("/api/v1/articles?limit=3").await;
    let items = list["data"].as_array().expect("a listing");
    assert_eq!(items.len(), 3, "{list}");
    assert!(items.iter().all(|a| a.get("json_ld").is_none()), "{list}");
}

async fn json_ld_is_never_shown_for_an_article_the_reader_cannot_read(app: &TestApp) {
    app.import(newsroom()).await;
    let anonymous = app.query(READ, json!({ "s": "secret-draft" })).await;
    assert!(anonymous["article"].is_null(), "{anonymous}");
    let (status, _, body) = app.get("/api/v1/articles/secret-draft").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(!body.to_string().contains("NewsArticle"), "{body}");

    // An editor previews what the page will carry: no publication date yet.
    let data = app
        .ok_as(&editor(), READ, json!({ "s": "secret-draft" }))
        .await;
    let article = node(&parsed(&data["article"]["jsonLd"]), "NewsArticle").clone();
    assert_eq!(article["headline"], "Headline of secret-draft");
    assert!(article.get("datePublished").is_none(), "{article}");
    let (status, _, body) = send_to(
        &app.router,
        request(
            "GET",
            "/api/v1/articles/secret-draft",
            Some(&editor()),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["json_ld"], data["article"]["jsonLd"]);
}

async fn json_ld_shows_a_change_to_an_author_through_the_response_cache(app: &TestApp) {
    app.import(newsroom()).await;
    let query = "{ article(slug: \"talks-resume\") { jsonLd } }";
    let job = |data: &Value| {
        node(&parsed(&data["article"]["jsonLd"]), "NewsArticle")["author"][0]["jobTitle"].clone()
    };
    assert_eq!(job(&app.query(query, json!({})).await), "World Editor");
    let (_, headers, _) = app.get("/api/v1/articles/talks-resume").await;
    let keys = headers["surrogate-key"].to_str().expect("keys").to_owned();
    // The article, its section and the section's parent, its author, its two tags.
    assert_eq!(keys.split(' ').count(), 6, "{keys}");

    let (status, _, body) = send_to(
        &app.router,
        request(
            "PATCH",
            "/api/v1/authors/omar-haddad",
            Some(&editor()),
            Some(json!({ "title": "Chief Correspondent" })),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        job(&app.query(query, json!({})).await),
        "Chief Correspondent"
    );
    let (_, _, rest) = app.get("/api/v1/articles/talks-resume").await;
    assert_eq!(
        node(&parsed(&rest["json_ld"]), "NewsArticle")["author"][0]["jobTitle"],
        "Chief Correspondent"
    );
}

async fn json_ld_of_5_or_50_listed_articles_costs_the_same_statements(app: &TestApp) {
    app.import(many_articles(50)).await;
    // Loads the newsroom directory, which no count below should include.
    app.query("{ sections { name } }", json!({})).await;
    let listing = "query($n: Int) { articles(first: $n) { edges { node { slug jsonLd } } } }";
    let mut seen = Vec::new();
    for n in [5, 50] {
        app.take_statement_count();
        let data = app.query(listing, json!({ "n": n })).await;
        seen.push(app.take_statement_count());
        let edges = data["articles"]["edges"].as_array().expect("edges");
        assert_eq!(edges.len(), n);
        for e in edges {
            let doc = parsed(&e["node"]["jsonLd"]);
            let slug = e["node"]["slug"].as_str().expect("slug");
            assert_eq!(
                node(&doc, "NewsArticle")["url"],
                format!("{PUBLIC_URL}/news/{slug}"),
                "{doc}"
            );
        }
    }
    assert_eq!(
        seen[0], seen[1],
        "statements for 5 and 50 articles: {seen:?}"
    );
}
