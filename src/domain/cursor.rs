//! Opaque pagination cursors. A cursor is the sort key of the last item seen plus its id,
//! base64url-encoded; it is tied to one kind of listing and refused by the others.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The position after which a page starts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cursor {
    /// Newest-first article listings: `(published_at, id)`.
    #[serde(rename = "p")]
    Published(i64, i32),
    /// Oldest-first comment listings: `(created_at, id)`.
    #[serde(rename = "c")]
    Created(i64, i32),
    /// Alphabetical listings: `(name, id)`.
    #[serde(rename = "n")]
    Name(String, i32),
    /// Results ranked by relevance: how many came before.
    #[serde(rename = "r")]
    Rank(u64),
}

impl Cursor {
    /// The cursor of an oldest-first listing by creation time.
    pub fn created(at: DateTime<Utc>, id: i32) -> Self {
        Self::Created(at.timestamp_micros(), id)
    }

    /// The opaque string handed to clients.
    pub fn encode(&self) -> String {
        // Serialising a plain enum of numbers and strings cannot fail.
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Parses a client's cursor; anything malformed is `BAD_USER_INPUT`.
    pub fn decode(s: &str) -> Result<Self, AppError> {
        let bad = || AppError::bad_input("`after` is not a cursor this API returned");
        if s.len() > 512 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        serde_json::from_slice(&bytes).map_err(|_| bad())
    }
}

/// Converts a cursor's microseconds back to a time.
pub fn micros_to_time(micros: i64) -> Result<DateTime<Utc>, AppError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| AppError::bad_input("`after` is not a cursor this API returned"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        for c in [
            Cursor::Published(1_740_821_400_123_456, 7),
            Cursor::Created(0, 1),
            Cursor::Name("Omar Haddad / ü".into(), 3),
        ] {
            assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c));
        }
    }

    #[test]
    fn garbage_cursors_are_bad_input() {
        for bad in ["", "!!!", "bm90IGpzb24", "WyJ4IiwxXQ", &"A".repeat(600)] {
            let err = Cursor::decode(bad).expect_err(bad);
            assert_eq!(err.code(), "BAD_USER_INPUT", "{bad:?}");
        }
    }
}
