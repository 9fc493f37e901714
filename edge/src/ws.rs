//! GraphQL over WebSockets, Hasura v2's way, host-independent: the path check, the choice of
//! subprotocol, the headers a socket authenticates with, the client messages, and every
//! message and close frame the server sends. No I/O: the host (natively
//! `scheduler/src/websocket.rs`) owns the socket, the timers and the operations, and asks this
//! module what to send.
//!
//! Two subprotocols, chosen by `Sec-WebSocket-Protocol` (HGE `WebSocket/Protocol.hs`):
//! exactly `graphql-transport-ws` is **graphql-ws** (enisdenjo); anything else, or nothing, is
//! Apollo's **subscriptions-transport-ws** (`graphql-ws` is echoed when the client offered it).
//! Both accept every client message type (`start`/`subscribe`, `stop`/`complete`, …), as
//! Hasura's parser does; they differ in what the server answers:
//!
//! | | Apollo | graphql-ws |
//! |---|---|---|
//! | keep-alive | `{"type":"ka"}` | `{"type":"ping","payload":{"message":"keepalive"}}` |
//! | result | `data` | `next` |
//! | unparsable message | `connection_error`, the socket stays open | close 4400 |
//! | `connection_init` refused | `connection_error`, close 4400 | close 4403 |
//! | pre-execution error | `error` `{"errors":[…]}`, `complete` | `error` `[…]`, `complete` |
//! | execution (database) error | `data` `{"errors":[…]}`, `complete` | `error` `[…]`, `complete` |
//! | a subscription's failed poll | `data` `{"errors":[…]}` | `next` `{"errors":[…]}` (HGE's `onChange`) |
//! | `start` refused (not initialised, duplicate id) | `error` (one object), `complete` | `error` (one object), `error` (the message), close 1000 |
//!
//! Close reasons of protocol errors are Hasura's `ServerErrorMsg` JSON
//! (`{"server_error_msg":"4403: Forbidden"}`, as HGE's `encodeServerErrorMsg` renders it),
//! shortened to the 123 bytes a close frame allows; the others are Hasura's plain texts
//! ("Connection initialisation timed out", "Server state changed, restarting the server",
//! "shutting server down", "GQL_CONNECTION_TERMINATE received").
//!
//! `/v1alpha1/graphql` keeps Hasura's legacy error objects (`{path, error, code}`, a
//! pre-execution error's payload being the object itself); `/v1beta1/relay` compiles against
//! the Relay schema.
use core::time::Duration;

use serde_json::{Map, Value as Json};

use crate::graphql::{GqlBody, GqlRequest};
use crate::Response;

/// Apollo's subprotocol name (`subscriptions-transport-ws`).
pub const GRAPHQL_WS: &str = "graphql-ws";
/// graphql-ws's subprotocol name.
pub const GRAPHQL_TRANSPORT_WS: &str = "graphql-transport-ws";

/// Hasura's 404 for a websocket on another path.
pub const PATH_NOT_SUPPORTED: &str =
    "only '/v1/graphql', '/v1alpha1/graphql' and '/v1beta1/relay' are supported on websockets";
/// Hasura's refusal of an `Origin` outside the CORS domains.
pub const ORIGIN_REFUSED: &str = "received origin header does not match configured CORS domains";

/// The largest close reason a close frame carries (125 payload bytes less the code).
pub const MAX_CLOSE_REASON: usize = 123;

/// The two subprotocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `subscriptions-transport-ws` (subprotocol `graphql-ws`): the default.
    Apollo,
    /// enisdenjo's `graphql-ws` (subprotocol `graphql-transport-ws`).
    GraphqlWs,
}

impl Protocol {
    /// Hasura's choice: one `Sec-WebSocket-Protocol` header whose value is exactly
    /// `graphql-transport-ws` selects graphql-ws; anything else selects Apollo.
    pub fn choose(headers: &[(String, String)]) -> Protocol {
        let mut offered = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("sec-websocket-protocol"));
        match (offered.next(), offered.next()) {
            (Some((_, v)), None) if v.trim() == GRAPHQL_TRANSPORT_WS => Protocol::GraphqlWs,
            _ => Protocol::Apollo,
        }
    }

    /// The `Sec-WebSocket-Protocol` of the answer: Hasura names the chosen subprotocol; Apollo's
    /// `graphql-ws` only when the client offered it (a client that offered none must get none).
    pub fn accepted(self, headers: &[(String, String)]) -> Option<&'static str> {
        match self {
            Protocol::GraphqlWs => Some(GRAPHQL_TRANSPORT_WS),
            Protocol::Apollo => headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("sec-websocket-protocol"))
                .flat_map(|(_, v)| v.split(','))
                .any(|p| p.trim() == GRAPHQL_WS)
                .then_some(GRAPHQL_WS),
        }
    }
}

/// What a websocket path serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// `/v1alpha1/graphql`: Hasura's legacy error objects.
    pub legacy: bool,
    /// `/v1beta1/relay`: the Relay schema.
    pub relay: bool,
}

impl Endpoint {
    /// The endpoint of a request path (its query string ignored); `None`: Hasura's 404
    /// ([`not_found`]).
    pub fn of_path(path: &str) -> Option<Endpoint> {
        let path = path.split('?').next().unwrap_or_default();
        match path {
            "/v1/graphql" => Some(Endpoint {
                legacy: false,
                relay: false,
            }),
            "/v1alpha1/graphql" => Some(Endpoint {
                legacy: true,
                relay: false,
            }),
            "/v1beta1/relay" => Some(Endpoint {
                legacy: false,
                relay: true,
            }),
            _ => None,
        }
    }
}

/// An upgrade Hasura refuses: `status` with its GraphQL error object (`encodeGQLErr`).
fn refusal(status: u16, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"message": message, "extensions": {"path": "$", "code": code}});
    Response {
        status,
        headers: vec![(
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        )],
        body: body.to_string().into_bytes(),
    }
}

/// Hasura's answer to a websocket upgrade on another path.
pub fn not_found() -> Response {
    refusal(404, "not-found", PATH_NOT_SUPPORTED)
}

/// Hasura's answer to an upgrade whose `Origin` the CORS domains do not list.
pub fn origin_refused() -> Response {
    refusal(400, "access-denied", ORIGIN_REFUSED)
}

/// Hasura's answer to an upgrade while the server shuts down.
pub fn shutting_down() -> Response {
    Response {
        status: 503,
        headers: vec![("retry-after".into(), "0".into())],
        body: b"Server is shutting down".to_vec(),
    }
}

/// The answer to an upgrade request that is not a valid websocket handshake.
pub fn bad_handshake(why: &str) -> Response {
    refusal(400, "bad-request", why)
}

/// Whether the upgrade may proceed given its `Origin` (Hasura's `enforceCors`: refused only
/// when the CORS policy lists domains and the origin is not among them).
pub fn origin_allowed(cors: &crate::cors::Cors, headers: &[(String, String)]) -> bool {
    match (cors, crate::auth::header(headers, "origin")) {
        (crate::cors::Cors::Domains { .. }, Some(origin)) => cors.allows(origin),
        _ => true,
    }
}

/// The upgrade request's headers a socket keeps for authentication: all but
/// `Sec-WebSocket-Key`, `Sec-WebSocket-Version`, `Upgrade` and `Connection`, and without
/// `Cookie` when `drop_cookie` (CORS disabled and `HASURA_GRAPHQL_WS_READ_COOKIE` off).
pub fn upgrade_headers(headers: &[(String, String)], drop_cookie: bool) -> Vec<(String, String)> {
    const DROPPED: [&str; 4] = [
        "sec-websocket-key",
        "sec-websocket-version",
        "upgrade",
        "connection",
    ];
    headers
        .iter()
        .filter(|(k, _)| {
            let dropped = DROPPED.iter().any(|d| k.eq_ignore_ascii_case(d))
                || (drop_cookie && k.eq_ignore_ascii_case("cookie"));
            !dropped
        })
        .cloned()
        .collect()
}

/// The headers `connection_init` authenticates with: `payload.headers` first, then the upgrade
/// request's (so a header the payload names wins a first-match lookup).
pub fn session_headers(
    payload: &[(String, String)],
    upgrade: &[(String, String)],
) -> Vec<(String, String)> {
    payload.iter().chain(upgrade).cloned().collect()
}

/// The websocket settings (Hasura's environment variables, read by the host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE` (seconds; 5).
    pub keep_alive: Duration,
    /// `HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT` (seconds; 3).
    pub init_timeout: Duration,
    /// `HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE` (true).
    pub close_on_metadata_change: bool,
    /// `HASURA_GRAPHQL_WS_READ_COOKIE` (false): keep `Cookie` when CORS is disabled.
    pub read_cookie: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            keep_alive: Duration::from_secs(5),
            init_timeout: Duration::from_secs(3),
            close_on_metadata_change: true,
            read_cookie: false,
        }
    }
}

impl Settings {
    /// Reads the settings; an invalid value is an error naming the variable.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let defaults = Settings::default();
        let seconds = |name: &str, default: Duration| -> Result<Duration, String> {
            crate::config::positive_setting(get, name, default.as_secs(), "number of seconds")
                .map(Duration::from_secs)
        };
        let flag = |name: &str, default: bool| crate::config::bool_setting(get, name, default);
        Ok(Settings {
            keep_alive: seconds("HASURA_GRAPHQL_WEBSOCKET_KEEPALIVE", defaults.keep_alive)?,
            init_timeout: seconds(
                "HASURA_GRAPHQL_WEBSOCKET_CONNECTION_INIT_TIMEOUT",
                defaults.init_timeout,
            )?,
            close_on_metadata_change: flag(
                "HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE",
                defaults.close_on_metadata_change,
            )?,
            read_cookie: flag("HASURA_GRAPHQL_WS_READ_COOKIE", defaults.read_cookie)?,
        })
    }
}

/// One client message (HGE's `ClientMsg`).
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMsg {
    /// `connection_init`, with `payload.headers` (other payload keys are ignored).
    Init { headers: Vec<(String, String)> },
    /// `start` (Apollo) or `subscribe` (graphql-ws).
    Start { id: String, request: GqlRequest },
    /// `stop` (Apollo) or `complete` (graphql-ws).
    Stop { id: String },
    /// `connection_terminate` (Apollo).
    Terminate,
    /// `ping`, with its payload as Hasura reads it (`{"message": …}` only).
    Ping { payload: Option<Json> },
    /// `pong` (ignored).
    Pong,
}

/// Aeson's path of an object key.
fn key_path(parent: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{parent}.{key}")
    } else {
        format!("{parent}[{}]", Json::String(key.to_string()))
    }
}

/// A parse failure at `path`, as aeson words it.
fn at(path: &str, what: impl core::fmt::Display) -> String {
    format!("Error in {path}: {what}")
}

fn expected(what: &str, v: &Json) -> String {
    format!(
        "parsing {what} failed, expected {}, but encountered {}",
        if what == "Text" { "String" } else { "Object" },
        crate::graphql::kind(v)
    )
}

/// A required string field of a message.
fn string_field(o: &Map<String, Json>, key: &str) -> Result<String, String> {
    match o.get(key) {
        Some(Json::String(s)) => Ok(s.clone()),
        Some(other) => Err(at(&key_path("$", key), expected("Text", other))),
        None => Err(at("$", format!("key {key:?} not found"))),
    }
}

/// Reads one client message. `Err` is Hasura's `connection_error` text (`parsing
/// ClientMessage failed: Error in $: …`).
pub fn parse(text: &[u8], endpoint: Endpoint) -> Result<ClientMsg, String> {
    parse_message(text, endpoint).map_err(|e| format!("parsing ClientMessage failed: {e}"))
}

fn parse_message(text: &[u8], endpoint: Endpoint) -> Result<ClientMsg, String> {
    let v: Json = serde_json::from_slice(text)
        .map_err(|_| at("$", "Failed reading: not a valid json value"))?;
    let Json::Object(o) = &v else {
        return Err(at("$", expected("ClientMessage", &v)));
    };
    let ty = match o.get("type") {
        Some(Json::String(t)) => t.as_str(),
        Some(other) => return Err(at("$.type", expected("Text", other))),
        None => return Err(at("$", "key \"type\" not found")),
    };
    match ty {
        "connection_init" => Ok(ClientMsg::Init {
            headers: init_headers(o.get("payload"))?,
        }),
        "start" | "subscribe" => {
            let id = string_field(o, "id")?;
            let payload = o
                .get("payload")
                .ok_or_else(|| at("$", "key \"payload\" not found"))?;
            if !payload.is_object() {
                return Err(at("$.payload", expected("GQLReq", payload)));
            }
            let bytes = payload.to_string();
            let request = match crate::graphql::decode_body(bytes.as_bytes()) {
                Ok(GqlBody::Single(r)) => r,
                Ok(GqlBody::Batch(_)) => return Err(at("$.payload", expected("GQLReq", payload))),
                Err(e) => return Err(at("$.payload", e.message)),
            };
            Ok(ClientMsg::Start {
                id,
                request: GqlRequest {
                    relay: endpoint.relay,
                    ..request
                },
            })
        }
        "stop" | "complete" => Ok(ClientMsg::Stop {
            id: string_field(o, "id")?,
        }),
        "connection_terminate" => Ok(ClientMsg::Terminate),
        "ping" => Ok(ClientMsg::Ping {
            payload: ping_payload(o.get("payload"))?,
        }),
        "pong" => ping_payload(o.get("payload")).map(|_| ClientMsg::Pong),
        other => Err(at(
            "$",
            format!("unexpected type for ClientMessage: {other}"),
        )),
    }
}

/// `connection_init`'s `payload.headers` (a string → string map; absent or null: none).
fn init_headers(payload: Option<&Json>) -> Result<Vec<(String, String)>, String> {
    let o = match payload {
        None | Some(Json::Null) => return Ok(Vec::new()),
        Some(Json::Object(o)) => o,
        Some(other) => return Err(at("$.payload", expected("ConnParams", other))),
    };
    let headers = match o.get("headers") {
        None | Some(Json::Null) => return Ok(Vec::new()),
        Some(Json::Object(h)) => h,
        Some(other) => return Err(at("$.payload.headers", expected("HashMap", other))),
    };
    headers
        .iter()
        .map(|(k, v)| match v {
            Json::String(s) => Ok((k.clone(), s.clone())),
            other => Err(at(
                &key_path("$.payload.headers", k),
                expected("Text", other),
            )),
        })
        .collect()
}

/// A ping's or pong's payload as Hasura reads it (`PingPongPayload`: an object whose only key
/// is an optional string `message`).
fn ping_payload(payload: Option<&Json>) -> Result<Option<Json>, String> {
    let o = match payload {
        None | Some(Json::Null) => return Ok(None),
        Some(Json::Object(o)) => o,
        Some(other) => return Err(at("$.payload", expected("PingPongPayload", other))),
    };
    let mut out = Map::new();
    match o.get("message") {
        None | Some(Json::Null) => {}
        Some(Json::String(m)) => {
            out.insert("message".into(), Json::String(m.clone()));
        }
        Some(other) => return Err(at("$.payload.message", expected("Text", other))),
    }
    Ok(Some(Json::Object(out)))
}

/// A close frame to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: String,
}

impl Close {
    /// A close with a plain-text reason (cut to [`MAX_CLOSE_REASON`] bytes).
    pub fn plain(code: u16, reason: &str) -> Close {
        Close {
            code,
            reason: truncate(reason, MAX_CLOSE_REASON).to_string(),
        }
    }

    /// A close whose reason is Hasura's `ServerErrorMsg` JSON, the message shortened (never
    /// the JSON cut) so that the reason fits a close frame.
    pub fn server_error(code: u16, message: &str) -> Close {
        let mut message = truncate(message, MAX_CLOSE_REASON).to_string();
        loop {
            let reason = serde_json::json!({ "server_error_msg": message }).to_string();
            if reason.len() <= MAX_CLOSE_REASON || message.is_empty() {
                return Close { code, reason };
            }
            message.pop();
        }
    }

    /// `connection_terminate` (Apollo).
    pub fn terminated() -> Close {
        Close::plain(1000, "GQL_CONNECTION_TERMINATE received")
    }

    /// No `connection_init` within the init timeout: graphql-ws 4408, Apollo 1011.
    pub fn init_timeout(protocol: Protocol) -> Close {
        let code = match protocol {
            Protocol::GraphqlWs => 4408,
            Protocol::Apollo => 1011,
        };
        Close::plain(code, "Connection initialisation timed out")
    }

    /// The metadata changed (`HASURA_GRAPHQL_CLOSE_WEBSOCKETS_ON_METADATA_CHANGE`).
    pub fn metadata_changed() -> Close {
        Close::plain(1012, "Server state changed, restarting the server")
    }

    /// The server shuts down.
    pub fn shutting_down() -> Close {
        Close::plain(1012, "shutting server down")
    }

    /// The session's JWT expired. Hasura tears the socket down without a close code; a normal
    /// closure lets clients reconnect with a fresh token (graphql-ws gives up after 4403).
    pub fn token_expired() -> Close {
        Close::plain(1000, "JWT expired")
    }

    /// The client does not read what it is sent fast enough (its queue stayed full).
    pub fn slow_consumer() -> Close {
        Close::plain(1011, "the client is not reading its messages")
    }

    /// A message over the size limit.
    pub fn too_big(limit: usize) -> Close {
        Close::plain(1009, &format!("message larger than {limit} bytes"))
    }
}

/// `s` cut at a character boundary to at most `max` bytes.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// What the socket does next: send a text message, or close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Send(String),
    Close(Close),
}

/// `{"type":…,"id":…,"payload":…}` in Hasura's key order; `payload` is JSON text.
fn message(ty: &str, id: Option<&str>, payload: Option<&str>) -> String {
    let mut out = String::with_capacity(32 + payload.map_or(0, str::len));
    out.push_str("{\"type\":");
    out.push_str(&Json::String(ty.to_string()).to_string());
    if let Some(id) = id {
        out.push_str(",\"id\":");
        out.push_str(&Json::String(id.to_string()).to_string());
    }
    if let Some(p) = payload {
        out.push_str(",\"payload\":");
        out.push_str(p);
    }
    out.push('}');
    out
}

/// `connection_ack`.
pub fn connection_ack() -> String {
    message("connection_ack", None, None)
}

/// The keep-alive: Apollo's `ka`, graphql-ws's `ping` with Hasura's payload.
pub fn keep_alive(protocol: Protocol) -> String {
    match protocol {
        Protocol::Apollo => message("ka", None, None),
        Protocol::GraphqlWs => message("ping", None, Some(r#"{"message":"keepalive"}"#)),
    }
}

/// The answer to a client `ping`: `pong` with the payload Hasura read.
pub fn pong(payload: Option<&Json>) -> String {
    message("pong", None, payload.map(Json::to_string).as_deref())
}

/// `connection_error` with its message.
pub fn connection_error(msg: &str) -> String {
    message(
        "connection_error",
        None,
        Some(&Json::String(msg.to_string()).to_string()),
    )
}

/// A result for operation `id`: Apollo's `data`, graphql-ws's `next`; `body` is the JSON text
/// of `{"data": …}` (or `{"errors": …}`, as a subscription's failed poll is sent).
pub fn data(protocol: Protocol, id: &str, body: &str) -> String {
    let ty = match protocol {
        Protocol::Apollo => "data",
        Protocol::GraphqlWs => "next",
    };
    message(ty, Some(id), Some(body))
}

/// `error` for operation `id`; `payload` is JSON text.
pub fn error(id: &str, payload: &str) -> String {
    message("error", Some(id), Some(payload))
}

/// `complete` for operation `id`.
pub fn complete(id: &str) -> String {
    message("complete", Some(id), None)
}

/// The answer to a message that does not parse (`msg` from [`parse`]).
pub fn unparsable(protocol: Protocol, msg: &str) -> Vec<Action> {
    match protocol {
        Protocol::Apollo => vec![Action::Send(connection_error(msg))],
        Protocol::GraphqlWs => vec![Action::Close(Close::server_error(
            4400,
            &format!("4400: Parsing client message failed: {msg}"),
        ))],
    }
}

/// A successful `connection_init`: the ack, then a keep-alive at once.
pub fn initialised(protocol: Protocol) -> Vec<Action> {
    vec![
        Action::Send(connection_ack()),
        Action::Send(keep_alive(protocol)),
    ]
}

/// A refused `connection_init` (`msg`: the authentication error's message).
pub fn init_failed(protocol: Protocol, msg: &str) -> Vec<Action> {
    match protocol {
        Protocol::Apollo => vec![
            Action::Send(connection_error(msg)),
            Action::Close(Close::server_error(
                4400,
                &format!("4400: Connection initialization failed: {msg}"),
            )),
        ],
        Protocol::GraphqlWs => vec![Action::Close(Close::server_error(4403, "4403: Forbidden"))],
    }
}

/// `start` received before the connection is initialised.
pub const NOT_INITIALISED: &str = "start received before the connection is initialised";

/// `start` with the id of an operation still running.
pub fn duplicate_id(id: &str) -> String {
    format!("an operation already exists with this id: {id}")
}

/// A refused `start` (Hasura's `sendStartErr`): `msg` as a `start-failed` error.
pub fn start_failed(protocol: Protocol, endpoint: Endpoint, id: &str, msg: &str) -> Vec<Action> {
    let err = crate::EdgeError::new(400, "start-failed", msg);
    let object = if endpoint.legacy {
        err.to_api_json(false)
    } else {
        err.graphql_error_object(false)
    };
    let mut out = vec![Action::Send(error(id, &object.to_string()))];
    match protocol {
        Protocol::Apollo => out.push(Action::Send(complete(id))),
        Protocol::GraphqlWs => {
            let text = Json::String(msg.to_string()).to_string();
            out.push(Action::Send(error(id, &text)));
            out.push(Action::Close(Close {
                code: 1000,
                ..Close::server_error(1000, &format!("4400: {msg}"))
            }));
        }
    }
    out
}

/// Error codes of failures that come from running the statement (Hasura's execution errors),
/// as [`crate::error::db_error`] names them; any other error happened before execution.
const EXECUTION_CODES: [&str; 4] = [
    "postgres-error",
    "constraint-violation",
    "data-exception",
    "permission-error",
];

/// The answer to a query or mutation for operation `id`, from what [`crate::graphql::run`]
/// returned (`body`: `{"data": …}` or `{"errors": […]}`), followed by `complete`.
pub fn answer(protocol: Protocol, endpoint: Endpoint, id: &str, body: &str) -> Vec<Action> {
    let errors = match serde_json::from_str::<Json>(body) {
        Ok(Json::Object(mut o)) if !o.contains_key("data") => match o.remove("errors") {
            Some(Json::Array(errors)) => Some(errors),
            _ => None,
        },
        _ => None,
    };
    let Some(mut errors) = errors else {
        return vec![
            Action::Send(data(protocol, id, body)),
            Action::Send(complete(id)),
        ];
    };
    let execution = errors.iter().any(|e| {
        let code = e.pointer("/extensions/code").and_then(Json::as_str);
        let message = e.get("message").and_then(Json::as_str);
        code.is_some_and(|c| EXECUTION_CODES.contains(&c))
            || (code == Some("unexpected") && message == Some("database query error"))
    });
    if endpoint.legacy {
        errors = errors.iter().map(legacy_error).collect();
    }
    let sent = match (execution, protocol, endpoint.legacy) {
        // Execution errors: Apollo's `data` with `errors` (and `"data": null`, Hasura's
        // `GQExecError`), graphql-ws's `error` with the list.
        (true, Protocol::Apollo, _) => data(
            protocol,
            id,
            &serde_json::json!({ "data": null, "errors": errors }).to_string(),
        ),
        (true, Protocol::GraphqlWs, _) => error(id, &Json::Array(errors).to_string()),
        // Before execution: one legacy object, or Hasura's `fmtErrorMessage` of the list.
        (false, _, true) => error(
            id,
            &errors.into_iter().next().unwrap_or(Json::Null).to_string(),
        ),
        (false, Protocol::Apollo, false) => {
            error(id, &serde_json::json!({ "errors": errors }).to_string())
        }
        (false, Protocol::GraphqlWs, false) => error(id, &Json::Array(errors).to_string()),
    };
    vec![Action::Send(sent), Action::Send(complete(id))]
}

/// The answer to a refused subscription (its error from the subscription manager, before
/// anything ran): a pre-execution error, then `complete`.
pub fn subscription_refused(
    protocol: Protocol,
    endpoint: Endpoint,
    id: &str,
    err: &crate::EdgeError,
    include_internal: bool,
) -> Vec<Action> {
    let object = if endpoint.legacy {
        err.to_api_json(include_internal)
    } else {
        err.graphql_error_object(include_internal)
    };
    let payload = match (endpoint.legacy, protocol) {
        (true, _) => object,
        (false, Protocol::Apollo) => serde_json::json!({ "errors": [object] }),
        (false, Protocol::GraphqlWs) => Json::Array(vec![object]),
    };
    vec![
        Action::Send(error(id, &payload.to_string())),
        Action::Send(complete(id)),
    ]
}

/// A GraphQL error object (`{message, extensions: {path, code, internal?}}`) as Hasura's
/// legacy one (`{path, error, code, internal?}`).
fn legacy_error(e: &Json) -> Json {
    let mut o = Map::new();
    let ext = e.get("extensions");
    let field = |k: &str| ext.and_then(|x| x.get(k)).cloned().unwrap_or(Json::Null);
    o.insert("path".into(), field("path"));
    o.insert(
        "error".into(),
        e.get("message").cloned().unwrap_or(Json::Null),
    );
    o.insert("code".into(), field("code"));
    if let Some(i) = ext.and_then(|x| x.get("internal")) {
        o.insert("internal".into(), i.clone());
    }
    Json::Object(o)
}

#[cfg(test)]
mod tests;
