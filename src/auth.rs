//! Token verification: who a request comes from.
//!
//! The accepted algorithm follows from the configured key and nothing else: HS256 with
//! `GAZETTE_JWT_SECRET` (at least 32 bytes), or RS256 / EdDSA with the PEM public key in
//! `GAZETTE_JWT_PUBLIC_KEY`. `exp` and `sub` are required, `nbf` is honoured, leeway is 30 s,
//! the issuer and audience are required and checked when configured, and the role must be a
//! known one. A header with `crit`, a `typ` other than JWT, or any other algorithm (`none`
//! included) is refused. No token means anonymous; a bad one is always an error, never
//! anonymous. Tokens and secrets are never logged.
//!
//! On the embedded default with no key configured, `serve` creates a random secret in the
//! data directory (readable by its owner only) so `gazette token` can mint tokens for it.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::domain::access::{Caller, Role};
use crate::error::{AppError, Result};

/// Shortest HS256 secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// Clock leeway for `exp` and `nbf`, in seconds.
pub const LEEWAY_SECONDS: u64 = 30;
/// Longest token read.
const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Name of the generated secret in the data directory.
pub const SECRET_FILE: &str = "jwt-secret";

/// Where token keys come from.
#[derive(Clone, Debug, Default)]
pub struct AuthSettings {
    pub secret: Option<String>,
    pub public_key: Option<PathBuf>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

struct Keys {
    alg: Algorithm,
    decoding: DecodingKey,
    /// Only for HS256: gazette can mint tokens for its own secret.
    encoding: Option<EncodingKey>,
    validation: Validation,
}

/// Verifies (and, with a shared secret, mints) tokens.
pub struct Auth {
    keys: Option<Keys>,
    issuer: Option<String>,
    audience: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: String,
    exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    /// A partner token's key id (`partner_keys.id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    /// A reader token's display name (the name shown with their comments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

fn unauthenticated(msg: &str) -> AppError {
    AppError::Unauthenticated(msg.to_owned())
}

impl Auth {
    /// Accepts no tokens: every caller is anonymous and mutations are refused.
    pub fn disabled() -> Self {
        Self {
            keys: None,
            issuer: None,
            audience: None,
        }
    }

    /// HS256 with a shared secret of at least [`MIN_SECRET_BYTES`].
    pub fn hs256(
        secret: &[u8],
        issuer: Option<String>,
        audience: Option<String>,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            secret.len() >= MIN_SECRET_BYTES,
            "the JWT secret has {} bytes; at least {MIN_SECRET_BYTES} are required",
            secret.len()
        );
        Ok(Self::with_keys(
            Algorithm::HS256,
            DecodingKey::from_secret(secret),
            Some(EncodingKey::from_secret(secret)),
            issuer,
            audience,
        ))
    }

    /// RS256 or EdDSA with a PEM public key (the algorithm follows from the key).
    pub fn public_key(
        pem: &[u8],
        issuer: Option<String>,
        audience: Option<String>,
    ) -> anyhow::Result<Self> {
        let (alg, key) = if let Ok(k) = DecodingKey::from_rsa_pem(pem) {
            (Algorithm::RS256, k)
        } else if let Ok(k) = DecodingKey::from_ed_pem(pem) {
            (Algorithm::EdDSA, k)
        } else {
            anyhow::bail!("the public key is neither an RSA nor an Ed25519 PEM public key");
        };
        Ok(Self::with_keys(alg, key, None, issuer, audience))
    }

    fn with_keys(
        alg: Algorithm,
        decoding: DecodingKey,
        encoding: Option<EncodingKey>,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Self {
        let mut validation = Validation::new(alg);
        validation.algorithms = vec![alg];
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required: HashSet<&str> = HashSet::from(["exp", "sub"]);
        match &issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                required.insert("iss");
            }
            None => validation.iss = None,
        }
        match &audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.insert("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required.into_iter().collect::<Vec<_>>());
        Self {
            keys: Some(Keys {
                alg,
                decoding,
                encoding,
                validation,
            }),
            issuer,
            audience,
        }
    }

    /// Builds the verifier from settings. With no key: on the embedded database
    /// (`data_dir` given) a generated secret in that directory; elsewhere none at all.
    pub fn from_settings(s: &AuthSettings, data_dir: Option<&Path>) -> anyhow::Result<Self> {
        match (&s.secret, &s.public_key) {
            (Some(_), Some(_)) => {
                anyhow::bail!("set GAZETTE_JWT_SECRET or GAZETTE_JWT_PUBLIC_KEY, not both")
            }
            (Some(secret), None) => {
                Self::hs256(secret.as_bytes(), s.issuer.clone(), s.audience.clone())
                    .context("GAZETTE_JWT_SECRET")
            }
            (None, Some(path)) => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("cannot read the public key {}", path.display()))?;
                Self::public_key(&pem, s.issuer.clone(), s.audience.clone())
                    .context("GAZETTE_JWT_PUBLIC_KEY")
            }
            (None, None) => match data_dir {
                Some(dir) => {
                    let secret = local_secret(dir)?;
                    Self::hs256(&secret, s.issuer.clone(), s.audience.clone())
                }
                None => Ok(Self::disabled()),
            },
        }
    }

    /// Whether any token can be verified (and so whether mutations are possible at all).
    pub fn accepts_tokens(&self) -> bool {
        self.keys.is_some()
    }

    /// The caller of a request, from its `Authorization` header.
    pub fn caller(&self, authorization: Option<&[u8]>) -> Result<Caller> {
        let Some(raw) = authorization else {
            return Ok(Caller::Anonymous);
        };
        let value = std::str::from_utf8(raw)
            .map_err(|_| unauthenticated("malformed Authorization header"))?;
        let (scheme, token) = value.trim().split_once(' ').ok_or_else(|| {
            unauthenticated("malformed Authorization header: expected `Bearer <token>`")
        })?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(unauthenticated(
                "malformed Authorization header: expected `Bearer <token>`",
            ));
        }
        self.verify(token.trim())
    }

    /// The `name` claim of the request's token, when it verifies (readers' display names).
    pub fn name_claim(&self, authorization: Option<&[u8]>) -> Option<String> {
        let keys = self.keys.as_ref()?;
        let value = std::str::from_utf8(authorization?).ok()?;
        let (_, token) = value.trim().split_once(' ')?;
        self.verify(token.trim()).ok()?;
        jsonwebtoken::decode::<Claims>(token.trim(), &keys.decoding, &keys.validation)
            .ok()?
            .claims
            .name
    }

    /// Verifies a token.
    pub fn verify(&self, token: &str) -> Result<Caller> {
        let keys = self.keys.as_ref().ok_or_else(|| {
            unauthenticated("this server accepts no tokens: no GAZETTE_JWT_SECRET or GAZETTE_JWT_PUBLIC_KEY is configured")
        })?;
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(unauthenticated("malformed token"));
        }
        check_header(token, keys.alg)?;
        let data = jsonwebtoken::decode::<Claims>(token, &keys.decoding, &keys.validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                unauthenticated(match e.kind() {
                    K::ExpiredSignature => "the token has expired",
                    K::ImmatureSignature => "the token is not valid yet (nbf)",
                    K::InvalidIssuer => "the token's issuer is not accepted",
                    K::InvalidAudience => "the token's audience is not accepted",
                    K::MissingRequiredClaim(_) => {
                        "the token lacks a required claim (exp, sub, and iss/aud when configured)"
                    }
                    K::InvalidSignature => "the token's signature does not verify",
                    K::InvalidAlgorithm => "the token's algorithm is not accepted",
                    _ => "malformed token",
                })
            })?;
        let c = data.claims;
        if c.sub.trim().is_empty() || c.sub.len() > 256 {
            return Err(unauthenticated(
                "the token's sub claim is empty or too long",
            ));
        }
        let role = Role::parse(&c.role).ok_or_else(|| {
            unauthenticated("the token's role is not writer, editor, admin, partner or reader")
        })?;
        if role == Role::Partner {
            // Checked against the partner's records on each request (`domain::partners`).
            let key = c
                .key
                .filter(|k| !k.is_empty() && k.len() <= 64)
                .ok_or_else(|| {
                    unauthenticated(
                        "a partner token needs a `key` claim naming one of the partner's keys",
                    )
                })?;
            return Ok(Caller::Partner {
                slug: c.sub,
                key,
                grant: None,
            });
        }
        Ok(Caller::Account { sub: c.sub, role })
    }

    /// Mints a token this server accepts (only with a shared secret); `key` names a partner
    /// key (partner tokens need one).
    pub fn mint(
        &self,
        sub: &str,
        role: Role,
        partner_key: Option<&str>,
        ttl_seconds: i64,
    ) -> anyhow::Result<String> {
        self.mint_named(sub, role, partner_key, None, ttl_seconds)
    }

    /// [`Auth::mint`] with a `name` claim (a reader's display name).
    pub fn mint_named(
        &self,
        sub: &str,
        role: Role,
        partner_key: Option<&str>,
        name: Option<&str>,
        ttl_seconds: i64,
    ) -> anyhow::Result<String> {
        let keys = self.keys.as_ref().context("no key is configured")?;
        let key = keys.encoding.as_ref().context(
            "tokens for a public key are minted by whoever holds the private key; gazette only mints for a shared secret",
        )?;
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: sub.to_owned(),
            role: role.as_str().to_owned(),
            exp: now + ttl_seconds.max(1),
            nbf: None,
            iat: Some(now),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            key: partner_key.map(str::to_owned),
            name: name.map(str::to_owned),
        };
        Ok(jsonwebtoken::encode(&Header::new(keys.alg), &claims, key)?)
    }
}

/// Refuses headers that name another algorithm, carry `crit`, or a `typ` other than JWT,
/// before any signature work.
fn check_header(token: &str, alg: Algorithm) -> Result<()> {
    let bad = || unauthenticated("malformed token");
    let mut parts = token.split('.');
    let (Some(h), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let bytes = URL_SAFE_NO_PAD.decode(h).map_err(|_| bad())?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let want = format!("{alg:?}");
    if header.get("alg").and_then(|a| a.as_str()) != Some(want.as_str()) {
        return Err(unauthenticated("the token's algorithm is not accepted"));
    }
    if header.contains_key("crit") {
        return Err(unauthenticated(
            "the token has critical header parameters gazette does not understand",
        ));
    }
    if header
        .get("typ")
        .is_some_and(|typ| !typ.as_str().is_some_and(|t| t.eq_ignore_ascii_case("JWT")))
    {
        return Err(unauthenticated("the token's typ is not JWT"));
    }
    Ok(())
}

/// The embedded default's secret: read from `dir/jwt-secret`, or created there (owner-only).
pub fn local_secret(dir: &Path) -> anyhow::Result<Vec<u8>> {
    local_secret_named(dir, SECRET_FILE)
}

/// A secret of the embedded default in `dir/file`, created there (owner-only) when missing.
pub fn local_secret_named(dir: &Path, file: &str) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(file);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok(text.trim().as_bytes().to_vec());
    }
    std::fs::create_dir_all(dir)?;
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let text = URL_SAFE_NO_PAD.encode(raw);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    match opts.open(&path) {
        Ok(mut f) => {
            f.write_all(text.as_bytes())?;
            Ok(text.into_bytes())
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().as_bytes().to_vec())
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}
