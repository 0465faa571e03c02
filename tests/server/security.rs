//! Who may call what, over real HTTP: credentials, permissions, and secrets in replies.

use super::endpoints::{Access, Endpoint, Targets, ENDPOINTS};
use super::support::{assert_problem_shape, Body, Server};
use crate::common::{OTHER_PASSWORD, PASSWORD};
use keyward::core::permission::BuiltinRole;
use keyward::wire::token_from_link;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn method(endpoint: &Endpoint) -> Method {
    Method::from_bytes(endpoint.method.as_bytes()).expect("method")
}

/// The routes of the API document, as `METHOD /path`.
fn documented_routes(doc: &Value) -> BTreeSet<String> {
    let mut routes = BTreeSet::new();
    for (path, operations) in doc["paths"].as_object().expect("paths") {
        for method in operations.as_object().expect("operations").keys() {
            if ["get", "put", "post", "delete", "patch", "head", "options"]
                .contains(&method.as_str())
            {
                routes.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    routes
}

fn table_routes(filter: impl Fn(&Endpoint) -> bool) -> BTreeSet<String> {
    ENDPOINTS
        .iter()
        .filter(|e| filter(e))
        .map(|e| format!("{} {}", e.method, e.path))
        .collect()
}

#[test]
fn the_public_endpoints_are_exactly_these_and_every_route_is_classified() {
    let public: Vec<String> = table_routes(|e| matches!(e.access, Access::Public | Access::Page))
        .into_iter()
        .collect();
    assert_eq!(
        public,
        [
            "GET /api/auth/providers",
            "GET /api/openapi.json",
            "GET /api/setup",
            "GET /healthz",
            "GET /invite",
            "GET /pages/page.css",
            "GET /pages/set-password.js",
            "GET /reset",
            "POST /api/auth/accept-invitation",
            "POST /api/auth/complete-reset",
            "POST /api/auth/login",
            "POST /api/auth/login/enroll",
            "POST /api/auth/login/enroll/confirm",
            "POST /api/auth/login/totp",
            "POST /api/auth/oidc/exchange",
            "POST /api/auth/redeem",
            "POST /api/keys/verify",
            "POST /api/setup",
        ]
    );
    let doc = serde_json::to_value(keyward::server::openapi()).expect("document");
    assert_eq!(
        documented_routes(&doc),
        table_routes(Endpoint::documented),
        "a route was added or removed: classify it in tests/server/endpoints.rs"
    );
    // The document says the same: public operations need no security, the others do.
    for endpoint in ENDPOINTS.iter().filter(|e| e.documented()) {
        let operation = &doc["paths"][endpoint.path][endpoint.method.to_lowercase()];
        let open = operation["security"] == json!([{}]);
        assert_eq!(
            open,
            endpoint.access == Access::Public,
            "{} {}: security {}",
            endpoint.method,
            endpoint.path,
            operation["security"]
        );
    }
}

#[test]
fn the_public_endpoints_answer_without_credentials() {
    let server = Server::start();
    server.root();
    for endpoint in ENDPOINTS
        .iter()
        .filter(|e| matches!(e.access, Access::Public | Access::Page))
    {
        let path = endpoint.path;
        let reply = server.call(method(endpoint), path, "", endpoint.body(PASSWORD));
        let expected = match (endpoint.method, path) {
            ("POST", "/api/setup") => 409,
            (
                "POST",
                "/api/auth/accept-invitation"
                | "/api/auth/complete-reset"
                | "/api/auth/redeem"
                | "/api/auth/oidc/exchange"
                | "/api/auth/login/totp"
                | "/api/auth/login/enroll"
                | "/api/auth/login/enroll/confirm",
            ) => 400,
            _ => 200,
        };
        assert_eq!(
            reply.status, expected,
            "{} {path}: {}",
            endpoint.method, reply.text
        );
        if reply.status >= 400 {
            assert_problem_shape(&reply);
        }
    }
}

#[test]
fn a_caller_who_may_do_it_hears_what_is_wrong_with_the_body() {
    let server = Server::start();
    let root = server.root();
    let auth = format!("Bearer {root}");
    let reply = server.send(
        Method::PUT,
        "/api/settings",
        Some(&auth),
        Body::Json(json!({"clipboardClearSeconds": 20})),
    );
    let problem = reply.problem(400, "INVALID_INPUT");
    assert!(
        problem["errors"]["body"][0]
            .as_str()
            .unwrap()
            .contains("updateVersion"),
        "{}",
        reply.text
    );
    let reply = server.send(
        Method::POST,
        "/api/roles",
        Some(&auth),
        Body::Raw("application/json", b"{\"name\": ".to_vec()),
    );
    let problem = reply.problem(400, "INVALID_INPUT");
    assert_eq!(problem["errors"]["body"][0], "The body is not valid JSON.");
    let reply = server.send(
        Method::POST,
        "/api/roles",
        Some(&auth),
        Body::Raw("text/plain", b"hello".to_vec()),
    );
    assert_eq!(reply.status, 415, "{}", reply.text);
    // Without a valid credential it is 401, whatever the body.
    let reply = server.send(
        Method::PUT,
        "/api/settings",
        Some("Bearer not-a-session"),
        Body::Raw("application/json", b"{".to_vec()),
    );
    reply.problem(401, "UNAUTHENTICATED");
}

#[test]
fn every_endpoint_refuses_a_request_without_credentials() {
    let server = Server::start();
    let root = server.root();
    let targets = targets(&server, &root);
    let user_path = format!("/api/users/{}", targets.user);
    let before = server.get(&user_path, &root).expect(200);
    let refused = [
        None,
        Some("Basic cm9vdDpwYXNzd29yZA==".to_owned()),
        Some("Bearer".to_owned()),
        Some("Bearer ".to_owned()),
        Some("Bearer not-a-session-token".to_owned()),
        Some(format!("Token {root}")),
        Some("Token kw_not-a-key".to_owned()),
        Some(format!("Bearer kw_{}", "A".repeat(46))),
        Some(root.clone()),
    ];
    let mut checked = 0;
    for endpoint in ENDPOINTS
        .iter()
        .filter(|e| !matches!(e.access, Access::Public | Access::Page))
    {
        for auth in &refused {
            let body = endpoint.body(PASSWORD).map_or(Body::Empty, Body::Json);
            let path = endpoint.concrete(&targets);
            let reply = server.send(method(endpoint), &path, auth.as_deref(), body);
            let problem = reply.problem(401, "UNAUTHENTICATED");
            assert!(problem["errors"].as_object().unwrap().is_empty());
            assert_eq!(
                reply.header("www-authenticate"),
                Some("Bearer realm=\"keyward\""),
                "{} {path}",
                endpoint.method
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 42 * refused.len());
    // Nothing was changed by any of them: root is still signed in, their things unchanged.
    let me = server.get("/api/me", &root).expect(200);
    assert_eq!(me["userName"], "root");
    assert_eq!(server.get(&user_path, &root).expect(200), before);
    let key = server
        .get(&format!("/api/keys/{}", targets.key), &root)
        .expect(200);
    assert_eq!(key["status"], "ENABLED");
}

/// A custom role, a group and an enabled key of root's, for requests to aim at.
fn targets(server: &Server, root: &str) -> Targets {
    let me = server.get("/api/me", root).expect(200);
    let user = me["id"].as_str().unwrap().to_owned();
    let role = server
        .post(
            "/api/roles",
            root,
            json!({"name": "Auditors", "permissions": ["VIEW_AUDIT"]}),
        )
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let group = server
        .post(
            "/api/groups",
            root,
            json!({"name": "Ops", "members": [user]}),
        )
        .expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (key, _) = server.own_key(root, &user, "root's key");
    Targets {
        user,
        role,
        group,
        key,
    }
}

#[test]
fn every_permission_guarded_endpoint_refuses_a_user_lacking_the_permission_with_403() {
    let server = Server::start();
    let root = server.root();
    let targets = targets(&server, &root);
    let user_path = format!("/api/users/{}", targets.user);
    let without_login = |mut user: Value| {
        user.as_object_mut().unwrap().remove("lastLoginTime");
        user
    };
    let root_before = without_login(server.get(&user_path, &root).expect(200));
    let settings_before = server.get("/api/settings", &root).expect(200);
    let (_, service_key) = server
        .h
        .acting_as(&session(&root), BuiltinRole::ApiUser, "service");
    let service_key = super::support::token_of(&service_key);
    server.user(&root, "vera", &[BuiltinRole::Viewer.id()]);
    let viewer = server.login("vera", PASSWORD);
    server.user(&root, "otto", &[BuiltinRole::Operator.id()]);
    let operator = server.login("otto", PASSWORD);

    // Which endpoint was refused with 403 by at least one of the actors.
    let mut forbidden: BTreeSet<String> = BTreeSet::new();
    for (actor, token) in [
        ("API User key", &service_key),
        ("Viewer session", &viewer),
        ("Operator session", &operator),
    ] {
        let me = server.get("/api/me", token).expect(200);
        let held: Vec<&str> = me["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let holds_any = |any_of: &[&str]| any_of.iter().any(|p| held.contains(p));
        for endpoint in ENDPOINTS {
            let path = endpoint.concrete(&targets);
            let body = endpoint.body(PASSWORD);
            let reply = server.call(method(endpoint), &path, token, body);
            let what = format!("{actor}: {} {path}: {}", endpoint.method, reply.text);
            match endpoint.access {
                Access::NeedsUnseen(any_of, seen_with)
                    if !holds_any(any_of) && !held.contains(&seen_with) =>
                {
                    let problem = reply.problem(404, "NOT_FOUND");
                    assert_eq!(problem["resource"], "API key", "{what}");
                    let auth = format!("Bearer {token}");
                    for body in [Body::Empty, Body::Raw("application/json", b"{".to_vec())] {
                        let reply = server.send(method(endpoint), &path, Some(&auth), body);
                        reply.problem(404, "NOT_FOUND");
                    }
                }
                Access::Needs(any_of) | Access::NeedsUnseen(any_of, _) if !holds_any(any_of) => {
                    let problem = reply.problem(403, "FORBIDDEN");
                    assert!(!problem["detail"].as_str().unwrap().is_empty(), "{what}");
                    forbidden.insert(format!("{} {}", endpoint.method, endpoint.path));
                    // Whatever the body: none, not JSON, or JSON of the wrong shape, the
                    // caller learns only that they may not.
                    for body in [
                        Body::Empty,
                        Body::Raw("application/json", b"{\"updateVersion\": ".to_vec()),
                        Body::Raw("text/plain", b"hello".to_vec()),
                        Body::Json(json!({"unexpected": [1, 2, 3]})),
                        Body::Json(json!([])),
                    ] {
                        let auth = format!("Bearer {token}");
                        let reply = server.send(method(endpoint), &path, Some(&auth), body);
                        let problem = reply.problem(403, "FORBIDDEN");
                        assert!(
                            problem["errors"].as_object().unwrap().is_empty(),
                            "{actor}: {} {path} told of its body: {}",
                            endpoint.method,
                            reply.text
                        );
                    }
                }
                Access::Needs(_) | Access::NeedsUnseen(..) | Access::SignedIn => {
                    assert!((200..300).contains(&reply.status), "{what}");
                    assert!(
                        ["GET", "POST"].contains(&endpoint.method)
                            && (endpoint.method == "GET" || endpoint.path.ends_with("logout")),
                        "the actors hold no permission to change root's things: {what}"
                    );
                }
                Access::Public | Access::Page | Access::Own => {}
            }
        }
        // The last endpoint was sign-out: a session has ended, a key goes on working.
        let after = server.get("/api/me", token);
        if token == &service_key {
            after.expect(200);
        } else {
            after.problem(401, "UNAUTHENTICATED");
        }
    }
    let guarded = table_routes(|e| matches!(e.access, Access::Needs(_) | Access::NeedsUnseen(..)));
    assert_eq!(
        forbidden, guarded,
        "every guarded endpoint answered 403 to someone"
    );
    // Nothing changed.
    assert_eq!(
        without_login(server.get(&user_path, &root).expect(200)),
        root_before
    );
    assert_eq!(
        server.get("/api/settings", &root).expect(200),
        settings_before
    );
    let key = server
        .get(&format!("/api/keys/{}", targets.key), &root)
        .expect(200);
    assert_eq!(key["status"], "ENABLED");
    let role = server
        .get(&format!("/api/roles/{}", targets.role), &root)
        .expect(200);
    assert_eq!(role["updateVersion"], 1);
    let group = server
        .get(&format!("/api/groups/{}", targets.group), &root)
        .expect(200);
    assert_eq!(group["updateVersion"], 1);
    let users = server.get("/api/users", &root).expect(200);
    assert_eq!(users["pageInfo"]["totalElements"], 4);
    let keys = server.get("/api/keys", &root).expect(200);
    assert_eq!(
        keys["pageInfo"]["totalElements"], 2,
        "root's and the service's"
    );
    // Each refusal was audited as DENIED.
    let denied = server.get("/api/audit?pageSize=500", &root).expect(200)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["outcome"] == "DENIED")
        .count();
    assert!(denied >= forbidden.len(), "{denied} denials audited");
}

fn session(token: &str) -> keyward::core::model::Credential {
    keyward::core::model::Credential::Session(crate::common::secret(token))
}

fn verify(server: &Server, key: &str) -> Value {
    server
        .post("/api/keys/verify", "", json!({ "key": key }))
        .expect(200)
}

#[test]
fn a_deactivated_users_sessions_and_keys_stop_working_at_once() {
    let server = Server::start();
    let root = server.root();
    let ann = server.user(&root, "ann", &[BuiltinRole::Operator.id()]);
    let ann_id = ann["id"].as_str().unwrap();
    let session = server.login("ann", PASSWORD);
    let other_session = server.login("ann", PASSWORD);
    let (_, key) = server.own_key(&session, ann_id, "ci");
    server.get("/api/me", &session).expect(200);
    server.get("/api/me", &key).expect(200);
    assert_eq!(verify(&server, &key)["code"], "VALID");

    server
        .put(
            &format!("/api/users/{ann_id}"),
            &root,
            json!({"status": "INACTIVE", "updateVersion": ann["updateVersion"]}),
        )
        .expect(200);
    for token in [&session, &other_session, &key] {
        server.get("/api/me", token).problem(401, "UNAUTHENTICATED");
        server
            .get(&format!("/api/users/{ann_id}/keys"), token)
            .problem(401, "UNAUTHENTICATED");
    }
    server
        .send(
            Method::GET,
            "/api/me",
            Some(&format!("Token {key}")),
            Body::Empty,
        )
        .problem(401, "UNAUTHENTICATED");
    assert_eq!(verify(&server, &key)["code"], "USER_INACTIVE");
    assert_eq!(verify(&server, &key)["valid"], false);
    // Signing in again says so only after the right password.
    server
        .post(
            "/api/auth/login",
            "",
            json!({"userName": "ann", "password": "wrong password here"}),
        )
        .problem(401, "SIGN_IN_FAILED");
}

#[test]
fn a_revoked_key_stops_working_at_once() {
    let server = Server::start();
    let root = server.root();
    let ann = server.user(&root, "ann", &[BuiltinRole::Operator.id()]);
    let ann_id = ann["id"].as_str().unwrap();
    let session = server.login("ann", PASSWORD);
    let (key_id, key) = server.own_key(&session, ann_id, "ci");
    server.get("/api/me", &key).expect(200);
    let revoked = server
        .post(&format!("/api/keys/{key_id}/revoke"), &root, json!({}))
        .expect(200);
    assert_eq!(revoked["status"], "REVOKED");
    assert!(revoked.get("key").is_none(), "{revoked}");
    server.get("/api/me", &key).problem(401, "UNAUTHENTICATED");
    assert_eq!(verify(&server, &key)["code"], "REVOKED");
    // The owner's session is untouched.
    server.get("/api/me", &session).expect(200);
}

#[test]
fn a_key_is_accepted_as_bearer_or_token_and_a_session_only_as_bearer() {
    let server = Server::start();
    let root = server.root();
    let ann = server.user(&root, "ann", &[BuiltinRole::Operator.id()]);
    let ann_id = ann["id"].as_str().unwrap();
    let session = server.login("ann", PASSWORD);
    let (_, key) = server.own_key(&session, ann_id, "ci");
    for auth in [
        format!("Bearer {key}"),
        format!("Token {key}"),
        format!("bearer {key}"),
        format!("token  {key} "),
        format!("Bearer {session}"),
    ] {
        let me = server
            .send(Method::GET, "/api/me", Some(&auth), Body::Empty)
            .expect(200);
        assert_eq!(me["userName"], "ann", "{auth}");
    }
    server
        .send(
            Method::GET,
            "/api/me",
            Some(&format!("Token {session}")),
            Body::Empty,
        )
        .problem(401, "UNAUTHENTICATED");
    // A mistyped key is refused like no key at all.
    let typo = format!("{}x", &key[..key.len() - 1]);
    server.get("/api/me", &typo).problem(401, "UNAUTHENTICATED");
}

#[test]
fn with_key_authentication_disabled_a_key_is_refused_and_verifies_as_auth_disabled() {
    let server = Server::start();
    let root = server.root();
    let ann = server.user(&root, "ann", &[BuiltinRole::Operator.id()]);
    let ann_id = ann["id"].as_str().unwrap();
    let session = server.login("ann", PASSWORD);
    let (_, key) = server.own_key(&session, ann_id, "ci");
    let settings = server.get("/api/settings", &root).expect(200);
    let off = server
        .put(
            "/api/settings",
            &root,
            json!({"apiKeyAuthEnabled": false, "updateVersion": settings["updateVersion"]}),
        )
        .expect(200);
    assert_eq!(off["apiKeyAuthEnabled"], false);
    for auth in [format!("Bearer {key}"), format!("Token {key}")] {
        server
            .send(Method::GET, "/api/me", Some(&auth), Body::Empty)
            .problem(401, "UNAUTHENTICATED");
    }
    let verification = verify(&server, &key);
    assert_eq!(verification["code"], "AUTH_DISABLED");
    assert_eq!(verification["valid"], false);
    assert_eq!(verification["userId"], Value::Null);
    // Sessions are not affected; turning it back on brings the key back.
    server.get("/api/me", &session).expect(200);
    server
        .put(
            "/api/settings",
            &root,
            json!({"apiKeyAuthEnabled": true, "updateVersion": off["updateVersion"]}),
        )
        .expect(200);
    server.get("/api/me", &key).expect(200);
    assert_eq!(verify(&server, &key)["code"], "VALID");
}

/// Walks every endpoint (and the usual refusals) as real clients would and keeps each
/// secret the server hands out, then checks every reply: no password hash anywhere, and
/// no password, session token, key or link token except in the one reply that reveals it.
#[test]
fn no_reply_carries_a_password_hash_or_a_secret_outside_its_one_time_reveal() {
    let server = Server::start();
    // (index of the reply in `server.seen`, the secret it reveals)
    let mut reveals: Vec<(usize, String)> = Vec::new();
    let last = |server: &Server| server.seen.lock().unwrap().len() - 1;
    let weak = "weak-secret-pw";

    server.get("/healthz", "").expect(200);
    server.get("/api/setup", "").expect(200);
    server.get("/api/openapi.json", "").expect(200);
    for page in [
        "/invite",
        "/reset",
        "/pages/set-password.js",
        "/pages/page.css",
    ] {
        server.get(page, "").expect(200);
    }
    let root = server.root();
    reveals.push((last(&server), root.clone()));
    let me = server.get("/api/me", &root).expect(200);
    let root_id = me["id"].as_str().unwrap().to_owned();

    // Users: with a password, invited, a service account.
    let ann = server.user(&root, "ann", &[BuiltinRole::Operator.id()]);
    let ann_id = ann["id"].as_str().unwrap().to_owned();
    let ivy = server
        .post(
            "/api/users",
            &root,
            json!({"userName": "ivy", "displayName": "Ivy", "email": "ivy@example.com"}),
        )
        .expect(201);
    let ivy_id = ivy["id"].as_str().unwrap().to_owned();
    let first_invite = token_from_link(ivy["inviteLink"].as_str().unwrap());
    reveals.push((last(&server), first_invite.expose().to_owned()));
    let again = server
        .post(&format!("/api/users/{ivy_id}/invite"), &root, json!({}))
        .expect(200);
    let invite = token_from_link(again["inviteLink"].as_str().unwrap());
    reveals.push((last(&server), invite.expose().to_owned()));
    let svc = server
        .post(
            "/api/users",
            &root,
            json!({"userName": "svc", "displayName": "Service", "email": "svc@example.com",
                   "status": "ACTIVE", "roles": [BuiltinRole::ApiUser.id()]}),
        )
        .expect(201);
    let svc_id = svc["id"].as_str().unwrap().to_owned();
    server
        .get("/api/users?q=a&sort=-createdTime", &root)
        .expect(200);
    server
        .get(&format!("/api/users/{ann_id}"), &root)
        .expect(200);
    server
        .put(
            &format!("/api/users/{ann_id}"),
            &root,
            json!({"displayName": "Ann Renamed", "updateVersion": ann["updateVersion"]}),
        )
        .expect(200);

    // Sessions, password change, reset, invitation.
    let ann_session = server.login("ann", PASSWORD);
    reveals.push((last(&server), ann_session.clone()));
    let changed = server
        .post(
            &format!("/api/users/{ann_id}/changepassword"),
            &ann_session,
            json!({"oldPassword": PASSWORD, "newPassword": OTHER_PASSWORD}),
        )
        .expect(200);
    assert_eq!(changed, json!({"succeeded": true, "errors": []}));
    server
        .post(
            &format!("/api/users/{ann_id}/changepassword"),
            &ann_session,
            json!({"oldPassword": OTHER_PASSWORD, "newPassword": weak}),
        )
        .expect(200);
    server.post(
        &format!("/api/users/{ann_id}/changepassword"),
        &ann_session,
        json!({"oldPassword": weak, "newPassword": PASSWORD}),
    );
    let reset = server
        .post(
            &format!("/api/users/{ann_id}/resetpassword"),
            &root,
            json!({}),
        )
        .expect(200);
    let reset_token = token_from_link(reset["resetLink"].as_str().unwrap());
    reveals.push((last(&server), reset_token.expose().to_owned()));
    server
        .post(
            "/api/auth/complete-reset",
            "",
            json!({"token": reset_token.expose(), "password": PASSWORD}),
        )
        .expect(200);
    server
        .post(
            "/api/auth/accept-invitation",
            "",
            json!({"token": invite.expose(), "password": PASSWORD}),
        )
        .expect(200);
    server.post(
        "/api/auth/accept-invitation",
        "",
        json!({"token": first_invite.expose(), "password": PASSWORD}),
    );

    // Roles and groups.
    let role = server
        .post(
            "/api/roles",
            &root,
            json!({"name": "Auditors", "permissions": ["VIEW_AUDIT"]}),
        )
        .expect(201);
    let role_id = role["id"].as_str().unwrap().to_owned();
    server.get("/api/roles", &root).expect(200);
    server
        .get(&format!("/api/roles/{role_id}"), &root)
        .expect(200);
    server
        .put(
            &format!("/api/roles/{role_id}"),
            &root,
            json!({"description": "Read the log", "updateVersion": 1}),
        )
        .expect(200);
    let group = server
        .post(
            "/api/groups",
            &root,
            json!({"name": "Ops", "members": [ann_id], "roles": [role_id]}),
        )
        .expect(201);
    let group_id = group["id"].as_str().unwrap().to_owned();
    server.get("/api/groups", &root).expect(200);
    server
        .get(&format!("/api/groups/{group_id}"), &root)
        .expect(200);
    server
        .put(
            &format!("/api/groups/{group_id}"),
            &root,
            json!({"description": "Operations", "updateVersion": 1}),
        )
        .expect(200);

    // Keys: one's own, one for a service account downloaded by an admin, a rotation.
    let (own_id, own) = server.own_key(&root, &root_id, "deploy");
    reveals.push((last(&server), own.clone()));
    let pending = server
        .post(
            &format!("/api/users/{svc_id}/keys"),
            &root,
            json!({"name": "svc key", "description": "for the robot"}),
        )
        .expect(201);
    assert!(pending.get("key").is_none(), "{pending}");
    let pending_id = pending["id"].as_str().unwrap().to_owned();
    let downloaded = server
        .post(
            &format!("/api/keys/{pending_id}/download"),
            &root,
            json!({}),
        )
        .expect(200);
    let svc_key = downloaded["key"].as_str().unwrap().to_owned();
    reveals.push((last(&server), svc_key.clone()));
    server
        .post(
            &format!("/api/keys/{pending_id}/download"),
            &root,
            json!({}),
        )
        .expect(409);
    let rotated = server
        .post(
            &format!("/api/keys/{own_id}/regenerate"),
            &root,
            json!({"graceSeconds": 3600}),
        )
        .expect(200);
    let rotated_key = rotated["key"].as_str().unwrap().to_owned();
    reveals.push((last(&server), rotated_key.clone()));
    for key in [&own, &rotated_key, &svc_key] {
        verify(&server, key);
        server.get("/api/me", key).expect(200);
    }
    server
        .get(&format!("/api/users/{root_id}/keys"), &root)
        .expect(200);
    server
        .get(&format!("/api/users/{svc_id}/keys"), &svc_key)
        .expect(200);
    server.get("/api/keys?pageSize=500", &root).expect(200);
    server
        .get(&format!("/api/keys/{own_id}"), &root)
        .expect(200);
    server
        .post(&format!("/api/keys/{own_id}/revoke"), &root, json!({}))
        .expect(200);

    // Audit and settings.
    server.get("/api/audit?pageSize=500", &root).expect(200);
    let settings = server.get("/api/settings", &root).expect(200);
    server
        .put(
            "/api/settings",
            &root,
            json!({"clipboardClearSeconds": 20, "updateVersion": settings["updateVersion"]}),
        )
        .expect(200);

    // Refusals that carry a password or a key in their request.
    server
        .post(
            "/api/users",
            &root,
            json!({"userName": "bob", "displayName": "Bob", "email": "bob@example.com",
                   "password": weak}),
        )
        .expect(400);
    server
        .post(
            "/api/auth/login",
            "",
            json!({"userName": "ann", "password": weak}),
        )
        .expect(401);
    server
        .post(
            "/api/auth/login",
            "",
            json!({"userName": "nobody", "password": weak}),
        )
        .expect(401);
    server
        .post(
            "/api/auth/login",
            "",
            json!({"userName": weak, "password": 42}),
        )
        .expect(400);
    server
        .post(
            "/api/auth/accept-invitation",
            "",
            json!({"token": weak, "password": weak}),
        )
        .expect(400);
    server.get("/api/me", weak).expect(401);
    server
        .post(
            "/api/users",
            &root,
            json!({"userName": "carl", "email": "carl@example.com",
            "password": ["not", weak]}),
        )
        .expect(400);

    // Deletions and sign-out.
    server
        .delete(&format!("/api/groups/{group_id}"), &root)
        .expect(204);
    server
        .delete(&format!("/api/roles/{role_id}"), &root)
        .expect(204);
    server
        .delete(&format!("/api/users/{ivy_id}"), &root)
        .expect(204);
    server
        .call(Method::POST, "/api/auth/logout", &root, None)
        .expect(204);

    let secrets: Vec<String> = [PASSWORD, OTHER_PASSWORD, weak]
        .iter()
        .map(|s| s.to_string())
        .chain(reveals.iter().map(|(_, s)| s.clone()))
        .collect();
    let replies = server.replies();
    assert!(replies.len() > 60, "{} replies", replies.len());
    let endpoints_seen: BTreeSet<(String, String)> = replies
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert!(endpoints_seen.len() > 40);
    for (index, reply) in replies.iter().enumerate() {
        let text = format!("{:?}\n{}", reply.headers, reply.text);
        let what = format!("{} {} → {}", reply.method, reply.path, reply.status);
        assert!(
            !text.contains("$argon2"),
            "{what} carries a password hash: {text}"
        );
        assert!(!text.to_lowercase().contains("argon2id"), "{what}: {text}");
        for secret in &secrets {
            let revealed_here = reveals.iter().any(|(i, s)| *i == index && s == secret);
            if !revealed_here {
                assert!(
                    !text.contains(secret.as_str()),
                    "{what} carries a secret: {text}"
                );
            }
        }
    }
    // Each reveal carried exactly its own secret.
    for (index, secret) in &reveals {
        assert!(replies[*index].text.contains(secret.as_str()));
    }
}

#[test]
fn replies_that_carry_a_secret_are_never_cached_and_no_reply_is_sniffed() {
    let server = Server::start();
    let root = server.root();
    let never_cached = |reply: &super::support::Reply, what: &str| {
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{what}");
        assert_eq!(reply.header("pragma"), Some("no-cache"), "{what}");
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
    };
    let login = server.post(
        "/api/auth/login",
        "",
        json!({"userName": "root", "password": PASSWORD}),
    );
    assert_eq!(login.status, 200);
    never_cached(&login, "sign-in");
    let root_id = server.get("/api/me", &root).expect(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let own = server.post(
        &format!("/api/users/{root_id}/keys"),
        &root,
        json!({"name": "mine", "description": ""}),
    );
    assert_eq!(own.status, 201);
    assert!(own.json()["key"].is_string());
    never_cached(&own, "a key created with its secret");
    let key_id = own.json()["id"].as_str().unwrap().to_owned();
    let regenerated = server.post(
        &format!("/api/keys/{key_id}/regenerate"),
        &root,
        json!({"graceSeconds": 0}),
    );
    assert_eq!(regenerated.status, 200);
    never_cached(&regenerated, "regenerate");
    let robot = server.post(
        "/api/users",
        &root,
        json!({"userName": "robot", "displayName": "Robot", "email": "robot@example.com",
               "status": "ACTIVE", "roles": [BuiltinRole::ApiUser.id()]}),
    );
    let robot_id = robot.json()["id"].as_str().unwrap().to_owned();
    let pending = server.post(
        &format!("/api/users/{robot_id}/keys"),
        &root,
        json!({"name": "service", "description": ""}),
    );
    let pending_id = pending.json()["id"].as_str().unwrap().to_owned();
    let download = server.post(
        &format!("/api/keys/{pending_id}/download"),
        &root,
        json!({}),
    );
    assert_eq!(download.status, 200);
    never_cached(&download, "download");
    let invited = server.post(
        "/api/users",
        &root,
        json!({"userName": "ivy", "displayName": "Ivy", "email": "ivy@example.com"}),
    );
    assert!(invited.json()["inviteLink"].is_string());
    never_cached(&invited, "a user created with an invitation link");
    let ivy_id = invited.json()["id"].as_str().unwrap().to_owned();
    let again = server.post(&format!("/api/users/{ivy_id}/invite"), &root, json!({}));
    assert_eq!(again.status, 200);
    never_cached(&again, "a new invitation");
    server.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let ann_id = server.get("/api/users/lookup/ann", &root).expect(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reset = server.post(
        &format!("/api/users/{ann_id}/resetpassword"),
        &root,
        json!({}),
    );
    assert_eq!(reset.status, 200);
    never_cached(&reset, "a reset link");
    let imported = server.post(
        "/api/users/import",
        &root,
        json!({"users": [{"userName": "imp", "displayName": "Imp", "email": "imp@example.com"}]}),
    );
    assert_eq!(imported.status, 200, "{}", imported.text);
    never_cached(&imported, "an import with invitation links");
    let setup = server.call(Method::POST, "/api/me/totp", &root, None);
    assert_eq!(setup.status, 200, "{}", setup.text);
    never_cached(&setup, "a two-step set-up with its secret");
    let code = crate::common::totp_code(
        setup.json()["secret"].as_str().unwrap(),
        server.h.clock_now(),
    );
    let enrolled = server.post(
        "/api/me/totp/confirm",
        &root,
        json!({"code": code.expose()}),
    );
    assert_eq!(enrolled.status, 200, "{}", enrolled.text);
    never_cached(&enrolled, "recovery codes");
    // Every route, answered or refused, carries nosniff; every API reply no-store.
    for endpoint in ENDPOINTS {
        let path = endpoint
            .path
            .replace("{id}", "x")
            .replace("{nameOrId}", "x");
        let reply = server.call(method(endpoint), &path, "", endpoint.body(PASSWORD));
        let what = format!("{} {path}", endpoint.method);
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        if path.starts_with("/api/") && path != "/api/openapi.json" {
            never_cached(&reply, &what);
        }
    }
    let missing = server.get("/no/such/page", "");
    assert_eq!(missing.header("x-content-type-options"), Some("nosniff"));
}
