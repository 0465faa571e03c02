//! Two real `keyward serve` processes on one PostgreSQL database: one directory, whichever
//! instance answers, and every rule that reads and then writes holding while both write.

use super::support::{client, free_port, wait_for};
use crate::common::postgres::server;
use crate::common::{OTHER_PASSWORD, PASSWORD};
use keyward::core::permission::BuiltinRole;
use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::Duration;

/// A `keyward serve` process; killed when dropped.
pub struct Instance {
    child: Child,
    pub url: String,
    http: Client,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reply: status and JSON body (null when there is none).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Instance {
    /// `keyward serve --db DB` on a free port, once it answers.
    pub fn start(db: &str) -> Instance {
        Instance::start_with(db, &[])
    }

    /// [`Instance::start`] with more options for `keyward serve`.
    pub fn start_with(db: &str, options: &[&str]) -> Instance {
        Instance::launch(free_port(), db, options, &[], None)
    }

    /// `keyward serve` on `port` with these options and environment variables; with `log`,
    /// its log (at the default level, a line per request) goes to that file, else warnings
    /// go to the test's output.
    pub fn launch(
        port: u16,
        db: &str,
        options: &[&str],
        env: &[(&str, &str)],
        log: Option<&std::path::Path>,
    ) -> Instance {
        let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
        command
            .args(["serve", "--db", db, "--bind", &format!("127.0.0.1:{port}")])
            .args(["--threads", "2", "--sign-ins-per-minute", "100000"])
            .args(options)
            .envs(env.iter().copied())
            .env_remove("KEYWARD_DB")
            .stdout(Stdio::null());
        match log {
            Some(path) => command
                .env("KEYWARD_LOG", "info")
                .stderr(std::fs::File::create(path).expect("the log file")),
            None => command.env("KEYWARD_LOG", "warn").stderr(Stdio::inherit()),
        };
        let child = command.spawn().expect("keyward serve starts");
        let instance = Instance {
            child,
            url: format!("http://127.0.0.1:{port}"),
            http: client(),
        };
        wait_for("keyward serve to answer", Duration::from_secs(30), || {
            instance
                .http
                .get(format!("{}/healthz", instance.url))
                .send()
                .is_ok_and(|r| r.status().is_success())
        });
        instance
    }

    /// Stops the process with SIGTERM, as an operator would, and waits for it.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    pub fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = request.send().expect("the instance answers");
        let status = reply.status().as_u16();
        let text = reply.text().unwrap_or_default();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    pub fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, token, None)
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, token, Some(body))
    }

    pub fn put(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, token, Some(body))
    }

    pub fn login(&self, user: &str, password: &str) -> String {
        let answer = self.post(
            "/api/auth/login",
            "",
            json!({"userName": user, "password": password}),
        );
        assert_eq!(answer.status, 200, "sign in as {user}: {}", answer.body);
        answer.body["accessToken"].as_str().unwrap().to_owned()
    }

    pub fn add_user(&self, token: &str, name: &str, roles: &[&str]) -> String {
        let answer = self.post(
            "/api/users",
            token,
            json!({"userName": name, "displayName": name, "email": format!("{name}@example.com"),
                   "password": PASSWORD, "roles": roles}),
        );
        assert_eq!(answer.status, 201, "{}", answer.body);
        answer.body["id"].as_str().unwrap().to_owned()
    }
}

/// A new database with its first SuperAdmin `root`, made by `keyward init`.
pub fn initialised_database() -> String {
    initialised_database_on(server())
}

fn initialised_database_on(server: &crate::common::postgres::PgServer) -> String {
    let url = server.new_database();
    crate::common::keyward_init(&url, None);
    url
}

/// Runs each job on its own thread, all released at the same moment.
fn at_once<T: Send + 'static>(jobs: Vec<Box<dyn FnOnce() -> T + Send>>) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(jobs.len()));
    let threads: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                job()
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn a_change_made_through_one_instance_holds_at_once_on_the_other() {
    let db = initialised_database();
    let (a, b) = (Instance::start(&db), Instance::start(&db));
    // A session made on one instance works on the other.
    let root = a.login("root", PASSWORD);
    assert_eq!(b.get("/api/me", &root).body["userName"], "root");
    let root_id = b.get("/api/me", &root).body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A key made on B verifies on A, and once revoked on A no longer verifies on B.
    let issued = b.post(
        &format!("/api/users/{root_id}/keys"),
        &root,
        json!({"name": "deploy", "description": ""}),
    );
    assert_eq!(issued.status, 201, "{}", issued.body);
    let key = issued.body["key"].as_str().unwrap().to_owned();
    let key_id = issued.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        a.post("/api/keys/verify", "", json!({"key": key})).body["code"],
        "VALID"
    );
    assert_eq!(
        a.post(&format!("/api/keys/{key_id}/revoke"), &root, json!({}))
            .status,
        200
    );
    assert_eq!(
        b.post("/api/keys/verify", "", json!({"key": key})).body["code"],
        "REVOKED"
    );
    // A user deactivated on A loses their session on B at once.
    let ann_id = a.add_user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let ann = b.login("ann", PASSWORD);
    assert_eq!(b.get("/api/users", &ann).status, 200);
    let version = a.get(&format!("/api/users/{ann_id}"), &root).body["updateVersion"].clone();
    let deactivated = a.put(
        &format!("/api/users/{ann_id}"),
        &root,
        json!({"status": "INACTIVE", "updateVersion": version}),
    );
    assert_eq!(deactivated.status, 200, "{}", deactivated.body);
    assert_eq!(b.get("/api/me", &ann).status, 401);
    // A role changed on B applies on A for the very next request.
    let bob_id = b.add_user(&root, "bob", &[BuiltinRole::Operator.id()]);
    let bob = a.login("bob", PASSWORD);
    assert_eq!(
        a.get("/api/keys", &bob).status,
        200,
        "Operators see every key"
    );
    let version = b.get(&format!("/api/users/{bob_id}"), &root).body["updateVersion"].clone();
    let demoted = b.put(
        &format!("/api/users/{bob_id}"),
        &root,
        json!({"roles": [BuiltinRole::Viewer.id()], "updateVersion": version}),
    );
    assert_eq!(demoted.status, 200, "{}", demoted.body);
    assert_eq!(a.get("/api/keys", &bob).status, 403, "a Viewer does not");
    // The per-user lockout counts failures on both instances: it is in the database.
    b.add_user(&root, "carl", &[BuiltinRole::Viewer.id()]);
    for attempt in 0..5 {
        let instance = if attempt % 2 == 0 { &a } else { &b };
        let refused = instance.post(
            "/api/auth/login",
            "",
            json!({"userName": "carl", "password": "not the password at all"}),
        );
        assert_eq!(refused.status, 401, "attempt {attempt}");
    }
    for instance in [&a, &b] {
        let locked = instance.post(
            "/api/auth/login",
            "",
            json!({"userName": "carl", "password": PASSWORD}),
        );
        assert_eq!(locked.status, 429, "{}", locked.body);
    }
}

#[test]
fn db_connections_caps_what_an_instance_holds_open_under_load() {
    let db = initialised_database();
    let instance = Instance::start_with(&db, &["--db-connections", "2"]);
    let root = instance.login("root", PASSWORD);
    let name = db
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let mut watcher = postgres::Client::connect(&server().admin_url(), postgres::NoTls).unwrap();
    let mut held = || -> i64 {
        watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = $1 AND application_name = 'keyward'",
                &[&name],
            )
            .unwrap()
            .get(0)
    };
    // Sixteen clients at once, each reading and writing, for about two seconds.
    let url = instance.url.clone();
    let load: Vec<Box<dyn FnOnce() -> u16 + Send>> = (0..16)
        .map(|i| {
            let (url, root) = (url.clone(), root.clone());
            Box::new(move || {
                let http = client();
                let until = std::time::Instant::now() + Duration::from_secs(2);
                let mut worst = 200;
                let mut n = 0;
                while std::time::Instant::now() < until {
                    let status = if n % 4 == 0 {
                        http.post(format!("{url}/api/users"))
                            .bearer_auth(&root)
                            .json(&json!({"userName": format!("u{i}x{n}"),
                                "displayName": "U", "email": format!("u{i}x{n}@example.com")}))
                            .send()
                    } else {
                        http.get(format!("{url}/api/users"))
                            .bearer_auth(&root)
                            .send()
                    }
                    .map(|r| r.status().as_u16())
                    .unwrap_or(599);
                    worst = worst.max(status);
                    n += 1;
                }
                worst
            }) as Box<dyn FnOnce() -> u16 + Send>
        })
        .collect();
    let loading = std::thread::spawn(move || at_once(load));
    let mut most = 0;
    while !loading.is_finished() {
        most = most.max(held());
        std::thread::sleep(Duration::from_millis(20));
    }
    let worst = loading.join().unwrap();
    assert!(
        worst.iter().all(|&s| s < 300),
        "every request succeeds: {worst:?}"
    );
    assert!(most >= 1, "the instance was seen connected");
    assert!(most <= 2, "{most} connections held with --db-connections 2");
    drop(instance);
    // A directory file has no pool to size: said, not ignored.
    let tmp = tempfile::TempDir::new().unwrap();
    let file = tmp.path().join("d.db");
    let out = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args([
            "serve",
            "--db",
            file.to_str().unwrap(),
            "--db-connections",
            "4",
        ])
        .env_remove("KEYWARD_DB")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--db-connections sizes the connections"),
        "{out:?}"
    );
}

#[test]
fn rules_that_read_then_write_hold_with_two_instances_writing_at_once() {
    let db = initialised_database();
    let (a, b) = (
        Arc::new(Instance::start(&db)),
        Arc::new(Instance::start(&db)),
    );
    let root = a.login("root", PASSWORD);
    let root_id = a.get("/api/me", &root).body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let super_admin = BuiltinRole::SuperAdmin.id();

    // Two SuperAdmins demoting each other through both instances, 100 rounds: never none.
    let sam_id = a.add_user(&root, "sam", &[super_admin]);
    let sam = b.login("sam", PASSWORD);
    for round in 0..100 {
        let version =
            |id: &str| a.get(&format!("/api/users/{id}"), &root).body["updateVersion"].clone();
        let (root_version, sam_version) = (version(&root_id), version(&sam_id));
        let jobs: Vec<Box<dyn FnOnce() -> u16 + Send>> = vec![
            {
                let (a, root, sam_id) = (Arc::clone(&a), root.clone(), sam_id.clone());
                Box::new(move || {
                    a.put(
                        &format!("/api/users/{sam_id}"),
                        &root,
                        json!({"roles": [BuiltinRole::Administrator.id()],
                               "updateVersion": sam_version}),
                    )
                    .status
                })
            },
            {
                let (b, sam, root_id) = (Arc::clone(&b), sam.clone(), root_id.clone());
                Box::new(move || {
                    b.put(
                        &format!("/api/users/{root_id}"),
                        &sam,
                        json!({"roles": [BuiltinRole::Administrator.id()],
                               "updateVersion": root_version}),
                    )
                    .status
                })
            },
        ];
        let statuses = at_once(jobs);
        assert!(
            statuses.iter().filter(|s| **s == 200).count() <= 1,
            "round {round}: both demoted each other: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| [200, 403, 409].contains(s)),
            "{statuses:?}"
        );
        // Whoever is still a SuperAdmin restores the other.
        let (keeper, keeper_token, other) = if statuses[0] == 200 {
            (&a, &root, &sam_id)
        } else {
            (&b, &sam, &root_id)
        };
        let holders = keeper.get(&format!("/api/users?role={super_admin}"), keeper_token);
        assert_eq!(holders.status, 200, "round {round}: {}", holders.body);
        assert!(holders.body["pageInfo"]["totalElements"].as_u64().unwrap() >= 1);
        let current = keeper
            .get(&format!("/api/users/{other}"), keeper_token)
            .body;
        if current["roles"] != json!([super_admin]) {
            let restored = keeper.put(
                &format!("/api/users/{other}"),
                keeper_token,
                json!({"roles": [super_admin], "updateVersion": current["updateVersion"]}),
            );
            assert_eq!(restored.status, 200, "{}", restored.body);
        }
    }

    // A PENDING key downloaded through both at the same moment reveals exactly one secret.
    let robot = a.post(
        "/api/users",
        &root,
        json!({"userName": "robot", "displayName": "Robot", "email": "robot@example.com",
               "status": "ACTIVE", "roles": [BuiltinRole::ApiUser.id()]}),
    );
    let robot_id = robot.body["id"].as_str().unwrap().to_owned();
    for round in 0..10 {
        let pending = a.post(
            &format!("/api/users/{robot_id}/keys"),
            &root,
            json!({"name": format!("key {round}"), "description": ""}),
        );
        let key_id = pending.body["id"].as_str().unwrap().to_owned();
        let jobs: Vec<Box<dyn FnOnce() -> Answer + Send>> = [&a, &b]
            .into_iter()
            .map(|instance| {
                let (instance, root, key_id) = (Arc::clone(instance), root.clone(), key_id.clone());
                Box::new(move || {
                    instance.post(&format!("/api/keys/{key_id}/download"), &root, json!({}))
                }) as Box<dyn FnOnce() -> Answer + Send>
            })
            .collect();
        let answers = at_once(jobs);
        let secrets: Vec<&Value> = answers
            .iter()
            .filter(|a| a.status == 200)
            .map(|a| &a.body["key"])
            .collect();
        assert_eq!(
            secrets.len(),
            1,
            "round {round}: {:?}",
            answers.iter().map(|a| a.status).collect::<Vec<_>>()
        );
        assert!(secrets[0].is_string());
        assert!(answers.iter().any(|a| a.status == 409));
    }

    // One invitation accepted through both at once succeeds once.
    for round in 0..10 {
        let invited = a.post(
            "/api/users",
            &root,
            json!({"userName": format!("ivy{round}"), "displayName": "Ivy",
                   "email": format!("ivy{round}@example.com")}),
        );
        let link = invited.body["inviteLink"].as_str().unwrap();
        let token = keyward::wire::token_from_link(link).expose().to_owned();
        let jobs: Vec<Box<dyn FnOnce() -> u16 + Send>> = [&a, &b]
            .into_iter()
            .map(|instance| {
                let (instance, token) = (Arc::clone(instance), token.clone());
                Box::new(move || {
                    instance
                        .post(
                            "/api/auth/accept-invitation",
                            "",
                            json!({"token": token, "password": OTHER_PASSWORD}),
                        )
                        .status
                }) as Box<dyn FnOnce() -> u16 + Send>
            })
            .collect();
        let mut statuses = at_once(jobs);
        statuses.sort();
        assert_eq!(statuses, [200, 400], "round {round}");
    }

    // 32 writers on 4 users across both instances lose no update.
    let users: Vec<String> = (0..4)
        .map(|n| a.add_user(&root, &format!("edited{n}"), &[BuiltinRole::Viewer.id()]))
        .collect();
    let initial: Vec<i64> = users
        .iter()
        .map(|id| {
            a.get(&format!("/api/users/{id}"), &root).body["updateVersion"]
                .as_i64()
                .unwrap()
        })
        .collect();
    let jobs: Vec<Box<dyn FnOnce() -> Vec<u64> + Send>> = (0..32)
        .map(|writer| {
            let instance = Arc::clone(if writer % 2 == 0 { &a } else { &b });
            let (root, users) = (root.clone(), users.clone());
            Box::new(move || {
                let mut succeeded = vec![0u64; users.len()];
                for round in 0..15 {
                    let which = (writer + round) % users.len();
                    let path = format!("/api/users/{}", users[which]);
                    let version = instance.get(&path, &root).body["updateVersion"].clone();
                    let answer = instance.put(
                        &path,
                        &root,
                        json!({"displayName": format!("w{writer} r{round}"), "updateVersion": version}),
                    );
                    match answer.status {
                        200 => succeeded[which] += 1,
                        409 => {}
                        other => panic!("writer {writer}: {other} {}", answer.body),
                    }
                }
                succeeded
            }) as Box<dyn FnOnce() -> Vec<u64> + Send>
        })
        .collect();
    let results = at_once(jobs);
    for (n, id) in users.iter().enumerate() {
        let succeeded: u64 = results.iter().map(|r| r[n]).sum();
        let version = a.get(&format!("/api/users/{id}"), &root).body["updateVersion"]
            .as_i64()
            .unwrap();
        assert_eq!(
            (version - initial[n]) as u64,
            succeeded,
            "user {n}: every acknowledged update counted once"
        );
        assert!(succeeded > 0);
    }
}

#[test]
fn a_database_that_goes_away_is_503_and_the_server_recovers_when_it_is_back() {
    let pg = crate::common::postgres::PgServer::start_own();
    let db = initialised_database_on(&pg);
    let a = Instance::start(&db);
    let root = a.login("root", PASSWORD);
    assert_eq!(a.get("/api/users", &root).status, 200);
    pg.stop();
    let new_user = json!({"userName": "ann", "displayName": "Ann", "email": "ann@example.com",
                          "password": PASSWORD});
    for answer in [
        a.get("/api/users", &root),
        a.post("/api/users", &root, new_user.clone()),
        // A well-formed key: a malformed one is refused without the database.
        a.post(
            "/api/keys/verify",
            "",
            json!({"key": keyward::core::secret::generate_key().expose()}),
        ),
    ] {
        assert_eq!(answer.status, 503, "{}", answer.body);
        assert_eq!(answer.body["code"], "UNAVAILABLE", "{}", answer.body);
    }
    pg.start_again();
    wait_for(
        "the server to reach its database again",
        Duration::from_secs(30),
        || a.get("/api/users", &root).status == 200,
    );
    // The session survived (it is in the database), and the refused change left nothing.
    let created = a.post("/api/users", &root, new_user);
    assert_eq!(created.status, 201, "{}", created.body);
}

/// nginx balancing `upstreams` round-robin on a free port, from a configuration of the test's
/// own; stopped when dropped.
struct Balancer {
    child: Child,
    pub url: String,
    folder: tempfile::TempDir,
}

impl Drop for Balancer {
    fn drop(&mut self) {
        // SIGTERM: nginx's master stops its workers before it exits (a SIGKILL would leave
        // them running).
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Balancer {
    fn start(upstreams: &[&Instance]) -> Balancer {
        let folder = tempfile::TempDir::new().unwrap();
        let dir = folder.path().display().to_string();
        let port = free_port();
        let servers: String = upstreams
            .iter()
            .map(|i| format!("        server {};\n", i.url.trim_start_matches("http://")))
            .collect();
        let conf = format!(
            "daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 256; }}
http {{
    log_format upstream '$request_method $uri $status $upstream_addr';
    access_log {dir}/access.log upstream;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream keyward {{
{servers}    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://keyward;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
}}
"
        );
        std::fs::write(folder.path().join("nginx.conf"), conf).unwrap();
        let child = Command::new("nginx")
            .args(["-c", &format!("{dir}/nginx.conf"), "-p", &dir])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts (the README's test command installs it)");
        let balancer = Balancer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            folder,
        };
        let http = client();
        wait_for("nginx to answer", Duration::from_secs(20), || {
            http.get(format!("{}/healthz", balancer.url))
                .send()
                .is_ok_and(|r| r.status().is_success())
        });
        balancer
    }

    /// The upstream that answered each request so far, from nginx's log.
    fn upstreams_used(&self) -> Vec<String> {
        std::fs::read_to_string(self.folder.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.split_whitespace().nth(3).map(str::to_owned))
            .collect()
    }
}

#[test]
fn the_scripting_scenario_runs_through_nginx_balancing_two_instances() {
    let db = initialised_database();
    let (a, b) = (Instance::start(&db), Instance::start(&db));
    let balancer = Balancer::start(&[&a, &b]);
    let token = client()
        .post(format!("{}/api/auth/login", balancer.url))
        .json(&json!({"userName": "root", "password": PASSWORD}))
        .send()
        .unwrap()
        .json::<Value>()
        .unwrap()["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let cli = |args: &[&str], stdin: &str| {
        crate::common::run(
            Command::new(env!("CARGO_BIN_EXE_keyward"))
                .args(args)
                .args(["--server", &balancer.url])
                .env("KEYWARD_TOKEN", &token)
                .env_remove("KEYWARD_DB"),
            stdin,
        )
    };
    let ok = |ran: crate::common::Ran| ran.ok().stdout;
    ok(cli(
        &[
            "roles",
            "add",
            "--name",
            "Helpdesk",
            "--permission",
            "SIGN_IN",
            "--permission",
            "VIEW_USER",
        ],
        "",
    ));
    ok(cli(
        &["groups", "add", "--name", "Support", "--role", "Helpdesk"],
        "",
    ));
    ok(cli(
        &[
            "users",
            "add",
            "--user-name",
            "ann",
            "--email",
            "ann@example.com",
            "--role",
            "Operator",
            "--group",
            "Support",
        ],
        "",
    ));
    let listed: Value = serde_json::from_str(&ok(cli(&["users", "list", "--json"], ""))).unwrap();
    assert_eq!(listed["pageInfo"]["totalElements"], 2);
    let key = ok(cli(
        &[
            "keys",
            "create",
            "--name",
            "deploy",
            "--expires-in-days",
            "30",
        ],
        "",
    ));
    let key = key.trim().to_owned();
    assert!(key.starts_with("kw_"), "{key}");
    for _ in 0..4 {
        assert!(ok(cli(&["keys", "verify"], &key)).starts_with("VALID"));
    }
    ok(cli(&["users", "deactivate", "ann"], ""));
    let shown: Value =
        serde_json::from_str(&ok(cli(&["users", "show", "ann", "--json"], ""))).unwrap();
    assert_eq!(shown["status"], "INACTIVE");
    let audit = ok(cli(&["audit", "--json"], ""));
    assert!(audit.contains("user.update") && !audit.contains(&key));
    // Both instances answered.
    let used: std::collections::BTreeSet<String> = balancer.upstreams_used().into_iter().collect();
    for instance in [&a, &b] {
        let address = instance.url.trim_start_matches("http://");
        assert!(used.contains(address), "{address} never answered: {used:?}");
    }
    // And nginx leaves nothing behind: its workers stop with it.
    let workers = Command::new("pgrep")
        .args(["-P", &balancer.child.id().to_string()])
        .output()
        .unwrap();
    let workers: Vec<String> = String::from_utf8_lossy(&workers.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert!(!workers.is_empty(), "nginx has workers");
    drop(balancer);
    for pid in workers {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            state.is_empty() || state.contains(") Z "),
            "an nginx worker still runs: {state}"
        );
    }
}
