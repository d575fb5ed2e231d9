//! Slugs: lowercase ASCII letters, digits and single hyphens, at most 120 characters.
//! Non-ASCII text is transliterated (`Zürich` → `zurich`), so a slug is URL-safe as is.

/// The longest slug accepted or derived.
pub const MAX_LEN: usize = 120;

/// Derives a slug from free text; empty when the text has no letters or digits.
pub fn slugify(text: &str) -> String {
    let ascii = deunicode::deunicode(text);
    let mut out = String::with_capacity(ascii.len().min(MAX_LEN));
    let mut pending_hyphen = false;
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_hyphen && !out.is_empty() {
                if out.len() + 1 >= MAX_LEN {
                    break;
                }
                out.push('-');
            }
            pending_hyphen = false;
            if out.len() >= MAX_LEN {
                break;
            }
            out.push(c.to_ascii_lowercase());
        } else {
            pending_hyphen = true;
        }
    }
    out
}

/// Whether `s` is already a valid slug.
pub fn is_valid(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_LEN
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Refuses an invalid slug a client sent, with the one message that explains the rule.
pub fn check(s: &str) -> Result<(), crate::error::AppError> {
    if is_valid(s) {
        Ok(())
    } else {
        Err(crate::error::AppError::bad_input(format!(
            "slug must be lowercase ASCII letters, digits and single hyphens, at most {MAX_LEN} characters"
        )))
    }
}

/// Whether `s` is a valid section path: slugs joined by `/`.
pub fn is_valid_path(s: &str) -> bool {
    s.len() <= 4 * MAX_LEN && s.split('/').all(is_valid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugify_makes_url_safe_lowercase_slugs() {
        let cases = [
            (
                "Ceasefire talks resume in Doha",
                "ceasefire-talks-resume-in-doha",
            ),
            (
                "  Zürich's  café — “open” again! ",
                "zurich-s-cafe-open-again",
            ),
            ("Ψυχή", "psukhe"),
            ("---", ""),
            ("COVID-19: 2 new cases", "covid-19-2-new-cases"),
        ];
        for (input, want) in cases {
            assert_eq!(slugify(input), want, "slugify({input:?})");
            if !want.is_empty() {
                assert!(is_valid(want), "{want:?} should be a valid slug");
            }
        }
    }

    #[test]
    fn slugify_caps_length_without_a_trailing_hyphen() {
        let long = "word ".repeat(100);
        let s = slugify(&long);
        assert!(s.len() <= MAX_LEN, "{} chars", s.len());
        assert!(is_valid(&s), "{s:?}");
        assert_eq!(slugify(&s), s, "slugify is idempotent");
    }

    #[test]
    fn is_valid_rejects_anything_but_slug_characters() {
        for bad in ["", "A", "a b", "a--b", "-a", "a-", "a_b", "a/b", "é", "a%"] {
            assert!(!is_valid(bad), "{bad:?} should be refused");
        }
        assert!(is_valid_path("world/middle-east"));
        assert!(!is_valid_path("world/"));
        assert!(!is_valid_path("wor%"));
    }
}
