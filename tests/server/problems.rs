//! Errors as `application/problem+json`: their shape, their trace id, the field they name,
//! and the limits the server itself enforces (size, rate, malformed requests).

use super::support::{assert_problem_shape, test_options, Body, Server};
use crate::common::{OTHER_PASSWORD, PASSWORD};
use keyward::core::permission::BuiltinRole;
use keyward::server::ServerOptions;
use reqwest::Method;
use serde_json::json;

#[test]
fn every_kind_of_problem_has_the_full_shape_and_the_trace_id_of_its_response() {
    let server = Server::with_options(ServerOptions {
        body_limit: 4096,
        ..test_options()
    });
    let root = server.root();
    let viewer_id = server.user(&root, "vera", &[BuiltinRole::Viewer.id()])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let viewer = server.login("vera", PASSWORD);
    let problems = [
        (
            server.post("/api/users", &root, json!({"userName": "", "email": "x"})),
            400,
            "INVALID_INPUT",
        ),
        (server.get("/api/me", ""), 401, "UNAUTHENTICATED"),
        (
            server.post(
                "/api/auth/login",
                "",
                json!({"userName": "root", "password": "wrong one"}),
            ),
            401,
            "SIGN_IN_FAILED",
        ),
        (
            server.post("/api/roles", &viewer, json!({"name": "X"})),
            403,
            "FORBIDDEN",
        ),
        (server.get("/api/users/no-such-id", &root), 404, "NOT_FOUND"),
        (server.get("/no/such/route", ""), 404, "NOT_FOUND"),
        (server.delete("/api/me", &root), 405, "METHOD_NOT_ALLOWED"),
        (
            server.put(
                &format!("/api/users/{viewer_id}"),
                &root,
                json!({"displayName": "V", "updateVersion": 7}),
            ),
            409,
            "VERSION_CONFLICT",
        ),
        (
            server.post(
                "/api/users",
                &root,
                json!({"userName": "VERA", "displayName": "V", "email": "v2@example.com"}),
            ),
            409,
            "DUPLICATE",
        ),
        (
            server.send(
                Method::POST,
                "/api/roles",
                Some(&format!("Bearer {root}")),
                Body::Raw("text/plain", b"{\"name\": \"X\"}".to_vec()),
            ),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
        ),
        (
            server.post("/api/roles", &root, json!({"name": "x".repeat(5000)})),
            413,
            "PAYLOAD_TOO_LARGE",
        ),
    ];
    let mut trace_ids = std::collections::BTreeSet::new();
    for (reply, status, code) in &problems {
        let problem = reply.problem(*status, code);
        assert!(
            problem["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:keyward:problem:"),
            "{problem}"
        );
        trace_ids.insert(problem["traceId"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        trace_ids.len(),
        problems.len(),
        "trace ids are unique per request"
    );
    // Successful replies carry a trace id too.
    let ok = server.get("/healthz", "");
    assert!(ok.header("x-trace-id").is_some_and(|t| t.len() >= 16));
    // Not found and conflicts name the kind of thing.
    assert_eq!(problems[4].0.json()["resource"], "user");
    assert_eq!(problems[7].0.json()["resource"], "user");
    assert_eq!(
        problems[8].0.json()["errors"],
        json!({"userName": ["This user name is taken."]})
    );
}

#[test]
fn bad_input_is_reported_on_the_field_that_caused_it() {
    let server = Server::start();
    let root = server.root();
    let bad_email = server
        .post(
            "/api/users",
            &root,
            json!({"userName": "ann", "displayName": "Ann", "email": "not-an-address"}),
        )
        .problem(400, "INVALID_INPUT");
    let fields: Vec<&String> = bad_email["errors"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["email"], "{bad_email}");
    assert!(bad_email["errors"]["email"][0].as_str().unwrap().len() > 5);

    let many = server
        .post(
            "/api/users",
            &root,
            json!({"userName": "two words", "displayName": "", "email": "nope"}),
        )
        .problem(400, "INVALID_INPUT");
    let fields: Vec<&String> = many["errors"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["displayName", "email", "userName"], "{many}");
    let weak = server
        .post(
            "/api/users",
            &root,
            json!({"userName": "ann", "displayName": "Ann", "email": "ann@example.com",
                   "password": "short"}),
        )
        .problem(400, "INVALID_INPUT");
    let fields: Vec<&String> = weak["errors"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["password"], "{weak}");
    // The refused password is not echoed.
    assert!(!weak.to_string().contains("\"short\""), "{weak}");

    // A missing field and a value of the wrong type are named too.
    let missing = server
        .post("/api/users", &root, json!({"displayName": "Ann"}))
        .problem(400, "INVALID_INPUT");
    let message = missing["errors"]["body"][0].as_str().unwrap();
    assert!(message.contains("userName"), "{missing}");
    let wrong_type = server
        .post(
            "/api/auth/login",
            "",
            json!({"userName": "root", "password": 12345}),
        )
        .problem(400, "INVALID_INPUT");
    assert!(!wrong_type.to_string().contains("12345"), "{wrong_type}");
    let query = server
        .get("/api/users?pageSize=0", &root)
        .problem(400, "INVALID_INPUT");
    assert!(query["errors"]["pageSize"].is_array(), "{query}");
    let unreadable = server
        .get("/api/users?page=first", &root)
        .problem(400, "INVALID_INPUT");
    assert!(unreadable["errors"]["query"].is_array(), "{unreadable}");
    // Nothing was created.
    let users = server.get("/api/users", &root).expect(200);
    assert_eq!(users["pageInfo"]["totalElements"], 1);
}

#[test]
fn a_stale_update_version_is_a_409_and_changes_nothing() {
    let server = Server::start();
    let root = server.root();
    let ann = server.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let path = format!("/api/users/{}", ann["id"].as_str().unwrap());
    let changed = server
        .put(
            &path,
            &root,
            json!({"displayName": "Ann One", "updateVersion": 1}),
        )
        .expect(200);
    assert_eq!(changed["updateVersion"], 2);
    let before = server.get(&path, &root).expect(200);
    let stale = server
        .put(
            &path,
            &root,
            json!({"displayName": "Ann Two", "email": "two@example.com",
                   "roles": [BuiltinRole::Operator.id()], "updateVersion": 1}),
        )
        .problem(409, "VERSION_CONFLICT");
    assert!(stale["errors"].as_object().unwrap().is_empty());
    assert_eq!(server.get(&path, &root).expect(200), before);

    // The same for roles, groups and settings.
    let role = server
        .post("/api/roles", &root, json!({"name": "R", "permissions": []}))
        .expect(201);
    let role_path = format!("/api/roles/{}", role["id"].as_str().unwrap());
    server
        .put(&role_path, &root, json!({"name": "R2", "updateVersion": 5}))
        .problem(409, "VERSION_CONFLICT");
    assert_eq!(server.get(&role_path, &root).expect(200), role);
    let group = server
        .post("/api/groups", &root, json!({"name": "G"}))
        .expect(201);
    let group_path = format!("/api/groups/{}", group["id"].as_str().unwrap());
    server
        .put(
            &group_path,
            &root,
            json!({"name": "G2", "updateVersion": 0}),
        )
        .problem(409, "VERSION_CONFLICT");
    assert_eq!(server.get(&group_path, &root).expect(200), group);
    let settings = server.get("/api/settings", &root).expect(200);
    server
        .put(
            "/api/settings",
            &root,
            json!({"passwordMinLength": 20, "updateVersion": 99}),
        )
        .problem(409, "VERSION_CONFLICT");
    assert_eq!(server.get("/api/settings", &root).expect(200), settings);
}

#[test]
fn an_unknown_route_is_a_404_problem_and_a_known_one_with_another_method_a_405() {
    let server = Server::start();
    for path in [
        "/",
        "/api",
        "/api/nothing",
        "/api/users/x/y/z",
        "/favicon.ico",
    ] {
        server.get(path, "").problem(404, "NOT_FOUND");
    }
    server
        .call(Method::PATCH, "/api/users", "", None)
        .problem(405, "METHOD_NOT_ALLOWED");
    server
        .call(Method::DELETE, "/healthz", "", None)
        .problem(405, "METHOD_NOT_ALLOWED");
}

#[test]
fn a_body_over_the_limit_is_a_413_problem() {
    let server = Server::with_options(ServerOptions {
        body_limit: 1024,
        ..test_options()
    });
    let root = server.root();
    let big = json!({"userName": "ann", "displayName": "d".repeat(2000),
                     "email": "ann@example.com"});
    server
        .post("/api/users", &root, big.clone())
        .problem(413, "PAYLOAD_TOO_LARGE");
    // Also where the body is optional. (A caller who may not regenerate that key hears only
    // that, whatever the body: see the security matrix.)
    let root_id = server.get("/api/me", &root).expect(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (key_id, _) = server.own_key(&root, &root_id, "big body");
    server
        .post(
            &format!("/api/keys/{key_id}/regenerate"),
            &root,
            json!({"pad": "p".repeat(4000)}),
        )
        .problem(413, "PAYLOAD_TOO_LARGE");
    server
        .post(
            "/api/auth/login",
            "",
            json!({"userName": "u".repeat(4000), "password": "p"}),
        )
        .problem(413, "PAYLOAD_TOO_LARGE");
    // Just under the limit is fine.
    server
        .post(
            "/api/users",
            &root,
            json!({"userName": "ann", "displayName": "d".repeat(100), "email": "ann@example.com",
                   "password": PASSWORD}),
        )
        .expect(201);
}

#[test]
fn malformed_json_is_a_400_problem_and_a_body_that_is_not_json_a_415() {
    let server = Server::start();
    let root = server.root();
    let auth = format!("Bearer {root}");
    for raw in [&b"{\"name\": "[..], b"not json at all", b"", b"[1, 2"] {
        let problem = server
            .send(
                Method::POST,
                "/api/roles",
                Some(&auth),
                Body::Raw("application/json", raw.to_vec()),
            )
            .problem(400, "INVALID_INPUT");
        assert!(problem["errors"]["body"].is_array(), "{problem}");
    }
    // The optional body of regenerate is checked the same way.
    let root_id = server.get("/api/me", &root).expect(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (key_id, _) = server.own_key(&root, &root_id, "malformed body");
    server
        .send(
            Method::POST,
            &format!("/api/keys/{key_id}/regenerate"),
            Some(&auth),
            Body::Raw("application/json", b"{graceSeconds".to_vec()),
        )
        .problem(400, "INVALID_INPUT");
    server
        .send(
            Method::POST,
            "/api/auth/login",
            None,
            Body::Raw(
                "application/x-www-form-urlencoded",
                b"userName=root".to_vec(),
            ),
        )
        .problem(415, "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(
        server.get("/api/roles", &root).expect(200)["roles"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
}

#[test]
fn one_address_signing_in_too_often_is_answered_429_with_retry_after() {
    let server = Server::with_options(ServerOptions {
        sign_ins_per_minute: 3,
        sign_in_burst: 3,
        ..test_options()
    });
    let root = server.root(); // the set-up and the first sign-in
    server
        .post(
            "/api/auth/login",
            "",
            json!({"userName": "root", "password": "wrong password"}),
        )
        .problem(401, "SIGN_IN_FAILED");
    let limited = server.post(
        "/api/auth/login",
        "",
        json!({"userName": "root", "password": PASSWORD}),
    );
    let problem = limited.problem(429, "RATE_LIMITED");
    let retry_after: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(problem["retryAfter"], json!(retry_after));
    // Setting a password from a link counts the same; other requests are not limited.
    server
        .post(
            "/api/auth/accept-invitation",
            "",
            json!({"token": "t", "password": OTHER_PASSWORD}),
        )
        .problem(429, "RATE_LIMITED");
    server
        .post(
            "/api/auth/complete-reset",
            "",
            json!({"token": "t", "password": OTHER_PASSWORD}),
        )
        .problem(429, "RATE_LIMITED");
    // So does every second step of a sign-in (a code is a secret to guess, too).
    for (path, body) in [
        (
            "/api/auth/login/totp",
            json!({"challengeToken": "c", "code": "123456"}),
        ),
        ("/api/auth/login/enroll", json!({"challengeToken": "c"})),
        (
            "/api/auth/login/enroll/confirm",
            json!({"challengeToken": "c", "code": "123456"}),
        ),
    ] {
        server.post(path, "", body).problem(429, "RATE_LIMITED");
    }
    for _ in 0..5 {
        server.get("/api/me", &root).expect(200);
        server
            .post("/api/keys/verify", "", json!({"key": "kw_x"}))
            .expect(200);
    }
}

#[test]
fn change_password_replies_succeeded_and_errors() {
    let server = Server::start();
    let root = server.root();
    let ann = server.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let path = format!("/api/users/{}/changepassword", ann["id"].as_str().unwrap());
    let session = server.login("ann", PASSWORD);
    let other = server.login("ann", PASSWORD);

    let weak = server
        .post(
            &path,
            &session,
            json!({"oldPassword": PASSWORD, "newPassword": "ann"}),
        )
        .expect(200);
    assert_eq!(weak["succeeded"], false);
    let errors = weak["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    for error in errors {
        let mut keys: Vec<&String> = error.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["code", "description"], "{error}");
        assert!(!error["code"].as_str().unwrap().is_empty());
    }
    let wrong_old = server
        .post(
            &path,
            &session,
            json!({"oldPassword": "not the password", "newPassword": OTHER_PASSWORD}),
        )
        .expect(200);
    assert_eq!(wrong_old["succeeded"], false);
    assert_eq!(wrong_old["errors"][0]["code"], "PASSWORD_MISMATCH");

    let done = server
        .post(
            &path,
            &session,
            json!({"oldPassword": PASSWORD, "newPassword": OTHER_PASSWORD}),
        )
        .expect(200);
    assert_eq!(done, json!({"succeeded": true, "errors": []}));
    // The session that changed it goes on; the other one ends.
    server.get("/api/me", &session).expect(200);
    server
        .get("/api/me", &other)
        .problem(401, "UNAUTHENTICATED");
    server.login("ann", OTHER_PASSWORD);
    // Another user's password is not changed this way.
    let root_id = server.get("/api/me", &root).expect(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .post(
            &format!("/api/users/{root_id}/changepassword"),
            &session,
            json!({"oldPassword": PASSWORD, "newPassword": OTHER_PASSWORD}),
        )
        .problem(403, "FORBIDDEN");
    // A body without the fields is a problem, not a `succeeded: false`.
    let reply = server.post(&path, &session, json!({"newPassword": OTHER_PASSWORD}));
    assert_problem_shape(&reply);
    assert_eq!(reply.status, 400);
}

/// What a client reads from a raw connection until the server closes it or `wait` passes.
fn raw_exchange(url: &str, request: &[u8], wait: std::time::Duration) -> String {
    use std::io::{Read, Write};
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(request).unwrap();
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buffer) {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buffer[..n]);
        // One whole reply: the headers and as many bytes as they announce.
        let text = String::from_utf8_lossy(&seen);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|line| {
                line.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(|n| n.trim().parse::<usize>().unwrap())
            });
            if length.is_some_and(|length| body.len() >= length) {
                break;
            }
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn a_request_not_answered_within_the_time_limit_is_a_408_problem_with_its_trace_id() {
    let server = Server::with_options(ServerOptions {
        request_timeout: std::time::Duration::from_millis(500),
        ..test_options()
    });
    let root = server.root();
    let root_id = server.get("/api/me", &root).expect(200)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, key) = server.own_key(&root, &root_id, "timed");
    // A body announced and never sent in full: the server waits for it, then gives up.
    for (path, auth) in [
        ("/api/keys/verify", String::new()),
        ("/api/roles", format!("Authorization: Bearer {root}\r\n")),
    ] {
        let started = std::time::Instant::now();
        let reply = raw_exchange(
            &server.url,
            format!(
                "POST {path} HTTP/1.1\r\nHost: test\r\n{auth}Content-Type: application/json\r\n\
                 Content-Length: 40\r\n\r\n{{\"key\": "
            )
            .as_bytes(),
            std::time::Duration::from_secs(20),
        );
        let waited = started.elapsed();
        assert!(reply.starts_with("HTTP/1.1 408"), "{path}: {reply}");
        assert!(
            waited >= std::time::Duration::from_millis(500),
            "{path}: answered after {waited:?}"
        );
        let (head, body) = reply.split_once("\r\n\r\n").unwrap();
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["code"], "TIMEOUT", "{body}");
        assert_eq!(problem["status"], 408, "{body}");
        let trace = problem["traceId"].as_str().unwrap();
        assert!(
            head.to_ascii_lowercase()
                .contains(&format!("x-trace-id: {trace}")),
            "{head}"
        );
        assert!(head.contains("application/problem+json"), "{head}");
    }
    // A whole request is answered as ever, on its first poll or not, and the limit does not
    // outlive it: a verification well after the limit has passed since the first one.
    for _ in 0..2 {
        let verified = server.post("/api/keys/verify", "", json!({ "key": key }));
        assert_eq!(verified.expect(200)["code"], "VALID");
        std::thread::sleep(std::time::Duration::from_millis(600));
    }
    server
        .post("/api/roles", &root, json!({"name": "Timed"}))
        .expect(201);
}
