//! Signing secrets: made in the Standard Webhooks `whsec_` form, stored encrypted with the
//! server's key (signing needs the secret itself, so it cannot be hashed), and used to sign
//! a message (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`).
//!
//! The key comes from the `GAZETTE_WEBHOOK_KEY` setting (32 bytes, base64). Each secret is
//! sealed with XChaCha20-Poly1305 under a random 24-byte nonce (random nonces of that size
//! never collide in practice), stored as base64 of nonce and ciphertext; a stored secret
//! that does not open with the key (another key, a changed row) is an internal error,
//! never a secret used.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead as _, KeyInit as _};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::error::{AppError, Result};

/// The prefix of a secret as receivers are given it.
pub const PREFIX: &str = "whsec_";

/// Random bytes in a secret (as Svix makes them).
const SECRET_BYTES: usize = 24;

/// Bytes of a nonce.
const NONCE_BYTES: usize = 24;

/// The server's key for secrets at rest. Its `Debug` never shows it.
#[derive(Clone)]
pub struct SecretKey(XChaCha20Poly1305);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    /// Reads the key setting: 32 bytes in base64 (`openssl rand -base64 32`).
    pub fn parse(setting: &str) -> std::result::Result<Self, String> {
        let raw = STANDARD.decode(setting.trim()).map_err(
            |_| "GAZETTE_WEBHOOK_KEY is not base64 (make one with `openssl rand -base64 32`)",
        )?;
        if raw.len() != 32 {
            return Err(format!(
                "GAZETTE_WEBHOOK_KEY must be 32 bytes, not {} (make one with `openssl rand -base64 32`)",
                raw.len()
            ));
        }
        XChaCha20Poly1305::new_from_slice(&raw)
            .map(Self)
            .map_err(|_| "GAZETTE_WEBHOOK_KEY is not a key".into())
    }

    /// Seals a secret for storage.
    pub fn seal(&self, secret: &str) -> Result<String> {
        let mut nonce = [0u8; NONCE_BYTES];
        random(&mut nonce)?;
        let sealed = self
            .0
            .encrypt(XNonce::from_slice(&nonce), secret.as_bytes())
            .map_err(|_| AppError::internal("a webhook secret could not be sealed"))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(STANDARD.encode(out))
    }

    /// Opens a stored secret.
    pub fn open(&self, stored: &str) -> Result<String> {
        let bad = || {
            AppError::internal(
                "a stored webhook secret does not open with GAZETTE_WEBHOOK_KEY (was the key changed?)",
            )
        };
        let raw = STANDARD.decode(stored).map_err(|_| bad())?;
        if raw.len() <= NONCE_BYTES {
            return Err(bad());
        }
        let (nonce, sealed) = raw.split_at(NONCE_BYTES);
        let plain = self
            .0
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }
}

fn random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| AppError::Internal(anyhow::anyhow!("no randomness: {e}")))
}

/// A new secret, `whsec_` and base64 of random bytes.
pub fn generate() -> Result<String> {
    let mut raw = [0u8; SECRET_BYTES];
    random(&mut raw)?;
    Ok(format!("{PREFIX}{}", STANDARD.encode(raw)))
}

/// The signature of one message with one secret: `v1,<base64>`. The signed content is
/// `id.timestamp.body`, the HMAC key the bytes after `whsec_`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String> {
    let key = STANDARD
        .decode(secret.strip_prefix(PREFIX).unwrap_or(secret))
        .map_err(|_| AppError::internal("a webhook secret is not base64"))?;
    let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(&key)
        .map_err(|_| AppError::internal("a webhook secret is not an HMAC key"))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_its_key_only() {
        let key = SecretKey::parse(&STANDARD.encode([7u8; 32])).expect("key");
        let other = SecretKey::parse(&STANDARD.encode([8u8; 32])).expect("key");
        let s = generate().expect("secret");
        assert!(s.starts_with(PREFIX));
        let sealed = key.seal(&s).expect("seal");
        assert!(!sealed.contains(&s[PREFIX.len()..]));
        assert_eq!(key.open(&sealed).expect("open"), s);
        assert!(other.open(&sealed).is_err());
    }

    #[test]
    fn keys_of_the_wrong_size_or_form_are_refused() {
        for bad in ["", "not base64!", &STANDARD.encode([1u8; 16])] {
            assert!(SecretKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_signature_is_the_standard_webhooks_one() {
        // The example of the Standard Webhooks specification's reference libraries.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .expect("sign");
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
