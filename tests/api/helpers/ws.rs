//! Live subscriptions from a client's side: gazette served on a bound port (a WebSocket
//! needs a real connection), and a `graphql-transport-ws` client over a real socket.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{TestApp, rate_limits, test_auth, test_site, wait_until_live};

/// How long a test waits for something that must arrive.
pub const ARRIVES: Duration = Duration::from_secs(10);
/// How long a test listens to be sure that nothing arrives.
pub const QUIET: Duration = Duration::from_millis(800);

/// Live settings for tests: a quick poll, the other limits as given.
pub fn live_settings(change: impl FnOnce(&mut gazette::live::Settings)) -> gazette::live::Settings {
    let mut s = gazette::live::Settings {
        poll: Duration::from_millis(50),
        ..Default::default()
    };
    change(&mut s);
    s
}

/// A gazette process serving on a port of its own.
pub struct Served {
    pub addr: SocketAddr,
    pub live: gazette::live::Live,
}

impl TestApp {
    /// This database served on a port by a process of its own (its own pool when
    /// `own_pool`, as another gazette process would open), with these live settings.
    pub async fn serve_live(&self, own_pool: bool, settings: gazette::live::Settings) -> Served {
        let db = if own_pool {
            self.second_connection().await
        } else {
            self.db.clone()
        };
        let http = rate_limits((100_000, 100_000), (100_000, 100_000));
        let state = gazette::AppState::new(db, test_auth())
            .with_http(http)
            .with_site(test_site(|_| {}))
            .with_live(settings);
        let (cache, live) = (state.response_cache.clone(), state.live.clone());
        let router = gazette::app(state);
        wait_until_live(&cache).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a port");
        let addr = listener.local_addr().expect("address");
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, service).await });
        Served { addr, live }
    }
}

/// What the server did next.
#[derive(Debug)]
pub enum Heard {
    Message(Value),
    Closed(u16, String),
    Nothing,
}

/// A `graphql-transport-ws` client.
pub struct Ws(WebSocketStream<MaybeTlsStream<TcpStream>>);

/// Opens a WebSocket to `/graphql/ws` asking for `protocol` (if any); the HTTP refusal
/// (status) when the server does not upgrade.
pub async fn open_with(addr: SocketAddr, protocol: Option<&str>) -> Result<Ws, u16> {
    let mut req = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .expect("request");
    if let Some(p) = protocol {
        req.headers_mut()
            .insert("sec-websocket-protocol", p.parse().expect("header"));
    }
    // Browsers send it too; the upgrade must survive the compression layer.
    req.headers_mut()
        .insert("accept-encoding", "gzip, br".parse().expect("header"));
    match tokio_tungstenite::connect_async(req).await {
        Ok((stream, res)) => {
            if protocol == Some("graphql-transport-ws") {
                assert_eq!(
                    res.headers()
                        .get("sec-websocket-protocol")
                        .and_then(|v| v.to_str().ok()),
                    Some("graphql-transport-ws"),
                    "the server speaks the protocol asked for"
                );
            }
            Ok(Ws(stream))
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("cannot open the WebSocket: {e}"),
    }
}

/// Opens a WebSocket speaking `graphql-transport-ws`, without initialising it.
pub async fn open(addr: SocketAddr) -> Ws {
    open_with(addr, Some("graphql-transport-ws"))
        .await
        .expect("the upgrade")
}

/// Opens and initialises a connection with `payload` (`None`: no payload), which must be
/// acknowledged.
pub async fn connect(addr: SocketAddr, payload: Option<Value>) -> Ws {
    let mut ws = open(addr).await;
    ws.init(payload).await;
    match ws.hear(ARRIVES).await {
        Heard::Message(m) if m["type"] == "connection_ack" => ws,
        other => panic!("expected connection_ack, heard {other:?}"),
    }
}

/// A `connection_init` payload carrying `token` as an `Authorization` header.
pub fn bearer(token: &str) -> Option<Value> {
    Some(json!({ "Authorization": format!("Bearer {token}") }))
}

impl Ws {
    /// Sends a message.
    pub async fn send(&mut self, msg: Value) {
        self.send_text(msg.to_string()).await;
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: String) {
        self.0
            .send(Message::Text(text.into()))
            .await
            .expect("send a message");
    }

    /// Sends `connection_init`.
    pub async fn init(&mut self, payload: Option<Value>) {
        let mut msg = json!({ "type": "connection_init" });
        if let Some(p) = payload {
            msg["payload"] = p;
        }
        self.send(msg).await;
    }

    /// The next message or close within `within`.
    pub async fn hear(&mut self, within: Duration) -> Heard {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let msg = match tokio::time::timeout_at(deadline, self.0.next()).await {
                Err(_) => return Heard::Nothing,
                Ok(None) => return Heard::Closed(1006, "closed without a close frame".into()),
                Ok(Some(Err(e))) => return Heard::Closed(1006, e.to_string()),
                Ok(Some(Ok(m))) => m,
            };
            match msg {
                Message::Text(t) => {
                    return Heard::Message(serde_json::from_str(&t).expect("a JSON message"));
                }
                Message::Close(Some(f)) => {
                    return Heard::Closed(f.code.into(), f.reason.to_string());
                }
                Message::Close(None) => return Heard::Closed(1005, String::new()),
                _ => {}
            }
        }
    }

    /// Subscribes with `id`, and waits until the server has taken the subscription (a ping
    /// answered after it), so that a write made next is heard.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "type": "subscribe", "id": id, "payload": { "query": query, "variables": variables } }))
            .await;
        self.send(json!({ "type": "ping" })).await;
        match self.hear(ARRIVES).await {
            Heard::Message(m) if m["type"] == "pong" => {}
            Heard::Message(m) if m["type"] == "error" => panic!("subscription {id} refused: {m}"),
            other => panic!("expected pong after subscribing {id}, heard {other:?}"),
        }
    }

    /// The `payload` of the next `next` message, which must be for `id`.
    pub async fn next(&mut self, id: &str) -> Value {
        match self.hear(ARRIVES).await {
            Heard::Message(m) if m["type"] == "next" && m["id"] == id => {
                assert!(m["payload"].get("errors").is_none(), "errors: {m}");
                m["payload"]["data"].clone()
            }
            other => panic!("expected `next` for {id}, heard {other:?}"),
        }
    }

    /// The errors of the `error` message that must come next, for `id`.
    pub async fn error(&mut self, id: &str) -> Value {
        match self.hear(ARRIVES).await {
            Heard::Message(m) if m["type"] == "error" && m["id"] == id => m["payload"].clone(),
            other => panic!("expected `error` for {id}, heard {other:?}"),
        }
    }

    /// Nothing arrives for a while.
    pub async fn quiet(&mut self, why: &str) {
        match self.hear(QUIET).await {
            Heard::Nothing => {}
            other => panic!("{why}: heard {other:?}"),
        }
    }

    /// The server closes the socket: its code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            match self.hear(ARRIVES).await {
                Heard::Closed(code, reason) => return (code, reason),
                Heard::Message(m) if m["type"] == "pong" => {}
                other => panic!("expected the socket to close, heard {other:?}"),
            }
        }
    }
}
