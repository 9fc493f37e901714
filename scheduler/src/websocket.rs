//! Websockets on the GraphQL paths: the I/O around [`graphedge_edge::ws`], which decides every
//! message and close frame (Hasura's two subprotocols, Apollo's `subscriptions-transport-ws`
//! and graphql-ws).
//!
//! [`server`](crate::server) hands every `GET` with `Upgrade: websocket` to [`upgrade`]: the
//! path is checked (Hasura's 404 elsewhere), the `Origin` against the CORS domains, the
//! subprotocol chosen, and the `101` answered; the socket then runs as one task on the HTTP
//! thread that accepted it, using that thread's database backend for its queries and
//! mutations. The task:
//!
//! * sends a keep-alive at once and every `HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE` seconds, and
//!   closes a socket that sent no `connection_init` within
//!   `HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT` seconds;
//! * authenticates `connection_init` as HTTP does (admin secret, webhook, JWT) with
//!   `payload.headers` followed by the upgrade request's headers, and closes the socket when
//!   the JWT's `exp` passes (close 1000 "JWT expired": Hasura just drops the connection, a
//!   normal closure lets clients reconnect with a fresh token);
//! * runs queries and mutations (at most [`MAX_RUNNING`] at once per socket) and answers each
//!   with its result and `complete`; hands subscriptions to the
//!   [`Manager`](crate::subscriptions::Manager), keeping their handles (dropping one stops the
//!   subscription: `stop`, a closed socket) and forwarding their pushes;
//! * closes with 1012 when the served metadata changes
//!   (`HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE`, checked every second) and when the
//!   server shuts down (the HTTP thread's drain waits for its sockets, which close at once);
//! * bounds what a client can cost: a message over `GRAPHEDGE_MAX_BODY_BYTES` closes the
//!   socket (1009); pushes wait in a queue of [`PUSH_QUEUE`] (the pollers drop what does not
//!   fit), a queue found full at two checks in a row closes the socket (1011), and a write the
//!   client does not take within [`WRITE_STALL`] drops the connection.
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, SinkExt, StreamExt};
use graphedge_core::Session;
use graphedge_edge::graphql::GqlRequest;
use graphedge_edge::ws::{self, Action, ClientMsg, Close, Endpoint, Protocol};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::server::{App, JwkHttp, Local};
use crate::subscriptions::{ActionWatch, Payload, Push, Subscribed, Subscription};

/// Queries and mutations of one socket running at once; more wait (the socket reads no
/// further message until one finishes).
pub const MAX_RUNNING: usize = 16;
/// Pushes of one socket's subscriptions waiting to be written.
pub const PUSH_QUEUE: usize = 64;
/// How long a write may wait for a client that does not read before the connection is dropped.
pub const WRITE_STALL: Duration = Duration::from_secs(10);
/// How long a closing socket waits for the client's close frame.
pub const CLOSE_LINGER: Duration = Duration::from_secs(1);
/// How often the metadata version and the push queue are checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Bumped when this process's metadata may have changed (a metadata request answered, a
/// change made elsewhere followed): sockets check at once instead of at their next
/// [`CHECK_EVERY`] tick, so none outlives a `/v1/metadata` change (`Engine::socket_epoch`)
/// by more than a moment (Hasura's metadata API closes them; clients reopen at once).
fn metadata_watch() -> &'static watch::Sender<u64> {
    static WATCH: OnceLock<watch::Sender<u64>> = OnceLock::new();
    WATCH.get_or_init(|| watch::channel(0).0)
}

/// Tells the sockets that the metadata may have changed (see [`metadata_watch`]).
pub fn metadata_may_have_changed() {
    metadata_watch().send_modify(|n| *n = n.wrapping_add(1));
}

/// What a socket gets from the HTTP thread that accepted it: the stop (`Some(deadline)` once
/// the shutdown is requested) and a token the thread's drain waits for (dropped when the
/// socket ends).
#[derive(Clone)]
pub(crate) struct Lifeline {
    pub stopped: watch::Receiver<Option<Instant>>,
    pub alive: mpsc::Sender<()>,
}

/// The websocket settings, read from the environment once (an invalid value is logged and
/// the default used).
fn settings() -> ws::Settings {
    static SETTINGS: OnceLock<ws::Settings> = OnceLock::new();
    *SETTINGS.get_or_init(|| {
        ws::Settings::from_lookup(&|k| std::env::var(k).ok()).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "websocket settings: using the defaults");
            ws::Settings::default()
        })
    })
}

/// Whether `req` asks for a websocket (`GET` with `Upgrade: websocket`).
pub fn is_upgrade<B>(req: &hyper::Request<B>) -> bool {
    req.method() == hyper::Method::GET
        && header_has_token(req.headers(), hyper::header::UPGRADE, "websocket")
}

fn header_has_token(
    headers: &hyper::HeaderMap,
    name: hyper::header::HeaderName,
    token: &str,
) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn to_hyper(r: graphedge_edge::Response) -> hyper::Response<Full<Bytes>> {
    let mut out = hyper::Response::new(Full::new(Bytes::from(r.body)));
    *out.status_mut() =
        hyper::StatusCode::from_u16(r.status).unwrap_or(hyper::StatusCode::BAD_REQUEST);
    for (k, v) in r.headers {
        if let (Ok(k), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            hyper::header::HeaderValue::from_str(&v),
        ) {
            out.headers_mut().append(k, v);
        }
    }
    out
}

/// Answers a websocket upgrade request: Hasura's refusals, or `101` with the socket's task
/// started (it runs once hyper hands the connection over).
pub(crate) fn upgrade(
    app: Arc<App>,
    local: Arc<Local>,
    mut req: hyper::Request<Incoming>,
    peer: SocketAddr,
    life: Lifeline,
) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let Some(endpoint) = Endpoint::of_path(&path) else {
        return to_hyper(ws::not_found());
    };
    if life.stopped.borrow().is_some() {
        return to_hyper(ws::shutting_down());
    }
    let version_ok = req
        .headers()
        .get(hyper::header::SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v.as_bytes() == b"13");
    let key = req.headers().get(hyper::header::SEC_WEBSOCKET_KEY).cloned();
    let Some(key) = key.filter(|_| version_ok) else {
        return to_hyper(ws::bad_handshake(
            "a websocket handshake needs Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key",
        ));
    };
    let headers = crate::http_client::header_pairs(req.headers());
    let cors = &app.engine.config().ops.cors;
    if !ws::origin_allowed(cors, &headers) {
        return to_hyper(ws::origin_refused());
    }
    let settings = settings();
    let drop_cookie = *cors == graphedge_edge::cors::Cors::Disabled && !settings.read_cookie;
    let protocol = Protocol::choose(&headers);
    let accepted = protocol.accepted(&headers);
    let upgrade_headers = ws::upgrade_headers(&headers, drop_cookie);

    let mut resp = hyper::Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = hyper::StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(
        hyper::header::UPGRADE,
        hyper::header::HeaderValue::from_static("websocket"),
    );
    h.insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("Upgrade"),
    );
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    if let Ok(v) = hyper::header::HeaderValue::from_str(&accept) {
        h.insert(hyper::header::SEC_WEBSOCKET_ACCEPT, v);
    }
    if let Some(p) = accepted {
        h.insert(
            hyper::header::SEC_WEBSOCKET_PROTOCOL,
            hyper::header::HeaderValue::from_static(p),
        );
    }

    let limit = app.engine.config().max_body_bytes;
    let on_upgrade = hyper::upgrade::on(&mut req);
    drop(req);
    tokio::spawn(async move {
        // The thread's drain waits until this is dropped.
        let _alive = life.alive;
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "websocket upgrade failed");
                return;
            }
        };
        // A small read buffer (tungstenite's default, 128 KiB, is zero-filled on the first
        // read: 1,000 idle sockets held ~130 MB); it grows for larger messages.
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .max_message_size(Some(limit))
            .max_frame_size(Some(limit));
        let stream =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        let (sink, pushes) = mpsc::channel(PUSH_QUEUE);
        let socket = Socket {
            initial_epoch: app.engine.socket_epoch(),
            app,
            local,
            protocol,
            endpoint,
            settings,
            upgrade_headers,
            state: State::New,
            init_received: false,
            ops: HashMap::new(),
            sink,
            full_at_last_check: false,
            limit,
            id: crate::logging::request_id(),
            jwt_expiry: None,
        };
        tracing::debug!(%peer, path, ?protocol, "websocket accepted");
        crate::logging::websocket(
            serde_json::json!({"type": "accepted"}),
            &socket.id,
            None,
            None,
        );
        let id = socket.id.clone();
        socket.run(stream, pushes, life.stopped).await;
        crate::logging::websocket(serde_json::json!({"type": "closed"}), &id, None, None);
        tracing::debug!(%peer, "websocket closed");
    });
    resp
}

type Stream = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;
/// A query or mutation running: its operation id and the response body.
type Running = Pin<Box<dyn Future<Output = (String, String)> + Send>>;

/// Where a socket's authentication stands.
enum State {
    /// No `connection_init` yet.
    New,
    /// Authenticated: every operation runs as `session`, until `expiry` (a JWT's `exp`).
    Ready {
        session: Arc<Session>,
        expiry: Option<Instant>,
    },
    /// `connection_init` was refused with this message.
    Failed(String),
}

/// What ends a socket's loop.
struct Gone;

struct Socket {
    app: Arc<App>,
    local: Arc<Local>,
    protocol: Protocol,
    endpoint: Endpoint,
    settings: ws::Settings,
    upgrade_headers: Vec<(String, String)>,
    state: State,
    /// A `connection_init` arrived (the init timeout no longer applies).
    init_received: bool,
    /// The running subscriptions by operation id.
    ops: HashMap<String, Subscription>,
    /// Where this socket's subscriptions push (the receiving end is the loop's).
    sink: mpsc::Sender<Push>,
    full_at_last_check: bool,
    /// The `/v1/metadata` change epoch the socket started with (see `Engine::socket_epoch`).
    initial_epoch: u64,
    limit: usize,
    /// The socket's id in its `websocket-log` lines.
    id: String,
    /// The JWT's `exp` of the session (for the log lines).
    jwt_expiry: Option<i64>,
}

impl Socket {
    async fn run(
        mut self,
        mut ws: Stream,
        mut pushes: mpsc::Receiver<Push>,
        mut stopped: watch::Receiver<Option<Instant>>,
    ) {
        let mut keep_alive = tokio::time::interval(self.settings.keep_alive);
        keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut check = tokio::time::interval_at(Instant::now() + CHECK_EVERY, CHECK_EVERY);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let init_deadline = tokio::time::sleep(self.settings.init_timeout);
        tokio::pin!(init_deadline);
        let mut running: FuturesUnordered<Running> = FuturesUnordered::new();
        let mut metadata = metadata_watch().subscribe();
        loop {
            let expiry = match &self.state {
                State::Ready { expiry, .. } => *expiry,
                _ => None,
            };
            let waiting_init = !self.init_received;
            let actions = tokio::select! {
                incoming = ws.next(), if running.len() < MAX_RUNNING => {
                    match incoming {
                        Some(Ok(Message::Text(t))) => self.on_message(t.as_bytes(), &mut running).await,
                        Some(Ok(Message::Binary(b))) => self.on_message(&b, &mut running).await,
                        // Pings are answered by the protocol layer; pongs and raw frames mean nothing here.
                        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Vec::new(),
                        Some(Ok(Message::Close(_))) => {
                            linger(&mut ws).await;
                            return;
                        }
                        Some(Err(WsError::Capacity(e))) => {
                            tracing::debug!(error = %e, "websocket message over the limit");
                            close_over_limit(&mut ws, Close::too_big(self.limit)).await;
                            return;
                        }
                        Some(Err(e)) => {
                            tracing::debug!(error = %e, "websocket read failed");
                            return;
                        }
                        None => return,
                    }
                }
                Some(push) = pushes.recv() => self.on_push(push),
                Some((id, body)) = running.next() => ws::answer(self.protocol, self.endpoint, &id, &body),
                _ = keep_alive.tick() => vec![Action::Send(ws::keep_alive(self.protocol))],
                _ = &mut init_deadline, if waiting_init => vec![Action::Close(Close::init_timeout(self.protocol))],
                _ = sleep_until(expiry), if expiry.is_some() => {
                    self.log(serde_json::json!({"type": "jwt_expired"}));
                    vec![Action::Close(Close::token_expired())]
                }
                _ = check.tick() => self.on_check(),
                Ok(()) = metadata.changed() => self.on_check(),
                _ = stop_requested(&mut stopped) => vec![Action::Close(Close::shutting_down())],
            };
            if perform(&mut ws, actions).await.is_err() {
                return;
            }
        }
    }

    /// One client message.
    async fn on_message(
        &mut self,
        text: &[u8],
        running: &mut FuturesUnordered<Running>,
    ) -> Vec<Action> {
        match ws::parse(text, self.endpoint) {
            Err(msg) => ws::unparsable(self.protocol, &msg),
            Ok(ClientMsg::Init { headers }) => self.init(headers).await,
            Ok(ClientMsg::Start { id, request }) => self.start(id, request, running),
            Ok(ClientMsg::Stop { id }) => {
                // Unknown ids (finished queries, misbehaving clients) are ignored, as Hasura does.
                if self.ops.remove(&id).is_some() {
                    self.log_operation(&id, "stopped", None);
                }
                Vec::new()
            }
            Ok(ClientMsg::Terminate) => vec![Action::Close(Close::terminated())],
            Ok(ClientMsg::Ping { payload }) => vec![Action::Send(ws::pong(payload.as_ref()))],
            Ok(ClientMsg::Pong) => Vec::new(),
        }
    }

    /// A `websocket-log` line of this socket.
    fn log(&self, event: serde_json::Value) {
        let session = match &self.state {
            State::Ready { session, .. } => Some(&**session),
            _ => None,
        };
        crate::logging::websocket(event, &self.id, self.jwt_expiry, session);
    }

    /// A `websocket-log` line of an operation (`started`, `stopped`).
    fn log_operation(&self, id: &str, kind: &str, request: Option<&GqlRequest>) {
        self.log(serde_json::json!({"type": "operation", "detail": {
            "request_id": null,
            "operation_id": id,
            "operation_type": {"type": kind},
            "operation_name": request.and_then(|r| r.operation_name.clone()),
            "query": request.map(|r| serde_json::json!({"query": r.query})),
        }}));
    }

    /// `connection_init`: authenticates the socket. A repeated one re-authenticates with its
    /// payload's headers only (Hasura's behaviour).
    async fn init(&mut self, payload: Vec<(String, String)>) -> Vec<Action> {
        self.init_received = true;
        let headers = match &self.state {
            State::New => ws::session_headers(&payload, &self.upgrade_headers),
            State::Ready { .. } => payload,
            State::Failed(e) => return ws::init_failed(self.protocol, &e.clone()),
        };
        let engine = &self.app.engine;
        match graphedge_edge::auth::authenticate_headers(engine, &headers, &JwkHttp).await {
            Ok(hooked) => {
                // An `exp` beyond what a timer holds never comes.
                // The JWT's end, or the webhook answer's (the earlier of both).
                let end = graphedge_edge::auth::jwt_expiry(engine.config(), &headers);
                let end = match (end, hooked.expires_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                let expiry = end.and_then(|end| {
                    // To the millisecond: the token is refused from second `end` on.
                    let left = end.saturating_mul(1000).saturating_sub(now_unix_millis());
                    Instant::now().checked_add(Duration::from_millis(left.max(0) as u64))
                });
                self.jwt_expiry = end;
                self.state = State::Ready {
                    session: Arc::new(hooked.session),
                    expiry,
                };
                ws::initialised(self.protocol)
            }
            Err(e) => {
                self.log(serde_json::json!({"type": "rejected", "detail": {
                    "error": e.message, "code": e.code, "path": e.path,
                }}));
                let actions = ws::init_failed(self.protocol, &e.message);
                self.state = State::Failed(e.message);
                actions
            }
        }
    }

    /// `start` / `subscribe`.
    // `EdgeError` is large (it carries the Postgres internals); errors are the cold path.
    #[allow(clippy::result_large_err)]
    fn start(
        &mut self,
        id: String,
        request: GqlRequest,
        running: &mut FuturesUnordered<Running>,
    ) -> Vec<Action> {
        let (protocol, endpoint) = (self.protocol, self.endpoint);
        if self.ops.contains_key(&id) {
            return ws::start_failed(protocol, endpoint, &id, &ws::duplicate_id(&id));
        }
        let session = match &self.state {
            State::Ready { session, .. } => session.clone(),
            State::New => return ws::start_failed(protocol, endpoint, &id, ws::NOT_INITIALISED),
            State::Failed(e) => {
                let msg = format!("cannot start as connection_init failed with: {e}");
                return ws::start_failed(protocol, endpoint, &id, &msg);
            }
        };
        self.log_operation(&id, "started", Some(&request));
        crate::logging::ws_server(
            &self.id,
            "message_received",
            Some((&id, request.operation_name.as_deref())),
        );
        if graphedge_edge::subscriptions::is_subscription(&request) {
            let engine = &self.app.engine;
            let op: Arc<str> = id.as_str().into();
            let subscribed = std::panic::catch_unwind(AssertUnwindSafe(|| {
                self.app
                    .subscriptions
                    .subscribe(engine, &session, &request, op, self.sink.clone())
            }))
            .unwrap_or_else(|_| {
                tracing::error!("subscribing panicked");
                Err(graphedge_edge::EdgeError::unexpected("internal error"))
            });
            return match subscribed {
                Ok(Subscribed::Multiplexed(sub)) => {
                    self.ops.insert(id, sub);
                    Vec::new()
                }
                Ok(Subscribed::ActionResult(plan)) => {
                    let sub = crate::subscriptions::watch_action_result(ActionWatch {
                        app: self.app.clone(),
                        local: self.local.clone(),
                        session,
                        request,
                        plan,
                        client_headers: self.upgrade_headers.clone(),
                        op: id.as_str().into(),
                        sink: self.sink.clone(),
                    });
                    self.ops.insert(id, sub);
                    Vec::new()
                }
                Err(e) => {
                    let internal = include_internal(engine.config(), &session);
                    ws::subscription_refused(protocol, endpoint, &id, &e, internal)
                }
            };
        }
        let (app, local) = (self.app.clone(), self.local.clone());
        let client_headers = self.upgrade_headers.clone();
        running.push(Box::pin(async move {
            let _in_flight = local.busy_poll.as_ref().map(|b| b.request());
            let loaded = app.engine.loaded();
            let mut log = graphedge_edge::reqlog::RequestLog::default();
            // GraphQL statements go to the served source's database, as over HTTP.
            let db = graphedge_edge::md::On::source(&local.db, loaded.source.as_ref());
            let outbound = graphedge_edge::actions::Outbound {
                http: &crate::server::JwkHttp,
                client_headers: &client_headers,
                query: "",
            };
            let run = graphedge_edge::graphql::run(
                &app.engine,
                &loaded,
                &db,
                &session,
                &request,
                &outbound,
                &mut log,
            );
            // A panic (a bug) fails this operation alone, as over HTTP.
            let body = match AssertUnwindSafe(run).catch_unwind().await {
                Ok((_status, body)) => body,
                Err(_) => {
                    tracing::error!(operation = id, "websocket operation panicked");
                    graphedge_edge::EdgeError::unexpected("internal error")
                        .to_graphql_json(false)
                        .to_string()
                }
            };
            (id, body)
        }));
        Vec::new()
    }

    /// A subscription's push (dropped when its operation stopped meanwhile). A failed poll is
    /// sent as a result carrying `errors`, as Hasura's `onChange` does.
    fn on_push(&mut self, push: Push) -> Vec<Action> {
        if !self.ops.contains_key(&*push.op) {
            return Vec::new();
        }
        let body: &str = match &push.payload {
            Payload::Data(d) => d,
            Payload::Errors(e) => e,
        };
        let mut actions = vec![Action::Send(ws::data(self.protocol, &push.op, body))];
        if push.last {
            self.ops.remove(&*push.op);
            actions.push(Action::Send(ws::complete(&push.op)));
        }
        actions
    }

    /// The periodic check: the metadata version, and a push queue that stays full.
    fn on_check(&mut self) -> Vec<Action> {
        if self.settings.close_on_metadata_change
            && self.app.engine.socket_epoch() != self.initial_epoch
        {
            return vec![Action::Close(Close::metadata_changed())];
        }
        let full = self.sink.capacity() == 0;
        if full && self.full_at_last_check {
            return vec![Action::Close(Close::slow_consumer())];
        }
        self.full_at_last_check = full;
        Vec::new()
    }
}

/// Whether errors shown to `session` carry Postgres internals (the edge's rule).
fn include_internal(config: &graphedge_edge::Config, session: &Session) -> bool {
    config.dev_mode || (session.is_admin() && config.admin_internal_errors)
}

fn now_unix_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Resolves once the stop is requested (at once when the sender is gone).
pub(crate) async fn stop_requested(stopped: &mut watch::Receiver<Option<Instant>>) {
    // The guard `wait_for` returns is dropped here: it must not live across an await.
    let _ = stopped.wait_for(Option::is_some).await.map(|_| ());
}

/// Sleeps until `at` (forever for `None`; the branch is disabled then anyway).
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Sends the actions in order; `Err` once the socket is closed or gone.
async fn perform(ws: &mut Stream, actions: Vec<Action>) -> Result<(), Gone> {
    for action in actions {
        match action {
            Action::Send(text) => {
                match tokio::time::timeout(WRITE_STALL, ws.send(Message::Text(text.into()))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "websocket write failed");
                        return Err(Gone);
                    }
                    Err(_) => {
                        tracing::debug!("websocket client stopped reading: connection dropped");
                        return Err(Gone);
                    }
                }
            }
            Action::Close(close) => {
                tracing::debug!(
                    code = close.code,
                    reason = close.reason,
                    "closing websocket"
                );
                let frame = CloseFrame {
                    code: CloseCode::from(close.code),
                    reason: close.reason.into(),
                };
                if let Ok(Ok(())) =
                    tokio::time::timeout(CLOSE_LINGER, ws.send(Message::Close(Some(frame)))).await
                {
                    linger(ws).await;
                }
                return Err(Gone);
            }
        }
    }
    Ok(())
}

/// Closes a socket whose message was over the limit: the rest of that message is still on its
/// way, so after the close frame the raw bytes are read and dropped
/// until the client closes (at most [`OVER_LIMIT_DRAIN`]) — closing with unread bytes would reset
/// the connection, and the client, still sending, would never read the close frame.
async fn close_over_limit(ws: &mut Stream, close: Close) {
    use tokio::io::AsyncReadExt;
    let frame = CloseFrame {
        code: CloseCode::from(close.code),
        reason: close.reason.into(),
    };
    if let Ok(Ok(())) =
        tokio::time::timeout(CLOSE_LINGER, ws.send(Message::Close(Some(frame)))).await
    {
        let raw = ws.get_mut();
        let drain = async {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = raw.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(OVER_LIMIT_DRAIN, drain).await;
    }
}

/// How long the rest of an oversized message is read after the close frame.
const OVER_LIMIT_DRAIN: Duration = Duration::from_secs(5);

/// Reads (and drops) what the client still sends until its close frame arrives or the
/// connection ends, at most [`CLOSE_LINGER`]; the protocol layer answers a client's close.
async fn linger(ws: &mut Stream) {
    let drain = async { while let Some(Ok(_)) = ws.next().await {} };
    let _ = tokio::time::timeout(CLOSE_LINGER, drain).await;
}
