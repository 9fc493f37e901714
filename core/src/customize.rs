//! Source customization (Hasura's `customization` of a source): a `root_fields.namespace`
//! wraps the source's root fields in one root field, and `type_names` (`prefix`, `suffix`,
//! `mapping`) renames every type the source generates. Root field `prefix`/`suffix` are
//! applied by the metadata crate to the root field names themselves.
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;

/// The GraphQL built-in scalars and the root/meta types, never renamed.
fn builtin(name: &str) -> bool {
    matches!(
        name,
        "Int"
            | "Float"
            | "String"
            | "Boolean"
            | "ID"
            | "query_root"
            | "mutation_root"
            | "subscription_root"
    ) || name.starts_with("__")
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Customization {
    /// `root_fields.namespace`: the source's root fields live under this one field.
    pub namespace: Option<String>,
    /// `type_names.prefix` / `suffix`.
    pub type_prefix: String,
    pub type_suffix: String,
    /// `type_names.mapping`: explicit new names (instead of prefix and suffix).
    pub type_mapping: BTreeMap<String, String>,
}

impl Customization {
    /// Whether types keep their names.
    pub fn renames_types(&self) -> bool {
        !self.type_prefix.is_empty()
            || !self.type_suffix.is_empty()
            || !self.type_mapping.is_empty()
    }

    pub fn is_identity(&self) -> bool {
        self.namespace.is_none() && !self.renames_types()
    }

    /// The customized name of a type the source generates.
    pub fn type_name(&self, name: &str) -> String {
        if builtin(name) {
            return String::from(name);
        }
        match self.type_mapping.get(name) {
            Some(n) => n.clone(),
            None => format!("{}{}{}", self.type_prefix, name, self.type_suffix),
        }
    }

    /// The type of the namespace field under a root type (`<ns>_query`,
    /// `<ns>_mutation_frontend`, `<ns>_subscription`, customized).
    pub fn namespace_type(&self, root: &str) -> Option<String> {
        let ns = self.namespace.as_ref()?;
        let suffix = match root {
            "mutation_root" => "_mutation_frontend",
            "subscription_root" => "_subscription",
            _ => "_query",
        };
        Some(self.type_name(&format!("{ns}{suffix}")))
    }
}
