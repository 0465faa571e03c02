//! Sign-in through an identity provider (SPEC 11) against a real OpenID Connect provider: the
//! npm package `oidc-provider` (OpenID Certified) on 127.0.0.1, its login page filled in by a
//! plain HTTP client that keeps cookies and follows redirects by hand, as a browser would.
//! The app's side (a loopback address, its state and PKCE pair) is played by the test.

use super::support::{client, free_port, test_options, Server};
use base64::Engine;
use keyward::server::oidc::OidcOptions;
use keyward::server::ServerOptions;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const CLIENT_SECRET: &str = "client-secret-of-keyward-in-tests";

/// The provider, as its own Node.js process.
pub struct Provider {
    child: Child,
    /// Kept open: the provider writes to it, and dies of a closed pipe.
    _stdout: BufReader<std::process::ChildStdout>,
    _dir: tempfile::TempDir,
}

impl Provider {
    /// Starts `oidc-provider` on `port` with one client (Keyward at `keyward_url`) and these
    /// accounts (`sub` → claims).
    pub fn start(port: u16, keyward_url: &str, accounts: Value) -> Provider {
        Provider::tampering(port, keyward_url, accounts, json!({}))
    }

    /// [`Provider::start`], with the token endpoint misbehaving for some accounts (`sub` →
    /// mode, tests/oidc/provider.mjs).
    pub fn tampering(port: u16, keyward_url: &str, accounts: Value, tamper: Value) -> Provider {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("provider.json");
        let settings = json!({
            "port": port,
            "clients": [{
                "client_id": "keyward",
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [format!("{keyward_url}/auth/oidc/callback")],
            }],
            "accounts": accounts,
            "tamper": tamper,
        });
        std::fs::write(&config, settings.to_string()).expect("write the provider's config");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/provider.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .expect("node runs (the README's test command installs oidc-provider)");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        stdout
            .read_line(&mut line)
            .expect("the provider says where it listens");
        assert!(
            line.contains("listening on"),
            "the provider did not start (run npm ci in tests/oidc): {line:?}"
        );
        Provider {
            child,
            _stdout: stdout,
            _dir: dir,
        }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn options(issuer: &str, create_users: bool) -> ServerOptions {
    ServerOptions {
        oidc: Some(OidcOptions {
            issuer: issuer.to_owned(),
            client_id: "keyward".to_owned(),
            client_secret: keyward::core::secret::Secret::new(CLIENT_SECRET.to_owned()),
            name: "Contoso SSO".to_owned(),
            ca_file: None,
            create_users,
            groups_claim: "groups".to_owned(),
        }),
        ..test_options()
    }
}

fn accounts() -> Value {
    json!({
        "sub-ext": {"email": "ext@example.com", "email_verified": true, "name": "Ext Ernal",
                    "preferred_username": "ext", "groups": ["staff"]},
        "sub-new": {"email": "newcomer@example.com", "email_verified": true,
                    "name": "New Comer", "preferred_username": "newcomer"},
        "sub-unverified": {"email": "ext@example.com", "email_verified": false},
        "sub-native": {"email": "native@example.com", "email_verified": true},
        "sub-gone": {"email": "gone@example.com", "email_verified": true},
    })
}

/// A Keyward server with the provider, and the users the tests sign in as.
struct Setup {
    server: Server,
    _provider: Provider,
    root: String,
}

fn set_up(create_users: bool) -> Setup {
    // Keyward first, with the provider not up yet: it must ask again at the first sign-in.
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let server = Server::with_options(options(&issuer, create_users));
    let provider = Provider::start(port, &server.url, accounts());
    let root = server.root();
    for (name, kind) in [
        ("ext", "EXTERNAL"),
        ("native", "NATIVE"),
        ("gone", "EXTERNAL"),
    ] {
        let mut user = json!({"userName": name, "displayName": format!("{name} user"),
                              "email": format!("{name}@example.com"), "type": kind,
                              "roles": ["viewer"]});
        if kind == "NATIVE" {
            user["password"] = json!(crate::common::PASSWORD);
        }
        server.post("/api/users", &root, user).expect(201);
    }
    let gone = server.get("/api/users?q=gone", &root).json()["users"][0].clone();
    server
        .put(
            &format!("/api/users/{}", gone["id"].as_str().unwrap()),
            &root,
            json!({"status": "INACTIVE", "updateVersion": gone["updateVersion"]}),
        )
        .expect(200);
    Setup {
        server,
        _provider: provider,
        root,
    }
}

/// The app's side of one sign-in: its loopback address, state and PKCE pair.
struct App {
    redirect_uri: String,
    state: String,
    verifier: String,
}

impl App {
    fn new() -> App {
        let verifier: String = (0..64)
            .map(|i| {
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"
                    [(rand::random::<u8>() as usize + i) % 66] as char
            })
            .collect();
        App {
            redirect_uri: format!("http://127.0.0.1:{}/done", free_port()),
            state: format!("app-state-{}", rand::random::<u32>()),
            verifier,
        }
    }

    fn challenge(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(self.verifier.as_bytes()))
    }

    fn start_url(&self, keyward: &str) -> String {
        let mut url = reqwest::Url::parse(&format!("{keyward}/auth/oidc/default/start")).unwrap();
        url.query_pairs_mut()
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("state", &self.state)
            .append_pair("code_challenge", &self.challenge())
            .append_pair("code_challenge_method", "S256");
        url.to_string()
    }
}

/// A browser: cookies per host and port, redirects followed by hand.
struct Browser {
    http: Client,
    cookies: HashMap<String, HashMap<String, String>>,
    /// Every cookie value ever set, cleared ones included.
    seen: Vec<String>,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: no_redirects(),
            cookies: HashMap::new(),
            seen: Vec::new(),
        }
    }

    fn send(
        &mut self,
        request: reqwest::blocking::RequestBuilder,
        url: &reqwest::Url,
    ) -> reqwest::blocking::Response {
        // As a browser keeps them: by host, whatever the port (RFC 6265).
        let origin = url.host_str().unwrap().to_owned();
        let jar = self.cookies.entry(origin).or_default();
        let header: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let request = if header.is_empty() {
            request
        } else {
            request.header("cookie", header.join("; "))
        };
        let response = request.send().expect("request");
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if !value.is_empty() {
                self.seen.push(value.to_owned());
            }
            if value.is_empty() || text.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
        response
    }

    /// Goes to `url` and on through redirects and the provider's login page (signing in as
    /// `login`) until the browser is sent to an address starting with `until`: that address.
    fn travel(&mut self, url: &str, login: &str, until: &str) -> Result<String, String> {
        let mut next = reqwest::Url::parse(url).unwrap();
        for _ in 0..20 {
            let request = self.http.get(next.clone());
            let response = self.send(request, &next);
            let status = response.status().as_u16();
            if let Some(location) = response.headers().get("location") {
                let target = next.join(location.to_str().unwrap()).unwrap();
                if target.as_str().starts_with(until) {
                    return Ok(target.to_string());
                }
                next = target;
                continue;
            }
            let body = response.text().unwrap_or_default();
            if status == 200 && body.contains("name=\"login\"") {
                // The provider's login page: its form posts back to the interaction.
                let action = body
                    .split("action=\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .expect("the login form's action");
                let post_url = next.join(action).unwrap();
                let form = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("prompt", "login")
                    .append_pair("login", login)
                    .append_pair("password", "any")
                    .finish();
                let request = self
                    .http
                    .post(post_url.clone())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form);
                let response = self.send(request, &post_url);
                let location = response
                    .headers()
                    .get("location")
                    .expect("the login form redirects")
                    .to_str()
                    .unwrap()
                    .to_owned();
                next = post_url.join(&location).unwrap();
                continue;
            }
            return Err(format!("{status} at {next}: {}", strip(&body)));
        }
        Err("too many redirects".to_owned())
    }
}

fn strip(html: &str) -> String {
    let mut text = String::new();
    let mut inside = false;
    for c in html.chars() {
        match c {
            '<' => inside = true,
            '>' => inside = false,
            c if !inside => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn no_redirects() -> Client {
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .use_preconfigured_tls(tls)
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The query of the address the app's loopback listener receives.
fn answer(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn exchange(keyward: &str, code: &str, verifier: &str) -> reqwest::blocking::Response {
    client()
        .post(format!("{keyward}/api/auth/oidc/exchange"))
        .json(&json!({"code": code, "codeVerifier": verifier}))
        .send()
        .unwrap()
}

/// One sign-in from the app's start to the loopback address: the query it receives.
fn sign_in(s: &Setup, app: &App, login: &str) -> HashMap<String, String> {
    let mut browser = Browser::new();
    let landed = browser
        .travel(&app.start_url(&s.server.url), login, &app.redirect_uri)
        .unwrap_or_else(|why| panic!("the browser did not come back to the app: {why}"));
    let answer = answer(&landed);
    assert_eq!(answer["state"], app.state, "the app's state comes back");
    answer
}

fn audit(s: &Setup) -> String {
    s.server
        .get("/api/audit?limit=200", &s.root)
        .json()
        .to_string()
}

#[test]
fn an_external_user_signs_in_through_the_provider_once_per_code() {
    let s = set_up(false);
    let providers = client()
        .get(format!("{}/api/auth/providers", s.server.url))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap();
    assert_eq!(
        providers,
        json!({"providers": [{"id": "default", "name": "Contoso SSO"}]})
    );

    // The provider's groups claim, mapped: "staff" at the provider is the group Staff here.
    let staff = s
        .server
        .post("/api/groups", &s.root, json!({"name": "Staff"}))
        .expect(201);
    let settings = s.server.get("/api/settings", &s.root).json();
    s.server
        .put(
            "/api/settings",
            &s.root,
            json!({"providerGroups": [{"claim": "staff", "groupId": staff["id"]}],
                   "updateVersion": settings["updateVersion"]}),
        )
        .expect(200);

    let app = App::new();
    let answer = sign_in(&s, &app, "sub-ext");
    let code = answer
        .get("code")
        .expect("a one-time code for the app")
        .clone();
    assert!(!answer.contains_key("error"), "{answer:?}");

    // A wrong verifier is refused, and uses the code up.
    let wrong = App::new();
    let refused = exchange(&s.server.url, &code, &wrong.verifier);
    assert_eq!(refused.status(), 400);
    assert!(refused.text().unwrap().contains("codeVerifier"));
    let again = exchange(&s.server.url, &code, &app.verifier);
    assert_eq!(
        again.status(),
        400,
        "a code works once, right verifier or not"
    );

    // The happy path, end to end.
    let app = App::new();
    let code = sign_in(&s, &app, "sub-ext")["code"].clone();
    let signed_in: Value = exchange(&s.server.url, &code, &app.verifier)
        .json()
        .unwrap();
    assert_eq!(signed_in["user"]["userName"], "ext");
    assert_eq!(signed_in["user"]["type"], "EXTERNAL");
    assert_eq!(
        signed_in["user"]["groups"],
        json!([staff["id"]]),
        "from the groups claim"
    );
    let token = signed_in["accessToken"].as_str().unwrap();
    let me = s.server.get("/api/me", token).expect(200);
    assert_eq!(me["userName"], "ext");
    let second = exchange(&s.server.url, &code, &app.verifier);
    assert_eq!(second.status(), 400, "a code used twice is refused");

    let log = audit(&s);
    assert!(log.contains("user.link"), "the first sign-in links: {log}");
    assert!(log.contains("signed in through Contoso SSO"), "{log}");
    assert!(log.contains("the code verifier did not match"), "{log}");
    for secret in [code.as_str(), app.verifier.as_str(), CLIENT_SECRET, token] {
        assert!(
            !log.contains(secret),
            "no code, verifier or secret in the audit log"
        );
    }
}

#[test]
fn refusals_reach_the_app_with_the_reason() {
    let s = set_up(false);
    let cases = [
        ("sub-unverified", "not verified"),
        ("sub-native", "signs in with its own password"),
        ("sub-gone", "deactivated"),
        (
            "sub-new",
            "No Keyward account has the e-mail address newcomer@example.com",
        ),
    ];
    for (login, reason) in cases {
        let app = App::new();
        let answer = sign_in(&s, &app, login);
        assert_eq!(
            answer.get("error").map(String::as_str),
            Some("access_denied"),
            "{login}"
        );
        assert!(!answer.contains_key("code"), "{login}");
        assert!(
            answer["error_description"].contains(reason),
            "{login}: {:?}",
            answer["error_description"]
        );
    }
    // The native user was not taken over: still no link, still a password sign-in.
    let log = audit(&s);
    assert!(!log.contains("user.link"), "{log}");
    assert!(
        log.contains("through Contoso SSO"),
        "refusals are audited: {log}"
    );
}

#[test]
fn a_redirect_that_is_not_loopback_is_refused_with_a_page() {
    let s = set_up(false);
    for redirect in [
        "https://evil.example.com/callback",
        "http://localhost:9999/",
        "http://127.0.0.1/",
    ] {
        let mut app = App::new();
        app.redirect_uri = redirect.to_owned();
        let reply = no_redirects()
            .get(app.start_url(&s.server.url))
            .send()
            .unwrap();
        assert_eq!(reply.status(), 400, "{redirect}");
        assert!(reply.headers().get("location").is_none());
        let page = reply.text().unwrap();
        assert!(page.contains("loopback"), "{redirect}: {page}");
    }
    // A state the server never issued (or already used) cannot finish anything.
    let reply = no_redirects()
        .get(format!(
            "{}/auth/oidc/callback?code=x&state=made-up",
            s.server.url
        ))
        .send()
        .unwrap();
    assert_eq!(reply.status(), 400);
}

#[test]
fn the_server_creates_external_users_only_when_allowed() {
    let s = set_up(true);
    let app = App::new();
    let answer = sign_in(&s, &app, "sub-new");
    // Created at the first sign-in, with no role yet: an administrator gives one (or the
    // group mapping will), so this first sign-in cannot open the console.
    assert_eq!(answer["error"], "access_denied", "{answer:?}");
    assert!(
        answer["error_description"].contains("API keys only"),
        "{answer:?}"
    );
    let users = s.server.get("/api/users?q=newcomer", &s.root).json();
    let created = &users["users"][0];
    assert_eq!(created["userName"], "newcomer");
    assert_eq!(created["displayName"], "New Comer");
    assert_eq!(created["type"], "EXTERNAL");
    let log = audit(&s);
    assert!(log.contains("external user created at first sign-in through Contoso SSO"));
    // Linked: the next sign-in finds the same user, and once a group gives it a role (an
    // external user's own roles are not edited here), it signs in.
    let group = s
        .server
        .post(
            "/api/groups",
            &s.root,
            json!({"name": "Readers", "roles": ["viewer"]}),
        )
        .expect(201);
    s.server
        .put(
            &format!("/api/users/{}", created["id"].as_str().unwrap()),
            &s.root,
            json!({"groups": [group["id"]], "updateVersion": created["updateVersion"]}),
        )
        .expect(200);
    let app = App::new();
    let code = sign_in(&s, &app, "sub-new")["code"].clone();
    let signed_in: Value = exchange(&s.server.url, &code, &app.verifier)
        .json()
        .unwrap();
    assert_eq!(signed_in["user"]["id"], created["id"]);
    // Still, a native user's e-mail is never taken over by creating or linking.
    let app = App::new();
    let answer = sign_in(&s, &app, "sub-native");
    assert_eq!(answer["error"], "access_denied");
}

#[test]
fn id_tokens_that_are_not_valid_are_refused_and_keys_may_rotate() {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let server = Server::with_options(options(&issuer, false));
    let mut tampered = accounts();
    for sub in ["sub-aud", "sub-expired", "sub-other-key", "sub-replay"] {
        tampered[sub] = json!({"email": "ext@example.com", "email_verified": true});
    }
    let tamper = json!({"sub-aud": "wrong-audience", "sub-expired": "expired",
                        "sub-other-key": "other-key", "sub-replay": "replay"});
    let provider = Provider::tampering(port, &server.url, tampered.clone(), tamper.clone());
    let root = server.root();
    server
        .post(
            "/api/users",
            &root,
            json!({"userName": "ext", "displayName": "Ext", "email": "ext@example.com",
                   "type": "EXTERNAL", "roles": ["viewer"]}),
        )
        .expect(201);
    let s = Setup {
        server,
        _provider: provider,
        root,
    };
    // The replayed token's first sign-in is a good one (and links the account).
    let app = App::new();
    assert!(sign_in(&s, &app, "sub-replay").contains_key("code"));
    for (login, why) in [
        ("sub-aud", "audience"),
        ("sub-expired", "xpired"),
        ("sub-other-key", "ignature"),
        ("sub-replay", "once"),
    ] {
        let app = App::new();
        let answer = sign_in(&s, &app, login);
        assert_eq!(
            answer.get("error").map(String::as_str),
            Some("access_denied"),
            "{login}"
        );
        let description = &answer["error_description"];
        assert!(
            description.contains("ID token is not valid") && description.contains(why),
            "{login}: {description}"
        );
    }
    let log = audit(&s);
    assert!(
        log.contains("ID token is not valid"),
        "refusals are audited: {log}"
    );

    // The provider restarts with a new signing key: the server fetches the keys again.
    let Setup {
        server,
        _provider: provider,
        root,
    } = s;
    drop(provider);
    let provider = Provider::tampering(port, &server.url, tampered, tamper);
    let s = Setup {
        server,
        _provider: provider,
        root,
    };
    let app = App::new();
    let code = sign_in(&s, &app, "sub-ext")["code"].clone();
    let signed_in: Value = exchange(&s.server.url, &code, &app.verifier)
        .json()
        .unwrap();
    assert_eq!(signed_in["user"]["userName"], "ext");
}

/// Two real `keyward serve` processes on `db` behind one public address (B's): the app starts
/// at A, the provider sends the browser back to B, and the one-time code works once, at
/// either. Their logs hold no code, state, verifier, token or secret.
fn two_servers_share_sign_ins(db: &str) {
    use super::instances::Instance;
    let logs = tempfile::tempdir().unwrap();
    let provider_port = free_port();
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let b_port = free_port();
    let public = format!("http://127.0.0.1:{b_port}");
    let oidc = [
        "--oidc-issuer",
        issuer.as_str(),
        "--oidc-client-id",
        "keyward",
        "--oidc-name",
        "Contoso SSO",
        "--public-url",
        public.as_str(),
    ];
    let env = [("KEYWARD_OIDC_CLIENT_SECRET", CLIENT_SECRET)];
    let (log_a, log_b) = (logs.path().join("a.log"), logs.path().join("b.log"));
    let a = Instance::launch(free_port(), db, &oidc, &env, Some(&log_a));
    let b = Instance::launch(b_port, db, &oidc, &env, Some(&log_b));
    let _provider = Provider::start(provider_port, &public, accounts());
    let root = a.login("root", crate::common::PASSWORD);
    let created = a.post(
        "/api/users",
        &root,
        json!({"userName": "ext", "displayName": "Ext", "email": "ext@example.com",
               "type": "EXTERNAL", "roles": ["viewer"]}),
    );
    assert_eq!(created.status, 201, "{}", created.body);

    let mut secrets = vec![CLIENT_SECRET.to_owned()];
    for (start, first, second) in [(&a, &b, &a), (&b, &a, &b)] {
        let app = App::new();
        let mut browser = Browser::new();
        let landed = browser
            .travel(&app.start_url(&start.url), "sub-ext", &app.redirect_uri)
            .expect("the browser comes back to the app");
        let answer = answer(&landed);
        let code = answer
            .get("code")
            .unwrap_or_else(|| panic!("{answer:?}"))
            .clone();
        let signed_in = exchange(&first.url, &code, &app.verifier);
        assert_eq!(signed_in.status(), 200);
        let token = signed_in.json::<Value>().unwrap()["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            exchange(&second.url, &code, &app.verifier).status(),
            400,
            "the code works once, across both servers"
        );
        // Every value of the trip the browser saw, and the session.
        assert!(
            browser.seen.iter().any(|v| v.len() >= 43),
            "the trip's PKCE verifier rode in a cookie"
        );
        secrets.extend(browser.seen.iter().filter(|v| v.len() >= 16).cloned());
        secrets.extend([code, app.verifier.clone(), token]);
    }
    let audit = a.get("/api/audit?limit=200", &root).body.to_string();
    a.stop();
    b.stop();
    let logged =
        std::fs::read_to_string(&log_a).unwrap() + &std::fs::read_to_string(&log_b).unwrap();
    // The provider was started after the servers: each said so in one line, and named the
    // redirect URI to register.
    assert!(
        logged.contains("sign-ins through Contoso SSO will ask it again"),
        "{logged}"
    );
    assert!(logged.contains("/auth/oidc/callback"), "{logged}");
    for secret in &secrets {
        assert!(secret.len() >= 16, "{secret}");
        assert!(
            !logged.contains(secret.as_str()),
            "a secret in the server's log"
        );
        assert!(
            !audit.contains(secret.as_str()),
            "a secret in the audit log"
        );
    }
}

#[test]
fn two_servers_on_one_file_share_sign_ins_through_the_provider() {
    let tmp = tempfile::TempDir::new().unwrap();
    let db = tmp.path().join("directory.db");
    let db = db.to_str().unwrap();
    crate::common::keyward_init(db, None);
    two_servers_share_sign_ins(db);
}

#[test]
fn two_instances_on_postgresql_share_sign_ins_through_the_provider() {
    two_servers_share_sign_ins(&super::instances::initialised_database());
}

/// The app's side (`remote::loopback`) over the real remote directory: the provider list and
/// start address come from the server, the browser's return is answered with a page, a
/// return that is not this sign-in's changes nothing, and the code with its verifier opens
/// a session. Cancel and the time limit end a wait.
#[test]
fn the_apps_loopback_side_takes_only_its_own_return_and_opens_a_session() {
    use keyward::core::directory::Directory;
    use keyward::core::model::ProviderEntry;
    use keyward::remote::loopback::{LoopbackSignIn, NotReturned};
    use keyward::remote::{RemoteDirectory, Trust};
    use std::time::Duration;
    let s = set_up(false);
    let remote = std::sync::Arc::new(RemoteDirectory::new(&s.server.url, &Trust::System).unwrap());
    assert_eq!(
        remote.sign_in_providers().unwrap(),
        vec![ProviderEntry {
            id: "default".into(),
            name: "Contoso SSO".into()
        }]
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sign_in = LoopbackSignIn::listen().await.unwrap();
        let start = sign_in.start().clone();
        assert!(start.redirect_uri.starts_with("http://127.0.0.1:"));
        assert_eq!(start.code_challenge_method, "S256");
        let url = remote.provider_start_url("default", &start).unwrap();
        let waiting = tokio::spawn(sign_in.wait(
            "Contoso SSO",
            std::future::pending(),
            Duration::from_secs(60),
        ));
        let redirect = start.redirect_uri.clone();
        let pages = tokio::task::spawn_blocking(move || {
            let landed = Browser::new()
                .travel(&url, "sub-ext", &redirect)
                .unwrap_or_else(|why| panic!("the browser did not come back: {why}"));
            // Someone else's return first (another state), and another path: pages, no code.
            let stranger = landed.replace("state=", "state=x");
            let other = client().get(&stranger).send().unwrap();
            let elsewhere = client()
                .get(redirect.replace("/callback", "/favicon.ico"))
                .send()
                .unwrap();
            let mine = client().get(&landed).send().unwrap();
            (
                other.status().as_u16(),
                elsewhere.status().as_u16(),
                mine.status().as_u16(),
                mine.headers()["cache-control"].to_str().unwrap().to_owned(),
                mine.text().unwrap(),
            )
        })
        .await
        .unwrap();
        let (stranger, elsewhere, mine, cache, page) = pages;
        assert_eq!((stranger, elsewhere, mine), (400, 404, 200));
        assert_eq!(cache, "no-store");
        assert!(page.contains("You can close this tab"), "{page}");
        let returned = waiting.await.unwrap().expect("the code came back");
        let remote = std::sync::Arc::clone(&remote);
        let signed_in = tokio::task::spawn_blocking(move || {
            remote.exchange_provider_code(&returned.code, &returned.verifier)
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(signed_in.user.user_name, "ext");

        // Cancel ends a wait under way, and so does the time limit; neither listens on.
        let closed = |address: &str| {
            let port = reqwest::Url::parse(address).unwrap().port().unwrap();
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
        };
        let sign_in = LoopbackSignIn::listen().await.unwrap();
        let address = sign_in.start().redirect_uri.clone();
        let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
        let waiting = tokio::spawn(sign_in.wait(
            "Contoso SSO",
            async {
                let _ = cancelled.await;
            },
            Duration::from_secs(60),
        ));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!closed(&address), "listening while it waits");
        cancel.send(()).unwrap();
        assert!(matches!(
            waiting.await.unwrap(),
            Err(NotReturned::Cancelled)
        ));
        assert!(closed(&address));
        let sign_in = LoopbackSignIn::listen().await.unwrap();
        let address = sign_in.start().redirect_uri.clone();
        let late = sign_in
            .wait(
                "Contoso SSO",
                std::future::pending(),
                Duration::from_millis(50),
            )
            .await;
        assert!(matches!(late, Err(NotReturned::TimedOut)));
        assert!(closed(&address));
    });
    // A file has no provider; its start address is refused with the reason.
    let tmp = tempfile::tempdir().unwrap();
    let file = keyward::store::SqliteDirectory::open(&tmp.path().join("k.db")).unwrap();
    assert!(file.sign_in_providers().unwrap().is_empty());
    let refused = file
        .provider_start_url(
            "default",
            &keyward::core::model::ProviderStart {
                redirect_uri: "http://127.0.0.1:1/callback".into(),
                state: "s".into(),
                code_challenge: "c".into(),
                code_challenge_method: "S256".into(),
            },
        )
        .unwrap_err();
    assert!(refused.to_string().contains("on a server"), "{refused}");
}
