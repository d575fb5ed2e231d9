//! Tokens for the test server: the secret it verifies with, tokens by role, and the raw
//! pieces (any claims, any key, any header) that the token tests forge bad ones from.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// The HS256 secret the test server verifies tokens with (tests only).
pub const TEST_SECRET: &str = "test-secret-that-is-at-least-32-bytes-long";

/// The verifier of the test server: HS256 with [`TEST_SECRET`].
pub fn test_auth() -> gazette::auth::Auth {
    gazette::auth::Auth::hs256(TEST_SECRET.as_bytes(), None, None).expect("auth")
}

/// A token for `sub` with `role`, valid for an hour.
pub fn token(sub: &str, role: &str) -> String {
    sign(json!({ "sub": sub, "role": role, "exp": now() + 3600 }))
}

/// The editor the tests act as (`sub` "ed").
pub fn editor() -> String {
    token("ed", "editor")
}

/// A writer's token; the newsroom's writers are "omar" and "lena" (their authors' subjects).
pub fn writer(sub: &str) -> String {
    token(sub, "writer")
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Signs arbitrary claims with the test secret (HS256).
pub fn sign(claims: Value) -> String {
    sign_with(claims, TEST_SECRET.as_bytes())
}

/// Signs arbitrary claims with HS256 and `secret` (for tokens signed with the wrong key).
pub fn sign_with(claims: Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("sign")
}

/// A token assembled by hand: any header, any claims, any signature text.
pub fn raw_token(header: Value, claims: Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}
