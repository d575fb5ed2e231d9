//! Webhooks: admins manage endpoints (GraphQL and REST) and nobody else can; URLs that reach
//! inside the network are refused; a receiver in the test (an axum server on 127.0.0.1)
//! verifies every message with the Standard Webhooks crate, sees articles' events in order
//! and never a draft's, fails on purpose to exercise retries, dead-lettering and
//! redelivery; a worker killed mid-delivery loses nothing; two workers on one database
//! never attempt one delivery at the same time; an import sends one `import.completed`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use gazette::domain::webhooks::Settings;
use gazette::domain::webhooks::secrets::SecretKey;
use serde_json::{Value, json};

use crate::fixtures::newsroom;
use crate::helpers::{TestApp, editor, rate_limits, request, send_to, test_auth, test_site, token};

crate::storage_tests!(
    admins_manage_webhooks_on_graphql_and_rest,
    non_admins_are_refused_and_nothing_is_written,
    urls_that_reach_inside_are_refused_and_nothing_is_written,
    without_a_key_webhooks_cannot_be_created,
    a_receiver_gets_signed_events_in_order_and_never_a_draft,
    a_failing_receiver_is_retried_with_backoff_then_dead_lettered_and_redelivered,
    versions_of_an_article_wait_for_the_earlier_one,
    a_worker_killed_mid_delivery_loses_nothing,
    two_workers_never_attempt_one_delivery_at_the_same_time,
    an_import_sends_one_import_completed,
    a_rotated_secret_signs_beside_the_new_one,
    an_endpoint_failing_for_the_pause_window_is_paused,
    listing_endpoints_with_their_logs_takes_the_same_statements_for_two_or_six,
    comment_events_tell_only_of_comments_a_reader_could_read,
    erasing_a_commenter_removes_the_replies_under_their_comments_too,
);

fn admin() -> String {
    token("root", "admin")
}

/// Fast settings: retries after 100, 200, 400 ms, four attempts, loopback allowed.
fn fast() -> Settings {
    Settings {
        key: Some(
            SecretKey::parse(&base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
                .expect("key"),
        ),
        allow_private: true,
        schedule: vec![
            Duration::from_millis(100),
            Duration::from_millis(200),
            Duration::from_millis(400),
        ],
        max_attempts: 4,
        timeout: Duration::from_secs(1),
        interval: Duration::from_millis(20),
        ..Default::default()
    }
}

/// A router over the app's database with these webhook settings.
fn router(app: &TestApp, settings: &Settings) -> Router {
    let state = gazette::AppState::new(app.db.clone(), test_auth())
        .with_http(rate_limits((100_000, 100_000), (100_000, 100_000)))
        .with_site(test_site(|_| {}))
        .with_webhooks(settings.clone());
    gazette::app(state)
}

/// A worker over `db` with these settings.
fn worker(db: sea_orm::DatabaseConnection, settings: &Settings) -> tokio::task::JoinHandle<()> {
    let shapes = gazette::http::rest::webhooks::PublicShapes::new(
        Arc::new(test_site(|_| {})),
        gazette::domain::directory::Directory::new(false),
    );
    gazette::delivery::spawn(gazette::delivery::Worker {
        db,
        settings: Arc::new(settings.clone()),
        shapes: Arc::new(shapes),
    })
}

/// What the receiver does with a request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Ok,
    Status(u16),
    /// 429 with `Retry-After: n` seconds.
    TooMany(u64),
    /// Waits this long before answering 200.
    Hang(Duration),
}

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    at: Instant,
    headers: HeaderMap,
    body: String,
    answered: u16,
}

/// A webhook receiver on 127.0.0.1: answers from a script (then `Ok`), records every
/// request, and notes when one message arrives while another copy of it is in flight.
#[derive(Clone, Default)]
struct Receiver {
    script: Arc<Mutex<std::collections::VecDeque<Answer>>>,
    always: Arc<Mutex<Option<Answer>>>,
    got: Arc<Mutex<Vec<Received>>>,
    inflight: Arc<Mutex<HashSet<String>>>,
    overlaps: Arc<AtomicUsize>,
    delay: Arc<Mutex<Duration>>,
}

impl Receiver {
    /// Starts one; returns it and its URL.
    async fn start() -> (Self, String) {
        let r = Self::default();
        let state = r.clone();
        let app = Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let r = state.clone();
                async move { r.answer(headers, body).await }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        (r, format!("http://{addr}/hook"))
    }

    async fn answer(&self, headers: HeaderMap, body: String) -> axum::response::Response {
        use axum::response::IntoResponse as _;
        let id = header(&headers, "webhook-id");
        if !self.inflight.lock().expect("lock").insert(id.clone()) {
            self.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        let next = self.script.lock().expect("lock").pop_front();
        let a = next
            .or(*self.always.lock().expect("lock"))
            .unwrap_or(Answer::Ok);
        let at = Instant::now();
        let delay = *self.delay.lock().expect("lock");
        let status = match a {
            Answer::Ok => 200,
            Answer::Status(s) => s,
            Answer::TooMany(_) => 429,
            Answer::Hang(_) => 200,
        };
        self.got.lock().expect("lock").push(Received {
            at,
            headers,
            body,
            answered: status,
        });
        if let Answer::Hang(d) = a {
            tokio::time::sleep(d).await;
        }
        tokio::time::sleep(delay).await;
        self.inflight.lock().expect("lock").remove(&id);
        let code = StatusCode::from_u16(status).expect("status");
        match a {
            Answer::TooMany(s) => (code, [("retry-after", s.to_string())], "").into_response(),
            _ => (code, "ok").into_response(),
        }
    }

    fn script(&self, answers: &[Answer]) {
        self.script
            .lock()
            .expect("lock")
            .extend(answers.iter().copied());
    }

    fn set_always(&self, a: Option<Answer>) {
        *self.always.lock().expect("lock") = a;
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }

    /// Waits (up to `secs`) until `done` holds of what was received.
    async fn wait(
        &self,
        secs: u64,
        what: &str,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let got = self.got();
            if done(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; received: {:?}",
                got.iter()
                    .map(|r| (r.answered, &r.body))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn body_of(r: &Received) -> Value {
    serde_json::from_str(&r.body).expect("a JSON body")
}

fn kinds(got: &[Received]) -> Vec<String> {
    got.iter()
        .filter(|r| r.answered < 300)
        .map(|r| body_of(r)["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Checks a message with the Standard Webhooks crate, as a receiver would.
fn verify(secret: &str, r: &Received) {
    standardwebhooks::Webhook::new(secret)
        .expect("secret")
        .verify(r.body.as_bytes(), &r.headers)
        .unwrap_or_else(|e| panic!("signature of {} does not verify: {e:?}", r.body));
}

const CREATE: &str = "mutation($i: WebhookInput!) { createWebhook(input: $i) { secret webhook { id url eventTypes section active pausedReason } } }";

/// Creates an endpoint through GraphQL; returns its id and secret.
async fn create(r: &Router, input: Value) -> (String, String) {
    let (status, _, body) = send_to(
        r,
        crate::helpers::graphql_request(Some(&admin()), CREATE, &json!({ "i": input })),
    )
    .await;
    let data = crate::helpers::data_of(status, body);
    let c = &data["createWebhook"];
    (
        c["webhook"]["id"].as_str().expect("id").to_owned(),
        c["secret"].as_str().expect("secret").to_owned(),
    )
}

async fn gql(r: &Router, tok: Option<&str>, q: &str, v: Value) -> Value {
    let (_, _, body) = send_to(r, crate::helpers::graphql_request(tok, q, &v)).await;
    body
}

const ARTICLE: &str = "mutation($h: String!) { createArticle(input: { headline: $h, section: \"world\", authors: [\"omar-haddad\"], body: [{ paragraph: { html: \"Hi\" } }] }) { id slug version } }";

/// Creates a draft as the editor; returns its slug.
async fn draft(app: &TestApp, headline: &str) -> String {
    let d = app
        .ok_as(&editor(), ARTICLE, json!({ "h": headline }))
        .await;
    d["createArticle"]["slug"]
        .as_str()
        .expect("slug")
        .to_owned()
}

async fn edit(app: &TestApp, slug: &str, dek: &str) {
    let (id, v) = app.id_version(slug).await;
    app.ok_as(
        &editor(),
        "mutation($id: ID!, $v: Int!, $d: String) { updateArticle(id: $id, expectedVersion: $v, input: { dek: $d }) { version } }",
        json!({ "id": id, "v": v, "d": dek }),
    )
    .await;
}

/// The deliveries of an endpoint, newest first, through GraphQL.
async fn log(r: &Router, id: &str) -> Vec<Value> {
    let body = gql(
        r,
        Some(&admin()),
        "query($id: ID!) { webhook(id: $id) { deliveries(first: 100) { id messageId eventType status attempts lastError lastStatus lastLatencyMs deliveredAt nextAttemptAt } } }",
        json!({ "id": id }),
    )
    .await;
    body["data"]["webhook"]["deliveries"]
        .as_array()
        .unwrap_or_else(|| panic!("a log: {body}"))
        .clone()
}

async fn wait_log(r: &Router, id: &str, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let l = log(r, id).await;
        if done(&l) {
            return l;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {l:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn admins_manage_webhooks_on_graphql_and_rest(app: &TestApp) {
    app.import(newsroom()).await;
    let r = router(app, &fast());
    let body = gql(
        &r,
        Some(&admin()),
        CREATE,
        json!({ "i": { "url": "https://hooks.example.com/in", "eventTypes": ["article.published", "article.published", "section.*"], "section": "world" } }),
    )
    .await;
    let c = &body["data"]["createWebhook"];
    let secret = c["secret"].as_str().unwrap_or_else(|| panic!("{body}"));
    assert!(
        secret.starts_with("whsec_") && secret.len() > 30,
        "{secret}"
    );
    assert_eq!(
        c["webhook"]["eventTypes"],
        json!(["article.published", "section.*"])
    );
    assert_eq!(c["webhook"]["section"], "world");
    assert_eq!(c["webhook"]["active"], true);
    let id = c["webhook"]["id"].as_str().expect("id").to_owned();

    // The secret is stored sealed, never as given.
    let clear = format!(
        "webhooks WHERE secret LIKE '%{}%'",
        &secret["whsec_".len()..]
    );
    assert_eq!(
        app.count_rows(&clear).await,
        0,
        "the secret is not stored in the clear"
    );

    // Listed, without the secret; paused and resumed.
    let listed = gql(
        &r,
        Some(&admin()),
        "{ webhooks { id url active } }",
        json!({}),
    )
    .await;
    assert_eq!(
        listed["data"]["webhooks"],
        json!([{ "id": id, "url": "https://hooks.example.com/in", "active": true }])
    );
    assert!(!listed.to_string().contains("whsec_"));
    let paused = gql(
        &r,
        Some(&admin()),
        "mutation($id: ID!) { updateWebhook(id: $id, input: { active: false, section: null, eventTypes: [\"*\"] }) { active pausedReason section eventTypes } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(
        paused["data"]["updateWebhook"],
        json!({ "active": false, "pausedReason": "admin", "section": null, "eventTypes": ["*"] })
    );

    // Bad input is refused with a sentence, for each field.
    for (input, why) in [
        (
            json!({ "url": "https://hooks.example.com/", "eventTypes": [] }),
            "no event types",
        ),
        (
            json!({ "url": "https://hooks.example.com/", "eventTypes": ["article.created"] }),
            "unknown type",
        ),
        (
            json!({ "url": "https://hooks.example.com/", "eventTypes": ["*"], "section": "nowhere" }),
            "unknown section",
        ),
        (
            json!({ "url": "not a url", "eventTypes": ["*"] }),
            "not a URL",
        ),
    ] {
        let body = gql(&r, Some(&admin()), CREATE, json!({ "i": input })).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{why}: {body}"
        );
    }

    // REST mirrors it.
    let (status, _, made) = send_to(
        &r,
        request(
            "POST",
            "/api/v1/webhooks",
            Some(&admin()),
            Some(json!({ "url": "https://cdn.example.com/purge", "event_types": ["article.*"], "description": "CDN purge" })),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert!(
        made["secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("whsec_"))
    );
    assert_eq!(made["event_types"], json!(["article.*"]));
    let rid = made["id"].as_i64().expect("id");
    let (status, _, got) = send_to(
        &r,
        request(
            "GET",
            &format!("/api/v1/webhooks/{rid}"),
            Some(&admin()),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["description"], "CDN purge");
    assert!(
        got.get("secret").is_none(),
        "the secret is shown once: {got}"
    );
    let (status, _, patched) = send_to(
        &r,
        request(
            "PATCH",
            &format!("/api/v1/webhooks/{rid}"),
            Some(&admin()),
            Some(json!({ "active": false })),
        ),
    )
    .await;
    assert_eq!(
        (status, &patched["paused_reason"]),
        (StatusCode::OK, &json!("admin"))
    );
    let (status, _, rotated) = send_to(
        &r,
        request(
            "POST",
            &format!("/api/v1/webhooks/{rid}/rotate-secret"),
            Some(&admin()),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_ne!(rotated["secret"], made["secret"]);
    assert!(rotated["previous_secret_until"].is_string());
    let (status, _, listed) =
        send_to(&r, request("GET", "/api/v1/webhooks", Some(&admin()), None)).await;
    assert_eq!(
        (status, listed.as_array().map(Vec::len)),
        (StatusCode::OK, Some(2))
    );
    let (status, _, page) = send_to(
        &r,
        request(
            "GET",
            &format!("/api/v1/webhooks/{rid}/deliveries?status=dead"),
            Some(&admin()),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page, json!({ "data": [], "next_cursor": null }));
    let (status, _, _) = send_to(
        &r,
        request(
            "DELETE",
            &format!("/api/v1/webhooks/{rid}"),
            Some(&admin()),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, gone) = send_to(
        &r,
        request(
            "GET",
            &format!("/api/v1/webhooks/{rid}"),
            Some(&admin()),
            None,
        ),
    )
    .await;
    assert_eq!(
        (status, gone["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
    let deleted = gql(
        &r,
        Some(&admin()),
        "mutation($id: ID!) { deleteWebhook(id: $id) { id } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(deleted["data"]["deleteWebhook"]["id"], id);
    assert_eq!(app.count_rows("webhooks").await, 0);
}

async fn non_admins_are_refused_and_nothing_is_written(app: &TestApp) {
    app.import(newsroom()).await;
    let r = router(app, &fast());
    let input = json!({ "url": "https://hooks.example.com/", "eventTypes": ["*"] });
    for (who, tok, code) in [
        ("anonymous", None, "UNAUTHENTICATED"),
        ("editor", Some(editor()), "FORBIDDEN"),
        ("writer", Some(token("omar", "writer")), "FORBIDDEN"),
        (
            "partner-less reader",
            Some(token("rea", "reader")),
            "FORBIDDEN",
        ),
    ] {
        let body = gql(&r, tok.as_deref(), CREATE, json!({ "i": input })).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "{who}: {body}"
        );
        let listed = gql(&r, tok.as_deref(), "{ webhooks { id } }", json!({})).await;
        assert_eq!(
            listed["errors"][0]["extensions"]["code"], code,
            "{who} lists: {listed}"
        );
        let (status, _, p) = send_to(
            &r,
            request(
                "POST",
                "/api/v1/webhooks",
                tok.as_deref(),
                Some(json!({ "url": "https://hooks.example.com/", "event_types": ["*"] })),
            ),
        )
        .await;
        let want = if tok.is_none() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(
            (status, p["code"].as_str()),
            (want, Some(code)),
            "{who} over REST"
        );
        let (status, _, _) =
            send_to(&r, request("GET", "/api/v1/webhooks", tok.as_deref(), None)).await;
        assert_eq!(status, want, "{who} lists over REST");
        let (status, _, _) = send_to(
            &r,
            request("GET", "/api/v1/webhooks/1/deliveries", tok.as_deref(), None),
        )
        .await;
        assert_eq!(status, want, "{who} reads a log over REST");
    }
    assert_eq!(
        app.row_counts(&["webhooks", "webhook_deliveries"]).await,
        vec![0, 0]
    );
}

async fn urls_that_reach_inside_are_refused_and_nothing_is_written(app: &TestApp) {
    app.import(newsroom()).await;
    let strict = Settings {
        allow_private: false,
        ..fast()
    };
    let r = router(app, &strict);
    for (url, why) in [
        ("http://hooks.example.com/in", "not https"),
        ("ftp://hooks.example.com/in", "not https"),
        ("https://localhost/in", "a loopback name"),
        ("https://127.0.0.1/in", "loopback"),
        ("https://127.1.2.3:8443/in", "loopback"),
        ("https://[::1]/in", "IPv6 loopback"),
        ("https://10.0.0.1/in", "private"),
        ("https://172.16.5.4/in", "private"),
        ("https://192.168.1.1/in", "private"),
        ("https://[fc00::1]/in", "IPv6 unique local"),
        ("https://169.254.1.1/in", "link-local"),
        ("https://[fe80::1]/in", "IPv6 link-local"),
        ("https://100.64.0.1/in", "carrier-grade NAT"),
        ("https://100.127.255.254/in", "carrier-grade NAT"),
        ("https://0.0.0.0/in", "unspecified"),
        ("https://[::]/in", "IPv6 unspecified"),
        ("https://169.254.169.254/latest/meta-data", "cloud metadata"),
        ("https://[fd00:ec2::254]/in", "cloud metadata (IPv6)"),
        ("https://[::ffff:127.0.0.1]/in", "IPv4-mapped loopback"),
        ("https://[::ffff:10.0.0.1]/in", "IPv4-mapped private"),
        (
            "https://[::ffff:169.254.169.254]/in",
            "IPv4-mapped metadata",
        ),
        ("https://[::ffff:100.64.0.1]/in", "IPv4-mapped CGNAT"),
        ("https://user:pw@hooks.example.com/in", "credentials"),
    ] {
        let body = gql(
            &r,
            Some(&admin()),
            CREATE,
            json!({ "i": { "url": url, "eventTypes": ["*"] } }),
        )
        .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{why} ({url}): {body}"
        );
        let (status, _, p) = send_to(
            &r,
            request(
                "POST",
                "/api/v1/webhooks",
                Some(&admin()),
                Some(json!({ "url": url, "event_types": ["*"] })),
            ),
        )
        .await;
        assert_eq!(
            (status, p["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("BAD_USER_INPUT")),
            "{why} ({url}) over REST: {p}"
        );
    }
    // Nor can an existing endpoint be pointed inside.
    let loose = router(app, &fast());
    let (id, _) = create(
        &loose,
        json!({ "url": "https://hooks.example.com/in", "eventTypes": ["*"] }),
    )
    .await;
    let body = gql(
        &r,
        Some(&admin()),
        "mutation($id: ID!) { updateWebhook(id: $id, input: { url: \"https://169.254.169.254/\" }) { url } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    let kept = gql(&r, Some(&admin()), "{ webhooks { url } }", json!({})).await;
    assert_eq!(
        kept["data"]["webhooks"],
        json!([{ "url": "https://hooks.example.com/in" }])
    );
    assert_eq!(
        app.row_counts(&["webhooks", "webhook_deliveries"]).await,
        vec![1, 0]
    );
}

async fn without_a_key_webhooks_cannot_be_created(app: &TestApp) {
    let r = router(
        app,
        &Settings {
            key: None,
            ..fast()
        },
    );
    let body = gql(
        &r,
        Some(&admin()),
        CREATE,
        json!({ "i": { "url": "https://hooks.example.com/", "eventTypes": ["*"] } }),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAVAILABLE",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("GAZETTE_WEBHOOK_KEY")),
        "the message names the setting: {body}"
    );
    assert_eq!(app.count_rows("webhooks").await, 0);
}

async fn a_receiver_gets_signed_events_in_order_and_never_a_draft(app: &TestApp) {
    app.import(newsroom()).await;
    let settings = fast();
    let r = router(app, &settings);
    let (rx, url) = Receiver::start().await;
    let (id, secret) = create(
        &r,
        json!({ "url": url, "eventTypes": ["article.*", "section.created"] }),
    )
    .await;
    let w = worker(app.db.clone(), &settings);

    // A draft's life before publication sends nothing.
    let slug = draft(app, "Harbour deal signed").await;
    edit(app, &slug, "A first dek").await;
    app.step_as(&editor(), "submitArticle", &slug).await;
    let hidden = draft(app, "Never published").await;
    let (hid, hv) = app.id_version(&hidden).await;
    app.ok_as(
        &admin(),
        "mutation($id: ID!, $v: Int!) { deleteArticle(id: $id, expectedVersion: $v) }",
        json!({ "id": hid, "v": hv }),
    )
    .await;
    // Then: published, edited, unpublished (each message made before the next change, so
    // that it shows the article as the change left it); and a new section.
    app.step_as(&editor(), "publishArticle", &slug).await;
    rx.wait(20, "the publication", |g| !g.is_empty()).await;
    edit(app, &slug, "A second dek").await;
    rx.wait(20, "the update", |g| g.len() >= 2).await;
    app.step_as(&editor(), "unpublishArticle", &slug).await;
    app.ok_as(
        &editor(),
        "mutation { createSection(input: { name: \"Sport\" }) { path } }",
        json!({}),
    )
    .await;

    let got = rx.wait(20, "four messages", |g| g.len() >= 4).await;
    wait_log(&r, &id, "every delivery recorded", |l| {
        l.len() == 4 && l.iter().all(|d| d["status"] == "SUCCEEDED")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let got_all = rx.got();
    w.abort();
    assert_eq!(
        got_all.len(),
        4,
        "nothing else arrives: {:?}",
        kinds(&got_all)
    );
    // In order per article; other entities' messages go out beside them.
    let of_article: Vec<String> = kinds(&got)
        .into_iter()
        .filter(|k| k.starts_with("article."))
        .collect();
    assert_eq!(
        of_article,
        [
            "article.published",
            "article.updated",
            "article.unpublished"
        ]
    );
    let got: Vec<Received> = {
        let mut g = got.clone();
        g.sort_by_key(|r| body_of(r)["type"] == "section.created");
        g
    };
    for m in &got {
        verify(&secret, m);
        assert!(header(&m.headers, "webhook-id").starts_with("msg_"));
        assert!(header(&m.headers, "webhook-signature").starts_with("v1,"));
        assert_eq!(header(&m.headers, "content-type"), "application/json");
    }
    let published = body_of(&got[0]);
    assert!(published["timestamp"].is_string());
    assert_eq!(published["data"]["slug"], slug.as_str());
    assert_eq!(published["data"]["status"], "PUBLISHED");
    assert_eq!(published["data"]["dek"], "A first dek");
    assert_eq!(published["data"]["section"]["path"], "world");
    let keys = published["data"]["surrogate_keys"]
        .as_array()
        .expect("keys");
    let (aid, _) = app.id_version(&slug).await;
    assert!(
        keys.contains(&json!(format!("a{aid}"))),
        "the article's key: {keys:?}"
    );
    assert_eq!(body_of(&got[1])["data"]["dek"], "A second dek");
    // What is no longer public is named, not shown.
    let gone = body_of(&got[2])["data"].clone();
    assert_eq!(gone["id"].to_string(), aid);
    assert!(gone.get("headline").is_none(), "{gone}");
    assert_eq!(body_of(&got[3])["data"]["path"], "sport");
    // Versions in order.
    let v = |i: usize| {
        body_of(&got[i])["data"]["change"]["version"]
            .as_i64()
            .expect("version")
    };
    assert!(v(0) < v(1) && v(1) < v(2), "{} {} {}", v(0), v(1), v(2));

    // The log shows each delivery once, succeeded at the first attempt.
    let l = log(&r, &id).await;
    assert_eq!(l.len(), 4, "{l:?}");
    for d in &l {
        assert_eq!(
            (d["status"].as_str(), d["attempts"].as_i64()),
            (Some("SUCCEEDED"), Some(1)),
            "{d}"
        );
        assert_eq!(d["lastStatus"], 200);
        assert!(d["lastLatencyMs"].is_number() && d["deliveredAt"].is_string());
    }
    let (status, _, page) = send_to(
        &r,
        request(
            "GET",
            &format!("/api/v1/webhooks/{id}/deliveries?limit=3"),
            Some(&admin()),
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["data"].as_array().map(Vec::len), Some(3));
    assert_eq!(page["data"][0]["event_type"], "section.created");
    assert_eq!(page["data"][0]["status"], "succeeded");
    let next = page["next_cursor"].as_str().expect("a next page");
    let (_, _, rest) = send_to(
        &r,
        request(
            "GET",
            &format!("/api/v1/webhooks/{id}/deliveries?limit=3&before={next}"),
            Some(&admin()),
            None,
        ),
    )
    .await;
    assert_eq!(rest["data"][0]["event_type"], "article.published");
    assert_eq!(rest["next_cursor"], Value::Null);
}

/// Publishes a story through the editor; returns its slug.
async fn publish(app: &TestApp, headline: &str) -> String {
    let slug = draft(app, headline).await;
    app.step_as(&editor(), "publishArticle", &slug).await;
    slug
}

async fn a_failing_receiver_is_retried_with_backoff_then_dead_lettered_and_redelivered(
    app: &TestApp,
) {
    app.import(newsroom()).await;
    let settings = fast();
    let r = router(app, &settings);
    let (rx, url) = Receiver::start().await;
    let (id, secret) = create(
        &r,
        json!({ "url": url, "eventTypes": ["article.published"] }),
    )
    .await;
    // A 429 asking for a second, then server errors until it is dead-lettered.
    rx.script(&[Answer::TooMany(1)]);
    rx.set_always(Some(Answer::Status(503)));
    let w = worker(app.db.clone(), &settings);
    publish(app, "Storm closes the port").await;

    let l = wait_log(&r, &id, "a dead delivery", |l| {
        l.first().is_some_and(|d| d["status"] == "DEAD")
    })
    .await;
    let got = rx.got();
    assert_eq!(got.len(), 4, "four attempts, then none");
    assert_eq!(l[0]["attempts"], 4);
    assert_eq!(l[0]["lastStatus"], 503);
    assert_eq!(l[0]["lastError"], "answered 503");
    let ids: HashSet<String> = got
        .iter()
        .map(|g| header(&g.headers, "webhook-id"))
        .collect();
    assert_eq!(ids.len(), 1, "the same webhook-id on every attempt");
    for g in &got {
        verify(&secret, g);
    }
    let gaps: Vec<Duration> = got.windows(2).map(|p| p[1].at - p[0].at).collect();
    eprintln!(
        "webhook attempts under a failing receiver (429 Retry-After: 1, then 503s; schedule 100/200/400 ms ±20 %): answers {:?}, gaps {:?}",
        got.iter().map(|g| g.answered).collect::<Vec<_>>(),
        gaps
    );
    assert!(
        gaps[0] >= Duration::from_millis(950),
        "Retry-After honoured: {gaps:?}"
    );
    assert!(
        gaps[1] >= Duration::from_millis(160),
        "second wait ≥ 200 ms − 20 %: {gaps:?}"
    );
    assert!(
        gaps[2] >= Duration::from_millis(320),
        "third wait ≥ 400 ms − 20 %: {gaps:?}"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        rx.got().len(),
        4,
        "a dead delivery is not attempted again by itself"
    );

    // Dead ones are listed by status; an admin redelivers, with the same webhook-id.
    let (_, _, dead) = send_to(
        &r,
        request(
            "GET",
            &format!("/api/v1/webhooks/{id}/deliveries?status=dead"),
            Some(&admin()),
            None,
        ),
    )
    .await;
    let did = dead["data"][0]["id"].as_i64().expect("a dead delivery");
    let by_status = gql(
        &r,
        Some(&admin()),
        "query($id: ID!) { webhook(id: $id) { dead: deliveries(status: DEAD) { id } ok: deliveries(status: SUCCEEDED) { id } } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(
        by_status["data"]["webhook"],
        json!({ "dead": [{ "id": did.to_string() }], "ok": [] }),
        "{by_status}"
    );
    rx.set_always(None);
    let body = gql(
        &r,
        Some(&editor()),
        "mutation($w: ID!, $d: ID!) { redeliverWebhookDelivery(webhook: $w, delivery: $d) { status } }",
        json!({ "w": id, "d": did.to_string() }),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "editors may not: {body}"
    );
    let (status, _, again) = send_to(
        &r,
        request(
            "POST",
            &format!("/api/v1/webhooks/{id}/deliveries/{did}/redeliver"),
            Some(&admin()),
            None,
        ),
    )
    .await;
    assert_eq!(
        (status, again["status"].as_str()),
        (StatusCode::OK, Some("pending")),
        "{again}"
    );
    let got = rx.wait(10, "the redelivery", |g| g.len() >= 5).await;
    let last = got.last().expect("redelivered");
    assert_eq!(last.answered, 200);
    assert!(ids.contains(&header(&last.headers, "webhook-id")));
    verify(&secret, last);
    wait_log(&r, &id, "a succeeded redelivery", |l| {
        l[0]["status"] == "SUCCEEDED"
    })
    .await;
    w.abort();
}

async fn versions_of_an_article_wait_for_the_earlier_one(app: &TestApp) {
    app.import(newsroom()).await;
    let settings = fast();
    let r = router(app, &settings);
    let (rx, url) = Receiver::start().await;
    let (id, _) = create(&r, json!({ "url": url, "eventTypes": ["article.*"] })).await;
    // The first message fails twice before it goes through.
    rx.script(&[Answer::Status(500), Answer::Status(502)]);
    let slug = publish(app, "Ferry strike").await;
    edit(app, &slug, "Day two").await;
    edit(app, &slug, "Day three").await;
    let other = publish(app, "Unrelated story").await;
    let w = worker(app.db.clone(), &settings);
    let got = rx
        .wait(20, "every message delivered", |g| {
            g.iter().filter(|r| r.answered == 200).count() >= 4
        })
        .await;
    // Of the first story: published (after its two failures), then the updates, in order;
    // no update reached the receiver before the publication went through.
    let of = |s: &str| -> Vec<(String, i64, u16)> {
        got.iter()
            .map(|g| (body_of(g), g.answered))
            .filter(|(b, _)| b["data"]["slug"] == s)
            .map(|(b, a)| {
                (
                    b["type"].as_str().unwrap_or_default().to_owned(),
                    b["data"]["change"]["version"].as_i64().unwrap_or(0),
                    a,
                )
            })
            .collect()
    };
    let first = of(&slug);
    let published: Vec<u16> = first
        .iter()
        .filter(|(t, _, _)| t == "article.published")
        .map(|(_, _, a)| *a)
        .collect();
    assert!(
        published.len() >= 2 && published.last() == Some(&200),
        "{first:?}"
    );
    let updates: Vec<&(String, i64, u16)> = first
        .iter()
        .filter(|(t, _, _)| t == "article.updated")
        .collect();
    assert_eq!(updates.len(), 2, "{first:?}");
    assert!(updates.iter().all(|(_, _, a)| *a == 200), "{first:?}");
    let first_update = first.iter().position(|(t, _, _)| t == "article.updated");
    let last_publish = first.iter().rposition(|(t, _, _)| t == "article.published");
    assert!(
        last_publish < first_update,
        "no update before the publication went through: {first:?}"
    );
    assert!(updates[0].1 < updates[1].1, "versions in order: {first:?}");
    // Another article is not held back by this one.
    assert!(of(&other).iter().any(|(_, _, a)| *a == 200));
    wait_log(&r, &id, "every delivery recorded", |l| {
        l.len() == 4 && l.iter().all(|d| d["status"] == "SUCCEEDED")
    })
    .await;
    w.abort();
}

async fn a_worker_killed_mid_delivery_loses_nothing(app: &TestApp) {
    app.import(newsroom()).await;
    let settings = fast();
    let r = router(app, &settings);
    let (rx, url) = Receiver::start().await;
    let (id, secret) = create(
        &r,
        json!({ "url": url, "eventTypes": ["article.published"] }),
    )
    .await;
    rx.script(&[Answer::Hang(Duration::from_secs(30))]);
    publish(app, "Blackout hits the city").await;
    let first = worker(app.db.clone(), &settings);
    rx.wait(10, "the first attempt", |g| !g.is_empty()).await;
    // Killed while the receiver holds the request.
    first.abort();
    let killed_at = Instant::now();
    let second = worker(app.second_connection().await, &settings);
    let got = rx
        .wait(20, "the attempt after the lease", |g| g.len() >= 2)
        .await;
    let waited = got[1].at.duration_since(killed_at);
    assert!(
        waited >= settings.lease() - Duration::from_secs(2) - Duration::from_millis(100),
        "after the lease: {waited:?}"
    );
    assert_eq!(
        header(&got[0].headers, "webhook-id"),
        header(&got[1].headers, "webhook-id")
    );
    verify(&secret, &got[1]);
    let l = wait_log(&r, &id, "a succeeded delivery", |l| {
        l[0]["status"] == "SUCCEEDED"
    })
    .await;
    second.abort();
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["attempts"], 2, "the killed attempt counts: {l:?}");
}

async fn two_workers_never_attempt_one_delivery_at_the_same_time(app: &TestApp) {
    app.import(newsroom()).await;
    let settings = fast();
    let r = router(app, &settings);
    let (rx, url) = Receiver::start().await;
    *rx.delay.lock().expect("lock") = Duration::from_millis(30);
    let (id, _) = create(&r, json!({ "url": url, "eventTypes": ["article.*"] })).await;
    let mut slugs = Vec::new();
    for i in 0..12 {
        let slug = draft(app, &format!("Story number {i}")).await;
        app.step_as(&editor(), "publishArticle", &slug).await;
        slugs.push(slug);
    }
    let a = worker(app.db.clone(), &settings);
    let b = worker(app.second_connection().await, &settings);
    let got = rx.wait(30, "twelve messages", |g| g.len() >= 12).await;
    wait_log(&r, &id, "every delivery recorded", |l| {
        l.len() == 12 && l.iter().all(|d| d["status"] == "SUCCEEDED")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    a.abort();
    b.abort();
    let got_all = rx.got();
    assert_eq!(got_all.len(), got.len(), "nothing more");
    assert_eq!(
        rx.overlaps.load(Ordering::SeqCst),
        0,
        "no message was in flight twice"
    );
    let ids: HashSet<String> = got_all
        .iter()
        .map(|g| header(&g.headers, "webhook-id"))
        .collect();
    assert_eq!(ids.len(), 12, "each message once");
    let l = log(&r, &id).await;
    assert_eq!(l.len(), 12);
    assert!(
        l.iter()
            .all(|d| d["status"] == "SUCCEEDED" && d["attempts"] == 1),
        "{l:?}"
    );
}

async fn an_import_sends_one_import_completed(app: &TestApp) {
    let settings = fast();
    let r = router(app, &settings);
    let (rx, url) = Receiver::start().await;
    let (id, secret) = create(&r, json!({ "url": url, "eventTypes": ["*"] })).await;
    app.import(newsroom()).await;
    let w = worker(app.db.clone(), &settings);
    let got = rx.wait(10, "import.completed", |g| !g.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.abort();
    let all = rx.got();
    assert_eq!(
        kinds(&all),
        ["import.completed"],
        "no message per imported article"
    );
    verify(&secret, &got[0]);
    let b = body_of(&got[0]);
    assert_eq!(b["data"]["counts"]["articles"]["created"], 8, "{b}");
    let from = b["data"]["from"].as_str().expect("from");
    let to = b["data"]["to"].as_str().expect("to");
    assert_ne!(from, to, "the stream moved during the import");
    assert_eq!(log(&r, &id).await.len(), 1);
}

async fn a_rotated_secret_signs_beside_the_new_one(app: &TestApp) {
    app.import(newsroom()).await;
    let settings = fast();
    let r = router(app, &settings);
    let (rx, url) = Receiver::start().await;
    let (id, old) = create(
        &r,
        json!({ "url": url, "eventTypes": ["article.published"] }),
    )
    .await;
    let body = gql(
        &r,
        Some(&admin()),
        "mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret webhook { previousSecretUntil } } }",
        json!({ "id": id }),
    )
    .await;
    let new = body["data"]["rotateWebhookSecret"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    assert_ne!(new, old);
    let w = worker(app.db.clone(), &settings);
    publish(app, "New bridge opens").await;
    let got = rx.wait(10, "the message", |g| !g.is_empty()).await;
    w.abort();
    let sig = header(&got[0].headers, "webhook-signature");
    assert_eq!(
        sig.split(' ').filter(|s| s.starts_with("v1,")).count(),
        2,
        "{sig}"
    );
    verify(&new, &got[0]);
    verify(&old, &got[0]);
}

async fn an_endpoint_failing_for_the_pause_window_is_paused(app: &TestApp) {
    app.import(newsroom()).await;
    let settings = Settings {
        // The third attempt comes at least 240 ms after the first failure (80 + 160 ms).
        pause_after: Duration::from_millis(200),
        max_attempts: 3,
        ..fast()
    };
    let r = router(app, &settings);
    let (rx, url) = Receiver::start().await;
    rx.set_always(Some(Answer::Status(500)));
    let (id, _) = create(
        &r,
        json!({ "url": url, "eventTypes": ["article.published"] }),
    )
    .await;
    let w = worker(app.db.clone(), &settings);
    publish(app, "First failure").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let paused = loop {
        let b = gql(
            &r,
            Some(&admin()),
            "query($id: ID!) { webhook(id: $id) { active pausedReason failingSince } }",
            json!({ "id": id }),
        )
        .await;
        if b["data"]["webhook"]["active"] == false {
            break b;
        }
        assert!(Instant::now() < deadline, "not paused: {b}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(paused["data"]["webhook"]["pausedReason"], "failing");
    // Paused: what happens now is not delivered; resumed, it starts from there.
    let seen = rx.got().len();
    publish(app, "While paused").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.got().len(), seen, "nothing goes to a paused endpoint");
    rx.set_always(None);
    let resumed = gql(&r, Some(&admin()), "mutation($id: ID!) { updateWebhook(id: $id, input: { active: true }) { active pausedReason failingSince } }", json!({ "id": id })).await;
    assert_eq!(
        resumed["data"]["updateWebhook"],
        json!({ "active": true, "pausedReason": null, "failingSince": null })
    );
    let after = publish(app, "After resuming").await;
    let got = rx
        .wait(10, "a message after resuming", |g| {
            g.iter().any(|r| r.answered == 200)
        })
        .await;
    w.abort();
    let ok: Vec<Value> = got
        .iter()
        .filter(|g| g.answered == 200)
        .map(body_of)
        .collect();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0]["data"]["slug"], after.as_str());
}

async fn listing_endpoints_with_their_logs_takes_the_same_statements_for_two_or_six(app: &TestApp) {
    app.import(newsroom()).await;
    let settings = fast();
    let r = router(app, &settings);
    let (rx, url) = Receiver::start().await;
    let q = "{ webhooks { id deliveries(first: 5) { id status } } }";
    let count = |n: usize| {
        let r = r.clone();
        async move {
            app.take_statement_count();
            let body = gql(&r, Some(&admin()), q, json!({})).await;
            assert_eq!(
                body["data"]["webhooks"].as_array().map(Vec::len),
                Some(n),
                "{body}"
            );
            app.take_statement_count()
        }
    };
    for _ in 0..2 {
        create(
            &r,
            json!({ "url": url, "eventTypes": ["article.published"] }),
        )
        .await;
    }
    let w = worker(app.db.clone(), &settings);
    publish(app, "One for the logs").await;
    rx.wait(10, "two messages", |g| g.len() >= 2).await;
    w.abort();
    let two = count(2).await;
    for _ in 0..4 {
        create(
            &r,
            json!({ "url": url, "eventTypes": ["article.published"] }),
        )
        .await;
    }
    let six = count(6).await;
    assert_eq!(
        two, six,
        "statements of a listing with logs do not grow with the endpoints"
    );
}

/// A REST comment on `slug` from the client address `ip`.
async fn comment_on(r: &Router, ip: &str, slug: &str, body: Value) -> Value {
    let mut req = request(
        "POST",
        &format!("/api/v1/articles/{slug}/comments"),
        None,
        Some(body),
    );
    let addr: std::net::SocketAddr = format!("{ip}:4000").parse().expect("address");
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    let (status, _, body) = send_to(r, req).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// An editor's decision on comment `id`.
async fn moderate(r: &Router, id: i64, status: &str) {
    let (s, _, body) = send_to(
        r,
        request(
            "POST",
            &format!("/api/v1/comments/{id}/moderate"),
            Some(&editor()),
            Some(json!({ "status": status })),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// A router with webhooks and comments (a blocked word, no automatic closing).
fn with_comments(app: &TestApp, settings: &Settings) -> Router {
    let state = gazette::AppState::new(app.db.clone(), test_auth())
        .with_http(rate_limits((100_000, 100_000), (100_000, 100_000)))
        .with_site(test_site(|_| {}))
        .with_webhooks(settings.clone())
        .with_comments(
            gazette::domain::comments::Service::new(gazette::domain::comments::Settings {
                close_after_days: 0,
                blocked_words: vec!["casino".into()],
                email_key: Some(vec![7; 32]),
                ..Default::default()
            })
            .expect("comments"),
        );
    gazette::app(state)
}

async fn comment_events_tell_only_of_comments_a_reader_could_read(app: &TestApp) {
    app.import(newsroom()).await;
    let settings = fast();
    let r = with_comments(app, &settings);
    let (rx, url) = Receiver::start().await;
    let (id, secret) = create(&r, json!({ "url": url, "eventTypes": ["comment.*"] })).await;
    let w = worker(app.db.clone(), &settings);

    // Held on posting, then marked as spam: nobody but editors ever saw it.
    let held = comment_on(
        &r,
        "192.0.2.1",
        "talks-resume",
        json!({ "author_name": "Sam", "body": "Best casino odds here" }),
    )
    .await;
    assert_eq!(held["status"], "PENDING");
    let held = held["id"].as_i64().expect("id");
    moderate(&r, held, "SPAM").await;
    // Approved at once, then rejected by an editor.
    let clean = comment_on(
        &r,
        "192.0.2.2",
        "talks-resume",
        json!({ "author_name": "Ana", "author_email": "ana@example.org", "body": "Clear and fair reporting." }),
    )
    .await;
    assert_eq!(clean["status"], "APPROVED");
    let clean = clean["id"].as_i64().expect("id");
    rx.wait(20, "the approval", |g| !g.is_empty()).await;
    moderate(&r, clean, "REJECTED").await;
    // The held one approved after all.
    moderate(&r, held, "APPROVED").await;
    let got = rx.wait(20, "three messages", |g| g.len() >= 3).await;
    // Its article unpublished, its comments' fate is nobody's business but the newsroom's.
    app.step_as(&editor(), "unpublishArticle", "talks-resume")
        .await;
    moderate(&r, held, "REJECTED").await;
    wait_log(&r, &id, "three deliveries", |l| {
        l.len() == 3 && l.iter().all(|d| d["status"] == "SUCCEEDED")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = rx.got();
    w.abort();
    assert_eq!(
        kinds(&all),
        ["comment.approved", "comment.removed", "comment.approved"],
        "nothing of held comments, nothing on a hidden article"
    );
    for m in &got {
        verify(&secret, m);
    }
    let (aid, _) = app.id_version("talks-resume").await;
    let first = body_of(&got[0])["data"].clone();
    assert_eq!(first["id"], clean);
    assert_eq!(first["body_html"], "<p>Clear and fair reporting.</p>");
    assert_eq!(first["article_slug"], "talks-resume");
    assert_eq!(first["status"], "APPROVED");
    assert!(
        first.get("author_email").is_none(),
        "emails are for editors: {first}"
    );
    assert!(first.get("reasons").is_none(), "{first}");
    assert!(
        first["surrogate_keys"]
            .as_array()
            .expect("keys")
            .contains(&json!(format!("a{aid}"))),
        "its article's key, to purge the page: {first}"
    );
    let removed = body_of(&got[1])["data"].clone();
    assert_eq!(removed["id"], clean);
    assert!(
        removed.get("body").is_none(),
        "a removed comment is named, not shown: {removed}"
    );
    assert_eq!(body_of(&got[2])["data"]["body"], "Best casino odds here");
}

async fn erasing_a_commenter_removes_the_replies_under_their_comments_too(app: &TestApp) {
    app.import(newsroom()).await;
    let settings = fast();
    let r = with_comments(app, &settings);
    let (rx, url) = Receiver::start().await;
    let (_, secret) = create(&r, json!({ "url": url, "eventTypes": ["comment.*"] })).await;
    let w = worker(app.db.clone(), &settings);
    let gina = comment_on(
        &r,
        "192.0.2.10",
        "talks-resume",
        json!({ "author_name": "Gina", "author_email": "gina@example.org", "body": "A fair summary of the talks." }),
    )
    .await;
    assert_eq!(gina["status"], "APPROVED");
    let reply = comment_on(
        &r,
        "192.0.2.11",
        "talks-resume",
        json!({ "author_name": "Ana", "author_email": "ana@example.org", "body": "Agreed, well put.", "parent_id": gina["id"] }),
    )
    .await;
    assert_eq!(reply["status"], "APPROVED");
    rx.wait(20, "two approvals", |g| g.len() >= 2).await;
    let (s, _, erased) = send_to(
        &r,
        request(
            "POST",
            "/api/v1/comments/commenter/erase",
            Some(&admin()),
            Some(json!({ "email": "gina@example.org", "mode": "delete" })),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{erased}");
    let got = rx.wait(20, "two removals", |g| g.len() >= 4).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let all = rx.got();
    w.abort();
    assert_eq!(
        kinds(&all),
        [
            "comment.approved",
            "comment.approved",
            "comment.removed",
            "comment.removed"
        ]
    );
    let mut removed: Vec<Value> = got[2..4]
        .iter()
        .map(|m| {
            verify(&secret, m);
            body_of(m)["data"]["id"].clone()
        })
        .collect();
    removed.sort_by_key(|v| v.as_i64());
    assert_eq!(
        removed,
        [gina["id"].clone(), reply["id"].clone()],
        "the reply went with the comment it answered, and readers are told"
    );
}
