//! Remote schemas (resolved last, after sources and actions), from the introspection stored in
//! the catalog ([`Catalog::remote_schemas`]): resolution never calls a remote.
//!
//! For each remote schema, in metadata order, like Hasura's `fetchRemoteSchema` and
//! `buildAndValidateRemoteSchemas`:
//! 1. its introspection must be stored without error (an unreachable remote is an
//!    inconsistency with the introspection's error);
//! 2. the `__schema` JSON is read like Hasura's `FromIntrospection` ([`parse_schema`], aeson's
//!    `Error in $.types[1].name: …` messages; type references through bounded `ofType`
//!    chains), the default `Mutation`/`Subscription` roots filled in;
//! 3. the `customization` is read and checked (mappings distinct, interface fields renamed
//!    like their implementations');
//! 4. the types reachable from the root fields are checked like Hasura's parser building
//!    (every referenced type defined, interfaces implemented, union members objects, …);
//! 5. its root fields (as clients see them) must not be another remote's ("Duplicate remote
//!    field 'x'") nor a source's or action's ("Field cannot be overwritten by remote field
//!    'x'"), and its reachable types must be identical to the sources', actions' and earlier
//!    remotes' types of the same name (descriptions aside; scalars always are).
//!
//! Any failure is an inconsistency of type `remote_schema` (one per reason) and the remote is
//! left out; the others are served. `permissions` lists the roles with a permission
//! (inherited roles through their parents); checking each role's SDL against the remote is not
//! done yet.
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use graphedge_core::introspection::{TypeDef, TypeKind as TsKind, TypeSystem};
use graphedge_core::model::Schema;
use graphedge_core::remote_schemas::{
    FieldNameCustomization, HeaderValue, InputValue, NameCustomization, RemoteCustomization,
    RemoteField, RemoteSchema, RemoteType, RemoteUrl, Type, TypeKind,
};
use serde_json::{Map, Value as Json};

use super::{is_graphql_name, Inconsistency};
use crate::introspect::Catalog;
use crate::raw::actions::type_text;
use crate::raw::{self, remote_schemas as rr};

/// The `type` of a remote schema's inconsistencies.
pub const KIND: &str = "remote_schema";

/// How deep `ofType` chains may nest (the standard query asks for 8 levels).
const MAX_TYPE_DEPTH: usize = 32;

/// The inconsistency `name` of a remote schema.
pub fn object_name(name: &str) -> String {
    format!("remote_schema {name}")
}

/// The reason of a remote schema whose introspection is not stored.
pub fn not_introspected(name: &str) -> String {
    format!(
        "the remote schema {name:?} has not been introspected; reload it (reload_remote_schema)"
    )
}

pub(crate) fn resolve(
    metadata: &raw::Metadata,
    catalog: &Catalog,
    config: &crate::Config,
    schema: &mut Schema,
    out: &mut Vec<Inconsistency>,
) {
    if metadata.remote_schemas.is_empty() {
        return;
    }
    let options = graphedge_core::Options {
        infer_function_permissions: config.infer_function_permissions,
        ..graphedge_core::Options::default()
    };
    let ts = graphedge_core::introspection::build(schema, "admin", &options);
    let local = Surface::of_type_system(&ts);
    let mut accepted: Vec<(RemoteSchema, Surface)> = Vec::new();
    for (i, r) in metadata.remote_schemas.iter().enumerate() {
        let report = |reason: String| Inconsistency {
            definition: rr::remote_schema_definition(r),
            reason: format!("Inconsistent object: {reason}"),
            name: object_name(&r.name),
            kind: KIND.into(),
        };
        if metadata.remote_schemas[..i]
            .iter()
            .any(|x| x.name == r.name)
        {
            out.push(report(format!(
                "multiple definitions of remote schema {:?}",
                r.name
            )));
            continue;
        }
        let built = match (
            catalog.remote_schema_errors.get(&r.name),
            catalog.remote_schemas.get(&r.name),
        ) {
            (Some(e), _) => Err(e.clone()),
            (None, Some(s)) => build(r, s),
            (None, None) => Err(not_introspected(&r.name)),
        };
        let mut remote = match built {
            Ok(x) => x,
            Err(e) => {
                out.push(report(e));
                continue;
            }
        };
        remote.relationships = type_relationships(r, &remote, schema, out);
        remote.role_schemas = role_views(r, &remote, &metadata.inherited_roles, out);
        remote.permissions = remote
            .role_schemas
            .iter()
            .map(|(role, _)| role.clone())
            .collect();
        let surface = Surface::of_remote(&remote);
        let reasons = conflicts(&surface, &local, &accepted);
        if reasons.is_empty() {
            accepted.push((remote, surface));
        } else {
            out.extend(reasons.into_iter().map(report));
        }
    }
    schema.remote_schemas = accepted.into_iter().map(|(r, _)| r).collect();
}

/// The relationships from the remote's object types to tables (`remote_relationships`:
/// `[{type_name, relationships: [{name, definition: {to_source: {relationship_type, source,
/// table, field_mapping}}}]}]`): the type must be an object with the mapped fields, the table
/// tracked, the columns its. Any problem is a `remote_relationship` inconsistency and that
/// relationship is left out.
fn type_relationships(
    r: &rr::RemoteSchemaMetadata,
    remote: &RemoteSchema,
    schema: &Schema,
    out: &mut Vec<Inconsistency>,
) -> Vec<graphedge_core::remote_schemas::RemoteTypeRelationship> {
    let mut found = Vec::new();
    for entry in &r.remote_relationships {
        let type_name = entry
            .get("type_name")
            .and_then(Json::as_str)
            .unwrap_or_default();
        let list = entry.get("relationships").and_then(Json::as_array);
        for rel in list.into_iter().flatten() {
            let name = rel.get("name").and_then(Json::as_str).unwrap_or_default();
            match type_relationship(remote, schema, type_name, name, rel) {
                Ok(x) => found.push(x),
                Err(reason) => out.push(Inconsistency {
                    definition: serde_json::json!({"remote_schema": r.name, "type_name": type_name,
                                                   "name": name, "definition": rel.get("definition")}),
                    reason: format!("Inconsistent object: {reason}"),
                    name: format!(
                        "remote_relationship {name} on type {type_name} in remote schema {}",
                        r.name
                    ),
                    kind: "remote_relationship".into(),
                }),
            }
        }
    }
    found
}

fn type_relationship(
    remote: &RemoteSchema,
    schema: &Schema,
    type_name: &str,
    name: &str,
    rel: &Json,
) -> Result<graphedge_core::remote_schemas::RemoteTypeRelationship, String> {
    use graphedge_core::model::RelKind;
    if !is_graphql_name(name) {
        return Err("the relationship's name is not a valid GraphQL name".into());
    }
    let t = remote
        .type_named(type_name)
        .filter(|t| t.kind == TypeKind::Object)
        .ok_or_else(|| format!("object type {type_name:?} does not exist in the remote schema"))?;
    if t.field(name).is_some() {
        return Err(format!(
            "field {name:?} already exists in type {type_name:?}"
        ));
    }
    let to = rel
        .pointer("/definition/to_source")
        .ok_or("only relationships to a source's table are supported on remote schema types")?;
    let source = to.get("source").and_then(Json::as_str).unwrap_or("default");
    let (ts, tn) = to
        .get("table")
        .and_then(super::remote::table_ref)
        .ok_or("to_source.table is missing")?;
    let target = super::remote::table_in(schema, source, &ts, &tn)
        .ok_or_else(|| format!("table {ts}.{tn} is not tracked in source {source:?}"))?;
    let kind = match to.get("relationship_type").and_then(Json::as_str) {
        Some("object") => RelKind::Object,
        Some("array") => RelKind::Array,
        _ => return Err("relationship_type must be \"object\" or \"array\"".into()),
    };
    let fields = to
        .get("field_mapping")
        .and_then(Json::as_object)
        .filter(|m| !m.is_empty())
        .ok_or("field_mapping must map at least one field")?;
    let mut mapping = Vec::new();
    for (from, into) in fields {
        if t.field(from).is_none() {
            return Err(format!(
                "field {from:?} does not exist in type {type_name:?}"
            ));
        }
        let into = into
            .as_str()
            .ok_or("field_mapping values must be column names")?;
        let c = schema.tables[target]
            .column(into)
            .ok_or_else(|| format!("column {into:?} does not exist on {ts}.{tn}"))?;
        mapping.push((from.clone(), c));
    }
    Ok(graphedge_core::remote_schemas::RemoteTypeRelationship {
        type_name: type_name.to_string(),
        name: name.to_string(),
        kind,
        target,
        mapping,
    })
}

/// The `type` of a remote schema permission's inconsistencies.
pub const PERMISSION_KIND: &str = "remote_schema_permission";

/// The inconsistency `name` of a role's permission on a remote schema.
pub fn permission_object_name(remote: &str, role: &str) -> String {
    format!("remote_schema_permission {remote}.{role}")
}

/// Each role's view of the remote (its SDL checked against the remote: an SDL that fails is an
/// inconsistency and the role gets no view), then each inherited role one of whose parents
/// (transitively) has a view: the union of its parents' views.
fn role_views(
    r: &rr::RemoteSchemaMetadata,
    remote: &RemoteSchema,
    inherited: &[raw::InheritedRole],
    out: &mut Vec<Inconsistency>,
) -> Vec<(String, RemoteSchema)> {
    let mut views: Vec<(String, RemoteSchema)> = Vec::new();
    for p in &r.permissions {
        if views.iter().any(|(role, _)| role == &p.role) {
            continue;
        }
        match super::remote_permissions::role_view(remote, &p.definition.schema) {
            Ok(view) => views.push((p.role.clone(), view)),
            Err(e) => out.push(Inconsistency {
                definition: serde_json::json!({
                    "remote_schema": r.name,
                    "role": p.role,
                    "definition": {"schema": p.definition.schema},
                    "comment": p.comment,
                }),
                reason: format!("Inconsistent object: {}", e.message()),
                name: permission_object_name(&r.name, &p.role),
                kind: PERMISSION_KIND.into(),
            }),
        }
    }
    let mut refused: Vec<&str> = Vec::new();
    for _ in 0..=inherited.len() {
        let mut grew = false;
        for ir in inherited {
            if refused.contains(&ir.role_name.as_str())
                || views.iter().any(|(role, _)| role == &ir.role_name)
            {
                continue;
            }
            let parents: Vec<&RemoteSchema> = ir
                .role_set
                .iter()
                .filter_map(|p| views.iter().find(|(role, _)| role == p).map(|(_, v)| v))
                .collect();
            if super::remote_permissions::presets_conflict(&parents) {
                // Hasura's inherited role permission inconsistency: the role gets no view.
                refused.push(&ir.role_name);
                out.push(Inconsistency {
                    definition: serde_json::json!({"remote_schema": r.name}),
                    reason: format!(
                        "Could not inherit permission for the role '{}' for the entity: 'remote schema: '{}''",
                        ir.role_name, r.name
                    ),
                    name: ir.role_name.clone(),
                    kind: super::INHERITED_PERMISSION_KIND.into(),
                });
                continue;
            }
            if let Some(union) = super::remote_permissions::union_of(&parents) {
                views.push((ir.role_name.clone(), union));
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    views
}

/// A remote schema from its metadata and its stored `__schema`, checked like Hasura's
/// `fetchRemoteSchema` (steps 2–4 of the module documentation). `Err` is Hasura's message.
pub fn build(md: &rr::RemoteSchemaMetadata, schema: &Json) -> Result<RemoteSchema, String> {
    md.definition.check_url()?;
    let customization = parse_customization(md.definition.customization.as_ref())
        .map_err(|(m, p)| format!("Error in $.definition.customization{p}: {m}"))?;
    let parsed = parse_schema(schema)?;
    let d = &md.definition;
    let remote = RemoteSchema {
        name: md.name.clone(),
        url: match (&d.url, &d.url_from_env) {
            (Some(u), _) => RemoteUrl::Url(u.clone()),
            (None, Some(e)) => RemoteUrl::FromEnv(e.clone()),
            (None, None) => RemoteUrl::Url(String::new()),
        },
        headers: d
            .headers
            .iter()
            .flatten()
            .map(|h| {
                let v = match (&h.value, &h.value_from_env) {
                    (Some(v), _) => HeaderValue::Value(v.clone()),
                    (None, Some(e)) => HeaderValue::FromEnv(e.clone()),
                    (None, None) => HeaderValue::Value(String::new()),
                };
                (h.name.clone(), v)
            })
            .collect(),
        forward_client_headers: d.forward_client_headers,
        timeout_seconds: d.timeout(),
        types: parsed.types,
        query_type: Some(parsed.query_type),
        mutation_type: parsed.mutation_type,
        subscription_type: parsed.subscription_type,
        permissions: Vec::new(),
        customization,
        role_schemas: Vec::new(),
        relationships: Vec::new(),
    };
    check_customization(&remote)?;
    Validator::new(&remote).run()?;
    Ok(remote)
}

// ---------------------------------------------------------------------------------------------
// The introspection answer

/// The `__schema` object of an introspector's answer: the whole response
/// (`{"data": {"__schema": …}}`), its `data` (`{"__schema": …}`) or the `__schema` itself.
pub fn schema_of(answer: Json) -> Result<Json, String> {
    let mut v = answer;
    if let Json::Object(m) = &mut v {
        if m.contains_key("data") || m.contains_key("errors") {
            let data = m.shift_remove("data").unwrap_or(Json::Null);
            if data.is_null() {
                let errors: Vec<String> = match m.get("errors") {
                    Some(Json::Array(list)) => list
                        .iter()
                        .map(|e| {
                            e.get("message")
                                .and_then(Json::as_str)
                                .map(String::from)
                                .unwrap_or_else(|| e.to_string())
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                return Err(if errors.is_empty() {
                    "Error in $: key \"data\" not found".into()
                } else {
                    format!(
                        "the remote schema answered the introspection query with errors: {}",
                        errors.join("; ")
                    )
                });
            }
            v = data;
        }
    }
    if let Json::Object(m) = &mut v {
        if let Some(s) = m.shift_remove("__schema") {
            v = s;
        }
    }
    match v {
        Json::Object(_) => Ok(v),
        other => Err(format!(
            "Error in $: parsing SchemaDocument failed, expected Object, but encountered {}",
            json_kind(&other)
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading `__schema` (Hasura's `FromIntrospection` instances)

/// What `__schema` says.
pub struct Parsed {
    pub types: Vec<RemoteType>,
    pub query_type: String,
    pub mutation_type: Option<String>,
    pub subscription_type: Option<String>,
}

/// aeson's name of a JSON value's kind.
fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "Null",
        Json::Bool(_) => "Boolean",
        Json::Number(_) => "Number",
        Json::String(_) => "String",
        Json::Array(_) => "Array",
        Json::Object(_) => "Object",
    }
}

fn err_at(path: &str, msg: impl std::fmt::Display) -> String {
    format!("Error in {path}: {msg}")
}

fn obj<'a>(v: &'a Json, path: &str, what: &str) -> Result<&'a Map<String, Json>, String> {
    v.as_object().ok_or_else(|| {
        err_at(
            path,
            format!(
                "parsing {what} failed, expected Object, but encountered {}",
                json_kind(v)
            ),
        )
    })
}

/// A required key (`.:`): absent is an error, `null` is parsed (and fails where a value is
/// needed).
fn req<'a>(o: &'a Map<String, Json>, key: &str, path: &str) -> Result<&'a Json, String> {
    o.get(key)
        .ok_or_else(|| err_at(path, format!("key {key:?} not found")))
}

/// An optional key (`.:?`): absent and `null` are `None`.
fn opt<'a>(o: &'a Map<String, Json>, key: &str) -> Option<&'a Json> {
    o.get(key).filter(|v| !v.is_null())
}

fn name_at(v: &Json, path: &str) -> Result<String, String> {
    match v {
        Json::String(s) if is_graphql_name(s) => Ok(s.clone()),
        Json::String(s) => Err(err_at(
            path,
            format!("parsing Name failed, {s:?} is not a valid GraphQL name"),
        )),
        other => Err(err_at(
            path,
            format!(
                "parsing Name failed, expected String, but encountered {}",
                json_kind(other)
            ),
        )),
    }
}

fn text_at(v: &Json, path: &str) -> Result<String, String> {
    v.as_str().map(String::from).ok_or_else(|| {
        err_at(
            path,
            format!(
                "parsing Text failed, expected String, but encountered {}",
                json_kind(v)
            ),
        )
    })
}

fn list_at<'a>(v: &'a Json, path: &str) -> Result<&'a Vec<Json>, String> {
    v.as_array().ok_or_else(|| {
        err_at(
            path,
            format!(
                "parsing [] failed, expected Array, but encountered {}",
                json_kind(v)
            ),
        )
    })
}

fn opt_text(o: &Map<String, Json>, key: &str, path: &str) -> Result<Option<String>, String> {
    opt(o, key)
        .map(|v| text_at(v, &format!("{path}.{key}")))
        .transpose()
}

/// Every element of the list at `key` (`required`: `.:`, else `.:?` with absent = empty).
fn each<T>(
    o: &Map<String, Json>,
    key: &str,
    path: &str,
    required: bool,
    f: impl Fn(&Json, &str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    let v = if required {
        Some(req(o, key, path)?)
    } else {
        opt(o, key)
    };
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let at = format!("{path}.{key}");
    list_at(v, &at)?
        .iter()
        .enumerate()
        .map(|(i, x)| f(x, &format!("{at}[{i}]")))
        .collect()
}

/// Reads `__schema` (`types`, `queryType`, `mutationType`, `subscriptionType`); a type named
/// twice keeps its last definition, in the first one's place.
pub fn parse_schema(s: &Json) -> Result<Parsed, String> {
    let o = obj(s, "$", "SchemaDocument")?;
    let list = each(o, "types", "$", true, parse_type)?;
    let mut types: Vec<RemoteType> = Vec::with_capacity(list.len());
    for t in list {
        match types.iter_mut().find(|x| x.name == t.name) {
            Some(x) => *x = t,
            None => types.push(t),
        }
    }
    let root = |key: &str, required: bool| -> Result<Option<String>, String> {
        let v = if required {
            Some(req(o, key, "$")?)
        } else {
            opt(o, key)
        };
        let Some(v) = v else { return Ok(None) };
        let at = format!("$.{key}");
        let r = obj(v, &at, "Object")?;
        name_at(req(r, "name", &at)?, &format!("{at}.name")).map(Some)
    };
    let query_type = root("queryType", true)?.unwrap_or_default();
    let is_object = |n: &str| {
        types
            .iter()
            .any(|t| t.name == n && t.kind == TypeKind::Object)
    };
    // Hasura's `addDefaultRoots`: objects named `Mutation` / `Subscription` are the roots
    // when the introspection names none.
    let mutation_type = root("mutationType", false)?
        .or_else(|| is_object("Mutation").then(|| "Mutation".to_string()));
    let subscription_type = root("subscriptionType", false)?
        .or_else(|| is_object("Subscription").then(|| "Subscription".to_string()));
    Ok(Parsed {
        types,
        query_type,
        mutation_type,
        subscription_type,
    })
}

fn parse_type(v: &Json, path: &str) -> Result<RemoteType, String> {
    let o = obj(v, path, "TypeDefinition")?;
    let kind_text = text_at(req(o, "kind", path)?, &format!("{path}.kind"))?;
    let kind = match kind_text.as_str() {
        "SCALAR" => TypeKind::Scalar,
        "OBJECT" => TypeKind::Object,
        "INTERFACE" => TypeKind::Interface,
        "UNION" => TypeKind::Union,
        "ENUM" => TypeKind::Enum,
        "INPUT_OBJECT" => TypeKind::InputObject,
        k => return Err(err_at(path, format!("unknown kind: {k}"))),
    };
    let name = name_at(req(o, "name", path)?, &format!("{path}.name"))?;
    let description = opt_text(o, "description", path)?;
    let mut t = RemoteType {
        kind,
        name,
        description,
        fields: Vec::new(),
        input_fields: Vec::new(),
        enum_values: Vec::new(),
        interfaces: Vec::new(),
        possible_types: Vec::new(),
    };
    match kind {
        TypeKind::Scalar => {}
        TypeKind::Object => {
            t.fields = each(o, "fields", path, false, parse_field)?;
            t.interfaces = each(o, "interfaces", path, false, |v, p| {
                type_ref_named(v, p, "InterfaceTypeDefinition", "INTERFACE", "interface")
            })?;
        }
        TypeKind::Interface => {
            t.fields = each(o, "fields", path, false, parse_field)?;
            t.possible_types = each(o, "possibleTypes", path, false, |v, p| {
                type_ref_named(v, p, "ObjectTypeDefinition", "OBJECT", "object")
            })?;
        }
        TypeKind::Union => {
            t.possible_types = each(o, "possibleTypes", path, true, |v, p| {
                type_ref_named(v, p, "ObjectTypeDefinition", "OBJECT", "object")
            })?;
        }
        TypeKind::Enum => {
            t.enum_values = each(o, "enumValues", path, true, |v, p| {
                let o = obj(v, p, "EnumValueDefinition")?;
                let name = name_at(req(o, "name", p)?, &format!("{p}.name"))?;
                let description = opt_text(o, "description", p)?;
                Ok((name, description, deprecation(o)))
            })?;
        }
        TypeKind::InputObject => {
            t.input_fields = each(o, "inputFields", path, false, parse_input_value)?;
        }
    }
    Ok(t)
}

/// An entry of `interfaces` / `possibleTypes`: Hasura reads it as a type definition of the
/// expected kind, so its `kind` and `name` must be right.
fn type_ref_named(
    v: &Json,
    path: &str,
    what: &str,
    want: &str,
    word: &str,
) -> Result<String, String> {
    let o = obj(v, path, what)?;
    let kind = text_at(req(o, "kind", path)?, &format!("{path}.kind"))?;
    let name = name_at(req(o, "name", path)?, &format!("{path}.name"))?;
    if kind != want {
        return Err(err_at(path, format!("Invalid `kind: {kind}` in {word}")));
    }
    Ok(name)
}

/// `isDeprecated` / `deprecationReason` (Hasura ignores them; the edge may show them).
fn deprecation(o: &Map<String, Json>) -> Option<String> {
    if !o
        .get("isDeprecated")
        .and_then(Json::as_bool)
        .unwrap_or(false)
    {
        return None;
    }
    Some(
        o.get("deprecationReason")
            .and_then(Json::as_str)
            .unwrap_or("No longer supported")
            .to_string(),
    )
}

fn parse_field(v: &Json, path: &str) -> Result<RemoteField, String> {
    let o = obj(v, path, "FieldDefinition")?;
    let name = name_at(req(o, "name", path)?, &format!("{path}.name"))?;
    let description = opt_text(o, "description", path)?;
    let args = each(o, "args", path, true, parse_input_value)?;
    let ty = parse_type_ref(req(o, "type", path)?, &format!("{path}.type"), 0)?;
    Ok(RemoteField {
        name,
        description,
        args,
        ty,
        deprecation: deprecation(o),
    })
}

fn parse_input_value(v: &Json, path: &str) -> Result<InputValue, String> {
    let o = obj(v, path, "InputValueDefinition")?;
    let name = name_at(req(o, "name", path)?, &format!("{path}.name"))?;
    let description = opt_text(o, "description", path)?;
    let ty = parse_type_ref(req(o, "type", path)?, &format!("{path}.type"), 0)?;
    let default_value = opt_text(o, "defaultValue", path)?;
    Ok(InputValue {
        name,
        description,
        ty,
        default_value,
        preset: None,
    })
}

/// A type reference: `NON_NULL` and `LIST` wrap their `ofType`, anything else names a type.
fn parse_type_ref(v: &Json, path: &str, depth: usize) -> Result<Type, String> {
    if depth > MAX_TYPE_DEPTH {
        return Err(err_at(path, "type reference nested too deeply"));
    }
    let o = obj(v, path, "GType")?;
    let kind = text_at(req(o, "kind", path)?, &format!("{path}.kind"))?;
    let name = opt(o, "name")
        .map(|n| name_at(n, &format!("{path}.name")))
        .transpose()?;
    let of = opt(o, "ofType");
    let inner = |t: &Json| parse_type_ref(t, &format!("{path}.ofType"), depth + 1);
    match (kind.as_str(), name, of) {
        ("NON_NULL", _, Some(t)) => Ok(match inner(t)? {
            nn @ Type::NonNull(_) => nn,
            other => Type::NonNull(Box::new(other)),
        }),
        ("NON_NULL", _, None) => Err(err_at(path, "NON_NULL should have `ofType`")),
        ("LIST", _, Some(t)) => Ok(Type::List(Box::new(inner(t)?))),
        ("LIST", _, None) => Err(err_at(path, "LIST should have `ofType`")),
        (_, Some(n), _) => Ok(Type::Named(n)),
        (k, None, _) => Err(err_at(path, format!("kind: {k} should have name"))),
    }
}

// ---------------------------------------------------------------------------------------------
// Customization

/// Reads a `customization` (`None`/`null`: none). `Err` is the message and the path below
/// the customization.
pub fn parse_customization(v: Option<&Json>) -> Result<RemoteCustomization, (String, String)> {
    let mut c = RemoteCustomization::default();
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(c);
    };
    let Json::Object(o) = v else {
        return Err((
            format!(
                "parsing RemoteSchemaCustomization failed, expected Object, but encountered {}",
                json_kind(v)
            ),
            String::new(),
        ));
    };
    let name = |v: &Json, p: &str| -> Result<String, (String, String)> {
        match v {
            Json::String(s) if is_graphql_name(s) => Ok(s.clone()),
            Json::String(s) => Err((format!("{s:?} is not a valid GraphQL name"), p.into())),
            other => Err((
                format!(
                    "parsing Name failed, expected String, but encountered {}",
                    json_kind(other)
                ),
                p.into(),
            )),
        }
    };
    let names = |v: &Json, p: &str| -> Result<NameCustomization, (String, String)> {
        let Json::Object(o) = v else {
            return Err((
                format!("expected Object, but encountered {}", json_kind(v)),
                p.into(),
            ));
        };
        let mut n = NameCustomization::default();
        if let Some(x) = opt(o, "prefix") {
            n.prefix = Some(name(x, &format!("{p}.prefix"))?);
        }
        if let Some(x) = opt(o, "suffix") {
            n.suffix = Some(name(x, &format!("{p}.suffix"))?);
        }
        match opt(o, "mapping") {
            None => {}
            Some(Json::Object(m)) => {
                for (k, to) in m {
                    let at = format!("{p}.mapping.{k}");
                    if !is_graphql_name(k) {
                        return Err((format!("{k:?} is not a valid GraphQL name"), at));
                    }
                    n.mapping.push((k.clone(), name(to, &at)?));
                }
            }
            Some(other) => {
                return Err((
                    format!("expected Object, but encountered {}", json_kind(other)),
                    format!("{p}.mapping"),
                ))
            }
        }
        Ok(n)
    };
    if let Some(x) = opt(o, "root_fields_namespace") {
        c.root_fields_namespace = Some(name(x, ".root_fields_namespace")?);
    }
    if let Some(x) = opt(o, "type_names") {
        c.type_names = Some(names(x, ".type_names")?);
    }
    match opt(o, "field_names") {
        None => {}
        Some(Json::Array(list)) => {
            for (i, f) in list.iter().enumerate() {
                let p = format!(".field_names[{i}]");
                let parent = match f.get("parent_type") {
                    Some(x) => name(x, &format!("{p}.parent_type"))?,
                    None => return Err(("key \"parent_type\" not found".into(), p)),
                };
                c.field_names.push(FieldNameCustomization {
                    parent_type: parent,
                    names: names(f, &p)?,
                });
            }
        }
        Some(other) => {
            return Err((
                format!(
                    "parsing [] failed, expected Array, but encountered {}",
                    json_kind(other)
                ),
                ".field_names".into(),
            ))
        }
    }
    Ok(c)
}

/// `"a", "b"` (Hasura's `dquoteList`), sorted.
fn dquote_list(names: BTreeSet<String>) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn duplicates<'a>(names: impl Iterator<Item = &'a str>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut dups = BTreeSet::new();
    for n in names {
        if !seen.insert(n) {
            dups.insert(n.to_string());
        }
    }
    dups
}

/// Hasura's `validateSchemaCustomizations`: an interface's fields renamed like its
/// implementations', type names and each type's field names distinct after renaming.
fn check_customization(r: &RemoteSchema) -> Result<(), String> {
    let c = &r.customization;
    if c.type_names.is_none() && c.field_names.is_empty() && c.root_fields_namespace.is_none() {
        return Ok(());
    }
    for t in r.types.iter().filter(|t| t.kind == TypeKind::Interface) {
        for object in &t.possible_types {
            for f in &t.fields {
                let on_interface = r.field_name(&t.name, &f.name);
                let on_object = r.field_name(object, &f.name);
                if on_interface != on_object {
                    return Err(format!(
                        "Remote schema customization inconsistency: field name mapping for field {:?} of interface {:?} is inconsistent with mapping for type {:?}. Interface field name maps to {on_interface:?}. Type field name maps to {on_object:?}.",
                        f.name, t.name, object
                    ));
                }
            }
        }
    }
    let renamed: Vec<String> = r.types.iter().map(|t| r.type_name(&t.name)).collect();
    let dups = duplicates(renamed.iter().map(String::as_str));
    if !dups.is_empty() {
        return Err(format!(
            "Type name mappings are not distinct; the following types appear more than once: {}",
            dquote_list(dups)
        ));
    }
    for t in &r.types {
        let what = match t.kind {
            TypeKind::Interface => "interface",
            TypeKind::Object => "object",
            _ => continue,
        };
        let renamed: Vec<String> = t
            .fields
            .iter()
            .map(|f| r.field_name(&t.name, &f.name))
            .collect();
        let dups = duplicates(renamed.iter().map(String::as_str));
        if !dups.is_empty() {
            return Err(format!(
                "Field name mappings for {what} type {:?} are not distinct; the following fields appear more than once: {}",
                t.name,
                dquote_list(dups)
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Structural checks (Hasura's `buildRemoteParser` over the reachable types)

struct Validator<'a> {
    r: &'a RemoteSchema,
    types: BTreeMap<&'a str, &'a RemoteType>,
    /// Types already checked (or being checked: recursion stops there, like Hasura's
    /// memoised parsers).
    done: BTreeSet<&'a str>,
}

/// `'name'`.
fn sq(s: &str) -> String {
    format!("'{s}'")
}

impl<'a> Validator<'a> {
    fn new(r: &'a RemoteSchema) -> Self {
        Validator {
            r,
            types: r.types.iter().map(|t| (t.name.as_str(), t)).collect(),
            done: BTreeSet::new(),
        }
    }

    fn run(mut self) -> Result<(), String> {
        let roots = [
            self.r.query_type.as_deref(),
            self.r.mutation_type.as_deref(),
            self.r.subscription_type.as_deref(),
        ];
        for root in roots.into_iter().flatten() {
            let Some(t) = self
                .types
                .get(root)
                .copied()
                .filter(|t| t.kind == TypeKind::Object)
            else {
                return Err(format!("{root:?} has to be an object type"));
            };
            for f in &t.fields {
                self.output_field(f)?;
            }
        }
        Ok(())
    }

    fn lookup(&self, name: &str) -> Result<&'a RemoteType, String> {
        self.types
            .get(name)
            .copied()
            .ok_or_else(|| format!("Could not find type with name {name:?}"))
    }

    fn output_field(&mut self, f: &'a RemoteField) -> Result<(), String> {
        for a in &f.args {
            self.input_type(&a.ty)?;
        }
        let t = self.lookup(f.ty.base())?;
        match t.kind {
            TypeKind::Scalar | TypeKind::Enum => Ok(()),
            TypeKind::Object => self.object(t),
            TypeKind::Interface => self.interface(t),
            TypeKind::Union => self.union(t),
            TypeKind::InputObject => Err("expected output type, but got input type".into()),
        }
    }

    fn input_type(&mut self, ty: &Type) -> Result<(), String> {
        let t = self.lookup(ty.base())?;
        match t.kind {
            TypeKind::Scalar | TypeKind::Enum => Ok(()),
            TypeKind::InputObject => {
                if self.done.insert(t.name.as_str()) {
                    for f in &t.input_fields {
                        self.input_type(&f.ty)?;
                    }
                }
                Ok(())
            }
            _ => Err("expected input type, but got output type".into()),
        }
    }

    fn object(&mut self, t: &'a RemoteType) -> Result<(), String> {
        if !self.done.insert(t.name.as_str()) {
            return Ok(());
        }
        for f in &t.fields {
            self.output_field(f)?;
        }
        let mut interfaces = Vec::new();
        for i in &t.interfaces {
            match self.types.get(i.as_str()) {
                Some(it) if it.kind == TypeKind::Interface => interfaces.push(*it),
                _ => {
                    return Err(format!(
                        "Could not find interface {} implemented by Object type {}",
                        sq(i),
                        sq(&t.name)
                    ))
                }
            }
        }
        for it in &interfaces {
            self.interface(it)?;
        }
        for it in interfaces {
            self.implements(t, it)?;
        }
        Ok(())
    }

    /// The object `o` provides every field of the interface `i` (Hasura's
    /// `validateImplementsFields`).
    fn implements(&self, o: &RemoteType, i: &RemoteType) -> Result<(), String> {
        for fi in &i.fields {
            let Some(fo) = o.fields.iter().find(|f| f.name == fi.name) else {
                return Err(format!(
                    "Interface field {}.{:?} expected, but {} does not provide it",
                    sq(&i.name),
                    fi.name,
                    sq(&o.name)
                ));
            };
            if !self.sub_type(&fo.ty, &fi.ty) {
                return Err(format!(
                    "The type of Object field {}.{:?} ({}) is not the same type/sub type of Interface field {}.{:?} ({})",
                    sq(&o.name),
                    fo.name,
                    type_text(&fo.ty),
                    sq(&i.name),
                    fi.name,
                    type_text(&fi.ty)
                ));
            }
            for ai in &fi.args {
                match fo.args.iter().find(|a| a.name == ai.name) {
                    None => {
                        return Err(format!(
                            "Interface field argument {}.{:?}({:?}:) required, but Object field {}.{:?} does not provide it",
                            sq(&i.name),
                            fi.name,
                            ai.name,
                            sq(&o.name),
                            fo.name
                        ))
                    }
                    Some(ao) if ao.ty != ai.ty => {
                        return Err(format!(
                            "Interface field argument {}.{:?}({:?}:) expects type {}, but {}.{:?}({:?}:) has type {}",
                            sq(&i.name),
                            fi.name,
                            ai.name,
                            type_text(&ai.ty),
                            sq(&o.name),
                            fo.name,
                            ai.name,
                            type_text(&ao.ty)
                        ))
                    }
                    Some(_) => {}
                }
            }
            for ao in &fo.args {
                if fi.args.iter().all(|a| a.name != ao.name) && ao.ty.is_non_null() {
                    return Err(format!(
                        "Object field argument {}.{:?}({:?}:) is of required type {}, but is not provided by Interface field {}.{:?}",
                        sq(&o.name),
                        fo.name,
                        ao.name,
                        type_text(&ao.ty),
                        sq(&i.name),
                        fi.name
                    ));
                }
            }
        }
        Ok(())
    }

    /// Hasura's `validateSubType`: lists element-wise (their nullability ignored), a non-null
    /// named type may implement a nullable one, an object implements an interface listing it
    /// or any union.
    fn sub_type(&self, x: &Type, y: &Type) -> bool {
        fn peel(t: &Type) -> (bool, &Type) {
            match t {
                Type::NonNull(inner) => (true, inner),
                other => (false, other),
            }
        }
        let ((xn, xi), (yn, yi)) = (peel(x), peel(y));
        match (xi, yi) {
            (Type::List(a), Type::List(b)) => self.sub_type(a, b),
            (Type::Named(a), Type::Named(b)) => {
                let nullability_ok = xn == yn || (xn && !yn);
                let (Some(ta), Some(tb)) = (self.types.get(a.as_str()), self.types.get(b.as_str()))
                else {
                    return false;
                };
                nullability_ok
                    && (a == b
                        || (ta.kind == TypeKind::Object
                            && tb.kind == TypeKind::Interface
                            && tb.possible_types.contains(a))
                        || (ta.kind == TypeKind::Object && tb.kind == TypeKind::Union))
            }
            _ => false,
        }
    }

    /// A member of an interface or union: an object type.
    fn member(&self, name: &str, of: &str, what: &str) -> Result<&'a RemoteType, String> {
        match self.types.get(name) {
            Some(t) if t.kind == TypeKind::Object => Ok(*t),
            Some(t) if t.kind == TypeKind::Interface => Err(format!(
                "{what} type {} can only include object types. It cannot include {}",
                sq(of),
                sq(name)
            )),
            _ => Err(format!(
                "Could not find type {}, which is defined as a member type of {what} {}",
                sq(name),
                sq(of)
            )),
        }
    }

    fn interface(&mut self, t: &'a RemoteType) -> Result<(), String> {
        if !self.done.insert(t.name.as_str()) {
            return Ok(());
        }
        for f in &t.fields {
            self.output_field(f)?;
        }
        for p in &t.possible_types {
            let o = self.member(p, &t.name, "Interface")?;
            self.object(o)?;
        }
        if t.fields.is_empty() {
            return Err(format!(
                "List of fields cannot be empty for interface {}",
                sq(&t.name)
            ));
        }
        Ok(())
    }

    fn union(&mut self, t: &'a RemoteType) -> Result<(), String> {
        if !self.done.insert(t.name.as_str()) {
            return Ok(());
        }
        for p in &t.possible_types {
            let o = self.member(p, &t.name, "Union")?;
            self.object(o)?;
        }
        if t.possible_types.is_empty() {
            return Err(format!(
                "List of member types cannot be empty for union type {}",
                sq(&t.name)
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Conflicts with the rest of the schema

/// A named type's structure, descriptions and default values aside.
#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Scalar,
    /// Fields: name → (type, arguments name → type); interfaces.
    Object(Fields, BTreeSet<String>),
    Interface(Fields),
    Union(BTreeSet<String>),
    Enum(BTreeSet<String>),
    Input(BTreeMap<String, String>),
}

type Fields = BTreeMap<String, (String, BTreeMap<String, String>)>;

/// What one part of the schema puts at the roots and among the types: root field names
/// (`query`, `mutation`) and every type reachable from them, with the first path reaching it.
struct Surface {
    query: Vec<String>,
    mutation: Vec<String>,
    types: BTreeMap<String, (Shape, String)>,
}

impl Surface {
    /// The sources' and actions' part: the admin's type system.
    fn of_type_system(ts: &TypeSystem) -> Surface {
        let fields_of = |name: Option<&str>| -> Vec<String> {
            name.and_then(|n| ts.types.get(n))
                .map(|t| {
                    t.fields
                        .iter()
                        .filter(|f| !f.name.starts_with("__"))
                        .map(|f| f.name.clone())
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut out = Surface {
            query: fields_of(Some(&ts.query_type)),
            mutation: fields_of(ts.mutation_type.as_deref()),
            types: BTreeMap::new(),
        };
        let mut queue: VecDeque<(String, String)> = VecDeque::new();
        for root in [Some(ts.query_type.as_str()), ts.mutation_type.as_deref()]
            .into_iter()
            .flatten()
        {
            if let Some(t) = ts.types.get(root) {
                for f in t.fields.iter().filter(|f| !f.name.starts_with("__")) {
                    queue.push_back((f.ty.base().to_string(), f.name.clone()));
                    for a in &f.args {
                        queue.push_back((a.ty.base().to_string(), f.name.clone()));
                    }
                }
            }
        }
        while let Some((name, origin)) = queue.pop_front() {
            if name.starts_with("__") || out.types.contains_key(&name) {
                continue;
            }
            let Some(t) = ts.types.get(&name) else {
                continue;
            };
            for f in &t.fields {
                let at = format!("{origin}.{}", f.name);
                queue.push_back((f.ty.base().to_string(), at.clone()));
                for a in &f.args {
                    queue.push_back((a.ty.base().to_string(), at.clone()));
                }
            }
            for f in &t.input_fields {
                queue.push_back((f.ty.base().to_string(), format!("{origin}.{}", f.name)));
            }
            for r in t.interfaces.iter().chain(&t.possible_types) {
                queue.push_back((r.base().to_string(), origin.clone()));
            }
            out.types.insert(name, (ts_shape(t), origin));
        }
        out
    }

    /// A remote's part, with its customized names.
    fn of_remote(r: &RemoteSchema) -> Surface {
        let mut out = Surface {
            query: r.exposed_root_fields("query"),
            mutation: r.exposed_root_fields("mutation"),
            types: BTreeMap::new(),
        };
        let mut queue: VecDeque<(&str, String)> = VecDeque::new();
        for kind in ["query", "mutation"] {
            let Some(root) = r.root(kind) else { continue };
            match &r.customization.root_fields_namespace {
                Some(ns) if !root.fields.is_empty() => queue.push_back((&root.name, ns.clone())),
                Some(_) => {}
                None => {
                    for f in &root.fields {
                        let at = r.field_name(&root.name, &f.name);
                        queue.push_back((f.ty.base(), at.clone()));
                        for a in &f.args {
                            queue.push_back((a.ty.base(), at.clone()));
                        }
                    }
                }
            }
        }
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        while let Some((name, origin)) = queue.pop_front() {
            if name.starts_with("__") || !seen.insert(name) {
                continue;
            }
            let Some(t) = r.type_named(name) else {
                continue;
            };
            for f in &t.fields {
                let at = format!("{origin}.{}", r.field_name(&t.name, &f.name));
                queue.push_back((f.ty.base(), at.clone()));
                for a in &f.args {
                    queue.push_back((a.ty.base(), at.clone()));
                }
            }
            for f in &t.input_fields {
                queue.push_back((f.ty.base(), format!("{origin}.{}", f.name)));
            }
            for n in t.interfaces.iter().chain(&t.possible_types) {
                queue.push_back((n, origin.clone()));
            }
            out.types
                .insert(r.type_name(name), (remote_shape(r, t), origin));
        }
        out
    }
}

fn ts_shape(t: &TypeDef) -> Shape {
    let fields = || -> Fields {
        t.fields
            .iter()
            .map(|f| {
                let args = f
                    .args
                    .iter()
                    .map(|a| (a.name.clone(), a.ty.to_sdl()))
                    .collect();
                (f.name.clone(), (f.ty.to_sdl(), args))
            })
            .collect()
    };
    match t.kind {
        TsKind::Scalar => Shape::Scalar,
        TsKind::Object => Shape::Object(
            fields(),
            t.interfaces.iter().map(|i| i.base().to_string()).collect(),
        ),
        TsKind::Interface => Shape::Interface(fields()),
        TsKind::Union => Shape::Union(
            t.possible_types
                .iter()
                .map(|p| p.base().to_string())
                .collect(),
        ),
        TsKind::Enum => Shape::Enum(t.enum_values.iter().map(|v| v.name.clone()).collect()),
        TsKind::InputObject => Shape::Input(
            t.input_fields
                .iter()
                .map(|f| (f.name.clone(), f.ty.to_sdl()))
                .collect(),
        ),
    }
}

/// `[T!]!` with the base type renamed as clients see it.
fn renamed_type(r: &RemoteSchema, t: &Type) -> String {
    match t {
        Type::Named(n) => r.type_name(n),
        Type::List(inner) => format!("[{}]", renamed_type(r, inner)),
        Type::NonNull(inner) => format!("{}!", renamed_type(r, inner)),
    }
}

fn remote_shape(r: &RemoteSchema, t: &RemoteType) -> Shape {
    let fields = || -> Fields {
        t.fields
            .iter()
            .map(|f| {
                let args = f
                    .args
                    .iter()
                    .map(|a| (a.name.clone(), renamed_type(r, &a.ty)))
                    .collect();
                (
                    r.field_name(&t.name, &f.name),
                    (renamed_type(r, &f.ty), args),
                )
            })
            .collect()
    };
    let names = |list: &[String]| list.iter().map(|n| r.type_name(n)).collect();
    match t.kind {
        TypeKind::Scalar => Shape::Scalar,
        TypeKind::Object => Shape::Object(fields(), names(&t.interfaces)),
        TypeKind::Interface => Shape::Interface(fields()),
        TypeKind::Union => Shape::Union(names(&t.possible_types)),
        TypeKind::Enum => Shape::Enum(t.enum_values.iter().map(|v| v.0.clone()).collect()),
        TypeKind::InputObject => Shape::Input(
            t.input_fields
                .iter()
                .map(|f| (f.name.clone(), renamed_type(r, &f.ty)))
                .collect(),
        ),
    }
}

/// Why the remote's `new` surface cannot join the sources' and the remotes accepted before
/// it (Hasura's messages; none: it can).
fn conflicts(new: &Surface, local: &Surface, accepted: &[(RemoteSchema, Surface)]) -> Vec<String> {
    let mut out = Vec::new();
    let roots = |pick: fn(&Surface) -> &Vec<String>| {
        let mine = pick(new);
        if mine.is_empty() {
            return Vec::new();
        }
        let earlier: Vec<&str> = accepted
            .iter()
            .flat_map(|(_, s)| pick(s).iter().map(String::as_str))
            .collect();
        let mut reasons = Vec::new();
        for name in duplicates(mine.iter().map(String::as_str).chain(earlier)) {
            reasons.push(format!("Duplicate remote field {}", sq(&name)));
        }
        let theirs = pick(local).iter().map(String::as_str);
        for name in duplicates(mine.iter().map(String::as_str).chain(theirs)) {
            reasons.push(format!(
                "Field cannot be overwritten by remote field {}",
                sq(&name)
            ));
        }
        reasons
    };
    out.extend(roots(|s| &s.query));
    out.extend(roots(|s| &s.mutation));
    for (name, (shape, origin)) in &new.types {
        let other = local
            .types
            .get(name)
            .or_else(|| accepted.iter().find_map(|(_, s)| s.types.get(name)));
        let Some((theirs, at)) = other else { continue };
        if shape != theirs {
            out.push(format!(
                "Found conflicting definitions for GraphQL type {}.  The definition at {origin} differs from the definitions at [{at}].",
                sq(name)
            ));
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
