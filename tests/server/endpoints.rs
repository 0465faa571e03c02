//! Every route `keyward serve` answers, each classified by who may call it. A new route must be
//! added here: the security tests and the OpenAPI test compare this table with the routes the
//! server documents, so an unclassified endpoint fails them.

use serde_json::{json, Value};

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Deliberately answers without credentials.
    Public,
    /// A page of the invitation and reset links, or one of its files (not in the API document).
    Page,
    /// Any valid credential.
    SignedIn,
    /// Any valid credential, about the caller's own account (changing it, or asking what it
    /// may do): the permission matrix leaves it out; the contract suite covers it.
    Own,
    /// A valid credential holding one of these permissions, when the resource is someone
    /// else's (the tests aim every request at the SuperAdmin's own things). Empty: nobody may
    /// do it to another user.
    Needs(&'static [&'static str]),
    /// Like `Needs`, but to an actor lacking the second permission, who may not even see the
    /// resource, it answers 404 as for one that does not exist.
    NeedsUnseen(&'static [&'static str], &'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const fn ep(method: &'static str, path: &'static str, access: Access) -> Endpoint {
    Endpoint {
        method,
        path,
        access,
    }
}

use Access::*;

pub const ENDPOINTS: &[Endpoint] = &[
    ep("GET", "/healthz", Public),
    ep("GET", "/api/openapi.json", Public),
    ep("GET", "/api/setup", Public),
    ep("POST", "/api/setup", Public),
    ep("POST", "/api/auth/login", Public),
    ep("POST", "/api/auth/login/totp", Public),
    ep("POST", "/api/auth/login/enroll", Public),
    ep("POST", "/api/auth/login/enroll/confirm", Public),
    ep("POST", "/api/auth/accept-invitation", Public),
    ep("POST", "/api/auth/complete-reset", Public),
    ep("POST", "/api/auth/redeem", Public),
    ep("GET", "/api/auth/providers", Public),
    ep("POST", "/api/auth/oidc/exchange", Public),
    ep("POST", "/api/keys/verify", Public),
    ep("GET", "/invite", Page),
    ep("GET", "/reset", Page),
    ep("GET", "/pages/set-password.js", Page),
    ep("GET", "/pages/page.css", Page),
    ep("GET", "/api/me", SignedIn),
    ep("POST", "/api/me/changepassword", Own),
    ep("POST", "/api/me/totp", Own),
    ep("POST", "/api/me/totp/confirm", Own),
    ep("POST", "/api/me/totp/recovery-codes", Own),
    ep("DELETE", "/api/me/totp", Own),
    ep("POST", "/api/authorize", Own),
    ep("GET", "/api/users", Needs(&["VIEW_USER"])),
    ep("POST", "/api/users", Needs(&["CREATE_USER"])),
    ep("POST", "/api/users/import", Needs(&["CREATE_USER"])),
    ep("GET", "/api/users/{id}", Needs(&["VIEW_USER"])),
    ep("GET", "/api/users/lookup/{nameOrId}", Needs(&["VIEW_USER"])),
    ep("PUT", "/api/users/{id}", Needs(&["EDIT_USER"])),
    ep("DELETE", "/api/users/{id}", Needs(&["DELETE_USER"])),
    ep("POST", "/api/users/{id}/changepassword", Needs(&[])),
    ep(
        "POST",
        "/api/users/{id}/resetpassword",
        Needs(&["RESET_PASSWORD"]),
    ),
    ep("POST", "/api/users/{id}/invite", Needs(&["CREATE_USER"])),
    ep("DELETE", "/api/users/{id}/totp", Needs(&["RESET_PASSWORD"])),
    ep("GET", "/api/users/{id}/keys", Needs(&["VIEW_KEYS"])),
    ep("POST", "/api/users/{id}/keys", Needs(&["MANAGE_KEYS"])),
    ep("GET", "/api/roles", Needs(&["VIEW_ROLE"])),
    ep("POST", "/api/roles", Needs(&["MANAGE_ROLE"])),
    ep("GET", "/api/roles/{id}", Needs(&["VIEW_ROLE"])),
    ep("PUT", "/api/roles/{id}", Needs(&["MANAGE_ROLE"])),
    ep("DELETE", "/api/roles/{id}", Needs(&["MANAGE_ROLE"])),
    ep("GET", "/api/groups", Needs(&["VIEW_GROUP"])),
    ep("POST", "/api/groups", Needs(&["MANAGE_GROUP"])),
    ep("GET", "/api/groups/{id}", Needs(&["VIEW_GROUP"])),
    ep("PUT", "/api/groups/{id}", Needs(&["MANAGE_GROUP"])),
    ep("DELETE", "/api/groups/{id}", Needs(&["MANAGE_GROUP"])),
    ep("GET", "/api/keys", Needs(&["VIEW_KEYS"])),
    ep("GET", "/api/keys/visible", SignedIn),
    ep("GET", "/api/keys/{id}", Needs(&["VIEW_KEYS"])),
    ep(
        "POST",
        "/api/keys/{id}/download",
        NeedsUnseen(&["MANAGE_KEYS"], "VIEW_KEYS"),
    ),
    ep(
        "POST",
        "/api/keys/{id}/revoke",
        NeedsUnseen(&["MANAGE_KEYS"], "VIEW_KEYS"),
    ),
    ep(
        "POST",
        "/api/keys/{id}/regenerate",
        NeedsUnseen(&["MANAGE_KEYS"], "VIEW_KEYS"),
    ),
    ep("GET", "/api/audit", Needs(&["VIEW_AUDIT"])),
    ep(
        "GET",
        "/api/settings",
        Needs(&["SIGN_IN", "MANAGE_SETTINGS"]),
    ),
    ep("PUT", "/api/settings", Needs(&["MANAGE_SETTINGS"])),
    ep(
        "POST",
        "/api/settings/test-mail",
        Needs(&["MANAGE_SETTINGS"]),
    ),
    ep(
        "GET",
        "/api/settings/mail",
        Needs(&["SIGN_IN", "MANAGE_SETTINGS"]),
    ),
    // Last: it ends the session it is called with.
    ep("POST", "/api/auth/logout", SignedIn),
];

/// The ids the requests aim at: the SuperAdmin, a custom role, a group, a key of the SuperAdmin.
pub struct Targets {
    pub user: String,
    pub role: String,
    pub group: String,
    pub key: String,
}

impl Endpoint {
    /// The path with `{id}` replaced by the target of its kind.
    pub fn concrete(&self, targets: &Targets) -> String {
        let id = if self.path.starts_with("/api/users/") {
            &targets.user
        } else if self.path.starts_with("/api/roles/") {
            &targets.role
        } else if self.path.starts_with("/api/groups/") {
            &targets.group
        } else {
            &targets.key
        };
        self.path.replace("{id}", id).replace("{nameOrId}", id)
    }

    /// A well-formed body, so that only the credential decides the answer.
    pub fn body(&self, password: &str) -> Option<Value> {
        let body = match (self.method, self.path) {
            ("POST", "/api/setup") => json!({"userName": "second", "displayName": "Second",
                "email": "second@example.com", "password": password}),
            ("POST", "/api/auth/login") => json!({"userName": "root", "password": password}),
            (
                "POST",
                "/api/auth/accept-invitation" | "/api/auth/complete-reset" | "/api/auth/redeem",
            ) => {
                json!({"token": "no-such-token", "password": password})
            }
            ("POST", "/api/keys/verify") => json!({"key": "kw_not-a-key"}),
            ("POST", "/api/auth/oidc/exchange") => json!({"code": "no-such-code",
                "codeVerifier": "a-verifier-of-forty-three-characters-or-more-0123"}),
            ("POST", "/api/auth/login/totp" | "/api/auth/login/enroll/confirm") => {
                json!({"challengeToken": "no-such-challenge", "code": "123456"})
            }
            ("POST", "/api/auth/login/enroll") => json!({"challengeToken": "no-such-challenge"}),
            ("POST", "/api/me/totp/confirm" | "/api/me/totp/recovery-codes")
            | ("DELETE", "/api/me/totp") => json!({"code": "123456"}),
            ("POST", "/api/authorize") => json!({"operation": "UPDATE_SETTINGS"}),
            ("POST", "/api/users") => json!({"userName": "newcomer", "displayName": "New",
                "email": "newcomer@example.com", "roles": []}),
            ("POST", "/api/users/import") => json!({"users": [{"userName": "imported",
                "displayName": "Imported", "email": "imported@example.com"}]}),
            ("PUT", "/api/users/{id}") => json!({"displayName": "Renamed", "updateVersion": 1}),
            ("POST", "/api/users/{id}/changepassword" | "/api/me/changepassword") => {
                json!({"oldPassword": password,
                "newPassword": "a completely different passphrase 77"})
            }
            ("POST", "/api/users/{id}/keys") => json!({"name": "probe", "description": ""}),
            ("POST", "/api/roles") => json!({"name": "Probe role", "permissions": []}),
            ("PUT", "/api/roles/{id}") => json!({"description": "changed", "updateVersion": 1}),
            ("POST", "/api/groups") => json!({"name": "Probe group"}),
            ("PUT", "/api/groups/{id}") => json!({"description": "changed", "updateVersion": 1}),
            ("POST", "/api/keys/{id}/regenerate") => json!({"graceSeconds": 0}),
            ("PUT", "/api/settings") => json!({"clipboardClearSeconds": 20, "updateVersion": 1}),
            _ => return None,
        };
        Some(body)
    }

    /// Whether the route is in the API document (everything but the pages and the document).
    pub fn documented(&self) -> bool {
        self.access != Access::Page && self.path != "/api/openapi.json"
    }
}
