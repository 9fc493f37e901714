//! `PLAN.json` (RUNNER_SPEC §1) and the YAML fixture files.
//!
//! YAML is converted to JSON keeping mapping key order (needed by the ordered comparison of
//! §7); non-string keys become their YAML text, tags are dropped.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The whole plan file.
#[derive(Debug, Deserialize)]
pub struct Plan {
    #[serde(default)]
    pub split: Option<String>,
    pub tests: Vec<TestEntry>,
}

/// One test (one pytest method).
#[derive(Debug, Clone, Deserialize)]
pub struct TestEntry {
    pub id: String,
    /// Fixture directory of the class; `null` for tests whose setup is inline.
    #[serde(default)]
    pub dir: Option<String>,
    #[serde(default)]
    pub feature: Option<String>,
    #[serde(default)]
    pub split: Option<String>,
    #[serde(default)]
    pub needs: Vec<String>,
    #[serde(default)]
    pub extra_requirements: Vec<String>,
    #[serde(default)]
    pub server_config: ServerConfig,
    #[serde(default)]
    pub setup: Setup,
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub lineno: Option<u64>,
}

/// Server configuration a test needs (§3.2).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerConfig {
    #[serde(default)]
    pub admin_secret: bool,
    #[serde(default, deserialize_with = "string_map")]
    pub env: BTreeMap<String, String>,
}

/// Setup/teardown requests of a test (§4). The lists are already resolved per mode.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Setup {
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub class_setup: Vec<SetupRequest>,
    #[serde(default)]
    pub class_teardown: Vec<SetupRequest>,
    #[serde(default)]
    pub method_setup: Vec<SetupRequest>,
    #[serde(default)]
    pub method_teardown: Vec<SetupRequest>,
    #[serde(default)]
    pub method_setup_inline: Vec<SetupRequest>,
    #[serde(default)]
    pub method_teardown_inline: Vec<SetupRequest>,
    #[serde(default)]
    pub method_after_ignore_status_inline: Vec<SetupRequest>,
}

/// `[endpoint, path-or-body]`: a fixture file (path relative to the suite) or an inline body.
#[derive(Debug, Clone, Deserialize)]
pub struct SetupRequest(pub String, pub Value);

impl SetupRequest {
    pub fn endpoint(&self) -> &str {
        &self.0
    }

    /// A label for reports: the file path, or `inline`.
    pub fn label(&self) -> String {
        match &self.1 {
            Value::String(s) => s.clone(),
            _ => "inline".to_string(),
        }
    }

    /// The request body: the file's content (loaded from `suite`) or the inline body.
    pub fn body(&self, suite: &Path) -> Result<Value, String> {
        match &self.1 {
            Value::String(path) => load_yaml(&suite.join(path)),
            other => Ok(other.clone()),
        }
    }
}

/// One step of a test (§1).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Step {
    Case {
        file: String,
        #[serde(default)]
        transports: Vec<String>,
        #[serde(default = "yes")]
        add_auth: bool,
        #[serde(default)]
        inject_admin_secret: bool,
        #[serde(default)]
        gqlws: bool,
    },
    Request {
        endpoint: String,
        file: String,
        expected_status: u16,
        #[serde(default)]
        expect_error_field: Option<String>,
    },
    #[serde(other)]
    Unknown,
}

fn yes() -> bool {
    true
}

fn string_map<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let m: BTreeMap<String, Value> = Deserialize::deserialize(d)?;
    Ok(m.into_iter()
        .map(|(k, v)| (k, value_to_header(&v)))
        .collect())
}

/// A JSON value as header/env text: strings as they are, everything else as JSON text.
pub fn value_to_header(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        other => other.to_string(),
    }
}

impl TestEntry {
    /// The class: the id up to the last `::`.
    pub fn class(&self) -> &str {
        self.id
            .rsplit_once("::")
            .map(|(c, _)| c)
            .unwrap_or(&self.id)
    }

    /// The fixture directory, or the directory of the first step's file when `dir` is null.
    pub fn effective_dir(&self) -> String {
        if let Some(d) = &self.dir {
            return d.clone();
        }
        for s in &self.steps {
            let file = match s {
                Step::Case { file, .. } | Step::Request { file, .. } => file,
                Step::Unknown => continue,
            };
            if let Some((d, _)) = file.rsplit_once('/') {
                return d.to_string();
            }
        }
        String::new()
    }

    pub fn needs_postgis(&self) -> bool {
        self.extra_requirements.iter().any(|r| r == "postgis")
    }

    pub fn needs_jwt(&self) -> bool {
        self.needs.iter().any(|n| n == "jwt")
    }

    /// Transport instances (§5): ordered union of the case steps' transports, `[http]` if none.
    pub fn transports(&self) -> Vec<String> {
        let mut found: Vec<&str> = Vec::new();
        let mut any_case = false;
        for s in &self.steps {
            if let Step::Case { transports, .. } = s {
                any_case = true;
                for t in transports {
                    if !found.contains(&t.as_str()) {
                        found.push(t);
                    }
                }
            }
        }
        if !any_case {
            return vec!["http".to_string()];
        }
        let order = ["http", "websocket", "subscription"];
        let mut out: Vec<String> = order
            .iter()
            .filter(|t| found.contains(t))
            .map(|t| t.to_string())
            .collect();
        for t in found {
            if !order.contains(&t) {
                out.push(t.to_string());
            }
        }
        out
    }
}

/// Reads `PLAN.json`.
pub fn load_plan(path: &Path) -> Result<Plan, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads a YAML file as JSON (key order kept).
pub fn load_yaml(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses YAML text to JSON (key order kept).
pub fn parse_yaml(text: &str) -> Result<Value, String> {
    let y: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    Ok(yaml_to_json(y))
}

fn yaml_to_json(y: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match y {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    other => match yaml_to_json(other) {
                        Value::String(s) => s,
                        j => j.to_string(),
                    },
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

/// The items of a case file: a mapping is one item, a list is several.
pub fn case_items(doc: Value) -> Vec<Value> {
    match doc {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_keeps_order_and_types() {
        let v = parse_yaml("b: 1\na: [x, 2.5, null, true]\n3: z\n").unwrap();
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"b":1,"a":["x",2.5,null,true],"3":"z"}"#
        );
        // YAML 1.2: `yes`/`no` are strings.
        assert_eq!(parse_yaml("a: yes").unwrap()["a"], "yes");
    }

    #[test]
    fn plan_entry_parses() {
        let j = r#"{"id":"f.py::C::t","dir":null,"needs":["postgres-only"],
          "server_config":{"admin_secret":true,"env":{"A":"b"}},
          "setup":{"mode":"inline","method_setup_inline":[["/v1/query",{"type":"run_sql"}]]},
          "steps":[{"kind":"case","file":"queries/x/y.yaml","transports":["websocket","http"]},
                   {"kind":"request","endpoint":"/v1/metadata","file":"queries/x/z.yaml","expected_status":200},
                   {"kind":"weird"}]}"#;
        let t: TestEntry = serde_json::from_str(j).unwrap();
        assert_eq!(t.class(), "f.py::C");
        assert_eq!(t.effective_dir(), "queries/x");
        assert_eq!(t.transports(), vec!["http", "websocket"]);
        assert!(matches!(&t.steps[0], Step::Case { add_auth: true, .. }));
        assert!(matches!(&t.steps[2], Step::Unknown));
        assert_eq!(t.setup.method_setup_inline[0].label(), "inline");
    }

    /// Every fixture file of the suite (when present) loads.
    #[test]
    fn suite_fixtures_load() {
        let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/hasura-suite");
        let Ok(plan) = load_plan(&suite.join("PLAN.json")) else {
            eprintln!("skipping: suite not found");
            return;
        };
        for t in &plan.tests {
            for s in &t.steps {
                if let Step::Case { file, .. } | Step::Request { file, .. } = s {
                    load_yaml(&suite.join(file)).unwrap();
                }
            }
            for r in t.setup.class_setup.iter().chain(&t.setup.class_teardown) {
                r.body(&suite).unwrap();
            }
        }
    }
}
