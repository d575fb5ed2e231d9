//! The newsroom directory (sections, authors and tags in memory) is never stale: with the
//! response cache off, so that every read executes, an edit shows on the next read, and a
//! write in another process on the same PostgreSQL shows within a second.

use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::fixtures::newsroom;
use crate::helpers::{TestApp, editor, graphql_request, request, send_to};
use crate::storage_tests;

storage_tests!(
    with_the_cache_off_edits_to_authors_and_sections_show_on_the_next_read,
    with_the_cache_off_new_sections_authors_and_tags_are_found_at_once,
);

const PAGE: &str = "query($s: String!) { article(slug: $s) {
    section { name } breadcrumb { name } authors { name bio } tags { slug name } } }";

/// A GraphQL POST to `router`, with a token or anonymous; returns the whole answer, which
/// must be a JSON object with status 200.
async fn gql(router: &Router, bearer: Option<&str>, query: &str, variables: Value) -> Value {
    let (status, _, answer) = send_to(router, graphql_request(bearer, query, &variables)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer.is_object(), "a GraphQL answer: {answer}");
    answer
}

/// Runs a mutation as an editor on `router`; returns its `data`.
async fn edit(router: &Router, query: &str, variables: Value) -> Value {
    let answer = gql(router, Some(&editor()), query, variables).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"].clone()
}

async fn page(router: &Router, slug: &str) -> Value {
    let answer = gql(router, None, PAGE, json!({ "s": slug })).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    answer["data"]["article"].clone()
}

async fn id_of(router: &Router, query: &str, field: &str) -> Value {
    gql(router, None, query, json!({})).await["data"][field]["id"].clone()
}

async fn with_the_cache_off_edits_to_authors_and_sections_show_on_the_next_read(app: &TestApp) {
    app.import(newsroom()).await;
    let router = app.uncached().await;
    let before = page(&router, "border-reopens").await;
    assert_eq!(before["authors"][0]["bio"], "Covers the region.");
    assert_eq!(before["breadcrumb"][0]["name"], "World");

    let omar = id_of(
        &router,
        "{ author(slug: \"omar-haddad\") { id } }",
        "author",
    )
    .await;
    edit(
        &router,
        "mutation($id: ID!) { updateAuthor(id: $id, input: { bio: \"Now in Beirut.\" }) { bio } }",
        json!({ "id": omar }),
    )
    .await;
    let world = id_of(&router, "{ section(path: \"world\") { id } }", "section").await;
    edit(
        &router,
        "mutation($id: ID!) { updateSection(id: $id, input: { name: \"International\" }) { name } }",
        json!({ "id": world }),
    )
    .await;

    let after = page(&router, "border-reopens").await;
    assert_eq!(after["authors"][0]["name"], "Omar Haddad");
    assert_eq!(after["authors"][0]["bio"], "Now in Beirut.");
    assert_eq!(after["breadcrumb"][0]["name"], "International");
    assert_eq!(after["section"]["name"], "Middle East");
    // The REST view reads the same directory.
    let (status, _, rest) = send_to(
        &router,
        request("GET", "/api/v1/articles/border-reopens", None, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rest}");
    assert_eq!(rest["authors"][0]["bio"], "Now in Beirut.", "{rest}");
    assert_eq!(rest["breadcrumb"][0]["name"], "International", "{rest}");
}

async fn with_the_cache_off_new_sections_authors_and_tags_are_found_at_once(app: &TestApp) {
    app.import(newsroom()).await;
    let router = app.uncached().await;
    // Load the directory, then create what it does not hold yet.
    let tops = gql(&router, None, "{ sections { path } }", json!({})).await;
    let paths: Vec<&str> = tops["data"]["sections"]
        .as_array()
        .unwrap_or_else(|| panic!("sections: {tops}"))
        .iter()
        .map(|s| s["path"].as_str().expect("path"))
        .collect();
    assert!(
        paths.contains(&"world") && !paths.contains(&"weather"),
        "{tops}"
    );
    edit(
        &router,
        "mutation { createSection(input: { name: \"Weather\" }) { path } }",
        json!({}),
    )
    .await;
    edit(
        &router,
        "mutation { createSection(input: { name: \"Storms\", parent: \"weather\" }) { path } }",
        json!({}),
    )
    .await;
    edit(
        &router,
        "mutation { createAuthor(input: { name: \"Ada Nwosu\" }) { slug } }",
        json!({}),
    )
    .await;

    let tops = gql(
        &router,
        None,
        "{ sections { path children { path } } }",
        json!({}),
    )
    .await;
    let weather = tops["data"]["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .find(|s| s["path"] == "weather")
        .cloned()
        .unwrap_or_else(|| panic!("no weather section: {tops}"));
    assert_eq!(weather["children"][0]["path"], "weather/storms");
    let found = gql(
        &router,
        None,
        "{ section(path: \"weather/storms\") { name breadcrumb { name } } author(slug: \"ada-nwosu\") { name } }",
        json!({}),
    )
    .await;
    assert_eq!(
        found["data"]["section"]["breadcrumb"][0]["name"], "Weather",
        "{found}"
    );
    assert_eq!(found["data"]["author"]["name"], "Ada Nwosu", "{found}");

    // A story in the new section, by the new author, with a tag nobody used before.
    let created = edit(
        &router,
        "mutation { createArticle(input: { headline: \"Gale warning\", section: \"weather/storms\",
            authors: [\"ada-nwosu\"], tags: [\"North Sea gales\"], body: [] }) { slug } }",
        json!({}),
    )
    .await;
    let slug = created["createArticle"]["slug"]
        .as_str()
        .expect("slug")
        .to_owned();
    let draft = gql(&router, Some(&editor()), PAGE, json!({ "s": slug })).await;
    let a = &draft["data"]["article"];
    assert_eq!(a["authors"][0]["name"], "Ada Nwosu", "{draft}");
    assert_eq!(a["tags"][0]["slug"], "north-sea-gales", "{draft}");
    assert_eq!(a["breadcrumb"][1]["name"], "Storms", "{draft}");
    let tag = gql(
        &router,
        None,
        "{ tag(slug: \"north-sea-gales\") { name } }",
        json!({}),
    )
    .await;
    assert_eq!(tag["data"]["tag"]["name"], "North Sea gales", "{tag}");
}

/// Two gazette processes on one PostgreSQL, both with the response cache off: an edit in
/// one shows in the other's reads within a second, though the other holds the old rows in
/// its directory. (Its name says `postgres`, so that `cargo test postgres` finds it.)
#[tokio::test]
#[ignore = "needs GAZETTE_TEST_POSTGRES_URL (PostgreSQL); CI runs these with --include-ignored"]
async fn an_edit_in_another_process_on_one_postgres_shows_here_within_a_second() {
    let app = TestApp::postgres().await;
    app.import(newsroom()).await;
    let here = app.uncached().await;
    let there = app.uncached_second_process().await;
    assert_eq!(
        page(&here, "summit-ends").await["authors"][0]["bio"],
        "Covers the region."
    );
    let omar = id_of(&there, "{ author(slug: \"omar-haddad\") { id } }", "author").await;
    edit(
        &there,
        "mutation($id: ID!) { updateAuthor(id: $id, input: { bio: \"Heard next door.\" }) { bio } }",
        json!({ "id": omar }),
    )
    .await;
    let started = Instant::now();
    loop {
        let bio = page(&here, "summit-ends").await["authors"][0]["bio"].clone();
        if bio == "Heard next door." {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "still {bio} after 2 s"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    app.cleanup().await;
}
