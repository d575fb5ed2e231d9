//! The optional external check, over the Akismet API (or any service that speaks it):
//! `comment-check` asks, `submit-spam` and `submit-ham` report an editor's decision. Each is
//! an HTTP form POST to `{url}/{method}` carrying `api_key` and `blog`; `comment-check`
//! answers the body `true` (spam) or `false`, and `X-akismet-pro-tip: discard` for blatant
//! spam.
//!
//! The check never loses a comment and never publishes one unchecked: a timeout, a refused
//! connection, an error status or an answer that is neither `true` nor `false` is
//! [`Verdict::Unavailable`], which holds the comment as `PENDING` with that reason.

use std::time::Duration;

/// Where the service is, and how long to wait for it.
#[derive(Clone, Debug)]
pub struct AkismetSettings {
    /// The API key (never logged).
    pub key: String,
    /// The API's base URL, e.g. `https://rest.akismet.com/1.1`.
    pub url: String,
    /// The site the comments are on (Akismet's `blog`).
    pub blog: String,
    /// Longest wait for an answer.
    pub timeout: Duration,
}

/// The service's answer to `comment-check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Spam; `discard` when the service says it is blatant.
    Spam { discard: bool },
    /// Not spam.
    Ham,
    /// No usable answer (the reason, without the key).
    Unavailable(String),
}

/// What is sent about one comment: exactly these fields (the README lists them).
#[derive(Clone, Debug, Default)]
pub struct Submission {
    pub user_ip: String,
    pub user_agent: String,
    pub permalink: Option<String>,
    pub author: String,
    pub author_email: Option<String>,
    pub content: String,
    pub date_gmt: String,
}

/// A client of the service.
#[derive(Clone, Debug)]
pub struct Akismet {
    client: reqwest::Client,
    settings: AkismetSettings,
}

impl Akismet {
    /// A client for `settings`.
    pub fn new(settings: AkismetSettings) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("gazette/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, settings })
    }

    fn form<'a>(&'a self, s: &'a Submission) -> Vec<(&'static str, &'a str)> {
        let mut f = vec![
            ("api_key", self.settings.key.as_str()),
            ("blog", self.settings.blog.as_str()),
            ("user_ip", s.user_ip.as_str()),
            ("user_agent", s.user_agent.as_str()),
            ("comment_type", "comment"),
            ("comment_author", s.author.as_str()),
            ("comment_content", s.content.as_str()),
            ("comment_date_gmt", s.date_gmt.as_str()),
        ];
        if let Some(p) = &s.permalink {
            f.push(("permalink", p));
        }
        if let Some(e) = &s.author_email {
            f.push(("comment_author_email", e));
        }
        f
    }

    fn endpoint(&self, method: &str) -> String {
        format!("{}/{method}", self.settings.url.trim_end_matches('/'))
    }

    /// Asks whether `s` is spam.
    pub async fn check(&self, s: &Submission) -> Verdict {
        let sent = self
            .client
            .post(self.endpoint("comment-check"))
            .form(&self.form(s))
            .send()
            .await;
        let res = match sent {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Verdict::Unavailable("timed out".into()),
            Err(e) if e.is_connect() => return Verdict::Unavailable("could not connect".into()),
            Err(_) => return Verdict::Unavailable("request failed".into()),
        };
        let status = res.status();
        if !status.is_success() {
            return Verdict::Unavailable(format!("HTTP status {}", status.as_u16()));
        }
        let discard = res
            .headers()
            .get("x-akismet-pro-tip")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"discard"));
        match res.text().await.as_deref().map(str::trim) {
            Ok("true") => Verdict::Spam { discard },
            Ok("false") => Verdict::Ham,
            Ok(_) => Verdict::Unavailable("an answer that is neither true nor false".into()),
            Err(e) if e.is_timeout() => Verdict::Unavailable("timed out".into()),
            Err(_) => Verdict::Unavailable("the answer could not be read".into()),
        }
    }

    /// Reports an editor's decision: `spam` true for `submit-spam`, false for `submit-ham`.
    pub async fn report(&self, s: &Submission, spam: bool) -> Result<(), String> {
        let method = if spam { "submit-spam" } else { "submit-ham" };
        let res = self
            .client
            .post(self.endpoint(method))
            .form(&self.form(s))
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "timed out".to_owned()
                } else {
                    "request failed".to_owned()
                }
            })?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(format!("HTTP status {}", res.status().as_u16()))
        }
    }
}
