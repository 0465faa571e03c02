//! The OpenAPI document: OpenAPI 3, every route the server answers, and real replies that
//! validate against the schemas it declares for their path, method and status.

use super::endpoints::{Endpoint, ENDPOINTS};
use super::support::{Reply, Server};
use crate::common::{OTHER_PASSWORD, PASSWORD};
use keyward::core::permission::BuiltinRole;
use keyward::wire::token_from_link;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The served document, and checks of replies against it.
struct Document {
    doc: Value,
}

impl Document {
    fn fetch(server: &Server) -> Document {
        let reply = server.get("/api/openapi.json", "");
        assert_eq!(reply.status, 200);
        assert!(reply.content_type().starts_with("application/json"));
        Document { doc: reply.json() }
    }

    /// The declared response of an operation for a status: exact, then `4XX`, then `default`.
    fn response(&self, method: &str, template: &str, status: u16) -> &Value {
        let operation = &self.doc["paths"][template][method.to_lowercase()];
        assert!(
            operation.is_object(),
            "{method} {template} is not documented"
        );
        let responses = &operation["responses"];
        [
            status.to_string(),
            format!("{}XX", status / 100),
            "default".to_owned(),
        ]
        .iter()
        .map(|key| &responses[key])
        .find(|response| !response.is_null())
        .unwrap_or_else(|| {
            panic!("{method} {template} does not document status {status}: {responses}")
        })
    }

    /// Asserts that a reply is what the document declares for it: a documented status, the
    /// declared media type, a body valid against the declared schema, with no member the
    /// schema does not name.
    #[track_caller]
    fn check(&self, reply: &Reply, template: &str) {
        let what = format!("{} {} → {}", reply.method, reply.path, reply.status);
        let response = self.response(&reply.method, template, reply.status);
        let Some(content) = response["content"].as_object() else {
            assert!(
                reply.text.is_empty(),
                "{what}: undocumented body {}",
                reply.text
            );
            return;
        };
        assert_eq!(content.len(), 1, "{what}: {response}");
        let (media_type, declared) = content.iter().next().unwrap();
        assert!(
            reply.content_type().starts_with(media_type.as_str()),
            "{what}: the document says {media_type}, the server sent {}",
            reply.content_type()
        );
        let body = reply.json();
        let errors = self.errors(&declared["schema"], &body);
        assert!(
            errors.is_empty(),
            "{what} does not match {}:\n{}\nbody: {body}",
            declared["schema"],
            errors.join("\n")
        );
    }
}

impl Document {
    /// What is wrong with `body` for this schema (with the document's components), including
    /// members at its top level that the schema does not name.
    fn errors(&self, schema: &Value, body: &Value) -> Vec<String> {
        let schema = json!({
            "allOf": [schema],
            "unevaluatedProperties": false,
            "components": self.doc["components"],
        });
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|error| panic!("the declared schema does not build: {error}"));
        validator
            .iter_errors(body)
            .map(|error| format!("{} at {}", error, error.instance_path))
            .collect()
    }

    fn schema_of(&self, method: &str, template: &str, status: u16) -> Value {
        self.response(method, template, status)["content"]
            .as_object()
            .and_then(|content| content.values().next())
            .map(|media| media["schema"].clone())
            .expect("a schema")
    }
}

fn routes_of(doc: &Value) -> BTreeSet<String> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect()
}

/// Every `$ref` in a value, e.g. `#/components/schemas/User`.
fn refs(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "$ref" {
                    found.insert(inner.as_str().unwrap_or_default().to_owned());
                } else {
                    refs(inner, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

#[test]
fn the_openapi_document_is_openapi_3_and_lists_every_route_the_server_answers() {
    let server = Server::start();
    let document = Document::fetch(&server);
    let doc = &document.doc;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "Keyward");
    assert!(doc["info"]["version"].is_string());
    assert_eq!(
        *doc,
        serde_json::to_value(keyward::server::openapi()).unwrap(),
        "the served document is the generated one"
    );
    let table: BTreeSet<String> = ENDPOINTS
        .iter()
        .filter(|e| e.documented())
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    assert_eq!(routes_of(doc), table);
    // Every documented route is answered (not 404/405) by the server, and nothing else is.
    let root = server.root();
    for endpoint in ENDPOINTS {
        let path = endpoint.path.replace("{id}", "no-such-id");
        let method = Method::from_bytes(endpoint.method.as_bytes()).unwrap();
        let reply = server.call(method, &path, &root, endpoint.body(PASSWORD));
        let problem = reply.json_or_null();
        let no_route = reply.status == 404 && problem.get("resource").is_none();
        let wrong_method = problem["code"] == "METHOD_NOT_ALLOWED";
        assert!(
            !no_route && !wrong_method,
            "{} {path}: {}",
            endpoint.method,
            reply.text
        );
    }
    // Every reference resolves, and every operation documents its problems.
    let mut found = BTreeSet::new();
    refs(doc, &mut found);
    assert!(found.len() > 20);
    for reference in &found {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {reference}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{reference}"
        );
    }
    for endpoint in ENDPOINTS.iter().filter(|e| e.documented()) {
        if endpoint.path == "/api/setup" && endpoint.method == "GET" {
            continue; // it has no refusal
        }
        if endpoint.path == "/healthz" {
            continue;
        }
        let problem = document.response(endpoint.method, endpoint.path, 400);
        assert_eq!(
            problem["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem",
            "{} {}",
            endpoint.method,
            endpoint.path
        );
    }
}

impl Reply {
    fn json_or_null(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

/// A scenario that produces every kind of reply, each checked against the document.
#[test]
fn real_replies_validate_against_the_schemas_the_document_declares() {
    let server = Server::start();
    let document = Document::fetch(&server);
    let check = |reply: &Reply, template: &str| document.check(reply, template);
    let mut checked = BTreeSet::new();
    let mut note = |reply: &Reply, template: &str| {
        checked.insert(format!("{} {template} {}", reply.method, reply.status));
    };
    macro_rules! expect {
        ($reply:expr, $template:expr, $status:expr) => {{
            let reply = $reply;
            assert_eq!(
                reply.status, $status,
                "{} {}: {}",
                reply.method, reply.path, reply.text
            );
            check(&reply, $template);
            note(&reply, $template);
            if reply.text.is_empty() {
                Value::Null
            } else {
                reply.json()
            }
        }};
    }

    expect!(server.get("/healthz", ""), "/healthz", 200);
    expect!(server.get("/api/setup", ""), "/api/setup", 200);
    expect!(
        server.get("/api/auth/providers", ""),
        "/api/auth/providers",
        200
    );
    expect!(
        server.post(
            "/api/auth/oidc/exchange",
            "",
            json!({"code": "no-such-code",
                   "codeVerifier": "a-verifier-of-forty-three-characters-or-more-0123"})
        ),
        "/api/auth/oidc/exchange",
        400
    );
    let first = expect!(
        server.post(
            "/api/setup",
            "",
            json!({"userName": "root", "displayName": "Root", "email": "root@example.com",
                   "password": PASSWORD}),
        ),
        "/api/setup",
        201
    );
    let root_id = first["id"].as_str().unwrap().to_owned();
    // The checks are not vacuous: an undocumented member, a wrong type, a missing member and
    // an unknown enum value are each caught.
    let user_schema = document.schema_of("POST", "/api/setup", 201);
    let problem_schema = document.schema_of("POST", "/api/setup", 409);
    assert!(document.errors(&user_schema, &first).is_empty());
    for broken in [
        json!({"passwordHash": "$argon2id$v=19$..."}),
        json!({"lastLoginTime": 5}),
        json!({"createdTime": "yesterday"}),
        json!({"status": "ENABLED"}),
        json!({"roles": [1]}),
    ] {
        let mut body = first.clone();
        for (key, value) in broken.as_object().unwrap() {
            body[key] = value.clone();
        }
        assert!(
            !document.errors(&user_schema, &body).is_empty(),
            "{broken} passed"
        );
    }
    let mut missing = first.clone();
    missing.as_object_mut().unwrap().remove("updateVersion");
    assert!(!document.errors(&user_schema, &missing).is_empty());
    assert!(!document.errors(&problem_schema, &first).is_empty());
    expect!(
        server.post(
            "/api/setup",
            "",
            json!({"userName": "x", "email": "x@example.com", "password": PASSWORD})
        ),
        "/api/setup",
        409
    );
    let signed_in = expect!(
        server.post(
            "/api/auth/login",
            "",
            json!({"userName": "root", "password": PASSWORD})
        ),
        "/api/auth/login",
        200
    );
    let root = signed_in["accessToken"].as_str().unwrap().to_owned();
    expect!(
        server.post(
            "/api/auth/login",
            "",
            json!({"userName": "root", "password": "nope nope"})
        ),
        "/api/auth/login",
        401
    );
    expect!(server.get("/api/me", &root), "/api/me", 200);
    expect!(
        server.post(
            "/api/authorize",
            &root,
            json!({"operation": "UPDATE_USER", "target": root_id})
        ),
        "/api/authorize",
        204
    );
    expect!(
        server.post(
            "/api/authorize",
            &root,
            json!({"operation": "UPDATE_ROLE", "target": "no-such-role"})
        ),
        "/api/authorize",
        404
    );
    expect!(
        server.post("/api/authorize", &root, json!({"operation": "DANCE"})),
        "/api/authorize",
        400
    );
    expect!(server.get("/api/me", ""), "/api/me", 401);

    // Users.
    let ann = expect!(
        server.post(
            "/api/users",
            &root,
            json!({"userName": "ann", "displayName": "Ann", "email": "ann@example.com",
                   "password": PASSWORD, "roles": [BuiltinRole::Operator.id()]}),
        ),
        "/api/users",
        201
    );
    let ann_id = ann["id"].as_str().unwrap().to_owned();
    let ivy = expect!(
        server.post(
            "/api/users",
            &root,
            json!({"userName": "ivy", "displayName": "Ivy", "email": "ivy@example.com"}),
        ),
        "/api/users",
        201
    );
    assert!(ivy["inviteLink"]
        .as_str()
        .unwrap()
        .contains("/invite#token="));
    let ivy_id = ivy["id"].as_str().unwrap().to_owned();
    let svc = expect!(
        server.post(
            "/api/users",
            &root,
            json!({"userName": "svc", "displayName": "Service", "email": "svc@example.com",
                   "status": "ACTIVE", "roles": [BuiltinRole::ApiUser.id()]}),
        ),
        "/api/users",
        201
    );
    let svc_id = svc["id"].as_str().unwrap().to_owned();
    expect!(
        server.post(
            "/api/users",
            &root,
            json!({"userName": "bad name", "email": "bad"})
        ),
        "/api/users",
        400
    );
    let imported = expect!(
        server.post(
            "/api/users/import",
            &root,
            json!({"users": [{"userName": "imp1", "displayName": "Imp One", "email": "imp1@example.com"},
                             {"userName": "imp2", "displayName": "Imp Two", "email": "imp2@example.com"}]}),
        ),
        "/api/users/import",
        200
    );
    assert!(imported["users"][0]["inviteLink"]
        .as_str()
        .unwrap()
        .contains("/invite#token="));
    expect!(
        server.post(
            "/api/users/import?dryRun=true",
            &root,
            json!({"users": [{"userName": "imp1", "displayName": "Again", "email": "x@example.com"}]}),
        ),
        "/api/users/import",
        400
    );
    let list = expect!(
        server.get("/api/users?sort=-createdTime&pageSize=2", &root),
        "/api/users",
        200
    );
    assert_eq!(list["users"].as_array().unwrap().len(), 2);
    expect!(
        server.get(&format!("/api/users/{ann_id}"), &root),
        "/api/users/{id}",
        200
    );
    expect!(
        server.get("/api/users/nobody", &root),
        "/api/users/{id}",
        404
    );
    let found = expect!(
        server.get("/api/users/lookup/ANN", &root),
        "/api/users/lookup/{nameOrId}",
        200
    );
    assert_eq!(found["id"], ann_id.as_str());
    expect!(
        server.get("/api/users/lookup/nobody", &root),
        "/api/users/lookup/{nameOrId}",
        404
    );
    let updated = expect!(
        server.put(
            &format!("/api/users/{ann_id}"),
            &root,
            json!({"displayName": "Ann B", "updateVersion": ann["updateVersion"]}),
        ),
        "/api/users/{id}",
        200
    );
    expect!(
        server.put(
            &format!("/api/users/{ann_id}"),
            &root,
            json!({"displayName": "Ann C", "updateVersion": ann["updateVersion"]}),
        ),
        "/api/users/{id}",
        409
    );
    assert_eq!(updated["updateVersion"], 2);
    let ann_session = server.login("ann", PASSWORD);
    expect!(
        server.post(
            &format!("/api/users/{ann_id}/changepassword"),
            &ann_session,
            json!({"oldPassword": PASSWORD, "newPassword": "short"}),
        ),
        "/api/users/{id}/changepassword",
        200
    );
    expect!(
        server.post(
            &format!("/api/users/{ann_id}/changepassword"),
            &ann_session,
            json!({"oldPassword": PASSWORD, "newPassword": OTHER_PASSWORD}),
        ),
        "/api/users/{id}/changepassword",
        200
    );
    let reset = expect!(
        server.post(
            &format!("/api/users/{ann_id}/resetpassword"),
            &root,
            json!({})
        ),
        "/api/users/{id}/resetpassword",
        200
    );
    expect!(
        server.post(
            "/api/auth/complete-reset",
            "",
            json!({"token": token_from_link(reset["resetLink"].as_str().unwrap()).expose(),
                   "password": PASSWORD}),
        ),
        "/api/auth/complete-reset",
        200
    );
    let ann_session = server.login("ann", PASSWORD);
    expect!(
        server.post(
            "/api/me/changepassword",
            &ann_session,
            json!({"oldPassword": "not it at all", "newPassword": OTHER_PASSWORD}),
        ),
        "/api/me/changepassword",
        200
    );
    expect!(
        server.post("/api/me/changepassword", &ann_session, json!({})),
        "/api/me/changepassword",
        400
    );
    let reset = server
        .post(
            &format!("/api/users/{ann_id}/resetpassword"),
            &root,
            json!({}),
        )
        .json();
    expect!(
        server.post(
            "/api/auth/redeem",
            "",
            json!({"token": token_from_link(reset["resetLink"].as_str().unwrap()).expose(),
                   "password": PASSWORD}),
        ),
        "/api/auth/redeem",
        200
    );
    expect!(
        server.post(
            "/api/auth/redeem",
            "",
            json!({"token": "used", "password": PASSWORD})
        ),
        "/api/auth/redeem",
        400
    );
    let invite = expect!(
        server.post(&format!("/api/users/{ivy_id}/invite"), &root, json!({})),
        "/api/users/{id}/invite",
        200
    );
    expect!(
        server.post(&format!("/api/users/{ann_id}/invite"), &root, json!({})),
        "/api/users/{id}/invite",
        409
    );
    expect!(
        server.post(
            "/api/auth/accept-invitation",
            "",
            json!({"token": token_from_link(invite["inviteLink"].as_str().unwrap()).expose(),
                   "password": PASSWORD}),
        ),
        "/api/auth/accept-invitation",
        200
    );
    expect!(
        server.post(
            "/api/auth/accept-invitation",
            "",
            json!({"token": "used", "password": PASSWORD})
        ),
        "/api/auth/accept-invitation",
        400
    );

    // Roles and groups.
    let roles = expect!(server.get("/api/roles", &root), "/api/roles", 200);
    assert_eq!(roles["roles"].as_array().unwrap().len(), 6);
    let role = expect!(
        server.post(
            "/api/roles",
            &root,
            json!({"name": "Auditors", "description": "Reads the log",
                   "permissions": ["VIEW_AUDIT", "SIGN_IN"]}),
        ),
        "/api/roles",
        201
    );
    let role_id = role["id"].as_str().unwrap().to_owned();
    expect!(
        server.get(&format!("/api/roles/{role_id}"), &root),
        "/api/roles/{id}",
        200
    );
    expect!(
        server.put(
            &format!("/api/roles/{role_id}"),
            &root,
            json!({"permissions": ["VIEW_AUDIT"], "updateVersion": 1})
        ),
        "/api/roles/{id}",
        200
    );
    expect!(
        server.put(
            &format!("/api/roles/{}", BuiltinRole::Viewer.id()),
            &root,
            json!({"name": "Mine", "updateVersion": 1})
        ),
        "/api/roles/{id}",
        409
    );
    let group = expect!(
        server.post(
            "/api/groups",
            &root,
            json!({"name": "Ops", "members": [ann_id], "roles": [role_id]})
        ),
        "/api/groups",
        201
    );
    let group_id = group["id"].as_str().unwrap().to_owned();
    expect!(server.get("/api/groups", &root), "/api/groups", 200);
    expect!(
        server.get(&format!("/api/groups/{group_id}"), &root),
        "/api/groups/{id}",
        200
    );
    expect!(
        server.put(
            &format!("/api/groups/{group_id}"),
            &root,
            json!({"members": [], "updateVersion": 1})
        ),
        "/api/groups/{id}",
        200
    );

    // Keys.
    let issued = expect!(
        server.post(
            &format!("/api/users/{root_id}/keys"),
            &root,
            json!({"name": "deploy", "description": "CI", "expiresTime": "2026-06-01T00:00:00Z"}),
        ),
        "/api/users/{id}/keys",
        201
    );
    let key_id = issued["id"].as_str().unwrap().to_owned();
    let key = issued["key"].as_str().unwrap().to_owned();
    let pending = expect!(
        server.post(
            &format!("/api/users/{svc_id}/keys"),
            &root,
            json!({"name": "robot"})
        ),
        "/api/users/{id}/keys",
        201
    );
    assert_eq!(pending["status"], "PENDING");
    assert_eq!(pending["prefix"], Value::Null);
    let pending_id = pending["id"].as_str().unwrap().to_owned();
    expect!(
        server.post(
            &format!("/api/users/{svc_id}/keys"),
            &root,
            json!({"name": ""})
        ),
        "/api/users/{id}/keys",
        400
    );
    expect!(
        server.get(&format!("/api/users/{svc_id}/keys"), &root),
        "/api/users/{id}/keys",
        200
    );
    expect!(
        server.post(
            &format!("/api/keys/{pending_id}/download"),
            &root,
            json!({})
        ),
        "/api/keys/{id}/download",
        200
    );
    expect!(
        server.post(
            &format!("/api/keys/{pending_id}/download"),
            &root,
            json!({})
        ),
        "/api/keys/{id}/download",
        409
    );
    expect!(
        server.get("/api/keys?status=ENABLED", &root),
        "/api/keys",
        200
    );
    expect!(
        server.get("/api/keys/visible?pageSize=5", &root),
        "/api/keys/visible",
        200
    );
    expect!(
        server.get(&format!("/api/keys/{key_id}"), &root),
        "/api/keys/{id}",
        200
    );
    let verified = expect!(
        server.post("/api/keys/verify", "", json!({"key": key})),
        "/api/keys/verify",
        200
    );
    assert_eq!(verified["code"], "VALID");
    expect!(
        server.get(&format!("/api/keys/{key_id}"), &root),
        "/api/keys/{id}",
        200
    );
    let refused = expect!(
        server.post("/api/keys/verify", "", json!({"key": "kw_nope"})),
        "/api/keys/verify",
        200
    );
    assert_eq!(refused["code"], "MALFORMED");
    expect!(
        server.post("/api/keys/verify", "", json!({})),
        "/api/keys/verify",
        400
    );
    expect!(
        server.post(
            &format!("/api/keys/{key_id}/regenerate"),
            &root,
            json!({"graceSeconds": 3600})
        ),
        "/api/keys/{id}/regenerate",
        200
    );
    expect!(
        server.call(
            Method::POST,
            &format!("/api/keys/{key_id}/regenerate"),
            &root,
            None
        ),
        "/api/keys/{id}/regenerate",
        200
    );
    let revoked = expect!(
        server.post(&format!("/api/keys/{key_id}/revoke"), &root, json!({})),
        "/api/keys/{id}/revoke",
        200
    );
    assert_eq!(revoked["status"], "REVOKED");
    expect!(
        server.get(&format!("/api/users/{root_id}/keys"), &root),
        "/api/users/{id}/keys",
        200
    );

    // Audit and settings.
    let audit = expect!(
        server.get("/api/audit?pageSize=500", &root),
        "/api/audit",
        200
    );
    assert!(audit["entries"].as_array().unwrap().len() > 20);
    expect!(
        server.get("/api/audit?action=key&actor=root", &root),
        "/api/audit",
        200
    );
    let settings = expect!(server.get("/api/settings", &root), "/api/settings", 200);
    let capped = expect!(
        server.put(
            "/api/settings",
            &root,
            json!({"maxKeyLifetimeDays": 90, "updateVersion": settings["updateVersion"]}),
        ),
        "/api/settings",
        200
    );
    expect!(
        server.put(
            "/api/settings",
            &root,
            json!({"maxKeyLifetimeDays": null, "updateVersion": capped["updateVersion"]}),
        ),
        "/api/settings",
        200
    );
    expect!(
        server.put(
            "/api/settings",
            &root,
            json!({"passwordMinLength": 3, "updateVersion": 3})
        ),
        "/api/settings",
        400
    );

    // E-mail is not configured on this server: the test message says so.
    let mail = expect!(
        server.get("/api/settings/mail", &root),
        "/api/settings/mail",
        200
    );
    assert_eq!(mail["configured"], false);
    expect!(
        server.post("/api/settings/test-mail", &root, json!({})),
        "/api/settings/test-mail",
        409
    );

    // Two-step sign-in: set up and confirmed with a code computed here as an authenticator
    // would (at the server's manual clock), then asked at sign-in (recovery codes stand in for
    // later codes: a code is taken once per 30 seconds).
    let setup = expect!(
        server.call(Method::POST, "/api/me/totp", &root, None),
        "/api/me/totp",
        200
    );
    let code = crate::common::totp_code(setup["secret"].as_str().unwrap(), server.h.clock_now());
    let enrolled = expect!(
        server.post(
            "/api/me/totp/confirm",
            &root,
            json!({"code": code.expose()})
        ),
        "/api/me/totp/confirm",
        200
    );
    let first_codes = enrolled["recoveryCodes"].as_array().unwrap().clone();
    let fresh = expect!(
        server.post(
            "/api/me/totp/recovery-codes",
            &root,
            json!({"code": first_codes[0]})
        ),
        "/api/me/totp/recovery-codes",
        200
    );
    let recovery = fresh["recoveryCodes"].as_array().unwrap().clone();
    let step = expect!(
        server.post(
            "/api/auth/login",
            "",
            json!({"userName": "root", "password": PASSWORD})
        ),
        "/api/auth/login",
        200
    );
    assert_eq!(step["secondFactorRequired"], true, "{step}");
    assert!(step.get("accessToken").is_none(), "{step}");
    expect!(
        server.post(
            "/api/auth/login/totp",
            "",
            json!({"challengeToken": step["challengeToken"], "code": recovery[0]})
        ),
        "/api/auth/login/totp",
        200
    );
    expect!(
        server.post(
            "/api/auth/login/enroll",
            "",
            json!({"challengeToken": "no-such-challenge"})
        ),
        "/api/auth/login/enroll",
        400
    );
    expect!(
        server.post(
            "/api/auth/login/enroll/confirm",
            "",
            json!({"challengeToken": "no-such-challenge", "code": "123456"})
        ),
        "/api/auth/login/enroll/confirm",
        400
    );
    expect!(
        server.call(
            Method::DELETE,
            "/api/me/totp",
            &root,
            Some(json!({"code": recovery[1]}))
        ),
        "/api/me/totp",
        204
    );
    expect!(
        server.delete(&format!("/api/users/{root_id}/totp"), &root),
        "/api/users/{id}/totp",
        403
    );

    // Deletions and sign-out.
    expect!(
        server.delete(&format!("/api/groups/{group_id}"), &root),
        "/api/groups/{id}",
        204
    );
    expect!(
        server.delete(&format!("/api/roles/{role_id}"), &root),
        "/api/roles/{id}",
        204
    );
    expect!(
        server.delete(&format!("/api/users/{ivy_id}"), &root),
        "/api/users/{id}",
        204
    );
    expect!(
        server.delete(&format!("/api/users/{root_id}"), &root),
        "/api/users/{id}",
        409
    );
    expect!(
        server.call(Method::POST, "/api/auth/logout", &root, None),
        "/api/auth/logout",
        204
    );
    expect!(
        server.call(Method::POST, "/api/auth/logout", &root, None),
        "/api/auth/logout",
        401
    );

    // Every documented operation was seen answering.
    let operations: BTreeSet<String> = checked
        .iter()
        .map(|entry| entry.rsplit_once(' ').unwrap().0.to_owned())
        .collect();
    let documented: BTreeSet<String> = ENDPOINTS
        .iter()
        .filter(|e| Endpoint::documented(e))
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    assert_eq!(operations, documented);
}

/// A property of a component schema, through an `Option`'s `oneOf`/`anyOf` if there is one.
fn property<'a>(doc: &'a Value, schema: &str, name: &str) -> &'a Value {
    let property = &doc["components"]["schemas"][schema]["properties"][name];
    assert!(
        property.is_object(),
        "{schema}.{name} in {}",
        doc["components"]["schemas"][schema]
    );
    property
}

#[test]
fn the_document_states_the_rules_the_server_enforces_and_links_created_ids() {
    let server = Server::start();
    let root = server.root();
    let doc = Document::fetch(&server).doc;
    // Lengths, formats and patterns of what a user is made of.
    let user_name = property(&doc, "NewUser", "userName");
    assert_eq!(user_name["minLength"], 1);
    assert_eq!(user_name["maxLength"], 64);
    assert_eq!(user_name["pattern"], "^\\S+$");
    assert_eq!(property(&doc, "NewUser", "displayName")["maxLength"], 128);
    assert_eq!(property(&doc, "NewUser", "email")["format"], "email");
    let password = property(&doc, "NewUser", "password");
    assert_eq!(
        (&password["minLength"], &password["maxLength"]),
        (&json!(8), &json!(256))
    );
    assert_eq!(
        property(&doc, "SetPasswordRequest", "password")["maxLength"],
        256
    );
    assert_eq!(property(&doc, "UserUpdate", "userName")["maxLength"], 64);
    assert_eq!(property(&doc, "NewRole", "name")["maxLength"], 64);
    assert_eq!(property(&doc, "NewKey", "description")["maxLength"], 1024);
    assert_eq!(property(&doc, "User", "createdTime")["format"], "date-time");
    let required: Vec<&str> = doc["components"]["schemas"]["NewUser"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        required.contains(&"userName") && required.contains(&"email"),
        "{required:?}"
    );
    assert!(!required.contains(&"password"), "{required:?}");
    assert_eq!(
        doc["components"]["schemas"]["UserStatus"]["enum"],
        json!(["ACTIVE", "INACTIVE", "INVITED"])
    );
    // Paging: 1 to 500 a page, on every list.
    for path in ["/api/users", "/api/keys", "/api/audit"] {
        let parameters = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        let page_size = parameters
            .iter()
            .find(|p| p["name"] == "pageSize")
            .unwrap_or_else(|| panic!("{path} has no pageSize"));
        assert_eq!(page_size["schema"]["minimum"], 1, "{path}");
        assert_eq!(page_size["schema"]["maximum"], 500, "{path}");
    }
    // Links from what creates an id to what takes it, each to an operation that exists.
    let operations: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|operation| operation["operationId"].as_str().map(str::to_owned))
        .collect();
    for (path, expected) in [
        (
            "/api/users",
            &[
                "get_user",
                "update_user",
                "delete_user",
                "list_user_keys",
                "create_key",
            ][..],
        ),
        (
            "/api/users/{id}/keys",
            &["download_key", "revoke_key", "regenerate_key"][..],
        ),
    ] {
        let links = &doc["paths"][path]["post"]["responses"]["201"]["links"];
        for target in expected {
            assert_eq!(links[target]["operationId"], *target, "{path}: {links}");
            assert_eq!(links[target]["parameters"]["id"], "$response.body#/id");
            assert!(operations.contains(*target), "{target} is no operation");
        }
    }
    // A body breaking a stated rule is refused, on that field.
    for (body, field) in [
        (
            json!({"userName": "u".repeat(65), "displayName": "U", "email": "u@example.com"}),
            "userName",
        ),
        (
            json!({"userName": "two words", "displayName": "U", "email": "u@example.com"}),
            "userName",
        ),
        (
            json!({"userName": "u", "displayName": "d".repeat(129), "email": "u@example.com"}),
            "displayName",
        ),
        (
            json!({"userName": "u", "displayName": "U", "email": "not-an-address"}),
            "email",
        ),
        (
            json!({"userName": "u", "displayName": "U", "email": "u@example.com",
                   "password": "p".repeat(257)}),
            "password",
        ),
    ] {
        let problem = server
            .post("/api/users", &root, body)
            .problem(400, "INVALID_INPUT");
        assert!(problem["errors"][field].is_array(), "{field}: {problem}");
    }
    let problem = server
        .get("/api/users?pageSize=501", &root)
        .problem(400, "INVALID_INPUT");
    assert!(problem["errors"]["pageSize"].is_array(), "{problem}");
}
