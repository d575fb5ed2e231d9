//! Token verification, through the real router: every bad token is a 401 with
//! `WWW-Authenticate: Bearer` and `UNAUTHENTICATED`, even on a public query; no token is
//! anonymous; the accepted algorithm follows from the configured key.

use axum::http::{StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
use gazette::auth::Auth;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{
    TEST_SECRET, TestApp, WithHeader as _, graphql_request, now, raw_token, sign, sign_with, token,
};

const PUBLIC_QUERY: &str = "{ sections { path } }";
const MUTATION: &str = "mutation { createSection(input: { name: \"Sport\" }) { path } }";

async fn send_with(
    app: &TestApp,
    authorization: &str,
    query: &str,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let req =
        graphql_request(None, query, &json!({})).with_header(header::AUTHORIZATION, authorization);
    app.send(req).await
}

async fn assert_refused(app: &TestApp, what: &str, authorization: &str) {
    for query in [PUBLIC_QUERY, MUTATION] {
        let (status, headers, body) = send_with(app, authorization, query).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer", "{what}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{what}: {body}"
        );
        assert!(
            body.get("data").is_none(),
            "{what}: nothing is answered: {body}"
        );
    }
    assert_eq!(
        app.count_rows("sections").await,
        0,
        "{what}: nothing was written"
    );
}

#[tokio::test]
async fn bad_hs256_tokens_are_refused_even_on_public_queries() {
    let app = TestApp::sqlite().await;
    let t = now();
    let good = json!({ "sub": "alice", "role": "editor", "exp": t + 600 });
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = good.clone();
        c.as_object_mut().map(|o| o.remove(k));
        c
    };
    let valid = sign(good.clone());
    let mut parts = valid.split('.');
    let (h, p) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let cases: Vec<(&str, String)> = vec![
        (
            "wrong key",
            format!(
                "Bearer {}",
                sign_with(good.clone(), b"another-secret-that-is-also-32-bytes-long")
            ),
        ),
        (
            "expired",
            format!("Bearer {}", sign(with("exp", json!(t - 120)))),
        ),
        (
            "not yet valid",
            format!("Bearer {}", sign(with("nbf", json!(t + 120)))),
        ),
        ("no exp", format!("Bearer {}", sign(without("exp")))),
        ("no sub", format!("Bearer {}", sign(without("sub")))),
        (
            "empty sub",
            format!("Bearer {}", sign(with("sub", json!("")))),
        ),
        (
            "unknown role",
            format!("Bearer {}", sign(with("role", json!("superuser")))),
        ),
        ("no role", format!("Bearer {}", sign(without("role")))),
        (
            "alg none",
            format!(
                "Bearer {}",
                raw_token(json!({ "alg": "none", "typ": "JWT" }), good.clone(), "")
            ),
        ),
        (
            "alg HS512",
            format!("Bearer {}", {
                let k = EncodingKey::from_secret(TEST_SECRET.as_bytes());
                jsonwebtoken::encode(&Header::new(Algorithm::HS512), &good, &k).expect("sign")
            }),
        ),
        (
            "crit header",
            format!("Bearer {}", {
                let header = json!({ "alg": "HS256", "typ": "JWT", "crit": ["exp"] });
                raw_token(header, good.clone(), "sig")
            }),
        ),
        (
            "typ not JWT",
            format!(
                "Bearer {}",
                raw_token(
                    json!({ "alg": "HS256", "typ": "at+jwt+x" }),
                    good.clone(),
                    "sig"
                )
            ),
        ),
        (
            "tampered payload",
            format!(
                "Bearer {h}.{}.{}",
                URL_SAFE_NO_PAD.encode(with("role", json!("admin")).to_string()),
                valid.rsplit('.').next().unwrap_or("")
            ),
        ),
        ("truncated", format!("Bearer {h}.{p}")),
        ("garbage", "Bearer not-a-token".into()),
        ("empty bearer", "Bearer ".into()),
        ("basic scheme", "Basic YWxpY2U6c2VjcmV0".into()),
        ("no scheme", valid.clone()),
        ("huge", format!("Bearer {}", "a".repeat(10_000))),
    ];
    for (what, authorization) in cases {
        assert_refused(&app, what, &authorization).await;
    }
    // The good token works, and no token is anonymous.
    let (status, _, body) = send_with(&app, &format!("Bearer {valid}"), PUBLIC_QUERY).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.graphql(PUBLIC_QUERY, json!({})).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({ "data": { "sections": [] } }))
    );
    app.cleanup().await;
}

#[tokio::test]
async fn leeway_is_at_most_thirty_seconds() {
    let app = TestApp::sqlite().await;
    let t = now();
    let just_expired = sign(json!({ "sub": "a", "role": "editor", "exp": t - 10 }));
    let (status, _, _) = send_with(&app, &format!("Bearer {just_expired}"), PUBLIC_QUERY).await;
    assert_eq!(status, StatusCode::OK, "10 s past exp is within the leeway");
    let long_expired = sign(json!({ "sub": "a", "role": "editor", "exp": t - 45 }));
    assert_refused(&app, "45 s past exp", &format!("Bearer {long_expired}")).await;
    app.cleanup().await;
}

#[tokio::test]
async fn issuer_and_audience_are_required_and_checked_when_configured() {
    let auth = Auth::hs256(
        TEST_SECRET.as_bytes(),
        Some("https://id.example".into()),
        Some("gazette".into()),
    )
    .expect("auth");
    let app = TestApp::sqlite_with(auth).await;
    let t = now();
    let base = json!({ "sub": "a", "role": "editor", "exp": t + 600, "iss": "https://id.example", "aud": "gazette" });
    let ok = sign(base.clone());
    let (status, _, body) = send_with(&app, &format!("Bearer {ok}"), MUTATION).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["createSection"]["path"], "sport", "{body}");
    app.exec("DELETE FROM sections").await;
    let cases = [
        ("wrong issuer", "iss", json!("https://evil.example")),
        ("wrong audience", "aud", json!("someone-else")),
        ("no issuer", "iss", Value::Null),
        ("no audience", "aud", Value::Null),
    ];
    for (what, claim, value) in cases {
        let mut c = base.clone();
        if value.is_null() {
            c.as_object_mut().map(|o| o.remove(claim));
        } else {
            c[claim] = value;
        }
        assert_refused(&app, what, &format!("Bearer {}", sign(c))).await;
    }
    app.cleanup().await;
}

#[tokio::test]
async fn an_eddsa_server_refuses_hs256_tokens_signed_with_its_public_key() {
    let signing = SigningKey::from_bytes(&[7u8; 32]);
    let public_pem = signing
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("public pem");
    let private_pem = signing.to_pkcs8_pem(LineEnding::LF).expect("private pem");
    let auth = Auth::public_key(public_pem.as_bytes(), None, None).expect("eddsa auth");
    let app = TestApp::sqlite_with(auth).await;
    let claims = json!({ "sub": "a", "role": "editor", "exp": now() + 600 });

    let good = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims,
        &EncodingKey::from_ed_pem(private_pem.as_bytes()).expect("key"),
    )
    .expect("sign");
    let (status, _, body) = send_with(&app, &format!("Bearer {good}"), MUTATION).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["createSection"]["path"], "sport", "{body}");
    app.exec("DELETE FROM sections").await;

    let confused = sign_with(claims.clone(), public_pem.as_bytes());
    assert_refused(
        &app,
        "key confusion: HS256 signed with the public key",
        &format!("Bearer {confused}"),
    )
    .await;
    assert_refused(
        &app,
        "HS256 with the test secret",
        &format!("Bearer {}", sign(claims)),
    )
    .await;
    app.cleanup().await;
}

#[tokio::test]
async fn short_secrets_are_refused_at_start() {
    for short in ["", "x", "thirty-one-bytes-long-secret!!!"] {
        assert!(
            Auth::hs256(short.as_bytes(), None, None).is_err(),
            "{} bytes",
            short.len()
        );
    }
    assert!(Auth::hs256(&[b'k'; 32], None, None).is_ok());
    assert!(
        Auth::public_key(
            b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n",
            None,
            None
        )
        .is_err()
    );
}

#[tokio::test]
async fn without_a_key_reads_work_and_every_mutation_is_refused() {
    let app = TestApp::sqlite_with(Auth::disabled()).await;
    let (status, body) = app.graphql(PUBLIC_QUERY, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = app.graphql(MUTATION, json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let msg = body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("GAZETTE_JWT_SECRET"),
        "the refusal says what to configure: {msg}"
    );
    assert_refused(
        &app,
        "any token",
        &format!("Bearer {}", token("a", "admin")),
    )
    .await;
    app.cleanup().await;
}

#[tokio::test]
async fn minted_tokens_are_accepted_by_the_same_server() {
    let auth = Auth::hs256(
        TEST_SECRET.as_bytes(),
        Some("iss".into()),
        Some("aud".into()),
    )
    .expect("auth");
    let minted = auth
        .mint("alice", gazette::domain::access::Role::Editor, None, 60)
        .expect("mint");
    let app = TestApp::sqlite_with(auth).await;
    let (status, _, body) = send_with(&app, &format!("Bearer {minted}"), MUTATION).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["createSection"]["path"], "sport");
    app.cleanup().await;
}

#[test]
fn the_generated_secret_is_owner_only_and_stable() {
    let dir = tempfile::tempdir().expect("dir");
    let first = gazette::auth::local_secret(dir.path()).expect("create");
    let second = gazette::auth::local_secret(dir.path()).expect("read");
    assert_eq!(first, second);
    assert!(first.len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("jwt-secret"))
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// `gazette token --role partner` mints what a partner route accepts: the key it names is
/// checked against the partner's records.
#[tokio::test]
async fn minted_partner_tokens_name_their_key_and_are_accepted() {
    let app = TestApp::sqlite().await;
    app.import(crate::fixtures::newsroom()).await;
    app.partner("acme", &["world"], false).await;
    let key = gazette::domain::partners::newest_key(&app.db, "acme")
        .await
        .expect("read")
        .expect("a key");
    let auth = crate::helpers::test_auth();
    let minted = auth
        .mint(
            "acme",
            gazette::domain::access::Role::Partner,
            Some(&key),
            60,
        )
        .expect("mint");
    let (status, body) = app
        .graphql_as(
            Some(&minted),
            "{ articles { edges { node { slug } } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(crate::helpers::slugs(&body["data"]["articles"]).len(), 4);
    let wrong = auth
        .mint(
            "acme",
            gazette::domain::access::Role::Partner,
            Some("pk_other"),
            60,
        )
        .expect("mint");
    let (status, _) = app
        .graphql_as(Some(&wrong), "{ sections { path } }", json!({}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.cleanup().await;
}
