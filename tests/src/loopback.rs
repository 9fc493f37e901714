//! A loopback HTTP/1.1 server for the edge hosts' outbound calls (auth hooks, action handlers,
//! remote schemas, OTLP receivers): each connection on its own thread, one request per
//! connection (`Connection: close`), bodies by `Content-Length` or chunked (wasi:http sends
//! chunked bodies). The listener's backlog is the system's, never the bottleneck.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

/// What the server got.
#[derive(Clone, Debug, Default)]
pub struct Request {
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// An answer: status line text (`200 OK`), extra headers, body.
pub struct Response {
    pub status: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn json(status: &'static str, body: String) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
        }
    }
}

/// Serves `handler` on a loopback port; answers its base URL (`http://127.0.0.1:port`).
pub fn start(handler: impl Fn(&Request) -> Response + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let handler = handler.clone();
            std::thread::spawn(move || {
                let Some(request) = read(&stream) else {
                    return;
                };
                let answer = handler(&request);
                let mut head = format!(
                    "HTTP/1.1 {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                    answer.status,
                    answer.body.len()
                );
                for (k, v) in &answer.headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = (&stream).write_all(head.as_bytes());
                let _ = (&stream).write_all(answer.body.as_bytes());
            });
        }
    });
    url
}

fn read(stream: &std::net::TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut got = Request::default();
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    got.path = line.split(' ').nth(1).unwrap_or_default().to_string();
    let (mut length, mut chunked) = (0usize, false);
    line.clear();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
        if let Some((k, v)) = line.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            match k.as_str() {
                "content-length" => length = v.parse().unwrap_or(0),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                _ => {}
            }
            got.headers.push((k, v));
        }
        line.clear();
    }
    let mut body = vec![0u8; length];
    let _ = reader.read_exact(&mut body);
    while chunked {
        line.clear();
        let _ = reader.read_line(&mut line);
        let size = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
        let mut chunk = vec![0u8; size + 2];
        let _ = reader.read_exact(&mut chunk);
        body.extend_from_slice(&chunk[..size]);
        chunked = size > 0;
    }
    got.body = String::from_utf8_lossy(&body).into_owned();
    Some(got)
}
