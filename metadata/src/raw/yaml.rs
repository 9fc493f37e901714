//! The YAML directory that `hasura metadata export` writes, and `hasura metadata apply` reads:
//!
//! ```text
//! version.yaml                      version: 3
//! databases/databases.yaml          [{name, kind, configuration, tables: "!include <src>/tables/tables.yaml",
//!                                     functions: "!include <src>/functions/functions.yaml"}]
//! databases/<src>/tables/tables.yaml       ["!include public_author.yaml", ...]
//! databases/<src>/tables/public_author.yaml   one table's metadata
//! databases/<src>/functions/functions.yaml ["!include public_f.yaml", ...]
//! actions.yaml, actions.graphql    actions and custom types, split like the CLI (see
//!                                   `actions_sdl`: signatures and fields in the SDL)
//! allow_list.yaml, query_collections.yaml, inherited_roles.yaml, remote_schemas.yaml,
//! cron_triggers.yaml, rest_endpoints.yaml, api_limits.yaml, network.yaml, ...  one top-level key each
//! ```
//!
//! `!include` is accepted both as a quoted string (`"!include x.yaml"`, what the CLI writes) and
//! as a YAML tag (`!include x.yaml`); paths are relative to the including file's directory.
use super::{actions_sdl, Metadata, Source};
use serde_json::{Map, Value as Json};
use std::fs;
use std::path::{Path, PathBuf};

/// An error reading or writing a metadata directory.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid metadata: {0}")]
    Metadata(String),
}

/// Top-level files holding one metadata key each (file name, key), in Hasura's export order.
const KEY_FILES: &[(&str, &str)] = &[
    ("remote_schemas.yaml", "remote_schemas"),
    ("query_collections.yaml", "query_collections"),
    ("allow_list.yaml", "allowlist"),
    ("cron_triggers.yaml", "cron_triggers"),
    ("rest_endpoints.yaml", "rest_endpoints"),
    ("api_limits.yaml", "api_limits"),
    ("metrics_config.yaml", "metrics_config"),
    ("inherited_roles.yaml", "inherited_roles"),
    (
        "graphql_schema_introspection.yaml",
        "graphql_schema_introspection",
    ),
    ("network.yaml", "network"),
    ("backend_configs.yaml", "backend_configs"),
    ("opentelemetry.yaml", "opentelemetry"),
];

/// Files the CLI always writes, even when empty (as `[]`).
const ALWAYS_LISTS: &[&str] = &[
    "remote_schemas.yaml",
    "query_collections.yaml",
    "allow_list.yaml",
    "cron_triggers.yaml",
    "rest_endpoints.yaml",
    "inherited_roles.yaml",
];

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> YamlError + '_ {
    move |source| YamlError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads one YAML file as JSON, resolving `!include`s.
fn read_yaml(path: &Path, depth: usize) -> Result<Json, YamlError> {
    if depth > 16 {
        return Err(YamlError::Parse {
            path: path.into(),
            message: "too many nested !include".into(),
        });
    }
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    if text.trim().is_empty() {
        return Ok(Json::Null);
    }
    let y: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| YamlError::Parse {
        path: path.into(),
        message: e.to_string(),
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    yaml_to_json(&y, dir, path, depth)
}

fn include_target(s: &str) -> Option<&str> {
    s.strip_prefix("!include")
        .filter(|r| r.starts_with(char::is_whitespace))
        .map(str::trim)
}

fn yaml_to_json(
    y: &serde_yaml::Value,
    dir: &Path,
    file: &Path,
    depth: usize,
) -> Result<Json, YamlError> {
    use serde_yaml::Value as Y;
    Ok(match y {
        Y::Null => Json::Null,
        Y::Bool(b) => Json::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Json::Number)
                    .unwrap_or(Json::Null)
            }
        }
        Y::String(s) => match include_target(s) {
            Some(target) => read_yaml(&dir.join(target), depth + 1)?,
            None => Json::String(s.clone()),
        },
        Y::Sequence(items) => Json::Array(
            items
                .iter()
                .map(|i| yaml_to_json(i, dir, file, depth))
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s.clone(),
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    _ => {
                        return Err(YamlError::Parse {
                            path: file.into(),
                            message: "mapping keys must be strings".into(),
                        })
                    }
                };
                out.insert(key, yaml_to_json(v, dir, file, depth)?);
            }
            Json::Object(out)
        }
        Y::Tagged(t) => {
            if t.tag == "!include" || t.tag == "include" {
                match &t.value {
                    Y::String(target) => read_yaml(&dir.join(target.trim()), depth + 1)?,
                    _ => {
                        return Err(YamlError::Parse {
                            path: file.into(),
                            message: "!include needs a file name".into(),
                        })
                    }
                }
            } else {
                yaml_to_json(&t.value, dir, file, depth)?
            }
        }
    })
}

/// Reads a `hasura metadata export` directory (the `metadata/` folder itself).
pub fn from_yaml_dir(dir: &Path) -> Result<Metadata, YamlError> {
    let mut top = Map::new();
    let version_file = dir.join("version.yaml");
    let version = if version_file.exists() {
        read_yaml(&version_file, 0)?
            .get("version")
            .and_then(|v| v.as_u64())
            .unwrap_or(3)
    } else {
        3
    };
    top.insert("version".into(), Json::from(version));

    let databases = dir.join("databases").join("databases.yaml");
    if version >= 3 {
        let sources = if databases.exists() {
            read_yaml(&databases, 0)?
        } else {
            Json::Null
        };
        let sources = match sources {
            Json::Null => Json::Array(vec![]),
            s => s,
        };
        top.insert("sources".into(), null_lists_to_empty(sources));
    } else {
        // Version 2 layout: tables.yaml and functions.yaml at the top level.
        for (file, key) in [("tables.yaml", "tables"), ("functions.yaml", "functions")] {
            let p = dir.join(file);
            if p.exists() {
                top.insert(key.into(), read_yaml(&p, 0)?);
            }
        }
    }

    // actions.yaml, merged with actions.graphql when there is one (the CLI's layout).
    let actions = dir.join("actions.yaml");
    let sdl = dir.join(actions_sdl::SDL_FILE);
    if actions.exists() || sdl.exists() {
        let doc = if actions.exists() {
            read_yaml(&actions, 0)?
        } else {
            Json::Null
        };
        let (list, types) = if sdl.exists() {
            let text = fs::read_to_string(&sdl).map_err(io_err(&sdl))?;
            actions_sdl::merge(&doc, &text).map_err(|message| YamlError::Parse {
                path: sdl.clone(),
                message,
            })?
        } else {
            (
                doc.get("actions").cloned().unwrap_or(Json::Null),
                doc.get("custom_types").cloned().unwrap_or(Json::Null),
            )
        };
        for (key, v) in [("actions", list), ("custom_types", types)] {
            if !is_empty_value(&v) {
                top.insert(key.into(), v);
            }
        }
    }
    for (file, key) in KEY_FILES {
        let p = dir.join(file);
        if p.exists() {
            let v = read_yaml(&p, 0)?;
            if !is_empty_value(&v) {
                top.insert((*key).into(), v);
            }
        }
    }
    // Any other top-level `<key>.yaml` (written by `to_yaml_dir` for keys we do not know).
    if let Ok(entries) = fs::read_dir(dir) {
        let mut extra: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        extra.sort();
        for p in extra {
            let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(key) = name.strip_suffix(".yaml") else {
                continue;
            };
            if !p.is_file()
                || name == "version.yaml"
                || name == "actions.yaml"
                || KEY_FILES.iter().any(|(f, _)| *f == name)
                || top.contains_key(key)
            {
                continue;
            }
            let v = read_yaml(&p, 0)?;
            if !is_empty_value(&v) {
                top.insert(key.into(), v);
            }
        }
    }
    Metadata::from_json(&Json::Object(top), &Json::Object(Map::new())).map_err(YamlError::Metadata)
}

fn is_empty_value(v: &Json) -> bool {
    match v {
        Json::Null => true,
        Json::Array(a) => a.is_empty(),
        Json::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// `tables: null` (an empty included file) → `[]`.
fn null_lists_to_empty(sources: Json) -> Json {
    match sources {
        Json::Array(items) => Json::Array(
            items
                .into_iter()
                .map(|mut s| {
                    if let Json::Object(m) = &mut s {
                        for key in ["tables", "functions"] {
                            if matches!(m.get(key), Some(Json::Null)) {
                                m.insert(key.into(), Json::Array(vec![]));
                            }
                        }
                    }
                    s
                })
                .collect(),
        ),
        other => other,
    }
}

fn write_yaml(path: &Path, v: &impl serde::Serialize) -> Result<(), YamlError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let text = serde_yaml::to_string(v).map_err(|e| YamlError::Parse {
        path: path.into(),
        message: e.to_string(),
    })?;
    fs::write(path, text).map_err(io_err(path))
}

/// A file name safe for one table/function (`<schema>_<name>.yaml`).
fn file_stem(schema: &str, name: &str) -> String {
    format!("{schema}_{name}")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn unique_file(used: &mut Vec<String>, stem: String) -> String {
    let mut candidate = format!("{stem}.yaml");
    let mut i = 1;
    while used.contains(&candidate) {
        i += 1;
        candidate = format!("{stem}_{i}.yaml");
    }
    used.push(candidate.clone());
    candidate
}

/// Writes `md` as a `hasura metadata export` directory into `dir` (created if missing).
pub fn to_yaml_dir(md: &Metadata, dir: &Path) -> Result<(), YamlError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    write_yaml(
        &dir.join("version.yaml"),
        &serde_json::json!({ "version": 3 }),
    )?;

    let mut databases = Vec::new();
    for source in &md.sources {
        let src_dir = file_stem("", &source.name)
            .trim_start_matches('_')
            .to_string();
        let base = dir.join("databases").join(&src_dir);
        let mut entry = Map::new();
        entry.insert("name".into(), Json::String(source.name.clone()));
        entry.insert("kind".into(), Json::String(source.kind.clone()));
        entry.insert("configuration".into(), source.configuration.clone());
        for (k, v) in &source.extra {
            entry.insert(k.clone(), v.clone());
        }

        let mut used = Vec::new();
        let mut includes = Vec::new();
        for t in &source.tables {
            let file = unique_file(&mut used, file_stem(&t.table.schema, &t.table.name));
            write_yaml(&base.join("tables").join(&file), t)?;
            includes.push(Json::String(format!("!include {file}")));
        }
        write_yaml(&base.join("tables").join("tables.yaml"), &includes)?;
        entry.insert(
            "tables".into(),
            Json::String(format!("!include {src_dir}/tables/tables.yaml")),
        );

        if !source.functions.is_empty() {
            let mut used = Vec::new();
            let mut includes = Vec::new();
            for f in &source.functions {
                let file = unique_file(&mut used, file_stem(&f.function.schema, &f.function.name));
                write_yaml(&base.join("functions").join(&file), f)?;
                includes.push(Json::String(format!("!include {file}")));
            }
            write_yaml(&base.join("functions").join("functions.yaml"), &includes)?;
            entry.insert(
                "functions".into(),
                Json::String(format!("!include {src_dir}/functions/functions.yaml")),
            );
        }
        databases.push(Json::Object(entry));
    }
    write_yaml(&dir.join("databases").join("databases.yaml"), &databases)?;

    // Everything else, one file per key.
    let full = serde_json::to_value(md).map_err(|e| YamlError::Metadata(e.to_string()))?;
    let Json::Object(mut top) = full else {
        return Err(YamlError::Metadata("not an object".into()));
    };
    top.shift_remove("version");
    top.shift_remove("sources");

    // Actions and custom types: actions.yaml and actions.graphql, always (like the CLI).
    top.shift_remove("actions");
    top.shift_remove("custom_types");
    write_yaml(
        &dir.join("actions.yaml"),
        &actions_sdl::yaml_document(&md.actions, &md.custom_types),
    )?;
    let sdl = dir.join(actions_sdl::SDL_FILE);
    fs::write(&sdl, actions_sdl::print(&md.actions, &md.custom_types)).map_err(io_err(&sdl))?;
    for (file, key) in KEY_FILES {
        match top.shift_remove(*key) {
            Some(v) => write_yaml(&dir.join(file), &v)?,
            None if ALWAYS_LISTS.contains(file) => {
                write_yaml(&dir.join(file), &Json::Array(vec![]))?
            }
            None => {}
        }
    }
    for (key, v) in top {
        let safe: String = key
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        write_yaml(&dir.join(format!("{safe}.yaml")), &v)?;
    }
    Ok(())
}

#[allow(dead_code)]
fn _assert_source(_: &Source) {}
