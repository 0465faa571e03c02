//! A real server on 127.0.0.1 over a temporary SQLite file with a manual clock, and a raw
//! HTTP client (reqwest, no `RemoteDirectory`) that keeps every reply it saw, so that tests can
//! look at status codes, headers and JSON exactly as a client receives them.

use crate::common::{Harness, PASSWORD};
use keyward::core::model::Credential;
use keyward::server::{RunningServer, ServerOptions};
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Options for tests: the per-address sign-in limit is lifted (every client is 127.0.0.1),
/// except where a test sets it.
pub fn test_options() -> ServerOptions {
    ServerOptions {
        sign_ins_per_minute: 1_000_000,
        sign_in_burst: 1_000_000,
        ..ServerOptions::default()
    }
}

/// A plain HTTP client with short timeouts.
pub fn client() -> Client {
    client_with_timeout(Duration::from_secs(30))
}

/// reqwest is built without a default TLS provider (the app chooses ring explicitly), so the
/// test client is given one too, with no trusted roots: it speaks plain HTTP only.
pub fn client_with_timeout(timeout: Duration) -> Client {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .use_preconfigured_tls(tls)
        .build()
        .expect("HTTP client")
}

/// One reply, as the client saw it.
#[derive(Debug, Clone)]
pub struct Reply {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|error| {
            panic!(
                "{} {} answered {} with no JSON ({error}): {}",
                self.method, self.path, self.status, self.text
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "{} {}: {}",
            self.method, self.path, self.text
        );
        if self.content_type().contains("json") {
            self.json()
        } else {
            Value::Null
        }
    }

    /// Asserts a problem of this status and code, in its full shape, and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> Value {
        let problem = assert_problem_shape(self);
        assert_eq!(
            (self.status, problem["code"].as_str().unwrap_or("")),
            (status, code),
            "{} {}: {}",
            self.method,
            self.path,
            self.text
        );
        problem
    }
}

/// Every problem: `application/problem+json`, the RFC 9457 members and Keyward's, the status
/// of the response, and the trace id of the `X-Trace-Id` header.
#[track_caller]
pub fn assert_problem_shape(reply: &Reply) -> Value {
    let what = format!("{} {} → {}", reply.method, reply.path, reply.status);
    assert!(
        reply.content_type().starts_with("application/problem+json"),
        "{what}: content type {:?}: {}",
        reply.content_type(),
        reply.text
    );
    let problem = reply.json();
    for member in [
        "type", "title", "status", "detail", "errors", "traceId", "code",
    ] {
        assert!(
            problem.get(member).is_some(),
            "{what}: no `{member}`: {problem}"
        );
    }
    assert!(
        problem["type"].as_str().is_some_and(|t| !t.is_empty()),
        "{what}: {problem}"
    );
    assert!(
        problem["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{what}: {problem}"
    );
    assert!(
        problem["detail"].as_str().is_some_and(|t| !t.is_empty()),
        "{what}: {problem}"
    );
    assert!(
        problem["code"].as_str().is_some_and(|t| !t.is_empty()),
        "{what}: {problem}"
    );
    assert_eq!(problem["status"], json!(reply.status), "{what}: {problem}");
    assert!(problem["errors"].is_object(), "{what}: {problem}");
    let trace = reply.header("x-trace-id").expect("an X-Trace-Id header");
    assert!(!trace.is_empty());
    assert_eq!(problem["traceId"], json!(trace), "{what}");
    problem
}

/// What a request carries: nothing, a JSON body, or raw bytes with a content type.
pub enum Body {
    Empty,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

/// A server with its directory (reachable in-process through `h.dir` for arranging data) and
/// a client that records every reply.
pub struct Server {
    pub h: Harness,
    pub url: String,
    http: Client,
    pub seen: Mutex<Vec<Reply>>,
}

impl Server {
    pub fn start() -> Server {
        Server::with_options(test_options())
    }

    /// A server whose directory sends e-mail through `mailer`.
    pub fn with_mailer(mailer: Arc<dyn keyward::core::mail::Mailer>) -> Server {
        Server::mailing(Harness::sqlite(), mailer)
    }

    /// A server over the harness's file and clock (again, after [`Server::stop`]) whose
    /// directory sends e-mail through `mailer`, with links to itself.
    pub fn mailing(mut h: Harness, mailer: Arc<dyn keyward::core::mail::Mailer>) -> Server {
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        h.dir = h.reopen(Some((mailer, keyward::wire::mail_links(&url))));
        let bind = format!("127.0.0.1:{port}").parse().expect("address");
        Server::bound(h, test_options(), bind)
    }

    /// Stops the server and its directory (the e-mail worker too), keeping the file and
    /// clock for [`Server::mailing`].
    pub fn stop(mut self) -> Harness {
        if let Some(server) = self.h.server.take() {
            server.stop().expect("server stops");
        }
        // Dropping the directory stops its e-mail worker, as a stopping server does.
        self.h.dir = self.h.reopen(None);
        self.h
    }

    pub fn with_options(options: ServerOptions) -> Server {
        Server::around(Harness::sqlite(), options)
    }

    fn around(h: Harness, options: ServerOptions) -> Server {
        Server::bound(h, options, "127.0.0.1:0".parse().expect("address"))
    }

    fn bound(mut h: Harness, options: ServerOptions, bind: std::net::SocketAddr) -> Server {
        let server =
            RunningServer::start(Arc::clone(&h.dir), bind, options, 2).expect("start server");
        let url = server.url();
        h.server = Some(server);
        Server {
            h,
            url,
            http: client(),
            seen: Mutex::new(Vec::new()),
        }
    }

    pub fn send(&self, method: Method, path: &str, auth: Option<&str>, body: Body) -> Reply {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.url));
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        request = match body {
            Body::Empty => request,
            Body::Json(value) => request.json(&value),
            Body::Raw(content_type, bytes) => {
                request.header("Content-Type", content_type).body(bytes)
            }
        };
        let response = request
            .send()
            .unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        let reply = Reply {
            method: method.to_string(),
            path: path.to_owned(),
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().expect("reply body"),
        };
        self.seen.lock().unwrap().push(reply.clone());
        reply
    }

    /// A request with `Authorization: Bearer <token>` (or none for `""`).
    pub fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
        let auth = (!token.is_empty()).then(|| format!("Bearer {token}"));
        let body = body.map_or(Body::Empty, Body::Json);
        self.send(method, path, auth.as_deref(), body)
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, token, None)
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body))
    }

    pub fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, token, Some(body))
    }

    pub fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, token, None)
    }

    /// Creates the first SuperAdmin `root` over HTTP and signs in; returns the session token.
    pub fn root(&self) -> String {
        self.post(
            "/api/setup",
            "",
            json!({"userName": "root", "displayName": "Root Admin",
                   "email": "root@example.com", "password": PASSWORD}),
        )
        .expect(201);
        self.login("root", PASSWORD)
    }

    /// Signs in over HTTP; returns the session token.
    pub fn login(&self, user_name: &str, password: &str) -> String {
        let signed_in = self
            .post(
                "/api/auth/login",
                "",
                json!({"userName": user_name, "password": password}),
            )
            .expect(200);
        signed_in["accessToken"]
            .as_str()
            .expect("accessToken")
            .to_owned()
    }

    /// Creates an active user with the harness password and these role ids, over HTTP.
    pub fn user(&self, root: &str, name: &str, roles: &[&str]) -> Value {
        self.post(
            "/api/users",
            root,
            json!({"userName": name, "displayName": format!("{name} Example"),
                   "email": format!("{name}@example.com"), "password": PASSWORD,
                   "roles": roles}),
        )
        .expect(201)
    }

    /// Creates a key for oneself over HTTP; returns (key id, secret).
    pub fn own_key(&self, token: &str, owner_id: &str, name: &str) -> (String, String) {
        let issued = self
            .post(
                &format!("/api/users/{owner_id}/keys"),
                token,
                json!({"name": name, "description": ""}),
            )
            .expect(201);
        (
            issued["id"].as_str().expect("id").to_owned(),
            issued["key"].as_str().expect("key").to_owned(),
        )
    }

    /// Every reply seen so far.
    pub fn replies(&self) -> Vec<Reply> {
        self.seen.lock().unwrap().clone()
    }
}

/// The text of a credential, for an `Authorization` header.
pub fn token_of(credential: &Credential) -> String {
    match credential {
        Credential::Session(token) | Credential::ApiKey(token) => token.expose().to_owned(),
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("address").port()
}

/// Waits for a condition that other threads or processes make true, polling briefly.
#[track_caller]
pub fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Signs in as the harness's `root` on a server at `url`; the session token.
pub fn sign_in_as_root(url: &str) -> String {
    let signed_in: Value = client()
        .post(format!("{url}/api/auth/login"))
        .json(&json!({"userName": "root", "password": PASSWORD}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    signed_in["accessToken"].as_str().unwrap().to_owned()
}

/// The id of whoever `token` signs in (`GET /api/me`).
pub fn my_id(url: &str, token: &str) -> String {
    let me: Value = client()
        .get(format!("{url}/api/me"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    me["id"].as_str().unwrap().to_owned()
}

/// Adds the ACTIVE user `name` with a password through the API (201 expected); its id.
pub fn add_user(url: &str, token: &str, name: &str) -> String {
    let response = client()
        .post(format!("{url}/api/users"))
        .bearer_auth(token)
        .json(
            &json!({"userName": name, "displayName": name, "email": format!("{name}@example.com"),
                      "password": "a long passphrase for tests", "roles": [], "groups": []}),
        )
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let created: Value = response.json().unwrap();
    created["id"].as_str().unwrap().to_owned()
}

/// How many users a search for `name` finds.
pub fn users_named(url: &str, token: &str, name: &str) -> u64 {
    let page: Value = client()
        .get(format!("{url}/api/users?q={name}"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    page["pageInfo"]["totalElements"].as_u64().unwrap()
}
