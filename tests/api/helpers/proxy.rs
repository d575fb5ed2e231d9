//! A TCP proxy in front of PostgreSQL that a test can cut (every connection dropped, new
//! ones refused) and restore, or set to trip on the next `COMMIT` a client sends: forward it
//! (so the server commits) or swallow it (so it does not), and cut the connection before the
//! answer reaches the client, which cannot tell which happened.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with the next `COMMIT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trip {
    /// Forward it, hold back the server's answer, then cut the connection: committed, and
    /// the client does not know.
    AfterCommit = 1,
    /// Swallow it and cut the connection: not committed, and the client does not know.
    BeforeCommit = 2,
    /// Forward it and its answer, then cut the connection at the client's next statement:
    /// committed, and the client knows, but cannot read anything back.
    AfterCommitAnswer = 3,
}

/// The bytes of the simple-query message `COMMIT` (what sqlx sends to commit).
const COMMIT: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";

struct Shared {
    up: AtomicBool,
    /// 0, or the `Trip` armed for the next COMMIT.
    trip: AtomicU8,
    /// Whether a tripped COMMIT also takes the proxy down (cut, and refusing connections).
    down_on_trip: AtomicBool,
    tripped: AtomicBool,
    conns: Mutex<Vec<tokio::task::AbortHandle>>,
}

impl Shared {
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        if let Ok(mut l) = self.conns.lock() {
            l.drain(..).for_each(|c| c.abort());
        }
    }

    /// Like [`Shared::cut`], sparing the connection of the task that calls it.
    fn cut_others(&self) {
        self.up.store(false, Ordering::SeqCst);
        let me = tokio::task::try_id();
        if let Ok(mut l) = self.conns.lock() {
            l.drain(..)
                .filter(|c| Some(c.id()) != me)
                .for_each(|c| c.abort());
        }
    }
}

/// The proxy (stops when dropped).
pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// A proxy to `upstream` (`host:port`), accepting connections when `up`.
    pub async fn start(upstream: String, up: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            up: AtomicBool::new(up),
            trip: AtomicU8::new(0),
            down_on_trip: AtomicBool::new(false),
            tripped: AtomicBool::new(false),
            conns: Mutex::default(),
        });
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !s.up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let (upstream, conn) = (upstream.clone(), s.clone());
                let task = tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        pipe(client, server, conn).await;
                    }
                });
                if let Ok(mut l) = s.conns.lock() {
                    l.push(task.abort_handle());
                }
            }
        });
        Self {
            addr,
            shared,
            accept,
        }
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        self.shared.cut();
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.shared.up.store(true, Ordering::SeqCst);
    }

    /// Trips on the next `COMMIT` any client sends; with `down`, the proxy then cuts every
    /// connection and refuses new ones until [`Proxy::restore`].
    pub fn trip_on_commit(&self, trip: Trip, down: bool) {
        self.shared.tripped.store(false, Ordering::SeqCst);
        self.shared.down_on_trip.store(down, Ordering::SeqCst);
        self.shared.trip.store(trip as u8, Ordering::SeqCst);
    }

    /// Whether an armed trip has fired.
    pub fn tripped(&self) -> bool {
        self.shared.tripped.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Copies both ways until either side closes or a COMMIT trips the proxy.
async fn pipe(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let hold = Arc::new(AtomicBool::new(false));
    let held = hold.clone();
    let answers = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from_server.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if held.load(Ordering::SeqCst) {
                continue;
            }
            if to_client.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let requests = async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut cut_next = false;
        loop {
            let n = match from_client.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if cut_next {
                return;
            }
            let chunk = &buf[..n];
            if contains(chunk, COMMIT) {
                let trip = shared.trip.swap(0, Ordering::SeqCst);
                if trip == Trip::AfterCommitAnswer as u8 {
                    if to_server.write_all(chunk).await.is_err() {
                        return;
                    }
                    shared.tripped.store(true, Ordering::SeqCst);
                    if shared.down_on_trip.load(Ordering::SeqCst) {
                        shared.cut_others();
                    }
                    cut_next = true;
                    continue;
                }
                if trip != 0 {
                    hold.store(true, Ordering::SeqCst);
                    if trip == Trip::AfterCommit as u8 {
                        let _ = to_server.write_all(chunk).await;
                        // Let the server commit before the connection goes.
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    shared.tripped.store(true, Ordering::SeqCst);
                    if shared.down_on_trip.load(Ordering::SeqCst) {
                        shared.cut();
                    }
                    return;
                }
            }
            if to_server.write_all(chunk).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = answers => {}
        () = requests => {}
    }
}

/// A fresh schema in the tests' PostgreSQL database, reached through a [`Proxy`].
pub struct Proxied {
    pub url: String,
    pub schema: String,
    pub proxy: Proxy,
}

/// A new schema and a proxy to the server (accepting connections when `up`).
pub async fn setup(up: bool) -> Proxied {
    let url = super::postgres::postgres_url();
    let schema = super::postgres::create_schema(&url).await;
    let proxy = Proxy::start(host_port(&url).to_owned(), up).await;
    Proxied { url, schema, proxy }
}

/// The `host:port` of a PostgreSQL URL.
fn host_port(url: &str) -> &str {
    url.split_once('@')
        .map_or("", |(_, rest)| rest)
        .split('/')
        .next()
        .filter(|h| !h.is_empty())
        .unwrap_or("127.0.0.1:5432")
}

impl Proxied {
    /// The database's URL through the proxy.
    pub fn proxied_url(&self) -> String {
        self.url
            .replacen(host_port(&self.url), &self.proxy.addr.to_string(), 1)
    }

    /// A lazy pool through the proxy, as `serve` opens it.
    pub async fn pool(&self, max: u32, acquire: Duration) -> sea_orm::DatabaseConnection {
        let mut opts = super::postgres::options(&self.proxied_url(), &self.schema, max);
        opts.min_connections(0)
            .connect_lazy(true)
            .acquire_timeout(acquire)
            .connect_timeout(Duration::from_secs(1));
        sea_orm::Database::connect(opts).await.expect("lazy pool")
    }

    /// gazette's own pool (`gazette::db::connect`, with its checks of idle connections)
    /// through the proxy, on the test's schema, without TLS (so the proxy sees `COMMIT`).
    pub async fn gazette_pool(&self, max: u32) -> sea_orm::DatabaseConnection {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        let url = format!(
            "{}{sep}sslmode=disable&options=-c%20search_path%3D{}",
            self.proxied_url(),
            self.schema
        );
        gazette::db::connect_with(&url, max, true)
            .await
            .expect("gazette's pool")
    }

    /// Drops the schema.
    pub async fn cleanup(self) {
        super::postgres::drop_schema(&self.url, &self.schema).await;
    }
}
