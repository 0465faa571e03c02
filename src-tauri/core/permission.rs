//! Permissions, permission sets and the built-in roles of SPEC section 2.
//!
//! A permission set is a bit mask, so that a user's effective permissions (the union of their
//! roles' and their groups' roles') are one `OR` away, in Rust and in SQL alike.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! permissions {
    ($($name:ident = $bit:expr),+ $(,)?) => {
        /// One thing a user may do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
        #[allow(non_camel_case_types)]
        pub enum Permission { $($name),+ }

        impl Permission {
            /// Every permission, in the order of the SPEC.
            pub const ALL: &'static [Permission] = &[$(Permission::$name),+];

            fn bit(self) -> u32 {
                match self { $(Permission::$name => 1 << $bit),+ }
            }

            /// The name used on the wire and in the database.
            pub fn as_str(self) -> &'static str {
                match self { $(Permission::$name => stringify!($name)),+ }
            }

            /// Parses a permission name; `None` for an unknown one.
            pub fn parse(name: &str) -> Option<Permission> {
                match name { $(stringify!($name) => Some(Permission::$name),)+ _ => None }
            }
        }
    };
}

permissions! {
    VIEW_USER = 0,
    CREATE_USER = 1,
    EDIT_USER = 2,
    DELETE_USER = 3,
    RESET_PASSWORD = 4,
    VIEW_ROLE = 5,
    MANAGE_ROLE = 6,
    VIEW_GROUP = 7,
    MANAGE_GROUP = 8,
    USE_API_KEYS = 9,
    VIEW_KEYS = 10,
    MANAGE_KEYS = 11,
    VIEW_AUDIT = 12,
    MANAGE_SETTINGS = 13,
    SIGN_IN = 14,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PermissionSet(u32);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);

    pub fn all() -> PermissionSet {
        Permission::ALL.iter().copied().collect()
    }

    pub fn from_bits(bits: u32) -> PermissionSet {
        PermissionSet(bits & Self::all().0)
    }

    pub fn bits(self) -> u32 {
        self.0
    }

    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    pub fn is_subset_of(self, other: PermissionSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn union(self, other: PermissionSet) -> PermissionSet {
        PermissionSet(self.0 | other.0)
    }

    pub fn without(self, permission: Permission) -> PermissionSet {
        PermissionSet(self.0 & !permission.bit())
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| self.contains(*p))
    }

    pub fn to_vec(self) -> Vec<Permission> {
        self.iter().collect()
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        PermissionSet(iter.into_iter().fold(0, |bits, p| bits | p.bit()))
    }
}

impl<'a> FromIterator<&'a Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = &'a Permission>>(iter: I) -> Self {
        iter.into_iter().copied().collect()
    }
}

impl Serialize for PermissionSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

// On the wire a set is a list of permission names.
#[cfg(feature = "server")]
impl utoipa::PartialSchema for PermissionSet {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <Vec<Permission> as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "server")]
impl utoipa::ToSchema for PermissionSet {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <Permission as utoipa::ToSchema>::schemas(schemas);
        schemas.push((
            "Permission".into(),
            <Permission as utoipa::PartialSchema>::schema(),
        ));
    }
}

impl<'de> Deserialize<'de> for PermissionSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Vec::<Permission>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

/// The six roles every directory has. Their ids are fixed so that every caller can name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinRole {
    SuperAdmin,
    Administrator,
    Editor,
    Operator,
    Viewer,
    ApiUser,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 6] = [
        BuiltinRole::SuperAdmin,
        BuiltinRole::Administrator,
        BuiltinRole::Editor,
        BuiltinRole::Operator,
        BuiltinRole::Viewer,
        BuiltinRole::ApiUser,
    ];

    pub fn id(self) -> &'static str {
        match self {
            BuiltinRole::SuperAdmin => "superadmin",
            BuiltinRole::Administrator => "administrator",
            BuiltinRole::Editor => "editor",
            BuiltinRole::Operator => "operator",
            BuiltinRole::Viewer => "viewer",
            BuiltinRole::ApiUser => "api-user",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BuiltinRole::SuperAdmin => "SuperAdmin",
            BuiltinRole::Administrator => "Administrator",
            BuiltinRole::Editor => "Editor",
            BuiltinRole::Operator => "Operator",
            BuiltinRole::Viewer => "Viewer",
            BuiltinRole::ApiUser => "API User",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            BuiltinRole::SuperAdmin => "Everything, including settings.",
            BuiltinRole::Administrator => {
                "Everything except settings; cannot modify, delete or grant SuperAdmin."
            }
            BuiltinRole::Editor => "Views everything and manages groups; cannot manage users.",
            BuiltinRole::Operator => "Views users, roles, groups, keys and the audit log.",
            BuiltinRole::Viewer => "Read-only: users, roles, groups and the audit log.",
            BuiltinRole::ApiUser => "Own API keys only; cannot sign in to the console.",
        }
    }

    pub fn from_id(id: &str) -> Option<BuiltinRole> {
        BuiltinRole::ALL.into_iter().find(|r| r.id() == id)
    }

    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        match self {
            BuiltinRole::SuperAdmin => PermissionSet::all(),
            BuiltinRole::Administrator => PermissionSet::all().without(MANAGE_SETTINGS),
            BuiltinRole::Editor => [
                SIGN_IN,
                VIEW_USER,
                VIEW_ROLE,
                VIEW_GROUP,
                MANAGE_GROUP,
                USE_API_KEYS,
                VIEW_KEYS,
                VIEW_AUDIT,
            ]
            .iter()
            .collect(),
            BuiltinRole::Operator => [
                SIGN_IN,
                VIEW_USER,
                VIEW_ROLE,
                VIEW_GROUP,
                USE_API_KEYS,
                VIEW_KEYS,
                VIEW_AUDIT,
            ]
            .iter()
            .collect(),
            BuiltinRole::Viewer => [SIGN_IN, VIEW_USER, VIEW_ROLE, VIEW_GROUP, VIEW_AUDIT]
                .iter()
                .collect(),
            BuiltinRole::ApiUser => [USE_API_KEYS].iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn administrator_holds_everything_but_settings() {
        let admin = BuiltinRole::Administrator.permissions();
        assert!(!admin.contains(Permission::MANAGE_SETTINGS));
        assert!(admin.is_subset_of(BuiltinRole::SuperAdmin.permissions()));
        assert!(!BuiltinRole::SuperAdmin.permissions().is_subset_of(admin));
    }

    #[test]
    fn permission_names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
        }
        assert_eq!(Permission::parse("FLY"), None);
    }

    #[test]
    fn sets_serialize_as_lists_of_names() {
        let set: PermissionSet = [Permission::SIGN_IN, Permission::VIEW_USER]
            .iter()
            .collect();
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["VIEW_USER","SIGN_IN"]"#);
        assert_eq!(serde_json::from_str::<PermissionSet>(&json).unwrap(), set);
    }
}
