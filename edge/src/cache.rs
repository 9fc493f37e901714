//! The plan cache: a repeated request skips parse → validate → SQL and only binds parameters.
//!
//! Key: (query text, operationName, role, schema version, stringify flag), plus the values of
//! the plan's `shaping_variables` (variables whose values change the SQL, e.g. `@skip(if: $s)`).
//! One entry per base key holds up to [`MAX_VARIANTS`] plans for different shaping values.
//! The map is bounded ([`DEFAULT_CAPACITY`] base keys, oldest evicted first) and is cleared
//! when the metadata changes (the schema version is part of the key anyway).
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use graphedge_core::{Plan, Value};

pub const DEFAULT_CAPACITY: usize = 4096;
/// Plans kept per base key for different values of its shaping variables.
pub const MAX_VARIANTS: usize = 16;

/// What identifies a compiled plan apart from variable values.
#[derive(Debug, Clone, Copy)]
pub struct CacheKey<'a> {
    pub query: &'a str,
    pub operation_name: Option<&'a str>,
    pub role: &'a str,
    pub schema_version: u64,
    pub stringify_numeric: bool,
    pub relay: bool,
}

impl CacheKey<'_> {
    fn digest(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.query.hash(&mut h);
        self.operation_name.hash(&mut h);
        self.role.hash(&mut h);
        self.schema_version.hash(&mut h);
        self.stringify_numeric.hash(&mut h);
        self.relay.hash(&mut h);
        h.finish()
    }
    fn matches(&self, e: &Entry) -> bool {
        e.query == self.query
            && e.operation_name.as_deref() == self.operation_name
            && e.role == self.role
            && e.schema_version == self.schema_version
            && e.stringify_numeric == self.stringify_numeric
            && e.relay == self.relay
    }
}

struct Entry {
    query: String,
    operation_name: Option<String>,
    role: String,
    schema_version: u64,
    stringify_numeric: bool,
    relay: bool,
    /// The shaping variables of the plans of this entry.
    shaping: Vec<String>,
    variants: Vec<(Vec<String>, Arc<Plan>)>,
}

#[derive(Default)]
struct Inner {
    /// digest → entries with that digest (collisions are told apart by the full key).
    map: HashMap<u64, Vec<Entry>>,
    /// Insertion order of digests, for eviction.
    order: VecDeque<u64>,
    entries: usize,
}

/// A bounded, thread-safe plan cache.
pub struct PlanCache {
    inner: Mutex<Inner>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Default for PlanCache {
    fn default() -> Self {
        PlanCache::new(DEFAULT_CAPACITY)
    }
}

/// The values of the shaping variables as JSON text (absent apart from null).
fn shaping_values(names: &[String], variables: &[(String, Value)]) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            // `?name`: only the variable's null-ness shaped the plan.
            if let Some(name) = n.strip_prefix('?') {
                let null = variables
                    .iter()
                    .find(|(k, _)| k == name)
                    .is_none_or(|(_, v)| v.is_null());
                return String::from(if null { "\u{0}null" } else { "\u{0}set" });
            }
            // `#name`: only whether the variable holds a non-negative 32-bit integer (a page
            // offset bound as a parameter); any other value is keyed by itself.
            if let Some(name) = n.strip_prefix('#') {
                return match variables.iter().find(|(k, _)| k == name) {
                    Some((_, Value::Number(v))) if graphedge_core::encode::is_page_int(v) => {
                        String::from("\u{0}int")
                    }
                    Some((_, v)) => {
                        let mut s = String::new();
                        graphedge_core::encode::write_json(&mut s, v);
                        s
                    }
                    None => "\u{0}absent".to_string(),
                };
            }
            match variables.iter().find(|(k, _)| k == n) {
                Some((_, v)) => {
                    let mut s = String::new();
                    graphedge_core::encode::write_json(&mut s, v);
                    s
                }
                None => "\u{0}absent".to_string(),
            }
        })
        .collect()
}

impl PlanCache {
    pub fn new(capacity: usize) -> PlanCache {
        PlanCache {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map inconsistent in a harmful way.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached plan for this key and these variable values, if any.
    pub fn get(&self, key: &CacheKey<'_>, variables: &[(String, Value)]) -> Option<Arc<Plan>> {
        let inner = self.lock();
        let found = inner
            .map
            .get(&key.digest())
            .and_then(|es| es.iter().find(|e| key.matches(e)))
            .and_then(|e| {
                let values = shaping_values(&e.shaping, variables);
                e.variants
                    .iter()
                    .find(|(v, _)| *v == values)
                    .map(|(_, p)| p.clone())
            });
        drop(inner);
        match &found {
            Some(_) => self.hits.fetch_add(1, Ordering::Relaxed),
            None => self.misses.fetch_add(1, Ordering::Relaxed),
        };
        found
    }

    /// Stores a freshly compiled plan.
    pub fn insert(&self, key: &CacheKey<'_>, variables: &[(String, Value)], plan: Arc<Plan>) {
        let digest = key.digest();
        let values = shaping_values(&plan.shaping_variables, variables);
        let mut guard = self.lock();
        let inner = &mut *guard;
        if let Some(e) = inner
            .map
            .get_mut(&digest)
            .and_then(|es| es.iter_mut().find(|e| key.matches(e)))
        {
            if e.shaping != plan.shaping_variables {
                e.shaping = plan.shaping_variables.clone();
                e.variants.clear();
            }
            if e.variants.len() >= MAX_VARIANTS {
                e.variants.remove(0);
            }
            e.variants.retain(|(v, _)| *v != values);
            e.variants.push((values, plan));
            return;
        }
        while inner.entries >= self.capacity {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            if let Some(es) = inner.map.get_mut(&old) {
                if !es.is_empty() {
                    es.remove(0);
                    inner.entries -= 1;
                }
                if es.is_empty() {
                    inner.map.remove(&old);
                }
            }
        }
        let entry = Entry {
            query: key.query.to_string(),
            operation_name: key.operation_name.map(str::to_string),
            role: key.role.to_string(),
            schema_version: key.schema_version,
            stringify_numeric: key.stringify_numeric,
            relay: key.relay,
            shaping: plan.shaping_variables.clone(),
            variants: vec![(values, plan)],
        };
        inner.map.entry(digest).or_default().push(entry);
        inner.order.push_back(digest);
        inner.entries += 1;
    }

    /// Drops every plan (metadata changed).
    pub fn clear(&self) {
        let mut inner = self.lock();
        *inner = Inner::default();
    }

    /// Number of cached base keys.
    pub fn len(&self) -> usize {
        self.lock().entries
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (hits, misses) since start.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graphedge_core::PlanKind;

    fn plan(sql: &str, shaping: &[&str]) -> Arc<Plan> {
        Arc::new(Plan {
            kind: PlanKind::Query,
            source: 0,
            sql: sql.into(),
            params: vec![],
            shaping_variables: shaping.iter().map(|s| s.to_string()).collect(),
            variable_types: Vec::new(),
            steps: Vec::new(),
            calls_functions: false,
            cached: None,
            remote_joins: Vec::new(),
        })
    }

    fn key<'a>(q: &'a str, role: &'a str) -> CacheKey<'a> {
        CacheKey {
            query: q,
            operation_name: None,
            role,
            schema_version: 1,
            stringify_numeric: false,
            relay: false,
        }
    }

    #[test]
    fn hit_miss_and_roles() {
        let c = PlanCache::new(10);
        assert!(c.get(&key("q", "admin"), &[]).is_none());
        c.insert(&key("q", "admin"), &[], plan("a", &[]));
        assert_eq!(c.get(&key("q", "admin"), &[]).unwrap().sql, "a");
        assert!(c.get(&key("q", "user"), &[]).is_none());
        let mut k = key("q", "admin");
        k.schema_version = 2;
        assert!(c.get(&k, &[]).is_none());
        assert_eq!(c.stats(), (1, 3));
    }

    #[test]
    fn shaping_variables_split_plans() {
        let c = PlanCache::new(10);
        let t = vec![("s".to_string(), Value::Boolean(true))];
        let f = vec![("s".to_string(), Value::Boolean(false))];
        c.insert(&key("q", "admin"), &t, plan("skip", &["s"]));
        assert!(c.get(&key("q", "admin"), &f).is_none());
        c.insert(&key("q", "admin"), &f, plan("keep", &["s"]));
        assert_eq!(c.get(&key("q", "admin"), &t).unwrap().sql, "skip");
        assert_eq!(c.get(&key("q", "admin"), &f).unwrap().sql, "keep");
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn page_offsets_share_one_plan() {
        let c = PlanCache::new(10);
        let o = |v: Value| vec![("o".to_string(), v)];
        let n = |s: &str| o(Value::Number(s.into()));
        c.insert(&key("q", "admin"), &n("0"), plan("param", &["#o"]));
        // Every non-negative 32-bit integer is served by the plan that binds it.
        for v in ["1", "9990", "2147483647"] {
            assert_eq!(c.get(&key("q", "admin"), &n(v)).unwrap().sql, "param");
        }
        // Anything else compiles again (its own plan or its error).
        for v in [
            n("-1"),
            n("2147483648"),
            n("1.5"),
            n("1e3"),
            o(Value::Null),
            o(Value::String("5".into())),
        ] {
            assert!(c.get(&key("q", "admin"), &v).is_none(), "{v:?}");
        }
        assert!(c.get(&key("q", "admin"), &[]).is_none());
    }

    #[test]
    fn bounded() {
        let c = PlanCache::new(3);
        let qs: Vec<String> = (0..10).map(|i| format!("q{i}")).collect();
        for q in &qs {
            c.insert(&key(q, "admin"), &[], plan(q, &[]));
        }
        assert_eq!(c.len(), 3);
        assert!(c.get(&key("q0", "admin"), &[]).is_none());
        assert!(c.get(&key("q9", "admin"), &[]).is_some());
        c.clear();
        assert!(c.is_empty());
    }
}
