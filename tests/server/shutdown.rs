//! Graceful shutdown: what is in flight is answered, what comes after is refused.

use super::support::{client, wait_for};
use crate::common::PASSWORD;
use keyward::core::directory::Directory;
use keyward::core::model::*;
use keyward::core::secret::Secret;
use keyward::core::Result;
use keyward::server::RunningServer;
use serde_json::json;
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A directory whose sign-ins and user lists stop half-way until the test lets them go on,
/// so that a request is certainly in flight when the server is asked to stop.
struct Gated {
    inner: Arc<dyn Directory>,
    entered: Mutex<Sender<&'static str>>,
    release: Mutex<Receiver<()>>,
}

impl Gated {
    fn hold(&self, what: &'static str) {
        self.entered.lock().unwrap().send(what).unwrap();
        self.release
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(30))
            .expect("the test releases the request");
    }
}

impl Directory for Gated {
    fn needs_setup(&self) -> Result<bool> {
        self.inner.needs_setup()
    }
    fn create_first_admin(&self, admin: FirstAdmin) -> Result<User> {
        self.inner.create_first_admin(admin)
    }
    fn start_sign_in(&self, user_name: &str, password: &Secret) -> Result<SignInStep> {
        self.hold("sign_in");
        self.inner.start_sign_in(user_name, password)
    }
    fn finish_sign_in(&self, challenge_token: &Secret, code: &Secret) -> Result<SignedIn> {
        self.inner.finish_sign_in(challenge_token, code)
    }
    fn enroll_second_factor(&self, who: Enrolling<'_>) -> Result<TotpSetup> {
        self.inner.enroll_second_factor(who)
    }
    fn confirm_second_factor(&self, who: Enrolling<'_>, code: &Secret) -> Result<Enrolled> {
        self.inner.confirm_second_factor(who, code)
    }
    fn new_recovery_codes(&self, credential: &Credential, code: &Secret) -> Result<RecoveryCodes> {
        self.inner.new_recovery_codes(credential, code)
    }
    fn turn_off_second_factor(&self, credential: &Credential, code: &Secret) -> Result<()> {
        self.inner.turn_off_second_factor(credential, code)
    }
    fn remove_second_factor(&self, credential: &Credential, id: &str) -> Result<User> {
        self.inner.remove_second_factor(credential, id)
    }
    fn sign_out(&self, credential: &Credential) -> Result<()> {
        self.inner.sign_out(credential)
    }
    fn me(&self, credential: &Credential) -> Result<Me> {
        self.inner.me(credential)
    }
    fn accept_invitation(&self, token: &Secret, password: &Secret) -> Result<User> {
        self.inner.accept_invitation(token, password)
    }
    fn complete_password_reset(&self, token: &Secret, password: &Secret) -> Result<User> {
        self.inner.complete_password_reset(token, password)
    }
    fn authorize(
        &self,
        credential: &Credential,
        operation: Operation,
        target: Option<&str>,
    ) -> Result<()> {
        self.inner.authorize(credential, operation, target)
    }
    fn redeem_code(&self, code: &Secret, password: &Secret) -> Result<User> {
        self.inner.redeem_code(code, password)
    }
    fn exchange_provider_code(&self, code: &Secret, code_verifier: &Secret) -> Result<SignedIn> {
        self.inner.exchange_provider_code(code, code_verifier)
    }
    fn list_users(&self, credential: &Credential, query: &UserQuery) -> Result<Page<User>> {
        self.hold("list_users");
        self.inner.list_users(credential, query)
    }
    fn get_user(&self, credential: &Credential, id: &str) -> Result<User> {
        self.inner.get_user(credential, id)
    }
    fn find_user(&self, credential: &Credential, name_or_id: &str) -> Result<User> {
        self.inner.find_user(credential, name_or_id)
    }
    fn change_own_password(
        &self,
        credential: &Credential,
        old_password: &Secret,
        new_password: &Secret,
    ) -> Result<ChangePasswordResult> {
        self.inner
            .change_own_password(credential, old_password, new_password)
    }
    fn create_user(&self, credential: &Credential, user: NewUser) -> Result<CreatedUser> {
        self.inner.create_user(credential, user)
    }
    fn import_users(
        &self,
        credential: &Credential,
        users: Vec<NewUser>,
        dry_run: bool,
    ) -> Result<ImportReport> {
        self.inner.import_users(credential, users, dry_run)
    }
    fn update_user(&self, credential: &Credential, id: &str, update: UserUpdate) -> Result<User> {
        self.inner.update_user(credential, id, update)
    }
    fn delete_user(&self, credential: &Credential, id: &str) -> Result<()> {
        self.inner.delete_user(credential, id)
    }
    fn change_password(
        &self,
        credential: &Credential,
        id: &str,
        old_password: &Secret,
        new_password: &Secret,
    ) -> Result<ChangePasswordResult> {
        self.inner
            .change_password(credential, id, old_password, new_password)
    }
    fn reset_password(&self, credential: &Credential, id: &str) -> Result<IssuedToken> {
        self.inner.reset_password(credential, id)
    }
    fn send_invitation(&self, credential: &Credential, id: &str) -> Result<IssuedToken> {
        self.inner.send_invitation(credential, id)
    }
    fn list_roles(&self, credential: &Credential) -> Result<Vec<Role>> {
        self.inner.list_roles(credential)
    }
    fn get_role(&self, credential: &Credential, id: &str) -> Result<Role> {
        self.inner.get_role(credential, id)
    }
    fn create_role(&self, credential: &Credential, role: NewRole) -> Result<Role> {
        self.inner.create_role(credential, role)
    }
    fn update_role(&self, credential: &Credential, id: &str, update: RoleUpdate) -> Result<Role> {
        self.inner.update_role(credential, id, update)
    }
    fn delete_role(&self, credential: &Credential, id: &str) -> Result<()> {
        self.inner.delete_role(credential, id)
    }
    fn list_groups(&self, credential: &Credential) -> Result<Vec<Group>> {
        self.inner.list_groups(credential)
    }
    fn get_group(&self, credential: &Credential, id: &str) -> Result<Group> {
        self.inner.get_group(credential, id)
    }
    fn create_group(&self, credential: &Credential, group: NewGroup) -> Result<Group> {
        self.inner.create_group(credential, group)
    }
    fn update_group(
        &self,
        credential: &Credential,
        id: &str,
        update: GroupUpdate,
    ) -> Result<Group> {
        self.inner.update_group(credential, id, update)
    }
    fn delete_group(&self, credential: &Credential, id: &str) -> Result<()> {
        self.inner.delete_group(credential, id)
    }
    fn list_user_keys(&self, credential: &Credential, user_id: &str) -> Result<Vec<ApiKey>> {
        self.inner.list_user_keys(credential, user_id)
    }
    fn list_keys(&self, credential: &Credential, query: &KeyQuery) -> Result<Page<ApiKey>> {
        self.inner.list_keys(credential, query)
    }
    fn list_visible_keys(&self, credential: &Credential, query: &KeyQuery) -> Result<Page<ApiKey>> {
        self.inner.list_visible_keys(credential, query)
    }
    fn get_key(&self, credential: &Credential, id: &str) -> Result<ApiKey> {
        self.inner.get_key(credential, id)
    }
    fn create_key(
        &self,
        credential: &Credential,
        owner_id: &str,
        key: NewKey,
    ) -> Result<IssuedKey> {
        self.inner.create_key(credential, owner_id, key)
    }
    fn download_key(&self, credential: &Credential, id: &str) -> Result<IssuedKey> {
        self.inner.download_key(credential, id)
    }
    fn revoke_key(&self, credential: &Credential, id: &str) -> Result<ApiKey> {
        self.inner.revoke_key(credential, id)
    }
    fn regenerate_key(
        &self,
        credential: &Credential,
        id: &str,
        grace_seconds: u32,
    ) -> Result<IssuedKey> {
        self.inner.regenerate_key(credential, id, grace_seconds)
    }
    fn verify_key(&self, key: &str) -> Result<Verification> {
        self.inner.verify_key(key)
    }
    fn list_audit(&self, credential: &Credential, query: &AuditQuery) -> Result<Page<AuditEntry>> {
        self.inner.list_audit(credential, query)
    }
    fn get_settings(&self, credential: &Credential) -> Result<Settings> {
        self.inner.get_settings(credential)
    }
    fn update_settings(&self, credential: &Credential, update: SettingsUpdate) -> Result<Settings> {
        self.inner.update_settings(credential, update)
    }
    fn mail_setup(&self, credential: &Credential) -> Result<MailSetup> {
        self.inner.mail_setup(credential)
    }
    fn send_test_mail(&self, credential: &Credential, to: Option<&str>) -> Result<MailTest> {
        self.inner.send_test_mail(credential, to)
    }
}

fn refuses_connections(address: SocketAddr) -> bool {
    TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err()
}

#[test]
fn requests_in_flight_when_the_server_stops_are_answered_and_new_connections_refused() {
    // The directory and its first admin, prepared in-process; the token works on the server.
    let harness = crate::common::Harness::sqlite();
    let root = super::support::token_of(&harness.root());
    let (entered_tx, entered) = channel();
    let (release, release_rx) = channel();
    let gated = Gated {
        inner: Arc::clone(&harness.dir),
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
    };
    let server = RunningServer::start(
        Arc::new(gated),
        "127.0.0.1:0".parse().unwrap(),
        super::support::test_options(),
        2,
    )
    .expect("start");
    let url = server.url();
    let address = server.address;

    // Two requests of different kinds, each held inside the directory.
    let login = {
        let url = url.clone();
        std::thread::spawn(move || {
            client()
                .post(format!("{url}/api/auth/login"))
                .json(&json!({"userName": "root", "password": PASSWORD}))
                .send()
        })
    };
    let list = {
        let url = url.clone();
        let root = root.clone();
        std::thread::spawn(move || {
            client()
                .get(format!("{url}/api/users"))
                .bearer_auth(root)
                .send()
        })
    };
    let mut held: Vec<&str> = (0..2)
        .map(|_| entered.recv_timeout(Duration::from_secs(30)).expect("held"))
        .collect();
    held.sort();
    assert_eq!(held, ["list_users", "sign_in"]);

    // Stop while they are held: stop() waits for them, so it runs on its own thread.
    let stopping = std::thread::spawn(move || server.stop());
    wait_for("the listener to close", Duration::from_secs(10), || {
        refuses_connections(address)
    });
    assert!(
        !stopping.is_finished(),
        "stop() returned with requests in flight"
    );

    release.send(()).unwrap();
    release.send(()).unwrap();
    let login = login.join().unwrap().expect("the sign-in is answered");
    assert_eq!(login.status(), 200);
    let signed_in: serde_json::Value = login.json().unwrap();
    assert!(signed_in["accessToken"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    let list = list.join().unwrap().expect("the list is answered");
    assert_eq!(list.status(), 200);
    let users: serde_json::Value = list.json().unwrap();
    assert_eq!(users["pageInfo"]["totalElements"], 1);

    stopping.join().unwrap().expect("a clean stop");
    assert!(refuses_connections(address));
    let after = client().get(format!("{url}/healthz")).send();
    assert!(after.is_err(), "answered after stop: {after:?}");
}
