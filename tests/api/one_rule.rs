//! Each rule of the newsroom has one home, so every way in gives the same answer for the same
//! input: GraphQL and REST for reading one article with a preview token, GraphQL, REST and the
//! import for what a valid article is, and every reader for a row whose stored status this
//! gazette does not know.

use axum::http::{HeaderMap, StatusCode};
use sea_orm::ConnectionTrait as _;
use serde_json::{Value, json};

use crate::fixtures::{newsroom, newsroom_with};
use crate::helpers::{TestApp, assert_problem, editor, request, slugs};

crate::storage_tests!(
    a_bad_expired_or_foreign_preview_token_is_a_bad_credential_on_graphql_and_rest,
    an_article_the_api_refuses_is_refused_by_the_import_too,
    the_api_and_the_import_clean_an_article_the_same_way,
    an_article_whose_stored_status_is_unknown_is_skipped_not_fatal,
);

const PREVIEW: &str =
    "query($s: String, $p: String) { article(slug: $s, previewToken: $p) { slug } }";

/// What GraphQL and REST answer for the draft `slug` read anonymously with `token`.
async fn both_answers(
    app: &TestApp,
    slug: &str,
    token: &str,
) -> (Value, (StatusCode, HeaderMap, Value)) {
    let (_, gql) = app.graphql(PREVIEW, json!({ "s": slug, "p": token })).await;
    let uri = format!(
        "/api/v1/articles/{slug}?preview_token={}",
        crate::helpers::urlencode(token)
    );
    (gql, app.get(&uri).await)
}

async fn a_bad_expired_or_foreign_preview_token_is_a_bad_credential_on_graphql_and_rest(
    app: &TestApp,
) {
    app.import(newsroom()).await;
    let mint = |ttl: i64| async move {
        let (id, _) = app.id_version("secret-draft").await;
        let data = app
            .ok_as(
                &editor(),
                "mutation($id: ID!, $t: Int!) { previewToken(articleId: $id, ttlSeconds: $t) }",
                json!({ "id": id, "t": ttl }),
            )
            .await;
        data["previewToken"].as_str().expect("a token").to_owned()
    };
    let live = mint(600).await;
    let short = mint(1).await;

    // A live token for the draft reads it on both.
    let (gql, (status, _, body)) = both_answers(app, "secret-draft", &live).await;
    assert_eq!(gql["data"]["article"]["slug"], "secret-draft", "{gql}");
    assert_eq!(
        (status, &body["slug"]),
        (StatusCode::OK, &json!("secret-draft")),
        "{body}"
    );

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let cases = [
        (
            "a token that is not one",
            "not-a-token".to_owned(),
            "secret-draft",
        ),
        (
            "a forged token",
            "eyJhbGciOiJIUzI1NiJ9.e30.x".to_owned(),
            "secret-draft",
        ),
        ("an expired token", short, "secret-draft"),
        ("another article's token", live, "under-review"),
    ];
    for (case, token, slug) in cases {
        let (gql, (status, headers, body)) = both_answers(app, slug, &token).await;
        assert_eq!(
            gql["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "GraphQL, {case}: {gql}"
        );
        assert!(gql["data"]["article"].is_null(), "GraphQL, {case}: {gql}");
        assert_problem(
            case,
            status,
            &headers,
            &body,
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
        );
        assert_eq!(headers["www-authenticate"], "Bearer", "{case}");
    }

    // Without a token the draft is simply not there, on both.
    let (_, gql) = app
        .graphql(PREVIEW, json!({ "s": "secret-draft", "p": null }))
        .await;
    assert!(gql["errors"].is_null(), "{gql}");
    assert!(gql["data"]["article"].is_null(), "{gql}");
    let (status, headers, body) = app.get("/api/v1/articles/secret-draft").await;
    assert_problem(
        "no token",
        status,
        &headers,
        &body,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
}

/// An article as the import format and the API's input both take it.
fn story(slug: &str, authors: Vec<String>, tags: Vec<String>) -> Value {
    json!({
        "slug": slug,
        "headline": "Ferry timetable returns to normal",
        "section": "world",
        "authors": authors,
        "tags": tags,
        "status": "DRAFT",
        "body": [{ "paragraph": { "html": "Crossings resume." } }]
    })
}

/// `n` author records and their slugs.
fn authors(n: usize) -> (Vec<Value>, Vec<String>) {
    let slugs: Vec<String> = (0..n).map(|i| format!("writer-{i}")).collect();
    let records = slugs
        .iter()
        .map(|s| json!({ "slug": s, "name": format!("Writer {s}") }))
        .collect();
    (records, slugs)
}

async fn an_article_the_api_refuses_is_refused_by_the_import_too(app: &TestApp) {
    let mut file = newsroom_with(vec![]);
    let (records, fifty_one) = authors(51);
    file["authors"] = json!(records);
    app.import(file.clone()).await;
    let tags51: Vec<String> = (0..51).map(|i| format!("tag {i}")).collect();
    let one = vec!["writer-0".to_owned()];
    let cases = [
        (
            "51 authors",
            fifty_one.clone(),
            vec![],
            "authors: an article needs 1 to 50 authors, not 51",
        ),
        (
            "no authors",
            vec![],
            vec![],
            "authors: an article needs 1 to 50 authors, not 0",
        ),
        (
            "51 tags",
            one.clone(),
            tags51,
            "tags: at most 50 tags, not 51",
        ),
        (
            "an author that does not exist",
            vec!["nobody".to_owned()],
            vec![],
            "authors: \"nobody\" is not an author",
        ),
    ];
    let tables = [
        "articles",
        "article_authors",
        "article_tags",
        "tags",
        "article_revisions",
    ];
    let before = app.row_counts(&tables).await;
    for (case, by, tags, message) in cases {
        let input = story("refused", by, tags);

        // GraphQL.
        let mut gql_input = input.clone();
        for k in ["slug", "status"] {
            gql_input.as_object_mut().expect("object").remove(k);
        }
        let (_, body) = app
            .graphql_as(
                Some(&editor()),
                "mutation($i: ArticleInput!) { createArticle(input: $i) { id } }",
                json!({ "i": gql_input }),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "GraphQL, {case}: {body}"
        );
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains(message)),
            "GraphQL, {case}: {body}"
        );

        // REST.
        let (status, headers, body) = app
            .send(request(
                "POST",
                "/api/v1/articles",
                Some(&editor()),
                Some(gql_input),
            ))
            .await;
        assert_problem(
            case,
            status,
            &headers,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        );
        assert!(
            body["detail"].as_str().is_some_and(|m| m.contains(message)),
            "REST, {case}: {body}"
        );

        // The import: the same refusal, reported against the record, and nothing of it stored.
        let mut f = file.clone();
        f["articles"] = json!([input]);
        let report = app.try_import(f).await.expect(case);
        assert_eq!(report.articles.skipped, 1, "import, {case}");
        let issue = &report.issues[0];
        assert_eq!(
            (issue.kind, issue.index, issue.id.as_str()),
            ("articles", Some(0), "refused"),
            "import, {case}"
        );
        assert!(issue.reason.contains(message), "import, {case}: {issue:?}");
        assert_eq!(
            app.row_counts(&tables).await,
            before,
            "{case}: nothing was written"
        );
    }
    let (status, _, _) = app.get("/api/v1/articles/refused").await;
    assert_eq!(status.as_u16(), 404);
}

async fn the_api_and_the_import_clean_an_article_the_same_way(app: &TestApp) {
    let messy = json!({
        "headline": "  Port <b>reopens</b> &amp;\u{0} ferries   run ",
        "dek": "  A <i>short</i> dek  ",
        "section": "world",
        "authors": ["omar-haddad", "omar-haddad"],
        "tags": ["Ferry Strike", "ferry strike"],
        "source": { "name": " The <b>Wire</b> ", "url": " https://wire.example/x " },
        "body": [{ "paragraph": { "html": "Crossings <script>x()</script>resume." } }]
    });
    let mut imported = messy.clone();
    imported["slug"] = json!("imported");
    imported["status"] = json!("DRAFT");
    app.import(newsroom_with(vec![imported])).await;
    let mut created = messy;
    created["slug"] = json!("created");
    app.ok_as(
        &editor(),
        "mutation($i: ArticleInput!) { createArticle(input: $i) { id } }",
        json!({ "i": created }),
    )
    .await;
    let read = "query($s: String) { article(slug: $s) { headline dek authors { slug } tags { slug name } source { name url } bodyHtml } }";
    let a = app.ok_as(&editor(), read, json!({ "s": "imported" })).await;
    let b = app.ok_as(&editor(), read, json!({ "s": "created" })).await;
    assert_eq!(
        a["article"]["headline"], "Port reopens & ferries run",
        "{a}"
    );
    assert_eq!(a["article"]["dek"], "A short dek", "{a}");
    assert_eq!(
        a["article"]["authors"],
        json!([{ "slug": "omar-haddad" }]),
        "{a}"
    );
    assert_eq!(
        a["article"]["source"],
        json!({ "name": "The Wire", "url": "https://wire.example/x" })
    );
    assert!(
        !a["article"]["bodyHtml"]
            .as_str()
            .expect("html")
            .contains("script"),
        "{a}"
    );
    assert_eq!(a, b, "the import and the API store the same article");
}

/// Stores `status` on the article `slug` behind the database's CHECK constraint, as a newer
/// gazette (or a hand edit) might.
async fn force_status(app: &TestApp, slug: &str, status: &str) {
    match app.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            app.exec(
                "DO $$ DECLARE c text; BEGIN
                   SELECT conname INTO c FROM pg_constraint
                    WHERE conrelid = 'articles'::regclass AND contype = 'c'
                      AND pg_get_constraintdef(oid) LIKE '%status%';
                   IF c IS NOT NULL THEN
                     EXECUTE format('ALTER TABLE articles DROP CONSTRAINT %I', c);
                   END IF;
                 END $$",
            )
            .await;
            app.exec(&format!(
                "UPDATE articles SET status = '{status}' WHERE slug = '{slug}'"
            ))
            .await;
        }
        _ => {
            // One connection for the pragma and the update (the pragma is per connection).
            use sea_orm::TransactionTrait as _;
            let txn = app.db.begin().await.expect("begin");
            for sql in [
                "PRAGMA ignore_check_constraints = ON".to_owned(),
                format!("UPDATE articles SET status = '{status}' WHERE slug = '{slug}'"),
                "PRAGMA ignore_check_constraints = OFF".to_owned(),
            ] {
                txn.execute_unprepared(&sql).await.expect("sql");
            }
            txn.commit().await.expect("commit");
            app.exec("SELECT 1").await;
        }
    }
    assert_eq!(
        app.count_rows(&format!(
            "articles WHERE slug = '{slug}' AND status = '{status}'"
        ))
        .await,
        1,
        "the unknown status is stored"
    );
}

async fn an_article_whose_stored_status_is_unknown_is_skipped_not_fatal(app: &TestApp) {
    app.import(newsroom()).await;
    force_status(app, "summit-ends", "LEGAL_HOLD").await;
    force_status(app, "secret-draft", "LEGAL_HOLD").await;
    let listing = "{ articles(first: 50) { totalCount edges { node { slug status } } } }";

    // An editor's listing (every status) skips it and answers the rest.
    let (status, body) = app.graphql_as(Some(&editor()), listing, json!({})).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    let seen = slugs(&body["data"]["articles"]);
    assert!(seen.contains(&"talks-resume".to_owned()), "{seen:?}");
    assert!(seen.contains(&"under-review".to_owned()), "{seen:?}");
    assert!(!seen.contains(&"summit-ends".to_owned()), "{seen:?}");
    assert!(!seen.contains(&"secret-draft".to_owned()), "{seen:?}");

    // Anonymous readers: the public listing is whole without it.
    let public = app.query(listing, json!({})).await;
    let seen = slugs(&public["articles"]);
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert!(!seen.contains(&"summit-ends".to_owned()), "{seen:?}");

    // A lookup finds nothing, for editors and readers, on GraphQL and REST.
    let one = "{ article(slug: \"summit-ends\") { slug } }";
    let data = app.ok_as(&editor(), one, json!({})).await;
    assert!(data["article"].is_null(), "{data}");
    assert!(app.query(one, json!({})).await["article"].is_null());
    for token in [None, Some(editor())] {
        let (status, headers, body) = app
            .send(request(
                "GET",
                "/api/v1/articles/summit-ends",
                token.as_deref(),
                None,
            ))
            .await;
        assert_problem(
            "lookup",
            status,
            &headers,
            &body,
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        );
    }
    let (status, _, body) = app
        .send(request(
            "GET",
            "/api/v1/articles?limit=50",
            Some(&editor()),
            None,
        ))
        .await;
    assert_eq!(status.as_u16(), 200, "{body}");
    let seen = crate::helpers::rest_slugs(&body);
    assert!(
        seen.contains(&"talks-resume".to_owned()) && !seen.contains(&"summit-ends".to_owned()),
        "{seen:?}"
    );
}
