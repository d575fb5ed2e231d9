//! Syndication partners: admins manage partners and their keys (GraphQL and REST); a partner
//! token is checked against the partner's and the key's records on every request, so a
//! revocation refuses the very next one; a partner reads the published articles of its
//! section subtrees (and, when allowed, those under embargo, marked with the time), never
//! one marked "not for syndication", through every route (GraphQL, REST, ninjs), with
//! anything else a 404; partners write nothing.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::fixtures::newsroom;
use crate::helpers::{TestApp, assert_problem, editor, request, rest_slugs, sign, slugs, token};

crate::storage_tests!(
    admins_manage_partners_and_keys_on_graphql_and_rest,
    a_partner_receives_its_grant_only_through_every_route,
    revoked_unknown_or_keyless_partner_tokens_are_refused_and_partners_write_nothing,
    a_partner_with_a_rate_limit_of_its_own_is_held_to_it,
);

fn admin() -> String {
    token("root", "admin")
}

/// A token of `partner`'s key `key`, as `gazette token --role partner` mints it.
fn partner_token(partner: &str, key: &str) -> String {
    sign(
        json!({ "sub": partner, "role": "partner", "key": key, "exp": crate::helpers::now() + 600 }),
    )
}

const CREATE: &str = "mutation($input: PartnerInput!) { createPartner(input: $input) { slug name sections embargoed rateLimitPerMinute revokedAt keys { id } } }";
const KEY: &str = "mutation($p: String!, $n: String) { createPartnerKey(partner: $p, name: $n) { id name revokedAt } }";

/// Creates a partner and one key through GraphQL; returns the key id.
async fn partner_with_key(app: &TestApp, slug: &str, sections: &[&str], embargoed: bool) -> String {
    app.ok_as(
        &admin(),
        CREATE,
        json!({ "input": { "name": format!("Partner {slug}"), "slug": slug, "sections": sections, "embargoed": embargoed } }),
    )
    .await;
    let data = app
        .ok_as(&admin(), KEY, json!({ "p": slug, "n": "cms" }))
        .await;
    data["createPartnerKey"]["id"]
        .as_str()
        .expect("key id")
        .to_owned()
}

async fn admins_manage_partners_and_keys_on_graphql_and_rest(app: &TestApp) {
    app.import(newsroom()).await;
    let data = app
        .ok_as(
            &admin(),
            CREATE,
            json!({ "input": { "name": "Acme Wire", "sections": ["world", "world"] } }),
        )
        .await;
    assert_eq!(
        data["createPartner"],
        json!({ "slug": "acme-wire", "name": "Acme Wire", "sections": ["world"], "embargoed": false, "rateLimitPerMinute": null, "revokedAt": null, "keys": [] })
    );
    let key = app
        .ok_as(&admin(), KEY, json!({ "p": "acme-wire", "n": "CMS" }))
        .await;
    let id = key["createPartnerKey"]["id"].as_str().expect("id");
    assert!(id.starts_with("pk_") && id.len() > 10, "{key}");

    // REST mirrors it.
    let body = json!({ "name": "Beta News", "sections": ["business"], "embargoed": true, "rate_limit_per_minute": 60 });
    let (status, _, created) = app
        .send(request(
            "POST",
            "/api/v1/partners",
            Some(&admin()),
            Some(body),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["slug"], "beta-news");
    assert_eq!(created["rate_limit_per_minute"], 60);
    let (status, _, k) = app
        .send(request(
            "POST",
            "/api/v1/partners/beta-news/keys",
            Some(&admin()),
            Some(json!({ "name": "app" })),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{k}");
    let (status, _, patched) = app
        .send(request(
            "PATCH",
            "/api/v1/partners/beta-news",
            Some(&admin()),
            Some(json!({ "rate_limit_per_minute": null, "sections": ["business", "world/middle-east"] })),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert!(patched["rate_limit_per_minute"].is_null(), "{patched}");
    assert_eq!(patched["keys"][0]["id"], k["id"]);
    let (_, _, list) = app
        .send(request("GET", "/api/v1/partners", Some(&admin()), None))
        .await;
    let listed: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["slug"].as_str())
        .collect();
    assert_eq!(listed, ["acme-wire", "beta-news"]);
    let data = app
        .ok_as(&admin(), "{ partners { slug keys { name } } }", json!({}))
        .await;
    assert_eq!(data["partners"][0]["keys"][0]["name"], "CMS");

    // Refusals: who, and what is not valid. Nothing is written by any of them.
    let before = app.row_counts(&["partners", "partner_keys"]).await;
    let gql_cases = [
        (
            "an editor",
            editor(),
            json!({ "name": "X", "sections": [] }),
            "FORBIDDEN",
        ),
        (
            "an unknown section",
            admin(),
            json!({ "name": "X", "sections": ["nowhere"] }),
            "BAD_USER_INPUT",
        ),
        (
            "a taken slug",
            admin(),
            json!({ "name": "Acme Wire", "sections": [] }),
            "CONFLICT",
        ),
        (
            "a rate limit of 0",
            admin(),
            json!({ "name": "Y", "sections": [], "rateLimitPerMinute": 0 }),
            "BAD_USER_INPUT",
        ),
        (
            "a bad slug",
            admin(),
            json!({ "name": "Z", "slug": "Not A Slug", "sections": [] }),
            "BAD_USER_INPUT",
        ),
        (
            "an empty name",
            admin(),
            json!({ "name": " ", "sections": [] }),
            "BAD_USER_INPUT",
        ),
    ];
    for (case, tok, input, code) in gql_cases {
        let got = app
            .code_as(Some(&tok), CREATE, json!({ "input": input }))
            .await;
        assert_eq!(got, code, "GraphQL, {case}");
    }
    assert_eq!(
        app.code_as(Some(&editor()), KEY, json!({ "p": "acme-wire" }))
            .await,
        "FORBIDDEN"
    );
    assert_eq!(
        app.code_as(Some(&admin()), KEY, json!({ "p": "nobody" }))
            .await,
        "NOT_FOUND"
    );
    let rest_cases = [
        (
            "an editor",
            editor(),
            json!({ "name": "X", "sections": [] }),
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
        ),
        (
            "an unknown field",
            admin(),
            json!({ "name": "X", "sections": [], "grants": [] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_USER_INPUT",
        ),
        (
            "a taken slug",
            admin(),
            json!({ "name": "Beta News", "sections": [] }),
            StatusCode::CONFLICT,
            "CONFLICT",
        ),
    ];
    for (case, tok, body, status, code) in rest_cases {
        let (got, headers, body) = app
            .send(request("POST", "/api/v1/partners", Some(&tok), Some(body)))
            .await;
        assert_problem(&format!("REST, {case}"), got, &headers, &body, status, code);
    }
    let (got, headers, body) = app
        .send(request("GET", "/api/v1/partners", Some(&editor()), None))
        .await;
    assert_problem(
        "an editor lists",
        got,
        &headers,
        &body,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    let (got, headers, body) = app.get("/api/v1/partners").await;
    assert_problem(
        "anonymous lists",
        got,
        &headers,
        &body,
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
    );
    assert_eq!(
        app.row_counts(&["partners", "partner_keys"]).await,
        before,
        "nothing was written"
    );
}

/// The newsroom, plus a story under embargo and one not for syndication, both in
/// `world/middle-east`.
fn newsroom_for_partners() -> Value {
    let mut file = newsroom();
    let story = |slug: &str| {
        json!({
            "slug": slug, "headline": format!("Headline of {slug}"), "section": "world/middle-east",
            "authors": ["omar-haddad"], "tags": ["diplomacy"], "status": "PUBLISHED",
            "publishedAt": "2026-03-09T09:00:00Z", "body": [{ "paragraph": { "html": "Text." } }]
        })
    };
    let mut embargoed = story("embargoed-story");
    embargoed["embargoUntil"] = json!("2099-01-01T00:00:00Z");
    let mut kept = story("home-only");
    kept["rights"] = json!({ "notForSyndication": true });
    let articles = file["articles"].as_array_mut().expect("articles");
    articles.push(embargoed);
    articles.push(kept);
    file
}

async fn listing(app: &TestApp, tok: &str) -> (Vec<String>, Vec<String>) {
    let data = app
        .ok_as(
            tok,
            "{ articles(first: 50) { edges { node { slug } } } }",
            json!({}),
        )
        .await;
    let mut gql = slugs(&data["articles"]);
    gql.sort();
    let (status, _, body) = app
        .send(request("GET", "/api/v1/articles?limit=50", Some(tok), None))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut rest = rest_slugs(&body);
    rest.sort();
    (gql, rest)
}

async fn status_of(app: &TestApp, tok: &str, uri: &str) -> StatusCode {
    app.send(request("GET", uri, Some(tok), None)).await.0
}

async fn a_partner_receives_its_grant_only_through_every_route(app: &TestApp) {
    app.import(newsroom_for_partners()).await;
    let acme = partner_token(
        "acme",
        &partner_with_key(app, "acme", &["world"], false).await,
    );
    let beta = partner_token(
        "beta",
        &partner_with_key(app, "beta", &["world/middle-east"], true).await,
    );

    // acme: the world subtree, published, not embargoed, not kept home.
    let world = [
        "aid-arrives",
        "border-reopens",
        "summit-ends",
        "talks-resume",
    ];
    let (gql, rest) = listing(app, &acme).await;
    assert_eq!(gql, world, "GraphQL listing");
    assert_eq!(rest, world, "REST listing");
    for (slug, want) in [
        ("talks-resume", StatusCode::OK),
        ("summit-ends", StatusCode::OK),
        ("markets-rally", StatusCode::NOT_FOUND),
        ("secret-draft", StatusCode::NOT_FOUND),
        ("embargoed-story", StatusCode::NOT_FOUND),
        ("home-only", StatusCode::NOT_FOUND),
    ] {
        for uri in [
            format!("/api/v1/articles/{slug}"),
            format!("/api/v1/articles/{slug}/ninjs"),
            format!("/api/v1/articles/{slug}/ninjs?version=3"),
        ] {
            assert_eq!(status_of(app, &acme, &uri).await, want, "acme, {uri}");
        }
        let data = app
            .ok_as(
                &acme,
                "query($s: String) { article(slug: $s) { slug ninjs } }",
                json!({ "s": slug }),
            )
            .await;
        assert_eq!(
            data["article"].is_null(),
            want == StatusCode::NOT_FOUND,
            "acme, GraphQL {slug}: {data}"
        );
    }
    // Kept home from partners, still public.
    assert_eq!(
        app.get("/api/v1/articles/home-only").await.0,
        StatusCode::OK
    );

    // beta: the middle-east subtree, embargoed stories included and marked.
    let (gql, _) = listing(app, &beta).await;
    assert_eq!(
        gql,
        [
            "aid-arrives",
            "border-reopens",
            "embargoed-story",
            "talks-resume"
        ]
    );
    let (status, _, item) = app
        .send(request(
            "GET",
            "/api/v1/articles/embargoed-story/ninjs",
            Some(&beta),
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{item}");
    assert_eq!(item["embargoed"], "2099-01-01T00:00:00Z");
    assert_eq!(item["pubstatus"], "usable");
    assert_eq!(
        status_of(app, &beta, "/api/v1/articles/summit-ends/ninjs").await,
        StatusCode::NOT_FOUND
    );
    // A section outside the grant, asked for by name, is empty (not refused: no hint).
    let (_, _, body) = app
        .send(request(
            "GET",
            "/api/v1/articles?section=business",
            Some(&beta),
            None,
        ))
        .await;
    assert!(rest_slugs(&body).is_empty(), "{body}");

    // A change to the grant applies to the next request.
    app.ok_as(
        &admin(),
        "mutation { updatePartner(slug: \"acme\", input: { sections: [\"business\"] }) { slug } }",
        json!({}),
    )
    .await;
    let (gql, _) = listing(app, &acme).await;
    assert_eq!(gql, ["markets-rally", "port-profits"]);

    // Per-partner metrics.
    let (_, _, text) =
        crate::helpers::send_raw(&app.router, request("GET", "/metrics", None, None)).await;
    let text = String::from_utf8_lossy(&text);
    for metric in [
        "gazette_partner_requests_total{partner=\"acme\"}",
        "gazette_partner_articles_delivered_total{partner=\"acme\"}",
        "gazette_partner_articles_delivered_total{partner=\"beta\"}",
    ] {
        assert!(text.contains(metric), "{metric}: {text}");
    }
}

async fn revoked_unknown_or_keyless_partner_tokens_are_refused_and_partners_write_nothing(
    app: &TestApp,
) {
    app.import(newsroom()).await;
    let acme_key = partner_with_key(app, "acme", &["world"], false).await;
    let beta_key = partner_with_key(app, "beta", &["world"], false).await;
    let acme = partner_token("acme", &acme_key);
    assert_eq!(
        status_of(app, &acme, "/api/v1/articles").await,
        StatusCode::OK
    );

    // Partners write nothing, whatever they try.
    let tables = [
        "articles",
        "article_revisions",
        "partners",
        "partner_keys",
        "sections",
    ];
    let before = app.row_counts(&tables).await;
    let (id, v) = app.id_version("talks-resume").await;
    for m in [
        "mutation { createSection(input: { name: \"Sport\" }) { path } }",
        "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { headline: \"Ours\" }) { slug } }",
        "mutation($id: ID!, $v: Int!) { unpublishArticle(id: $id, expectedVersion: $v) { slug } }",
        "mutation { createPartner(input: { name: \"Mine\", sections: [] }) { slug } }",
        "mutation { createPartnerKey(partner: \"acme\") { id } }",
        "mutation { updatePartner(slug: \"acme\", input: { embargoed: true }) { slug } }",
    ] {
        let code = app
            .code_as(Some(&acme), m, json!({ "id": id, "v": v }))
            .await;
        assert_eq!(code, "FORBIDDEN", "{m}");
    }
    let (status, _, body) = app
        .send(request(
            "POST",
            "/api/v1/partners/acme/keys",
            Some(&acme),
            Some(json!({})),
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(app.row_counts(&tables).await, before, "nothing was written");

    let refused = |what: &'static str, tok: String| async move {
        let (status, headers, body) = app
            .send(request("GET", "/api/v1/articles", Some(&tok), None))
            .await;
        assert_problem(
            what,
            status,
            &headers,
            &body,
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
        );
        let (_, body) = app
            .graphql_as(Some(&tok), "{ sections { path } }", json!({}))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{what}: {body}"
        );
    };
    refused("an unknown partner", partner_token("nobody", &acme_key)).await;
    refused("another partner's key", partner_token("acme", &beta_key)).await;
    refused("an unknown key", partner_token("acme", "pk_nothing")).await;
    refused(
        "no key claim",
        sign(json!({ "sub": "acme", "role": "partner", "exp": crate::helpers::now() + 600 })),
    )
    .await;

    // Revoking a key refuses its next request; the partner's other keys still work.
    let second = app
        .ok_as(&admin(), KEY, json!({ "p": "acme", "n": "second" }))
        .await["createPartnerKey"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.ok_as(
        &admin(),
        "mutation($k: String!) { revokePartnerKey(partner: \"acme\", id: $k) { revokedAt } }",
        json!({ "k": acme_key }),
    )
    .await;
    refused("a revoked key", acme.clone()).await;
    let other = partner_token("acme", &second);
    assert_eq!(
        status_of(app, &other, "/api/v1/articles").await,
        StatusCode::OK
    );

    // Revoking the partner refuses every key of it.
    let (status, _, body) = app
        .send(request(
            "POST",
            "/api/v1/partners/acme/revoke",
            Some(&admin()),
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["revoked_at"].is_string(), "{body}");
    refused("a revoked partner", other).await;
    let beta = partner_token("beta", &beta_key);
    assert_eq!(
        status_of(app, &beta, "/api/v1/articles").await,
        StatusCode::OK
    );
}

async fn a_partner_with_a_rate_limit_of_its_own_is_held_to_it(app: &TestApp) {
    app.import(newsroom()).await;
    let slow = app.partner("slow", &["world"], false).await;
    let other = app.partner("other", &["world"], false).await;
    app.ok_as(
        &admin(),
        "mutation { updatePartner(slug: \"slow\", input: { rateLimitPerMinute: 2 }) { rateLimitPerMinute } }",
        json!({}),
    )
    .await;
    for n in 1..=2 {
        assert_eq!(
            status_of(app, &slow, "/api/v1/articles").await,
            StatusCode::OK,
            "request {n}"
        );
    }
    let (status, headers, body) = app
        .send(request("GET", "/api/v1/articles", Some(&slow), None))
        .await;
    assert_problem(
        "over its limit",
        status,
        &headers,
        &body,
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
    );
    assert!(headers.contains_key("retry-after"), "{headers:?}");
    // GraphQL too: the budget is spent at the door, before any route.
    let (status, body) = app
        .graphql_as(Some(&slow), "{ sections { path } }", json!({}))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "RATE_LIMITED", "{body}");
    assert_eq!(
        status_of(app, &other, "/api/v1/articles").await,
        StatusCode::OK,
        "other partners keep their budget"
    );
    // Lifting the limit applies to the next request.
    app.ok_as(
        &admin(),
        "mutation { updatePartner(slug: \"slow\", input: { rateLimitPerMinute: null }) { rateLimitPerMinute } }",
        json!({}),
    )
    .await;
    assert_eq!(
        status_of(app, &slow, "/api/v1/articles").await,
        StatusCode::OK
    );
}
