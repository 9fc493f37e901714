//! The websocket transports of RUNNER_SPEC §6.4–6.5: one item sent over a new socket in the
//! Apollo `subscriptions-transport-ws` protocol (no subprotocol requested), as Hasura's harness
//! does: `connection_init` with the headers, `start`, the first message for the operation.
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

/// The operation id the harness uses.
const ID: &str = "hge_test";
/// How long the first message for the operation may take (§6.4 step 4).
const FIRST_MESSAGE: Duration = Duration::from_secs(15);
/// How long `connection_ack` may take.
const ACK: Duration = Duration::from_secs(3);

/// What the server sent for the operation: the message type (`data`, `error`) and payload.
#[derive(Debug)]
pub struct Answer {
    pub kind: String,
    pub payload: Value,
}

/// The GraphQL text of the `subscription` transport (§6.5): `query …` becomes
/// `subscription …` with ` @_multiple_top_level_fields` before the first `{`.
pub fn as_subscription(query: &str) -> String {
    let t = query.trim_start();
    let rest = t.strip_prefix("query").unwrap_or(t);
    let text = format!("subscription{rest}");
    match text.find('{') {
        Some(i) => format!("{} @_multiple_top_level_fields {}", &text[..i], &text[i..]),
        None => text,
    }
}

/// Sends `request` (the item's GraphQL request object) over a new socket to `base` (`http://…`)
/// + `path`; `subscription`: take the first `data` and stop, else the first message must be
/// followed by `complete`.
pub fn run(
    base: &str,
    path: &str,
    headers: &[(String, String)],
    secret: Option<&str>,
    request: &Value,
    subscription: bool,
) -> Result<Answer, String> {
    let host = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http:// base URL: {base}"))?;
    let stream = TcpStream::connect(host).map_err(|e| format!("connect {host}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| e.to_string())?;
    let url = format!("ws://{host}{path}");
    let (mut ws, _) = tungstenite::client(url.as_str(), stream)
        .map_err(|e| format!("websocket handshake: {e}"))?;
    let payload = if !headers.is_empty() {
        let h: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        json!({ "headers": h })
    } else if let Some(s) = secret {
        json!({"headers": {"x-hasura-admin-secret": s}})
    } else {
        json!({})
    };
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": payload}),
    )?;
    let ack = next(&mut ws, ACK, |m| m["type"] != "ka")?;
    if ack["type"] != "connection_ack" {
        return Err(format!("expected connection_ack, got {ack}"));
    }
    let mut request = request.clone();
    if subscription {
        if let Some(q) = request.get("query").and_then(Value::as_str) {
            request["query"] = Value::String(as_subscription(q));
        }
    }
    send(
        &mut ws,
        json!({"id": ID, "type": "start", "payload": request}),
    )?;
    let first = next(&mut ws, FIRST_MESSAGE, |m| m["id"] == ID)?;
    let kind = first["type"].as_str().unwrap_or_default().to_string();
    let answer = Answer {
        payload: first.get("payload").cloned().unwrap_or(Value::Null),
        kind,
    };
    if subscription {
        let _ = send(&mut ws, json!({"id": ID, "type": "stop"}));
    } else if answer.kind == "data" {
        let done = next(&mut ws, FIRST_MESSAGE, |m| m["id"] == ID)?;
        if done["type"] != "complete" {
            return Err(format!("expected complete after data, got {done}"));
        }
    }
    let _ = ws.close(None);
    Ok(answer)
}

fn send(ws: &mut WebSocket<TcpStream>, msg: Value) -> Result<(), String> {
    ws.send(Message::text(msg.to_string()))
        .map_err(|e| format!("send: {e}"))
}

/// The next JSON message for which `wanted` holds, within `within`.
fn next(
    ws: &mut WebSocket<TcpStream>,
    within: Duration,
    wanted: impl Fn(&Value) -> bool,
) -> Result<Value, String> {
    let deadline = Instant::now() + within;
    loop {
        if Instant::now() > deadline {
            return Err(format!("no message within {} s", within.as_secs()));
        }
        match ws.read() {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).map_err(|_| format!("not JSON: {t}"))?;
                if wanted(&v) {
                    return Ok(v);
                }
            }
            Ok(Message::Close(c)) => return Err(format!("socket closed: {c:?}")),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_queries_as_subscriptions() {
        assert_eq!(
            as_subscription("query { a { b } }"),
            "subscription  @_multiple_top_level_fields { a { b } }"
        );
        assert_eq!(
            as_subscription("query q($x: Int) {\n a(x: $x) { b } }"),
            "subscription q($x: Int)  @_multiple_top_level_fields {\n a(x: $x) { b } }"
        );
    }
}
