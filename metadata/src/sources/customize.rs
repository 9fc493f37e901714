//! A source's `customization` (Hasura's `SourceCustomization`): `root_fields` `namespace`,
//! `prefix`, `suffix`; `type_names` `prefix`, `suffix`, `mapping`. Root field prefix/suffix
//! rename the resolved root fields here; the namespace and type names go to core
//! ([`graphedge_core::customize::Customization`]), which applies them to introspection,
//! field resolution and `__typename`.
use graphedge_core::customize::{camel, pascal, Customization};
use graphedge_core::model::Schema;
use serde_json::Value as Json;

use crate::raw::Source;

/// What a source's `customization` says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceCustomization {
    pub root_prefix: String,
    pub root_suffix: String,
    /// `naming_convention: graphql-default` in force (the source's, else the server's
    /// default; only with the `naming_convention` experimental feature, as in Hasura).
    pub graphql_default: bool,
    pub core: Customization,
}

fn text(v: Option<&Json>) -> String {
    v.and_then(Json::as_str).unwrap_or_default().to_string()
}

impl SourceCustomization {
    pub fn of(source: &Source, config: &crate::Config) -> SourceCustomization {
        let convention = source
            .extra
            .get("customization")
            .and_then(|c| c.get("naming_convention"))
            .and_then(Json::as_str)
            .unwrap_or(&config.default_naming_convention);
        let graphql_default = config.naming_conventions && convention == "graphql-default";
        let Some(c) = source.extra.get("customization") else {
            return SourceCustomization {
                graphql_default,
                core: Customization {
                    pascal_types: graphql_default,
                    ..Customization::default()
                },
                ..SourceCustomization::default()
            };
        };
        let roots = c.get("root_fields");
        let types = c.get("type_names");
        let namespace = roots
            .and_then(|r| r.get("namespace"))
            .and_then(Json::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        let type_mapping = types
            .and_then(|t| t.get("mapping"))
            .and_then(Json::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        SourceCustomization {
            root_prefix: text(roots.and_then(|r| r.get("prefix"))),
            root_suffix: text(roots.and_then(|r| r.get("suffix"))),
            graphql_default,
            core: Customization {
                namespace,
                type_prefix: text(types.and_then(|t| t.get("prefix"))),
                type_suffix: text(types.and_then(|t| t.get("suffix"))),
                type_mapping,
                pascal_types: graphql_default,
                custom_bases: Vec::new(),
            },
        }
    }

    /// `graphql-default`: the names Hasura generates become camelCase (root fields, columns,
    /// functions) and PascalCase (table types); names the metadata gives (`custom_name`,
    /// `custom_root_fields`, custom column names) are kept as given. Root field prefix and
    /// suffix join as words: `test` + `author_local` + `query` → `testAuthorLocalQuery`.
    pub fn apply_naming_convention(&mut self, schema: &mut Schema, source: &Source) {
        if !self.graphql_default {
            return;
        }
        let (prefix, suffix) = (
            core::mem::take(&mut self.root_prefix),
            core::mem::take(&mut self.root_suffix),
        );
        let root = |n: &str| -> String {
            let base = if prefix.is_empty() {
                camel(n)
            } else {
                format!("{prefix}{}", pascal(n))
            };
            format!("{base}{}", pascal(&suffix))
        };
        let custom = |n: &str| format!("{prefix}{n}{suffix}");
        for t in &mut schema.tables {
            let config = source
                .tables
                .iter()
                .find(|m| m.table.schema == t.name.schema && m.table.name == t.name.name)
                .map(|m| &m.configuration);
            let g = t.gql_name.clone();
            if config.is_none_or(|c| c.custom_name.is_none()) {
                t.gql_name = pascal(&g);
            } else {
                self.core.custom_bases.push(g.clone());
            }
            let r = &mut t.root_fields;
            for (n, default) in [
                (&mut r.select, g.clone()),
                (&mut r.select_by_pk, format!("{g}_by_pk")),
                (&mut r.select_aggregate, format!("{g}_aggregate")),
                (&mut r.insert, format!("insert_{g}")),
                (&mut r.insert_one, format!("insert_{g}_one")),
                (&mut r.update, format!("update_{g}")),
                (&mut r.update_by_pk, format!("update_{g}_by_pk")),
                (&mut r.update_many, format!("update_{g}_many")),
                (&mut r.delete, format!("delete_{g}")),
                (&mut r.delete_by_pk, format!("delete_{g}_by_pk")),
            ] {
                *n = if *n == default { root(n) } else { custom(n) };
            }
            for c in &mut t.columns {
                if config.is_none_or(|m| m.column_name(&c.name).is_none()) {
                    c.gql_name = camel(&c.name);
                }
            }
            // Enum table values are upper-cased (Hasura's `applyEnumValueCase`).
            for v in &mut t.enum_values {
                v.name = v.value.to_ascii_uppercase();
            }
        }
        for f in &mut schema.functions {
            let default = crate::resolve::default_gql_name(&f.name.schema, &f.name.name);
            let agg = format!("{default}_aggregate");
            f.gql_aggregate_name = if f.gql_aggregate_name == agg {
                root(&f.gql_aggregate_name)
            } else {
                custom(&f.gql_aggregate_name)
            };
            f.gql_name = if f.gql_name == default {
                root(&f.gql_name)
            } else {
                custom(&f.gql_name)
            };
        }
    }

    /// Applies `root_fields.prefix`/`suffix` to every root field of a source's schema (custom
    /// root field names included, as Hasura does).
    pub fn rename_root_fields(&self, schema: &mut Schema) {
        if self.root_prefix.is_empty() && self.root_suffix.is_empty() {
            return;
        }
        let name = |n: &mut String| *n = format!("{}{}{}", self.root_prefix, n, self.root_suffix);
        for t in &mut schema.tables {
            let r = &mut t.root_fields;
            for n in [
                &mut r.select,
                &mut r.select_by_pk,
                &mut r.select_aggregate,
                &mut r.insert,
                &mut r.insert_one,
                &mut r.update,
                &mut r.update_by_pk,
                &mut r.update_many,
                &mut r.delete,
                &mut r.delete_by_pk,
            ] {
                name(n);
            }
        }
        for f in &mut schema.functions {
            name(&mut f.gql_name);
            name(&mut f.gql_aggregate_name);
        }
    }
}
