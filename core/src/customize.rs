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
    /// `naming_convention: graphql-default`: type names in PascalCase (each `_`-separated
    /// word capitalized and joined), except a custom table name at the start, kept as given.
    pub pascal_types: bool,
    /// The custom names (`custom_name`) of the source's tables, kept as given.
    pub custom_bases: alloc::vec::Vec<String>,
}

/// `author_local` → `AuthorLocal`.
pub fn pascal(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in name.split('_').filter(|w| !w.is_empty()) {
        let mut chars = word.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// `author_local_by_pk` → `authorLocalByPk` (the first word as given).
pub fn camel(name: &str) -> String {
    let mut words = name.split('_').filter(|w| !w.is_empty());
    let mut out = String::from(words.next().unwrap_or(""));
    for w in words {
        out.push_str(&pascal(w));
    }
    out
}

impl Customization {
    /// Whether types get other names.
    pub fn renames_types(&self) -> bool {
        !self.type_prefix.is_empty()
            || !self.type_suffix.is_empty()
            || !self.type_mapping.is_empty()
            || self.pascal_types
    }

    pub fn is_identity(&self) -> bool {
        self.namespace.is_none() && !self.renames_types()
    }

    /// The customized name of a type the source generates.
    pub fn type_name(&self, name: &str) -> String {
        if builtin(name) {
            return String::from(name);
        }
        if let Some(n) = self.type_mapping.get(name) {
            return n.clone();
        }
        let cased;
        let name = if self.pascal_types {
            cased = self.pascal_type(name);
            cased.as_str()
        } else {
            name
        };
        format!("{}{}{}", self.type_prefix, name, self.type_suffix)
    }

    fn pascal_type(&self, name: &str) -> String {
        for base in &self.custom_bases {
            if let Some(rest) = name.strip_prefix(base.as_str()) {
                if rest.is_empty() || rest.starts_with('_') {
                    return format!("{base}{}", pascal(rest));
                }
            }
        }
        pascal(name)
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
