//! The webhook worker: a background task that turns the change stream into deliveries
//! (the dispatcher) and sends the due ones, signed per Standard Webhooks, recording each
//! outcome. Every process may run it: the database hands each delivery to one process at a
//! time (`domain::webhooks` explains the outbox, the claims and the ordering).
//!
//! Sending follows the SSRF rules of `domain::webhooks::ssrf` on every attempt: the URL's
//! host is resolved by [`CheckedResolver`], which refuses the whole name when any address
//! is not public, and the connection goes to the addresses it checked (reqwest connects to
//! what the resolver returns, without another lookup). The client ignores proxy settings
//! from the environment, follows no redirects, gives each attempt the timeout setting, and
//! reads at most the response-size setting of an answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sea_orm::DatabaseConnection;

use crate::domain::webhooks::outbox::{self, Attempt, Claimed, Recorded, Shapes};
use crate::domain::webhooks::{Settings, secrets, ssrf};

/// Most deliveries one process attempts at once.
const CLAIM_BATCH: u64 = 32;

/// What the worker needs.
#[derive(Clone)]
pub struct Worker {
    pub db: DatabaseConnection,
    pub settings: Arc<Settings>,
    pub shapes: Arc<dyn Shapes>,
}

/// Starts the worker; it runs until the handle is aborted.
pub fn spawn(worker: Worker) -> tokio::task::JoinHandle<()> {
    tokio::spawn(worker.run())
}

impl Worker {
    /// Dispatches and delivers every `interval`, forever, and at once again while the last
    /// step found work (a burst of publications is delivered as fast as receivers answer,
    /// not a batch a tick).
    pub async fn run(self) {
        if self.settings.key.is_none() {
            tracing::info!("no GAZETTE_WEBHOOK_KEY: webhooks are off");
            return;
        }
        let sender = match Sender::new(&self.settings) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "the webhook client could not be built: webhooks are off");
                return;
            }
        };
        loop {
            match self.step(&sender).await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook delivery step failed; retrying"),
            }
            tokio::time::sleep(self.settings.interval).await;
        }
    }

    /// One step: dispatch new events, then attempt the due deliveries; returns how many
    /// were attempted.
    async fn step(&self, sender: &Sender) -> crate::error::Result<usize> {
        outbox::dispatch(&self.db, self.shapes.as_ref()).await?;
        let claimed = outbox::claim(&self.db, &self.settings, CLAIM_BATCH).await?;
        let n = claimed.len();
        let attempts = claimed.into_iter().map(|c| async move {
            let attempt = sender.send(&c).await;
            match outbox::record(&self.db, &self.settings, &c.delivery, &attempt).await {
                Ok(Recorded::Stale) => tracing::warn!(
                    delivery = c.delivery.id,
                    "a webhook attempt outlived its lease; its outcome was not recorded"
                ),
                Ok(r) => tracing::debug!(delivery = c.delivery.id, outcome = ?r, "webhook attempt"),
                // The lease runs out and the delivery is attempted again: at least once.
                Err(e) => tracing::warn!(delivery = c.delivery.id, error = %e, "a webhook outcome was not recorded"),
            }
        });
        futures_util::future::join_all(attempts).await;
        Ok(n)
    }
}

/// Resolves names for the webhook client, refusing a name with any non-public address.
#[derive(Clone, Copy, Debug)]
pub struct CheckedResolver {
    pub allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let target = ssrf::Target {
                url: url::Url::parse("https://placeholder.invalid/")?,
                host: name.as_str().to_owned(),
                // reqwest puts the URL's port on the addresses returned.
                port: 0,
            };
            let found: Vec<SocketAddr> = ssrf::resolve(&target, allow_private)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP side of a delivery.
struct Sender {
    client: reqwest::Client,
    settings: Arc<Settings>,
}

impl Sender {
    fn new(settings: &Arc<Settings>) -> reqwest::Result<Self> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("gazette-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(CheckedResolver {
                allow_private: settings.allow_private,
            }))
            .build()?;
        Ok(Self {
            client,
            settings: settings.clone(),
        })
    }

    /// One attempt of a claimed delivery.
    async fn send(&self, c: &Claimed) -> Attempt {
        let started = Instant::now();
        let failed = |error: String, retryable: bool| Attempt {
            status: None,
            error: Some(error),
            retryable,
            retry_after: None,
            latency: started.elapsed(),
        };
        let secrets_now = match &c.secrets {
            Ok(s) => s,
            Err(e) => return failed(format!("cannot sign: {e}"), false),
        };
        // A literal address in the URL is checked here; names by the resolver.
        if let Err(e) = ssrf::parse(&c.url, self.settings.allow_private) {
            return failed(e.to_string(), false);
        }
        let d = &c.delivery;
        let timestamp = chrono::Utc::now().timestamp();
        let mut signatures = Vec::with_capacity(secrets_now.len());
        for s in secrets_now {
            match secrets::sign(s, &d.message_id, timestamp, d.payload.as_bytes()) {
                Ok(sig) => signatures.push(sig),
                Err(e) => return failed(format!("cannot sign: {e}"), false),
            }
        }
        let sent = self
            .client
            .post(&c.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &d.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(d.payload.clone())
            .send();
        let mut resp = match tokio::time::timeout(self.settings.timeout, sent).await {
            Err(_) => return failed("timed out".into(), true),
            Ok(Err(e)) => return failed(describe(&e), true),
            Ok(Ok(r)) => r,
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(outbox::parse_retry_after);
        // Read (and ignore) at most the cap of the answer, within the attempt's time.
        let mut read = 0usize;
        let left = self.settings.timeout.saturating_sub(started.elapsed());
        let _ = tokio::time::timeout(left.max(Duration::from_millis(1)), async {
            while read < self.settings.max_response_bytes {
                match resp.chunk().await {
                    Ok(Some(c)) => read += c.len(),
                    _ => break,
                }
            }
        })
        .await;
        let code = status.as_u16();
        let (error, retryable) = if status.is_success() {
            (None, false)
        } else if status.is_redirection() {
            (
                Some(format!("answered {code}; redirects are not followed")),
                false,
            )
        } else {
            let retryable = code == 429 || status.is_server_error();
            (Some(format!("answered {code}")), retryable)
        };
        Attempt {
            status: Some(code),
            error,
            retryable,
            retry_after,
            latency: started.elapsed(),
        }
    }
}

/// A client error as the delivery log shows it: the kind, and the innermost cause.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    format!("{kind}: {cause}")
}
