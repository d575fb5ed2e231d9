//! Spam scoring with reasons, in gazette itself: each signal adds points and a sentence, and
//! the thresholds of [`Settings`] turn the total into a status.
//!
//! Signals are **hard** (a filled honeypot, links, blocked domains or words, the external
//! checker's verdict) or **soft** (duplicates, bursts, capitals, speed, a first comment).
//! A commenter whose earlier comments were approved earns trust that offsets soft points
//! only: emails are not verified, so anyone can claim a trusted address, and trust must
//! never carry a link to a blocked domain or a blocked word past the filter.

use super::Settings;
use super::akismet::Verdict as External;
use super::text;
use crate::domain::CommentStatus;

/// What was observed about one comment, beyond its text.
#[derive(Clone, Debug, Default)]
pub struct Signals {
    /// The honeypot field was filled in.
    pub honeypot: bool,
    /// Seconds between the page's rendering and the post, when the front end said.
    pub seconds_on_page: Option<i64>,
    /// Comments with the same normalised text in the duplicate window (anyone's).
    pub duplicates: i64,
    /// Comments from this client in the burst window.
    pub burst: i64,
    /// Approved earlier comments of this email (`None`: no email, or no key to hash it).
    pub approved_before: Option<i64>,
    /// The external checker's verdict, when one is configured.
    pub external: Option<External>,
}

/// The outcome: a score, the reasons behind it, and the status they decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    pub score: i32,
    pub reasons: Vec<String>,
    pub status: CommentStatus,
}

/// Scores `name` and `body` with `signals` under `s`'s lists and thresholds.
pub fn assess(s: &Settings, name: &str, body: &str, signals: &Signals) -> Assessment {
    let mut hard = 0;
    let mut soft = 0;
    let mut reasons = Vec::new();
    let mut add = |points: i32, is_hard: bool, why: String, reasons: &mut Vec<String>| {
        if is_hard {
            hard += points;
        } else {
            soft += points;
        }
        reasons.push(format!("{why} (+{points})"));
    };
    if signals.honeypot {
        add(
            100,
            true,
            "the hidden website field was filled in (honeypot)".into(),
            &mut reasons,
        );
    }
    let links = text::links(body);
    if links.len() > s.max_links {
        let extra = (links.len() - s.max_links) as i32;
        add(
            20 + 10 * extra.min(8),
            true,
            format!("{} links (more than {})", links.len(), s.max_links),
            &mut reasons,
        );
    }
    let mut blocked_hosts: Vec<String> = links
        .iter()
        .filter_map(|l| text::host(l))
        .filter(|h| {
            s.blocked_domains
                .iter()
                .any(|d| h == d || h.ends_with(&format!(".{d}")))
        })
        .collect();
    blocked_hosts.sort();
    blocked_hosts.dedup();
    if !blocked_hosts.is_empty() {
        add(
            60,
            true,
            format!("links to a blocked domain: {}", blocked_hosts.join(", ")),
            &mut reasons,
        );
    }
    let words = blocked_words(s, &format!("{name} {body}"));
    if !words.is_empty() {
        add(
            40 * (words.len() as i32).min(2),
            true,
            format!("blocked words: {}", words.join(", ")),
            &mut reasons,
        );
    }
    if signals.duplicates > 0 {
        add(
            40,
            false,
            format!(
                "the same text was posted {} time(s) in the last {} hours",
                signals.duplicates,
                s.duplicate_window.as_secs() / 3600
            ),
            &mut reasons,
        );
    }
    if signals.burst >= i64::from(s.burst_posts) {
        add(
            30,
            false,
            format!(
                "{} comments from this client in the last {} seconds",
                signals.burst + 1,
                s.burst_window.as_secs()
            ),
            &mut reasons,
        );
    }
    let letters = body.chars().filter(|c| c.is_alphabetic()).count();
    if letters == 0 {
        add(25, false, "no letters at all".into(), &mut reasons);
    } else if letters >= 12 && !body.chars().any(char::is_lowercase) {
        add(15, false, "written all in capitals".into(), &mut reasons);
    }
    if let Some(secs) = signals.seconds_on_page
        && secs < i64::from(s.min_seconds)
    {
        add(
            40,
            false,
            format!(
                "posted {secs} s after the page loaded (minimum {} s)",
                s.min_seconds
            ),
            &mut reasons,
        );
    }
    let mut trust = 0;
    match signals.approved_before {
        Some(0) => add(
            10,
            false,
            "first comment from this email address".into(),
            &mut reasons,
        ),
        None => add(
            10,
            false,
            "first-time commenter (no email history)".into(),
            &mut reasons,
        ),
        Some(n) => {
            trust = (10 * n as i32).min(30);
            reasons.push(format!(
                "{n} earlier comment(s) from this email approved (-{trust}, not applied to links or blocklists)"
            ));
        }
    }
    let mut unavailable = false;
    match &signals.external {
        Some(External::Spam { discard: true }) => add(
            100,
            true,
            "the external spam check says spam, blatant (discard)".into(),
            &mut reasons,
        ),
        Some(External::Spam { discard: false }) => add(
            60,
            true,
            "the external spam check says spam".into(),
            &mut reasons,
        ),
        Some(External::Ham) => reasons.push("the external spam check says not spam".into()),
        Some(External::Unavailable(why)) => {
            unavailable = true;
            reasons.push(format!(
                "the external spam check was unavailable ({why}); held for review"
            ));
        }
        None => {}
    }
    let score = hard + (soft - trust).max(0);
    let status = if score >= s.spam_score {
        CommentStatus::Spam
    } else if score >= s.hold_score || unavailable {
        CommentStatus::Pending
    } else {
        CommentStatus::Approved
    };
    Assessment {
        score,
        reasons,
        status,
    }
}

/// The blocked words and phrases `text` holds, whole words only, case-insensitively.
fn blocked_words(s: &Settings, text: &str) -> Vec<String> {
    if s.blocked_words.is_empty() {
        return Vec::new();
    }
    let normal: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let padded = format!(
        " {} ",
        normal.split_whitespace().collect::<Vec<_>>().join(" ")
    );
    let mut found: Vec<String> = s
        .blocked_words
        .iter()
        .filter(|w| padded.contains(&format!(" {w} ")))
        .cloned()
        .collect();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            blocked_words: vec!["casino".into(), "cheap pills".into()],
            blocked_domains: vec!["spam.example".into()],
            ..Settings::default()
        }
    }

    #[test]
    fn a_plain_first_comment_is_approved_with_its_reason() {
        let a = assess(
            &settings(),
            "Ana",
            "Thoughtful reporting, thank you.",
            &Signals::default(),
        );
        assert_eq!(a.status, CommentStatus::Approved, "{a:?}");
        assert_eq!(a.reasons, ["first-time commenter (no email history) (+10)"]);
    }

    #[test]
    fn trust_never_offsets_blocked_domains_or_words() {
        let trusted = Signals {
            approved_before: Some(10),
            ..Signals::default()
        };
        let a = assess(
            &settings(),
            "Ana",
            "win at the CASINO http://www.spam.example/x",
            &trusted,
        );
        assert_eq!(a.status, CommentStatus::Spam, "{a:?}");
        assert!(
            a.reasons
                .iter()
                .any(|r| r.starts_with("links to a blocked domain: spam.example"))
        );
        assert!(
            a.reasons
                .iter()
                .any(|r| r.starts_with("blocked words: casino"))
        );
    }

    #[test]
    fn a_filled_honeypot_is_spam_and_speed_is_held() {
        let a = assess(
            &settings(),
            "Bot",
            "hello",
            &Signals {
                honeypot: true,
                ..Signals::default()
            },
        );
        assert_eq!(a.status, CommentStatus::Spam);
        let fast = Signals {
            seconds_on_page: Some(0),
            ..Signals::default()
        };
        assert_eq!(
            assess(&settings(), "Ana", "hello there", &fast).status,
            CommentStatus::Pending
        );
    }

    #[test]
    fn an_unavailable_checker_holds_what_would_pass() {
        let s = Signals {
            approved_before: Some(3),
            external: Some(External::Unavailable("timed out".into())),
            ..Signals::default()
        };
        let a = assess(&settings(), "Ana", "hello there", &s);
        assert_eq!(a.status, CommentStatus::Pending, "{a:?}");
    }
}
