//! Delta sync and the partner feed: a client that starts from a snapshot and follows the
//! stream holds exactly what it may see, field for field, whatever happened in between;
//! tombstones only for what it could have seen; positions older than retention must resync;
//! and, on PostgreSQL, writers racing each other never make a reader skip an event.

use std::collections::{BTreeMap, HashMap};

use axum::http::StatusCode;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};

use crate::fixtures::{april_article, newsroom, newsroom_with};
use crate::helpers::{TestApp, assert_problem, editor, request, token};

crate::storage_tests!(
    an_app_syncs_in_three_requests_and_sees_only_what_it_may,
    a_snapshot_continues_from_where_it_started,
    replaying_the_stream_holds_exactly_what_the_database_shows,
    bad_and_pruned_positions_are_refused,
    the_partner_feed_carries_its_grant_and_each_kill,
    kept_ninjs_items_follow_what_they_name_and_never_outlive_the_grant,
    partner_pages_cross_long_runs_of_events_outside_the_grant_and_resume_exactly,
);

fn admin() -> String {
    token("root", "admin")
}

const CREATE: &str =
    "mutation($input: ArticleInput!) { createArticle(input: $input) { id slug version } }";

/// Creates a draft in `section` as an editor; returns its id.
async fn draft(app: &TestApp, slug: &str, section: &str) -> String {
    let data = app
        .ok_as(
            &editor(),
            CREATE,
            json!({ "input": { "slug": slug, "headline": format!("Headline {slug}"), "section": section,
                               "authors": ["omar-haddad"], "body": [{ "paragraph": { "html": format!("Body of {slug}") } }] } }),
        )
        .await;
    data["createArticle"]["id"].as_str().expect("id").to_owned()
}

/// Runs a workflow step (`unpublishArticle`, `deleteArticle`, …) on the article `slug` at
/// its current version as `tok`; returns the whole GraphQL answer.
async fn step(app: &TestApp, tok: &str, slug: &str, field: &str) -> Value {
    let (id, v) = app.id_version(slug).await;
    let sel = if field == "deleteArticle" {
        ""
    } else {
        " { status }"
    };
    let op =
        format!("mutation($id: ID!, $v: Int!) {{ {field}(id: $id, expectedVersion: $v){sel} }}");
    let (_, body) = app
        .graphql_as(Some(tok), &op, json!({ "id": id, "v": v }))
        .await;
    body
}

async fn publish(app: &TestApp, slug: &str) {
    let (id, v) = app.id_version(slug).await;
    app.ok_as(
        &editor(),
        "mutation($id: ID!, $v: Int!) { publishArticle(id: $id, expectedVersion: $v) { status } }",
        json!({ "id": id, "v": v }),
    )
    .await;
}

async fn edit(app: &TestApp, slug: &str, input: Value) {
    let (id, v) = app.id_version(slug).await;
    app.ok_as(
        &editor(),
        "mutation($id: ID!, $v: Int!, $input: ArticlePatch!) { updateArticle(id: $id, expectedVersion: $v, input: $input) { version } }",
        json!({ "id": id, "v": v, "input": input }),
    )
    .await;
}

/// One page of `/api/v1/changes`.
async fn page(app: &TestApp, tok: Option<&str>, since: Option<&str>, limit: u32) -> Value {
    let mut uri = format!("/api/v1/changes?limit={limit}");
    if let Some(s) = since {
        uri.push_str(&format!("&since={s}"));
    }
    let (status, headers, body) = app.send(request("GET", &uri, tok, None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("private, no-store")
    );
    body
}

/// What a client holds: entity kind and id → the entity's JSON.
#[derive(Default, Debug)]
struct Replica {
    held: BTreeMap<(String, String), Value>,
    position: Option<String>,
    tombstones: Vec<Value>,
}

impl Replica {
    /// Pages from the client's position until nothing more; returns the entries seen.
    async fn sync(&mut self, app: &TestApp, tok: Option<&str>, limit: u32) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let body = page(app, tok, self.position.as_deref(), limit).await;
            let items = body["items"].as_array().expect("items").clone();
            assert!(items.len() <= limit as usize, "{body}");
            for it in &items {
                let key = (
                    it["entity"].as_str().expect("entity").to_owned(),
                    it["id"].as_str().expect("id").to_owned(),
                );
                match it["kind"].as_str() {
                    Some("UPSERT") => {
                        let field = key.0.to_lowercase();
                        assert!(
                            it[&field].is_object(),
                            "an upsert carries the {field}: {it}"
                        );
                        self.held.insert(key, it[&field].clone());
                    }
                    Some("TOMBSTONE") => {
                        assert!(it["reason"].is_string(), "{it}");
                        self.held.remove(&key);
                        self.tombstones.push(it.clone());
                    }
                    other => panic!("kind {other:?}"),
                }
            }
            seen.extend(items);
            self.position = Some(body["next"].as_str().expect("next").to_owned());
            if body["has_more"] != true {
                return seen;
            }
        }
    }

    fn articles(&self) -> BTreeMap<String, &Value> {
        self.held
            .iter()
            .filter(|((k, _), _)| k == "ARTICLE")
            .map(|(_, v)| (v["slug"].as_str().expect("slug").to_owned(), v))
            .collect()
    }

    fn count(&self, kind: &str) -> usize {
        self.held.keys().filter(|(k, _)| k == kind).count()
    }
}

/// Every article the caller can list, as `GET /api/v1/articles/{slug}` shows each.
async fn database_articles(app: &TestApp, tok: Option<&str>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut uri = "/api/v1/articles?limit=100".to_owned();
        if let Some(c) = &cursor {
            uri.push_str(&format!("&cursor={c}"));
        }
        let (status, _, body) = app.send(request("GET", &uri, tok, None)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for a in body["data"].as_array().expect("data") {
            let slug = a["slug"].as_str().expect("slug").to_owned();
            let (status, _, full) = app
                .send(request(
                    "GET",
                    &format!("/api/v1/articles/{slug}"),
                    tok,
                    None,
                ))
                .await;
            assert_eq!(status, StatusCode::OK, "{full}");
            out.insert(slug, full);
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// Asserts that `replica` holds exactly the articles the caller can read, field for field.
async fn assert_holds_the_database(
    app: &TestApp,
    tok: Option<&str>,
    replica: &Replica,
    when: &str,
) {
    let db = database_articles(app, tok).await;
    let held = replica.articles();
    let held_slugs: Vec<&String> = held.keys().collect();
    let db_slugs: Vec<&String> = db.keys().collect();
    assert_eq!(held_slugs, db_slugs, "{when}: the replica's articles");
    for (slug, a) in &db {
        assert_eq!(held[slug], a, "{when}: {slug} field for field");
    }
}

async fn an_app_syncs_in_three_requests_and_sees_only_what_it_may(app: &TestApp) {
    app.import(newsroom()).await;
    // 1. A snapshot: the public articles, and every section, author and tag.
    let mut anon = Replica::default();
    let first = anon.sync(app, None, 100).await;
    assert!(
        first.iter().all(|c| c["kind"] == "UPSERT"),
        "a snapshot only upserts"
    );
    assert_eq!(anon.count("SECTION"), 3);
    assert_eq!(anon.count("AUTHOR"), 2);
    assert_eq!(anon.count("TAG"), 5);
    assert_holds_the_database(app, None, &anon, "after the snapshot").await;
    assert!(!anon.articles().contains_key("secret-draft"));
    let mut editor_view = Replica::default();
    editor_view.sync(app, Some(&editor()), 7).await;
    assert_eq!(editor_view.count("ARTICLE"), 8, "editors sync drafts too");

    // 2. Nothing changed: an empty page at the same position.
    let quiet = page(app, None, anon.position.as_deref(), 100).await;
    assert_eq!(quiet["items"], json!([]));
    assert_eq!(quiet["next"], json!(anon.position));
    assert_eq!(quiet["has_more"], false);

    // A draft is written, edited and deleted: a reader hears nothing of it, ever.
    draft(app, "quiet-draft", "world").await;
    edit(app, "quiet-draft", json!({ "headline": "Still a draft" })).await;
    let body = step(app, &admin(), "quiet-draft", "deleteArticle").await;
    assert!(body["data"]["deleteArticle"].is_string(), "{body}");
    let nothing = anon.sync(app, None, 100).await;
    assert_eq!(
        nothing,
        Vec::<Value>::new(),
        "a draft that was never public leaves no trace"
    );
    // The editor saw it come and go.
    let ed = editor_view.sync(app, Some(&editor()), 100).await;
    assert_eq!(
        ed.iter()
            .map(|c| (c["kind"].as_str(), c["slug"].as_str(), c["reason"].as_str()))
            .collect::<Vec<_>>(),
        [(Some("TOMBSTONE"), None, Some("deleted"))],
        "a draft created and deleted within one page is one tombstone for an editor"
    );

    // 3. Publish one, unpublish another, delete a third, edit a fourth: one page says it all.
    draft(app, "fresh-story", "business").await;
    publish(app, "fresh-story").await;
    step(app, &editor(), "markets-rally", "unpublishArticle").await;
    let body = step(app, &admin(), "summit-ends", "deleteArticle").await;
    assert!(body["data"]["deleteArticle"].is_string(), "{body}");
    edit(
        app,
        "talks-resume",
        json!({ "headline": "Talks resume, again" }),
    )
    .await;
    edit(app, "talks-resume", json!({ "dek": "Twice edited" })).await;
    let changes = anon.sync(app, None, 100).await;
    let summary: Vec<(&str, &str, Option<&str>)> = changes
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap_or_default(),
                c["entity"].as_str().unwrap_or_default(),
                c["reason"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("UPSERT", "ARTICLE", None),
            ("TOMBSTONE", "ARTICLE", Some("unpublished")),
            ("TOMBSTONE", "ARTICLE", Some("deleted")),
            ("UPSERT", "ARTICLE", None),
        ],
        "oldest change first, each article once: {changes:#?}"
    );
    assert_eq!(changes[0]["slug"], "fresh-story");
    assert_eq!(changes[1]["slug"], "markets-rally");
    assert_eq!(
        changes[2]["slug"],
        Value::Null,
        "a deleted article has no slug any more"
    );
    assert_eq!(changes[3]["article"]["headline"], "Talks resume, again");
    assert_eq!(changes[3]["article"]["dek"], "Twice edited");
    assert_holds_the_database(app, None, &anon, "after the changes").await;

    // GraphQL gives the same page.
    let data = app
        .query(
            "query($s: String) { changes(since: $s) { items { kind entity slug reason article { headline } } next hasMore } }",
            json!({ "s": anon.position }),
        )
        .await;
    assert_eq!(data["changes"]["items"], json!([]));
    assert_eq!(data["changes"]["hasMore"], false);
    assert_eq!(data["changes"]["next"], json!(anon.position));

    // A writer syncs their own drafts too, and hears of an edit to one.
    let omar = crate::helpers::writer("omar");
    let mut own = Replica::default();
    own.sync(app, Some(&omar), 100).await;
    assert!(
        own.articles().contains_key("secret-draft"),
        "a writer's own draft"
    );
    assert!(
        !own.articles().contains_key("under-review"),
        "not another writer's"
    );
    edit(
        app,
        "secret-draft",
        json!({ "headline": "Omar's draft, edited" }),
    )
    .await;
    edit(app, "under-review", json!({ "headline": "Lena's, edited" })).await;
    let seen = own.sync(app, Some(&omar), 100).await;
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0]["article"]["headline"], "Omar's draft, edited");
}

async fn a_snapshot_continues_from_where_it_started(app: &TestApp) {
    app.import(newsroom()).await;
    let mut client = Replica::default();
    // The first pages of a snapshot, two entries at a time.
    let body = page(app, None, None, 2).await;
    assert_eq!(body["has_more"], true);
    client.position = Some(body["next"].as_str().expect("next").to_owned());
    for it in body["items"].as_array().expect("items") {
        client.held.insert(
            (
                it["entity"].as_str().expect("entity").to_owned(),
                it["id"].as_str().expect("id").to_owned(),
            ),
            it[it["entity"].as_str().expect("entity").to_lowercase()].clone(),
        );
    }
    // Meanwhile a story is published, one the snapshot has yet to reach is edited, and
    // another is taken down.
    draft(app, "during-snapshot", "world").await;
    publish(app, "during-snapshot").await;
    edit(
        app,
        "aid-arrives",
        json!({ "headline": "Aid arrives at last" }),
    )
    .await;
    step(app, &editor(), "port-profits", "unpublishArticle").await;
    // The rest of the snapshot and what happened meanwhile, through GraphQL pages too.
    client.sync(app, None, 3).await;
    assert_holds_the_database(app, None, &client, "after a snapshot taken during writes").await;
    assert_eq!(
        client.articles()["aid-arrives"]["headline"],
        "Aid arrives at last"
    );

    let mut after = Value::Null;
    let mut seen = 0;
    loop {
        let data = app
            .query(
                "query($s: String) { changes(since: $s, first: 4) { items { kind entity id } next hasMore } }",
                json!({ "s": after }),
            )
            .await;
        let items = data["changes"]["items"].as_array().expect("items");
        assert!(items.len() <= 4);
        seen += items.len();
        after = data["changes"]["next"].clone();
        if data["changes"]["hasMore"] != true {
            break;
        }
    }
    assert_eq!(
        seen,
        3 + 2 + 5 + 6,
        "sections, authors, tags and public articles"
    );
}

/// A write of the property test.
#[derive(Clone, Debug)]
enum Op {
    Create,
    Publish(usize),
    Unpublish(usize),
    Archive(usize),
    Edit(usize, u8),
    Embargo(usize),
    Lift(usize),
    Move(usize),
    Delete(usize),
    /// A client joins from a snapshot.
    Join,
    /// Every client syncs and is checked.
    Check,
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    use proptest::prelude::*;
    let op = prop_oneof![
        2 => Just(Op::Create),
        3 => (0..12usize).prop_map(Op::Publish),
        1 => (0..12usize).prop_map(Op::Unpublish),
        1 => (0..12usize).prop_map(Op::Archive),
        3 => (0..12usize, any::<u8>()).prop_map(|(i, n)| Op::Edit(i, n)),
        1 => (0..12usize).prop_map(Op::Embargo),
        1 => (0..12usize).prop_map(Op::Lift),
        1 => (0..12usize).prop_map(Op::Move),
        1 => (0..12usize).prop_map(Op::Delete),
        1 => Just(Op::Join),
        2 => Just(Op::Check),
    ];
    proptest::collection::vec(op, 25..45)
}

async fn replaying_the_stream_holds_exactly_what_the_database_shows(app: &TestApp) {
    app.import(newsroom()).await;
    let mut runner = TestRunner::deterministic();
    let mut slugs: Vec<String> = [
        "talks-resume",
        "border-reopens",
        "summit-ends",
        "markets-rally",
        "port-profits",
        "aid-arrives",
        "secret-draft",
        "under-review",
    ]
    .map(str::to_owned)
    .to_vec();
    // Clients: one from the very start, others joining later; small pages so that entries
    // of one entity spread over several pages.
    let mut clients: Vec<(Replica, u32)> = vec![(Replica::default(), 3)];
    let mut editor_client = Replica::default();
    let mut created = 0;
    for case in 0..3 {
        let seq = ops().new_tree(&mut runner).expect("ops").current();
        for op in seq {
            let pick = |i: usize| slugs.get(i % slugs.len()).cloned();
            match op {
                Op::Create => {
                    created += 1;
                    let slug = format!("prop-{case}-{created}");
                    draft(
                        app,
                        &slug,
                        if created % 2 == 0 {
                            "world"
                        } else {
                            "business"
                        },
                    )
                    .await;
                    slugs.push(slug);
                }
                Op::Publish(i) | Op::Unpublish(i) | Op::Archive(i) | Op::Delete(i) => {
                    let Some(slug) = pick(i) else { continue };
                    let (field, tok) = match op {
                        Op::Publish(_) => ("publishArticle", editor()),
                        Op::Unpublish(_) => ("unpublishArticle", editor()),
                        Op::Archive(_) => ("archiveArticle", editor()),
                        _ => ("deleteArticle", admin()),
                    };
                    let sel = if field == "deleteArticle" {
                        ""
                    } else {
                        " { status }"
                    };
                    let (id, v) = app.id_version_opt(&slug).await.unwrap_or_default();
                    if id.is_empty() {
                        continue;
                    }
                    // Steps that the workflow refuses (publishing an archived story) are
                    // refused with nothing written; the stream must agree either way.
                    app.graphql_as(
                        Some(&tok),
                        &format!("mutation($id: ID!, $v: Int!) {{ {field}(id: $id, expectedVersion: $v){sel} }}"),
                        json!({ "id": id, "v": v }),
                    )
                    .await;
                }
                Op::Edit(i, _) | Op::Embargo(i) | Op::Lift(i) | Op::Move(i) => {
                    let Some(slug) = pick(i) else { continue };
                    let input = match op {
                        Op::Edit(_, n) => json!({ "headline": format!("Edited {n}") }),
                        Op::Embargo(_) => json!({ "embargoUntil": "2099-01-01T00:00:00Z" }),
                        Op::Lift(_) => json!({ "embargoUntil": null }),
                        _ => {
                            json!({ "section": if i % 2 == 0 { "world/middle-east" } else { "business" } })
                        }
                    };
                    let (id, v) = app.id_version_opt(&slug).await.unwrap_or_default();
                    if id.is_empty() {
                        continue;
                    }
                    app.graphql_as(
                        Some(&editor()),
                        "mutation($id: ID!, $v: Int!, $input: ArticlePatch!) { updateArticle(id: $id, expectedVersion: $v, input: $input) { version } }",
                        json!({ "id": id, "v": v, "input": input }),
                    )
                    .await;
                }
                Op::Join => clients.push((Replica::default(), 4)),
                Op::Check => {
                    for (c, limit) in &mut clients {
                        c.sync(app, None, *limit).await;
                        assert_holds_the_database(app, None, c, "a client's check").await;
                    }
                }
            }
        }
        for (c, limit) in &mut clients {
            c.sync(app, None, *limit).await;
            assert_holds_the_database(app, None, c, &format!("after case {case}")).await;
        }
        // An editor's client holds every article there is.
        editor_client.sync(app, Some(&editor()), 5).await;
        let all: i64 = app.count_rows("articles").await;
        assert_eq!(
            editor_client.count("ARTICLE") as i64,
            all,
            "the editor's replica"
        );
    }
}

async fn bad_and_pruned_positions_are_refused(app: &TestApp) {
    app.import(newsroom()).await;
    let mut client = Replica::default();
    client.sync(app, None, 100).await;
    let old = client.position.clone().expect("position");
    for (uri, what) in [
        ("/api/v1/changes?since=not-a-position", "a made-up position"),
        (
            "/api/v1/changes?since=cDE5OTk5OTk5OTk5OTk",
            "a number out of range",
        ),
        ("/api/v1/changes?limit=0", "limit 0"),
        ("/api/v1/changes?limit=101", "limit 101"),
        ("/api/v1/changes?limit=x", "a limit that is no number"),
    ] {
        let (status, _, body) = app.send(request("GET", uri, None, None)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert_eq!(body["code"], "BAD_USER_INPUT", "{what}: {body}");
    }
    assert_eq!(
        app.code_as(None, "{ changes(since: \"zz\") { next } }", json!({}))
            .await,
        "BAD_USER_INPUT"
    );

    // Events move on, then retention removes everything older than now but the departures
    // from public view, whose time feeds and sitemaps keep as their modification time.
    edit(app, "talks-resume", json!({ "headline": "Moved on" })).await;
    step(app, &editor(), "markets-rally", "unpublishArticle").await;
    let removed = gazette::domain::stream::prune(&app.db, chrono::Duration::zero())
        .await
        .expect("prune");
    assert!(removed > 0);
    assert_eq!(
        app.count_rows("change_log").await,
        1,
        "only the departure is kept"
    );
    assert_eq!(
        app.count_rows("change_log WHERE action = 'unpublish'")
            .await,
        1
    );
    let (status, headers, body) = app
        .send(request(
            "GET",
            &format!("/api/v1/changes?since={old}"),
            None,
            None,
        ))
        .await;
    assert_problem(
        "a pruned position",
        status,
        &headers,
        &body,
        StatusCode::GONE,
        "RESYNC_REQUIRED",
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("without `since`"),
        "{body}"
    );
    assert_eq!(
        app.code_as(
            None,
            "query($s: String) { changes(since: $s) { next } }",
            json!({ "s": old })
        )
        .await,
        "RESYNC_REQUIRED"
    );
    // A new snapshot works, and its position is good from then on.
    let mut again = Replica::default();
    again.sync(app, None, 100).await;
    assert_holds_the_database(app, None, &again, "after a resync").await;
    edit(
        app,
        "talks-resume",
        json!({ "headline": "After the resync" }),
    )
    .await;
    let seen = again.sync(app, None, 100).await;
    assert_eq!(seen.len(), 1, "{seen:#?}");
}

async fn the_partner_feed_carries_its_grant_and_each_kill(app: &TestApp) {
    app.import(newsroom()).await;
    let wire = app.partner("wire", &["world"], false).await;
    let items = |body: &Value| -> Vec<(String, String)> {
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| {
                (
                    i["uri"].as_str().unwrap_or_default().to_owned(),
                    i["pubstatus"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let feed = |since: Option<String>, q: &'static str| {
        let wire = wire.clone();
        async move {
            let mut uri = format!("/api/v1/partner/items?limit=100{q}");
            if let Some(s) = since {
                uri.push_str(&format!("&since={s}"));
            }
            let (status, _, body) = app.send(request("GET", &uri, Some(&wire), None)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let uri_of = |id: &str| format!("urn:gazette:article:{id}");
    let id = |slug: &'static str| async move { app.id_version(slug).await.0 };

    // The first request: every story of the grant (world and below), as ninjs.
    let first = feed(None, "").await;
    let mut got = items(&first);
    got.sort();
    let mut want = vec![
        (uri_of(&id("talks-resume").await), "usable".to_owned()),
        (uri_of(&id("border-reopens").await), "usable".to_owned()),
        (uri_of(&id("summit-ends").await), "usable".to_owned()),
        (uri_of(&id("aid-arrives").await), "usable".to_owned()),
    ];
    want.sort();
    assert_eq!(
        got, want,
        "the grant's published stories, no draft, no business story"
    );
    let next = first["next"].as_str().expect("next").to_owned();

    // A business story changes (not the partner's), a world story is killed, another
    // deleted, one marked not for syndication, and a new one published.
    edit(
        app,
        "markets-rally",
        json!({ "headline": "Not for the wire" }),
    )
    .await;
    let talks = id("talks-resume").await;
    let summit = id("summit-ends").await;
    let aid = id("aid-arrives").await;
    step(app, &editor(), "talks-resume", "unpublishArticle").await;
    let body = step(app, &admin(), "summit-ends", "deleteArticle").await;
    assert!(body["data"]["deleteArticle"].is_string(), "{body}");
    edit(
        app,
        "aid-arrives",
        json!({ "rights": { "notForSyndication": true } }),
    )
    .await;
    draft(app, "wire-story", "world/middle-east").await;
    publish(app, "wire-story").await;
    draft(app, "draft-on-the-wire", "world").await;
    let later = feed(Some(next.clone()), "").await;
    assert_eq!(
        items(&later),
        [
            (uri_of(&talks), "withheld".to_owned()),
            (uri_of(&summit), "canceled".to_owned()),
            (uri_of(&aid), "withheld".to_owned()),
            (uri_of(&id("wire-story").await), "usable".to_owned()),
        ],
        "kills, in order, and the new story; nothing of business or of drafts"
    );
    let killed = &later["items"][0];
    assert!(
        killed.get("headlines").is_none() && killed.get("bodies").is_none(),
        "a withheld item carries nothing of the story: {killed}"
    );
    // Every item validates against the IPTC schemas, both versions.
    let v3 = feed(Some(next), "&version=3").await;
    let (s2, s3) = (crate::ninjs::Schema::v2(), crate::ninjs::Schema::v3());
    for (i, item) in later["items"].as_array().expect("items").iter().enumerate() {
        s2.assert_valid(&format!("partner item {i}"), item);
    }
    for (i, item) in v3["items"].as_array().expect("items").iter().enumerate() {
        s3.assert_valid(&format!("partner item {i} (3.1)"), item);
        assert!(item.get("pubStatus").is_some(), "{item}");
    }
    for item in first["items"].as_array().expect("items") {
        s2.assert_valid("a first-page item", item);
    }

    // Anonymous callers, readers and writers are refused; nothing of the feed leaks.
    let (status, headers, body) = app
        .send(request("GET", "/api/v1/partner/items", None, None))
        .await;
    assert_problem(
        "anonymous",
        status,
        &headers,
        &body,
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
    );
    for role in ["reader", "writer"] {
        let (status, headers, body) = app
            .send(request(
                "GET",
                "/api/v1/partner/items",
                Some(&token("x", role)),
                None,
            ))
            .await;
        assert_problem(
            role,
            status,
            &headers,
            &body,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
        );
    }
    // A revoked partner is refused at once.
    app.ok_as(
        &admin(),
        "mutation { revokePartner(slug: \"wire\") { revokedAt } }",
        json!({}),
    )
    .await;
    let (status, headers, body) = app
        .send(request("GET", "/api/v1/partner/items", Some(&wire), None))
        .await;
    assert_problem(
        "a revoked partner",
        status,
        &headers,
        &body,
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
    );
}

/// The text of a GET as `tok`: status and body bytes.
async fn raw_get(app: &TestApp, uri: &str, tok: &str) -> (StatusCode, String) {
    use tower::ServiceExt as _;
    let res = app
        .router
        .clone()
        .oneshot(request("GET", uri, Some(tok), None))
        .await
        .expect("an answer");
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("a body");
    (status, String::from_utf8(bytes.to_vec()).expect("UTF-8"))
}

/// ninjs items are kept per article version (`domain::ninjs::Items`) and written as text:
/// a second answer is the same text; the text is what a JSON library writes (properties in
/// the order of their names); and what a partner receives still follows an author's new
/// title, a section's new name and an edit at once, while who receives an item is decided
/// on each request: a story moved out of the grant is a 404 and a `withheld` item.
async fn kept_ninjs_items_follow_what_they_name_and_never_outlive_the_grant(app: &TestApp) {
    app.import(newsroom()).await;
    let wire = app.partner("wire", &["world"], false).await;
    let feed = "/api/v1/partner/items?limit=100";
    let story = "/api/v1/articles/border-reopens/ninjs";
    let item_of = |text: &str, slug: &str| -> Value {
        let page: Value = serde_json::from_str(text).expect("JSON");
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["slugline"] == slug)
            .cloned()
            .unwrap_or(Value::Null)
    };
    for (q3, uri) in [
        ("", feed.to_owned()),
        ("", story.to_owned()),
        ("3", format!("{feed}&version=3")),
        ("3", format!("{story}?version=3")),
    ] {
        let (status, first) = raw_get(app, &uri, &wire).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {first}");
        let (_, again) = raw_get(app, &uri, &wire).await;
        assert_eq!(first, again, "{uri}: a kept item is the same text");
        let parsed: Value = serde_json::from_str(&first).expect("JSON");
        if uri.contains("/ninjs") {
            assert_eq!(
                first,
                parsed.to_string(),
                "{uri} ({q3}): properties in name order"
            );
        } else {
            for item in parsed["items"].as_array().expect("items") {
                assert!(
                    first.contains(&item.to_string()),
                    "{uri}: {item} in name order"
                );
            }
        }
    }

    // What an item names changes on its own: the next answers say so.
    let omar = app
        .ok_as(
            &admin(),
            "{ author(slug: \"omar-haddad\") { id } }",
            json!({}),
        )
        .await["author"]["id"]
        .clone();
    app.ok_as(
        &admin(),
        "mutation($id: ID!) { updateAuthor(id: $id, input: { title: \"Chief Correspondent\" }) { title } }",
        json!({ "id": omar }),
    )
    .await;
    let me = app
        .ok_as(
            &admin(),
            "{ section(path: \"world/middle-east\") { id } }",
            json!({}),
        )
        .await["section"]["id"]
        .clone();
    app.ok_as(
        &admin(),
        "mutation($id: ID!) { updateSection(id: $id, input: { name: \"Near East\" }) { name } }",
        json!({ "id": me }),
    )
    .await;
    let (_, text) = raw_get(app, feed, &wire).await;
    let item = item_of(&text, "border-reopens");
    assert!(
        item["by"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Omar Haddad, Chief Correspondent"),
        "{item}"
    );
    let subjects = item["subjects"].to_string();
    assert!(subjects.contains("Near East"), "{subjects}");
    let (_, text) = raw_get(app, story, &wire).await;
    assert!(
        text.contains("Chief Correspondent") && text.contains("Near East"),
        "{text}"
    );
    // An edit makes a new version, and a new item.
    edit(
        app,
        "border-reopens",
        json!({ "headline": "Border open again" }),
    )
    .await;
    let (_, text) = raw_get(app, feed, &wire).await;
    assert_eq!(
        item_of(&text, "border-reopens")["headlines"][0]["value"],
        "Border open again"
    );

    // Moved out of the grant: refused on the next request, and withheld in the feed, though
    // its item of that version is kept.
    let next = serde_json::from_str::<Value>(&text).expect("JSON")["next"]
        .as_str()
        .expect("next")
        .to_owned();
    edit(app, "border-reopens", json!({ "section": "business" })).await;
    let (status, _) = raw_get(app, story, &wire).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, text) = raw_get(app, &format!("{feed}&since={next}"), &wire).await;
    let page: Value = serde_json::from_str(&text).expect("JSON");
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(items[0]["pubstatus"], "withheld", "{page}");
    assert!(items[0].get("headlines").is_none(), "{page}");
}

/// PostgreSQL: writers race each other (each write a transaction of its own, on a pool of
/// connections) while a reader follows the stream; the reader sees every committed event
/// exactly once, positions without gaps, and each article's versions in order.
#[tokio::test]
#[ignore = "needs GAZETTE_TEST_POSTGRES_URL (PostgreSQL); CI runs these with --include-ignored"]
async fn postgres_writers_racing_never_make_a_reader_skip_an_event() {
    use gazette::domain::stream;
    let app = TestApp::postgres().await;
    app.import(newsroom()).await;
    let reader_db = app.second_connection().await;
    let start = stream::head(&app.db).await.expect("head").last_seq;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));

    let reader = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut seen: Vec<stream::Stored> = Vec::new();
            let mut pos = start;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let batch = stream::read(&reader_db, pos, 50).await.expect("read");
                for e in &batch {
                    assert_eq!(e.seq, pos + 1, "positions come without gaps");
                    pos = e.seq;
                }
                let empty = batch.is_empty();
                seen.extend(batch);
                if finished && empty {
                    return seen;
                }
                if empty {
                    tokio::task::yield_now().await;
                }
            }
        })
    };

    let writers: Vec<_> = (0..8)
        .map(|w| {
            let router = app.router.clone();
            tokio::spawn(async move {
                let mut ok = 0;
                for i in 0..12 {
                    let slug = format!("race-{w}-{i}");
                    let (status, _, body) = crate::helpers::send_to(
                        &router,
                        crate::helpers::graphql_request(
                            Some(&editor()),
                            CREATE,
                            &json!({ "input": { "slug": slug, "headline": "Race", "section": "world", "authors": ["omar-haddad"], "body": [] } }),
                        ),
                    )
                    .await;
                    assert_eq!(status, StatusCode::OK, "{body}");
                    let id = body["data"]["createArticle"]["id"].clone();
                    for v in 1..3 {
                        let (_, _, body) = crate::helpers::send_to(
                            &router,
                            crate::helpers::graphql_request(
                                Some(&editor()),
                                "mutation($id: ID!, $v: Int!) { updateArticle(id: $id, expectedVersion: $v, input: { headline: \"Again\" }) { version } }",
                                &json!({ "id": id, "v": v }),
                            ),
                        )
                        .await;
                        assert!(body["errors"].is_null(), "{body}");
                    }
                    ok += 1;
                }
                ok
            })
        })
        .collect();
    let mut written = 0;
    for w in writers {
        written += w.await.expect("writer");
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.expect("reader");

    // Exactly the committed events, once each, in position order.
    let all = stream::read(&app.db, start, 100_000)
        .await
        .expect("read all");
    assert_eq!(seen, all, "the follower saw exactly what was committed");
    assert_eq!(all.iter().filter(|e| e.action == "create").count(), written,);
    assert_eq!(all.len(), written * 3, "a create and two edits each");
    // Each article's versions, in stream order, are 1, 2, 3.
    let mut versions: HashMap<i32, Vec<i32>> = HashMap::new();
    for e in &all {
        versions
            .entry(e.id)
            .or_default()
            .push(e.version.unwrap_or(0));
    }
    for (id, v) in versions {
        assert_eq!(v, [1, 2, 3], "article {id}'s events in order");
    }
    app.cleanup().await;
}

/// The partner feed's window of the stream holds article events only and its next position
/// skips what says nothing to the partner: pages over long runs of events outside the grant
/// (more than a window holds) still list each story of the grant once, in stream order, and
/// each `next` resumes exactly where the page stopped, kills included.
async fn partner_pages_cross_long_runs_of_events_outside_the_grant_and_resume_exactly(
    app: &TestApp,
) {
    // 250 published stories, one in ten in the grant (world), the rest in business.
    let articles: Vec<Value> = (0..250)
        .map(|i| {
            let mut a = april_article(
                &format!("s{i}"),
                &format!("Story {i}"),
                "Text.",
                "PUBLISHED",
                1 + (i % 28) as u32,
            );
            a["section"] = json!(if i % 10 == 7 { "world" } else { "business" });
            a
        })
        .collect();
    app.import(newsroom_with(articles)).await;
    let wire = app.partner("wire", &["world"], false).await;
    let page = |since: String, limit: u32| {
        let wire = wire.clone();
        async move {
            let uri = format!("/api/v1/partner/items?limit={limit}&since={since}");
            let (status, _, body) = app.send(request("GET", &uri, Some(&wire), None)).await;
            assert_eq!(status, StatusCode::OK, "{uri}: {body}");
            let items: Vec<(String, String)> = body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| {
                    (
                        i["uri"].as_str().unwrap_or_default().to_owned(),
                        i["pubstatus"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            let next = body["next"].as_str().expect("next").to_owned();
            (items, next, body["has_more"] == json!(true))
        }
    };
    let uri_of = |slug: String| async move {
        format!("urn:gazette:article:{}", app.id_version(&slug).await.0)
    };
    let mut want = Vec::new();
    for i in (7..250).step_by(10) {
        want.push((uri_of(format!("s{i}")).await, "usable".to_owned()));
    }

    // From the start of the stream, two items a page.
    let start = "cDA".to_owned(); // position 0
    let (mut got, mut since) = (Vec::new(), start.clone());
    for _ in 0..100 {
        let (items, next, more) = page(since.clone(), 2).await;
        assert!(items.len() <= 2, "{items:?}");
        got.extend(items);
        since = next;
        if !more {
            break;
        }
    }
    assert_eq!(got, want, "each story of the grant once, in stream order");
    // The last `next` is the stream's end: nothing more, and it stays put.
    let (items, next, more) = page(since.clone(), 2).await;
    assert!(items.is_empty() && !more, "{items:?}");
    assert_eq!(next, since, "an empty page keeps the position");
    // A page as large as the grant gives the same items in one request.
    let (items, one_page_next, _) = page(start, 100).await;
    assert_eq!(items, want);
    assert_eq!(one_page_next, since, "both ways end at the same position");

    // Events outside the grant, then a kill inside it, then more outside: the next page
    // holds the kill alone, and its `next` resumes after every one of them.
    for i in 0..3 {
        edit(app, "s0", json!({ "headline": format!("Business {i}") })).await;
    }
    step(app, &editor(), "s17", "unpublishArticle").await;
    edit(app, "s1", json!({ "headline": "Business again" })).await;
    let (items, next, more) = page(since.clone(), 2).await;
    assert_eq!(
        items,
        [(uri_of("s17".to_owned()).await, "withheld".to_owned())],
        "the kill, nothing of business"
    );
    assert!(!more);
    let (items, again, _) = page(next.clone(), 2).await;
    assert!(items.is_empty(), "{items:?}");
    assert_eq!(again, next);
}
