//! A source's `customization` (Hasura's `SourceCustomization`): `root_fields` `namespace`,
//! `prefix`, `suffix`; `type_names` `prefix`, `suffix`, `mapping`. Root field prefix/suffix
//! rename the resolved root fields here; the namespace and type names go to core
//! ([`graphedge_core::customize::Customization`]), which applies them to introspection,
//! field resolution and `__typename`.
use graphedge_core::customize::Customization;
use graphedge_core::model::Schema;
use serde_json::Value as Json;

use crate::raw::Source;

/// What a source's `customization` says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceCustomization {
    pub root_prefix: String,
    pub root_suffix: String,
    pub core: Customization,
}

fn text(v: Option<&Json>) -> String {
    v.and_then(Json::as_str).unwrap_or_default().to_string()
}

impl SourceCustomization {
    pub fn of(source: &Source) -> SourceCustomization {
        let Some(c) = source.extra.get("customization") else {
            return SourceCustomization::default();
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
            core: Customization {
                namespace,
                type_prefix: text(types.and_then(|t| t.get("prefix"))),
                type_suffix: text(types.and_then(|t| t.get("suffix"))),
                type_mapping,
            },
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
