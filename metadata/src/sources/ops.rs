//! The source operations of `/v1/metadata`: `pg_add_source`, `pg_drop_source`,
//! `pg_update_source` and `rename_source` (names arrive without the `pg_` prefix).
use super::Connection;
use crate::api::Cx;
use crate::db::Database;
use crate::error::ApiError;
use crate::raw::Source;
use serde::Deserialize;
use serde_json::Value as Json;

/// Whether `op` is a source operation.
pub(crate) fn handles(op: &str) -> bool {
    matches!(
        op,
        "add_source" | "drop_source" | "update_source" | "rename_source"
    )
}

pub(crate) async fn run<D: Database>(
    cx: &mut Cx<'_, D>,
    op: &str,
    args: &Json,
) -> Result<Json, ApiError> {
    match op {
        "add_source" => add_source(cx, crate::api::parse(args)?).await,
        "drop_source" => drop_source(cx, crate::api::parse(args)?).await,
        "update_source" => update_source(cx, crate::api::parse(args)?).await,
        _ => rename_source(cx, crate::api::parse(args)?).await,
    }
}

#[derive(Deserialize)]
struct AddSource {
    name: String,
    configuration: Json,
    #[serde(default)]
    replace_configuration: bool,
    #[serde(default)]
    customization: Option<Json>,
}

#[derive(Deserialize)]
struct DropSource {
    name: String,
    #[serde(default)]
    #[allow(dead_code)]
    cascade: bool,
}

#[derive(Deserialize)]
struct UpdateSource {
    name: String,
    #[serde(default)]
    configuration: Option<Json>,
    #[serde(default)]
    customization: Option<Json>,
}

#[derive(Deserialize)]
struct RenameSource {
    name: String,
    new_name: String,
}

/// Checks a configuration the way Hasura parses it (before anything is connected).
fn check_configuration(configuration: &Json) -> Result<(), ApiError> {
    Connection::parse(configuration)
        .map(|_| ())
        .map_err(|(m, p)| ApiError::parse_failed(m).at(format!("$.args.configuration{p}")))
}

fn not_exists(name: &str) -> ApiError {
    ApiError::not_exists(format!("source with name {name:?} does not exist")).at("$.args")
}

fn set_customization(source: &mut Source, customization: Option<Json>) {
    match customization {
        Some(c) if !c.is_null() && c != Json::Object(Default::default()) => {
            source.extra.insert("customization".into(), c);
        }
        Some(_) => {
            source.extra.shift_remove("customization");
        }
        None => {}
    }
}

/// Accepts the change: the served source may be another database now (prepared and
/// introspected), then the usual consistency check.
async fn accept<D: Database>(cx: &mut Cx<'_, D>) -> Result<Json, ApiError> {
    cx.follow_sources().await?;
    cx.check()?;
    Ok(crate::api::success())
}

async fn add_source<D: Database>(cx: &mut Cx<'_, D>, a: AddSource) -> Result<Json, ApiError> {
    check_configuration(&a.configuration)?;
    match cx.md.source_mut(&a.name) {
        Some(_) if !a.replace_configuration => {
            return Err(ApiError::new(
                "already-exists",
                format!("source with name {:?} already exists", a.name),
            )
            .at("$.args"))
        }
        Some(existing) => {
            existing.configuration = a.configuration;
            set_customization(existing, a.customization);
        }
        None => {
            let mut source = Source::new(a.name, a.configuration);
            set_customization(&mut source, a.customization);
            cx.md.sources.push(source);
        }
    }
    accept(cx).await
}

async fn drop_source<D: Database>(cx: &mut Cx<'_, D>, a: DropSource) -> Result<Json, ApiError> {
    let before = cx.md.sources.len();
    cx.md.sources.retain(|s| s.name != a.name);
    if cx.md.sources.len() == before {
        return Err(not_exists(&a.name));
    }
    accept(cx).await
}

async fn update_source<D: Database>(cx: &mut Cx<'_, D>, a: UpdateSource) -> Result<Json, ApiError> {
    if let Some(c) = &a.configuration {
        check_configuration(c)?;
    }
    let source = cx
        .md
        .source_mut(&a.name)
        .ok_or_else(|| not_exists(&a.name))?;
    if let Some(c) = a.configuration {
        source.configuration = c;
    }
    set_customization(source, a.customization);
    accept(cx).await
}

async fn rename_source<D: Database>(cx: &mut Cx<'_, D>, a: RenameSource) -> Result<Json, ApiError> {
    if cx.md.source(&a.name).is_none() {
        return Err(
            ApiError::not_exists(format!("Could not find source with name {:?}", a.name))
                .at("$.args"),
        );
    }
    if cx.md.source(&a.new_name).is_some() {
        return Err(ApiError::new(
            "already-exists",
            format!("Source with name {:?} already exists", a.new_name),
        )
        .at("$.args"));
    }
    if let Some(s) = cx.md.source_mut(&a.name) {
        s.name = a.new_name;
    }
    accept(cx).await
}
