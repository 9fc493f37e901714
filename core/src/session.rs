//! The session a request runs as: a role and its session variables (`x-hasura-*`).
use alloc::collections::BTreeMap;
use alloc::string::String;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Session {
    /// The effective role (`admin` bypasses permissions).
    pub role: String,
    /// Session variables, keys lower-cased (`x-hasura-user-id`), values as sent.
    pub vars: BTreeMap<String, String>,
}

impl Session {
    pub const ADMIN: &'static str = "admin";
    pub fn admin() -> Self {
        Session {
            role: String::from(Self::ADMIN),
            vars: BTreeMap::new(),
        }
    }
    pub fn is_admin(&self) -> bool {
        self.role == Self::ADMIN
    }
    /// Looks a session variable up case-insensitively.
    pub fn var(&self, name: &str) -> Option<&str> {
        let lower = name.to_ascii_lowercase();
        self.vars.get(&lower).map(|s| s.as_str())
    }
}
