//! Answers of `query @cached(ttl, refresh)` (Hasura's response caching, an Enterprise feature
//! there), in two tiers: memory, then the host's shared cache when it has one.
//!
//! **Never shared across sessions that see different rows.** An answer is keyed by the
//! statement that produced it: the source, the SQL and every bound parameter. A role's
//! permission filter is in the SQL, and every session variable the SQL reads (`X-Hasura-User-Id`
//! in a row filter) is a bound parameter, so two requests share an answer only when they would
//! run the very same statement. The key is kept whole in the entry and compared on lookup, so
//! a hash collision cannot hand one statement's answer to another — in both tiers.
//!
//! Tier 1, memory: bounded, entries expire after their `ttl` (at most
//! `HASURA_GRAPHQL_CACHE_MAX_ENTRY_TTL`), and the least recently used go first when the cache
//! would pass its size (`GRAPHEDGE_RESPONSE_CACHE_BYTES`, `0`: no memory tier). Per process
//! natively, per isolate on Workers; Spin instantiates per request, so nothing is kept there.
//!
//! Tier 2, the host's [`SharedCache`] (the Workers Cache API, shared by the isolates of a data
//! centre): the edge hands it an opaque entry (expiry, whole key, answer; [`encode_entry`])
//! under the SHA-256 of the key, and checks key and expiry itself on the way back
//! ([`decode_entry`]), so the host store needs no care beyond keeping bytes for a while. A
//! lookup goes memory → shared → database; a shared hit refills memory; a database answer is
//! put in both. The answer's headers are the same whichever tier served it. Mutations are
//! never cached.
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use graphedge_metadata::db::Statement;

/// `GRAPHEDGE_RESPONSE_CACHE_BYTES`' default.
pub const DEFAULT_BYTES: usize = 32 * 1024 * 1024;
/// `HASURA_GRAPHQL_CACHE_MAX_ENTRY_TTL`'s default (seconds), Hasura's.
pub const DEFAULT_MAX_TTL: u64 = 3600;
/// Bookkeeping counted per entry on top of its key and answer.
const ENTRY_OVERHEAD: usize = 96;

/// A future a [`SharedCache`] returns (`Send`: a single-threaded host wraps its own, as the
/// Worker does with `worker::send::SendFuture`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The host's cache shared between its instances (the Workers Cache API): the second tier of
/// `@cached` answers. It keeps bytes under an id for a while; the edge decides what they mean
/// (see the module). Without one ([`Engine::with_shared_cache`](crate::Engine::with_shared_cache)
/// not called) answers are kept in memory only.
pub trait SharedCache: Send + Sync {
    /// The bytes last put under `id` (hex SHA-256 of the entry's key), unless they expired or
    /// the store failed (a failure is a miss: the statement runs).
    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<Vec<u8>>>;

    /// Keeps `entry` under `id` for `ttl` seconds. Best effort: a host may finish it after the
    /// answer was sent (the Worker's `waitUntil`), or drop it.
    fn put<'a>(&'a self, id: &'a str, entry: Vec<u8>, ttl: u64) -> BoxFuture<'a, ()>;
}

/// Hex SHA-256 of `text`: a [`SharedCache`] id (and a host's namespace for its ids).
pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The first line of a shared entry (its format).
const ENTRY_MAGIC: &[u8] = b"graphedge-response-1\n";

/// A shared entry: the format line, `expires_at` (unix seconds) and the key's length as
/// decimal lines, then the whole key and the answer.
pub fn encode_entry(key: &str, expires_at: i64, answer: &str) -> Vec<u8> {
    let head = format!("{expires_at}\n{}\n", key.len());
    let mut out = Vec::with_capacity(ENTRY_MAGIC.len() + head.len() + key.len() + answer.len());
    out.extend_from_slice(ENTRY_MAGIC);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(answer.as_bytes());
    out
}

/// The answer a shared entry keeps for exactly `key`, and its expiry; `None` for another key
/// (a hash collision), another format or a damaged entry.
pub fn decode_entry<'a>(entry: &'a [u8], key: &str) -> Option<(i64, &'a str)> {
    fn line<'a>(rest: &mut &'a [u8]) -> Option<&'a str> {
        let end = rest.iter().position(|&b| b == b'\n')?;
        let text = std::str::from_utf8(&rest[..end]).ok()?;
        *rest = &rest[end + 1..];
        Some(text)
    }
    let mut rest = entry.strip_prefix(ENTRY_MAGIC)?;
    let expires_at: i64 = line(&mut rest)?.parse().ok()?;
    let len: usize = line(&mut rest)?.parse().ok()?;
    let (stored, answer) = (rest.get(..len)?, rest.get(len..)?);
    if stored != key.as_bytes() {
        return None;
    }
    Some((expires_at, std::str::from_utf8(answer).ok()?))
}

/// What a cached (or cacheable) answer tells the client: Hasura's response headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// Seconds the answer stays fresh (`Cache-Control: max-age`).
    pub max_age: u64,
    /// `X-Hasura-Query-Cache-Key`: this statement with these parameters.
    pub key: String,
    /// `X-Hasura-Query-Family-Cache-Key`: this statement with any parameters.
    pub family: String,
    /// The session variables the statement reads (for `Vary`).
    pub session_vars: Vec<String>,
    /// The statement reads the whole session (a function's session argument): no header
    /// list covers it, so the answer is `private` (no shared cache keeps it).
    pub private: bool,
}

impl Served {
    /// The headers of the answer of key hash `key` to `sql`, fresh for `max_age` seconds (the
    /// session variables are the plan's, added by the caller).
    fn of(key: String, sql: &str, max_age: u64) -> Served {
        Served {
            max_age,
            key,
            family: hash_hex(&[sql]),
            session_vars: Vec::new(),
            private: false,
        }
    }

    /// Adds Hasura's cache headers to `resp`, and `Vary` on every request header that can
    /// change the answer — the credentials, the role and the session variables the statement
    /// reads — so that a CDN keeping a GET answer never hands it to another session.
    pub fn apply(&self, resp: &mut crate::Response) {
        let mut vary = String::from("Authorization, Cookie, X-Hasura-Admin-Secret, X-Hasura-Role");
        for v in &self.session_vars {
            vary.push_str(", ");
            vary.push_str(v);
        }
        resp.headers.extend([
            (
                "cache-control".into(),
                format!(
                    "{}max-age={}",
                    if self.private { "private, " } else { "" },
                    self.max_age
                ),
            ),
            ("vary".into(), vary),
            ("x-hasura-query-cache-key".into(), self.key.clone()),
            (
                "x-hasura-query-family-cache-key".into(),
                self.family.clone(),
            ),
        ]);
    }
}

/// The statement's identity as the cache keys it: `(source, sql, parameters)`, whole.
pub fn key_of(source: &str, stmt: &Statement) -> String {
    let mut k = format!("{source}\u{0}{}", stmt.sql);
    for p in &stmt.params {
        k.push('\u{0}');
        match p {
            Some(v) => {
                k.push('v');
                k.push_str(v);
            }
            None => k.push('n'),
        }
    }
    k
}

fn hash_hex(parts: &[&str]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    format!("{:016x}", h.finish())
}

struct Entry {
    key: String,
    answer: Arc<str>,
    expires_at: i64,
    /// Position in `Inner::order`.
    tick: u64,
}

impl Entry {
    fn size(&self) -> usize {
        self.key.len() + self.answer.len() + ENTRY_OVERHEAD
    }
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Use order: tick → entry (by its key hash), oldest first.
    order: BTreeMap<u64, String>,
    next_tick: u64,
    bytes: usize,
}

impl Inner {
    fn remove(&mut self, hash: &str) {
        if let Some(e) = self.entries.remove(hash) {
            self.order.remove(&e.tick);
            self.bytes -= e.size();
        }
    }
}

/// The engine's response cache (one per process or isolate), with the host's shared tier.
pub struct ResponseCache {
    max_bytes: usize,
    max_ttl: u64,
    inner: Mutex<Inner>,
    shared: Option<Arc<dyn SharedCache>>,
}

impl ResponseCache {
    pub fn new(max_bytes: usize, max_ttl: u64) -> ResponseCache {
        ResponseCache {
            max_bytes,
            max_ttl,
            inner: Mutex::new(Inner::default()),
            shared: None,
        }
    }

    /// Adds the host's shared tier.
    pub fn set_shared(&mut self, shared: Arc<dyn SharedCache>) {
        self.shared = Some(shared);
    }

    /// The `ttl` a directive asks for, bounded by the maximum (`0`: not cached: no tier).
    pub fn ttl(&self, asked: u64) -> u64 {
        if self.max_bytes == 0 && self.shared.is_none() {
            return 0;
        }
        asked.min(self.max_ttl)
    }

    /// The kept answer of `key` at `now`: memory, else the shared tier (refilling memory).
    pub async fn lookup(&self, key: &str, sql: &str, now: i64) -> Option<(Arc<str>, Served)> {
        if let Some(kept) = self.get(key, sql, now) {
            return Some(kept);
        }
        let shared = self.shared.as_ref()?;
        let entry = shared.get(&sha256_hex(key)).await?;
        let (expires_at, answer) = decode_entry(&entry, key)?;
        if expires_at <= now {
            return None;
        }
        let answer: Arc<str> = answer.into();
        let ttl = (expires_at - now) as u64;
        let served = self.put(key.to_string(), sql, answer.clone(), ttl, now);
        Some((answer, served))
    }

    /// Keeps a database answer in every tier; the headers to send with it.
    pub async fn store(
        &self,
        key: String,
        sql: &str,
        answer: Arc<str>,
        ttl: u64,
        now: i64,
    ) -> Served {
        let shared = self.shared.as_ref().map(|s| {
            let entry = encode_entry(&key, now.saturating_add(ttl as i64), &answer);
            (s, sha256_hex(&key), entry)
        });
        let served = self.put(key, sql, answer, ttl, now);
        if let Some((s, id, entry)) = shared {
            s.put(&id, entry, ttl).await;
        }
        served
    }

    /// The answer memory keeps for `key` at `now` (unix seconds), with its headers.
    pub fn get(&self, key: &str, sql: &str, now: i64) -> Option<(Arc<str>, Served)> {
        let hash = hash_hex(&[key]);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let e = inner.entries.get(&hash)?;
        if e.key != key {
            return None;
        }
        if e.expires_at <= now {
            inner.remove(&hash);
            return None;
        }
        let (answer, expires_at, old_tick) = (e.answer.clone(), e.expires_at, e.tick);
        let tick = inner.next_tick;
        inner.next_tick += 1;
        inner.order.remove(&old_tick);
        inner.order.insert(tick, hash.clone());
        if let Some(e) = inner.entries.get_mut(&hash) {
            e.tick = tick;
        }
        Some((
            answer,
            Served::of(hash, sql, (expires_at - now).max(0) as u64),
        ))
    }

    /// Keeps `answer` in memory for `key` for `ttl` seconds from `now`; the headers to send
    /// with it.
    pub fn put(&self, key: String, sql: &str, answer: Arc<str>, ttl: u64, now: i64) -> Served {
        let hash = hash_hex(&[&key]);
        let served = Served::of(hash.clone(), sql, ttl);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.remove(&hash);
        let tick = inner.next_tick;
        inner.next_tick += 1;
        let entry = Entry {
            key,
            answer,
            expires_at: now.saturating_add(ttl as i64),
            tick,
        };
        let size = entry.size();
        if size > self.max_bytes {
            return served;
        }
        while inner.bytes + size > self.max_bytes {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.bytes -= e.size();
            }
        }
        inner.bytes += size;
        inner.order.insert(tick, hash.clone());
        inner.entries.insert(hash, entry);
        served
    }

    /// Bytes held (keys, answers and bookkeeping).
    pub fn bytes(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(sql: &str, params: &[Option<&str>]) -> Statement {
        Statement {
            sql: sql.into(),
            params: params.iter().map(|p| p.map(str::to_string)).collect(),
        }
    }

    #[test]
    fn answers_are_kept_per_statement_until_they_expire() {
        let c = ResponseCache::new(1 << 20, 3600);
        let a = key_of("0", &stmt("S", &[Some("1")]));
        let b = key_of("0", &stmt("S", &[Some("2")]));
        assert!(c.get(&a, "S", 100).is_none());
        let put = c.put(a.clone(), "S", "A".into(), 10, 100);
        assert_eq!(put.max_age, 10);
        let (answer, served) = c.get(&a, "S", 104).unwrap();
        assert_eq!(&*answer, "A");
        assert_eq!(served.max_age, 6);
        assert_eq!(served.key, put.key);
        // Another parameter (another user's id): not the same answer; same family.
        assert!(c.get(&b, "S", 104).is_none());
        let other = c.put(b.clone(), "S", "B".into(), 10, 104);
        assert_ne!(other.key, put.key);
        assert_eq!(other.family, put.family);
        // A null parameter and the text "n" are different statements.
        assert_ne!(
            key_of("0", &stmt("S", &[None])),
            key_of("0", &stmt("S", &[Some("")]))
        );
        assert!(c.get(&a, "S", 110).is_none(), "expired");
        assert_eq!(c.ttl(100_000), 3600);
    }

    #[test]
    fn the_least_recently_used_go_first() {
        let entry = |k: &str| key_of("0", &stmt(k, &[]));
        let one = entry("a").len() + 100 + ENTRY_OVERHEAD;
        let c = ResponseCache::new(one * 2, 3600);
        let answer: Arc<str> = "x".repeat(100).into();
        c.put(entry("a"), "a", answer.clone(), 60, 0);
        c.put(entry("b"), "b", answer.clone(), 60, 0);
        assert!(c.get(&entry("a"), "a", 1).is_some(), "a used again");
        c.put(entry("c"), "c", answer.clone(), 60, 1);
        assert!(
            c.get(&entry("b"), "b", 1).is_none(),
            "b was the least recently used"
        );
        assert!(c.get(&entry("a"), "a", 1).is_some());
        assert!(c.get(&entry("c"), "c", 1).is_some());
        assert!(c.bytes() <= one * 2);
        // An answer larger than the whole cache is not kept.
        let big: Arc<str> = "x".repeat(one * 3).into();
        c.put(entry("d"), "d", big, 60, 1);
        assert!(c.get(&entry("d"), "d", 1).is_none());
    }

    #[test]
    fn shared_entries_answer_only_their_whole_key() {
        let key = key_of("1/0", &stmt("S", &[Some("u1\n7")]));
        let entry = encode_entry(&key, 160, "{\"a\":1}");
        assert_eq!(decode_entry(&entry, &key), Some((160, "{\"a\":1}")));
        // Another statement stored under the same id (a collision): no answer.
        let other = key_of("1/0", &stmt("S", &[Some("u2\n7")]));
        assert_eq!(decode_entry(&entry, &other), None);
        assert_eq!(decode_entry(&entry, &key[..key.len() - 1]), None);
        // Damaged or foreign bytes: no answer.
        assert_eq!(decode_entry(&entry[..entry.len() / 2], &key), None);
        assert_eq!(decode_entry(b"{\"a\":1}", &key), None);
        assert_eq!(sha256_hex("").len(), 64);
        assert_ne!(sha256_hex(&key), sha256_hex(&other));
    }
}
