//! `/graphql/ws`: GraphQL subscriptions over WebSocket, in the `graphql-transport-ws`
//! protocol (the one current clients speak: graphql-ws, Apollo Client, urql, GraphiQL).
//!
//! The protocol is spoken here rather than by `async-graphql-axum`, whose handler closes a
//! refused `connection_init` with 1002 instead of the protocol's 4403, answers a document
//! that fails validation with `next` instead of `error`, and has no limits per connection.
//!
//! - **Authentication** is in the `connection_init` payload, with the tokens HTTP takes:
//!   `{"Authorization": "Bearer <token>"}` or `{"token": "<token>"}` (a browser cannot set
//!   headers on a WebSocket). Without one, the upgrade request's own `Authorization` header
//!   counts, else the subscriber is anonymous and hears only of public articles. A bad token
//!   closes the socket with 4403; a partner token is checked against the partner's records.
//!   The caller is fixed for the connection's life.
//! - **Only subscriptions** run here; queries and mutations go to `POST /graphql`, where the
//!   rate limits, retries and `Idempotency-Key` apply.
//! - **Limits** (`crate::live::Settings`): connections per client (429 before the upgrade),
//!   subscriptions running per connection (an `error` message, `RATE_LIMITED`), the time to
//!   send `connection_init` (4408), an idle timeout (a connection with no subscription that
//!   sends nothing is closed, 1000), the size of a client's message (1009). A subscription
//!   document passes the same checks as any GraphQL request: depth, complexity, aliases and
//!   root fields, refused with an `error` message before anything runs.

use std::collections::HashMap;

use async_graphql::futures_util::{SinkExt as _, StreamExt as _};
use async_graphql::parser::types::OperationType;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::{Instant, sleep_until};

use crate::domain::access::Caller;
use crate::error::{AppError, Code};
use crate::graphql::prepare::{Transport, code_errors, is_request_error};
use crate::graphql::subscription::Start;
use crate::graphql::surrogate_keys::{operation, parsed};
use crate::http::error::HttpError;
use crate::http::{ClientKey, Verified};
use crate::live::ConnectionGuard;
use crate::state::AppState;

/// The subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Messages queued for the socket from a connection's subscriptions; a subscription whose
/// client reads slowly waits here (and catches up from the database, see `crate::live`).
const QUEUE: usize = 64;

/// The upgrade to a `graphql-transport-ws` WebSocket.
pub async fn upgrade(
    State(state): State<AppState>,
    verified: Option<axum::Extension<Verified>>,
    client: Option<axum::Extension<ClientKey>>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    // A bad token is refused as on every route, before anything else.
    let base = match verified.map(|v| v.0.caller()) {
        Some(Ok(c)) => c,
        Some(Err(e)) => return e.into_response(),
        None => return AppError::internal("the gate did not verify this request").into_response(),
    };
    let Ok(ws) = ws else {
        return HttpError::refused(
            Code::MalformedRequest,
            format!(
                "this is the GraphQL subscriptions endpoint: open a WebSocket with the {PROTOCOL} subprotocol"
            ),
        )
        .into_response();
    };
    let client = client.map_or_else(|| "unknown".to_owned(), |c| c.0.0);
    let Some(guard) = state.live.connect(&client) else {
        return HttpError::RateLimited {
            message: format!(
                "too many open subscription connections from this client (at most {})",
                state.live.settings().max_connections_per_client
            ),
            retry_after: 5,
        }
        .into_response();
    };
    let offered = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL);
    let limit = state.live.settings().max_message_bytes.max(1024);
    ws.protocols([PROTOCOL])
        // Messages up to the limit are read and refused here with 1009; the socket itself
        // gives up on anything far larger.
        .max_message_size(limit.saturating_mul(4))
        .max_frame_size(limit.saturating_mul(4))
        .on_upgrade(move |socket| async move {
            Connection::new(state, base, guard)
                .serve(socket, offered)
                .await;
        })
}

/// What a subscription task hands the socket: a message of subscription `gen`, or the news
/// that it ended.
enum Out {
    Send(u64, String),
    Done(u64),
}

/// One connection's state.
struct Connection {
    state: AppState,
    /// The upgrade request's caller, used when `connection_init` names no token.
    base: Caller,
    /// Set once `connection_init` was acknowledged.
    caller: Option<Caller>,
    /// Running subscriptions: id → (generation, task).
    subs: HashMap<String, (u64, AbortHandle)>,
    tasks: JoinSet<()>,
    next_gen: u64,
    _guard: ConnectionGuard,
}

/// Why the socket is closed (code, reason).
type Close = (u16, String);

impl Connection {
    fn new(state: AppState, base: Caller, guard: ConnectionGuard) -> Self {
        Self {
            state,
            base,
            caller: None,
            subs: HashMap::new(),
            tasks: JoinSet::new(),
            next_gen: 0,
            _guard: guard,
        }
    }

    async fn serve(mut self, socket: WebSocket, offered: bool) {
        let (mut sink, mut source) = socket.split();
        let close = |(code, reason): Close| {
            Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            }))
        };
        if !offered {
            let _ = sink
                .send(close((
                    4406,
                    format!("Subprotocol not acceptable: use {PROTOCOL}"),
                )))
                .await;
            return;
        }
        let settings = self.state.live.settings().clone();
        let init_deadline = Instant::now() + settings.init_timeout;
        let mut last_heard = Instant::now();
        let (tx, mut rx) = mpsc::channel::<Out>(QUEUE);
        let outcome: Option<Close> = loop {
            let idle = self.caller.is_some() && self.subs.is_empty();
            tokio::select! {
                biased;
                msg = source.next() => {
                    let text = match msg {
                        None | Some(Ok(Message::Close(_))) => break None,
                        // Broken, or far over the size limit.
                        Some(Err(_)) => break Some((1009, "the connection failed or a message was far too big".into())),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
                        Some(Ok(Message::Binary(b))) => b.to_vec(),
                    };
                    last_heard = Instant::now();
                    if text.len() > settings.max_message_bytes {
                        break Some((1009, format!(
                            "the message is larger than {} bytes", settings.max_message_bytes
                        )));
                    }
                    match self.handle(&text, &tx).await {
                        Ok(replies) => {
                            let mut failed = false;
                            for r in replies {
                                failed |= sink.send(Message::Text(r.into())).await.is_err();
                            }
                            if failed {
                                break None;
                            }
                        }
                        Err(c) => break Some(c),
                    }
                }
                Some(out) = rx.recv() => match out {
                    Out::Send(generation, text) => {
                        if self.subs.values().any(|(g, _)| *g == generation)
                            && sink.send(Message::Text(text.into())).await.is_err()
                        {
                            break None;
                        }
                    }
                    Out::Done(generation) => {
                        self.subs.retain(|_, (g, _)| *g != generation);
                        last_heard = Instant::now();
                    }
                },
                _ = sleep_until(init_deadline), if self.caller.is_none() => {
                    break Some((4408, "Connection initialisation timeout".into()));
                }
                _ = sleep_until(last_heard + settings.idle_timeout), if idle => {
                    break Some((1000, format!(
                        "idle: no subscription and no message for {} s",
                        settings.idle_timeout.as_secs()
                    )));
                }
            }
        };
        self.tasks.abort_all();
        if let Some(c) = outcome {
            let _ = sink.send(close(c)).await;
        }
        let _ = sink.close().await;
    }

    /// Handles one client message: the replies to send, or why to close.
    async fn handle(&mut self, raw: &[u8], tx: &mpsc::Sender<Out>) -> Result<Vec<String>, Close> {
        let invalid = |why: &str| (4400, format!("Invalid message received: {why}"));
        let msg: Value = serde_json::from_slice(raw).map_err(|_| invalid("not JSON"))?;
        let kind = msg["type"].as_str().ok_or_else(|| invalid("no `type`"))?;
        match kind {
            "connection_init" => {
                if self.caller.is_some() {
                    return Err((4429, "Too many initialisation requests".into()));
                }
                let caller = self
                    .authenticate(&msg["payload"])
                    .await
                    .map_err(|e| (4403, format!("Forbidden: {}", e.client_message())))?;
                self.caller = Some(caller);
                Ok(vec![json!({ "type": "connection_ack" }).to_string()])
            }
            "ping" => Ok(vec![json!({ "type": "pong" }).to_string()]),
            "pong" => Ok(vec![]),
            "subscribe" => {
                let id = msg["id"]
                    .as_str()
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| invalid("`subscribe` needs an `id`"))?
                    .to_owned();
                let Some(caller) = self.caller.clone() else {
                    return Err((4401, "Unauthorized".into()));
                };
                if self.subs.contains_key(&id) {
                    return Err((4409, format!("Subscriber for {id} already exists")));
                }
                let max = self.state.live.settings().max_subscriptions;
                if self.subs.len() >= max {
                    return Ok(vec![error_message(
                        &id,
                        &[coded(
                            Code::RateLimited.as_str(),
                            format!(
                                "this connection runs {max} subscriptions already, the most it may"
                            ),
                        )],
                    )]);
                }
                let req: async_graphql::Request = serde_json::from_value(msg["payload"].clone())
                    .map_err(|_| invalid("`subscribe` needs a payload with a `query`"))?;
                match self.start(&id, req, caller, tx).await {
                    Ok(()) => Ok(vec![]),
                    Err(errors) => Ok(vec![error_message(&id, &errors)]),
                }
            }
            "complete" => {
                if let Some(id) = msg["id"].as_str()
                    && let Some((_, task)) = self.subs.remove(id)
                {
                    task.abort();
                }
                Ok(vec![])
            }
            _ => Err(invalid("unknown `type`")),
        }
    }

    /// The caller a `connection_init` payload names (see the module's documentation).
    async fn authenticate(&self, payload: &Value) -> Result<Caller, AppError> {
        let bad = || {
            AppError::Unauthenticated(
                "the connection_init payload takes {\"Authorization\": \"Bearer <token>\"} or {\"token\": \"<token>\"}".into(),
            )
        };
        let auth = &self.state.auth;
        let header = payload
            .get("Authorization")
            .or_else(|| payload.get("authorization"));
        let caller = match (header, payload.get("token")) {
            (None, None) => return Ok(self.base.clone()),
            (Some(h), None) => auth.caller(Some(h.as_str().ok_or_else(bad)?.as_bytes()))?,
            (None, Some(t)) => auth.verify(t.as_str().ok_or_else(bad)?.trim())?,
            (Some(_), Some(_)) => return Err(bad()),
        };
        match caller {
            Caller::Partner { slug, key, .. } => {
                let grant = crate::domain::partners::check(&self.state.db, &slug, &key).await?;
                Ok(Caller::Partner {
                    slug,
                    key,
                    grant: Some(grant),
                })
            }
            c => Ok(c),
        }
    }

    /// Checks a subscription's document and starts it; the errors of one refused before it
    /// runs. It starts after the stream's head as it is now: every write committed before the
    /// `subscribe` message was handled is left out, every later one is in.
    async fn start(
        &mut self,
        id: &str,
        req: async_graphql::Request,
        caller: Caller,
        tx: &mpsc::Sender<Out>,
    ) -> Result<(), Vec<async_graphql::ServerError>> {
        let s = &self.state;
        let req = s
            .prepare
            .request(req, Transport::Post, None)
            .map_err(|e| vec![e])?;
        let subscribes = parsed(&req.query).is_some_and(|doc| {
            operation(&doc, req.operation_name.as_deref())
                .is_some_and(|op| op.node.ty == OperationType::Subscription)
        });
        if !subscribes {
            return Err(vec![coded(
                Code::BadUserInput.as_str(),
                "only subscriptions run over /graphql/ws; send queries and mutations to POST /graphql",
            )]);
        }
        let head = crate::domain::stream::head(&s.db)
            .await
            .map_err(|e| vec![refusal(e)])?;
        let directory = s.response_cache.directory().clone();
        let loaders = crate::graphql::loaders::new(s.db.primary().clone(), directory.clone());
        // A subscription lives long: what it reads for one event must not be served from
        // what it read for an earlier one.
        loaders.enable_all_cache(false);
        let req = req
            .data(loaders)
            .data(directory)
            .data(caller)
            .data(s.live.clone())
            .data(Start(Some(head.last_seq)));
        let generation = self.next_gen;
        self.next_gen += 1;
        let (schema, tx, id_owned) = (s.schema.clone(), tx.clone(), id.to_owned());
        let task = self.tasks.spawn(async move {
            let mut responses = schema.execute_stream(req);
            let mut first = true;
            while let Some(mut resp) = responses.next().await {
                code_errors(&mut resp);
                // Refused before it yielded anything (validation, limits, a resolver's
                // NOT_FOUND): the protocol's `error`, which ends the operation.
                let refused = first
                    && !resp.errors.is_empty()
                    && (is_request_error(&resp) || resp.data == async_graphql::Value::Null);
                first = false;
                let text = if refused {
                    error_message(&id_owned, &resp.errors)
                } else {
                    json!({ "type": "next", "id": id_owned, "payload": resp }).to_string()
                };
                if tx.send(Out::Send(generation, text)).await.is_err() || refused {
                    let _ = tx.send(Out::Done(generation)).await;
                    return;
                }
            }
            let done = json!({ "type": "complete", "id": id_owned }).to_string();
            let _ = tx.send(Out::Send(generation, done)).await;
            let _ = tx.send(Out::Done(generation)).await;
        });
        self.subs.insert(id.to_owned(), (generation, task));
        Ok(())
    }
}

/// A GraphQL error with `extensions.code`.
fn coded(code: &str, message: impl Into<String>) -> async_graphql::ServerError {
    let mut e = async_graphql::ServerError::new(message, None);
    e.extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    e
}

/// The GraphQL error of a domain error (logged as resolvers' are).
fn refusal(e: AppError) -> async_graphql::ServerError {
    e.log();
    coded(e.code(), e.client_message())
}

/// The protocol's `error` message for operation `id`.
fn error_message(id: &str, errors: &[async_graphql::ServerError]) -> String {
    json!({ "type": "error", "id": id, "payload": errors }).to_string()
}
