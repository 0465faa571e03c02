//! The directory on a Keyward server: [`Directory`] over the HTTP API of SPEC section 4, with
//! reqwest (rustls). The server's core does every check; this client only carries requests and
//! turns `application/problem+json` replies back into the core's [`Error`], so that callers
//! (the desktop app, the CLI, the contract tests) cannot tell the two backends apart.
//!
//! Calls block: callers already run directory calls off their UI or async threads.

use crate::core::directory::Directory;
use crate::core::model::*;
use crate::core::secret::Secret;
use crate::core::{Error, Result};
use crate::wire::*;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

pub mod loopback;
mod pinning;

pub use pinning::{fetch_certificate, Fingerprint, PresentedCertificate};

/// How the server's TLS certificate is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Trust {
    /// The operating system's trusted roots (the normal case).
    #[default]
    System,
    /// Exactly the certificate with this SHA-256 fingerprint, which the administrator looked
    /// at and accepted (a self-signed server). Any other certificate is refused.
    Pinned(Fingerprint),
}

pub struct RemoteDirectory {
    base: Url,
    http: Client,
}

impl RemoteDirectory {
    /// A client for the server at `url` (`https://…`, or `http://` on loopback and trusted
    /// networks). Nothing is sent until the first call.
    pub fn new(url: &str, trust: &Trust) -> Result<RemoteDirectory> {
        let base = parse_server_url(url)?;
        let builder = Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION")));
        let builder = match trust {
            Trust::System => builder.use_preconfigured_tls(pinning::system_config()),
            Trust::Pinned(fingerprint) => {
                builder.use_preconfigured_tls(pinning::pinned_config(fingerprint.clone()))
            }
        };
        let http = builder
            .build()
            .map_err(|error| Error::Internal(format!("cannot build the HTTP client: {error}")))?;
        Ok(RemoteDirectory { base, http })
    }

    /// The server's address, as shown in the window title.
    pub fn url(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    fn url_for(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    fn request(
        &self,
        method: Method,
        segments: &[&str],
        as_who: Option<&Credential>,
    ) -> RequestBuilder {
        let request = self.http.request(method, self.url_for(segments));
        match as_who {
            Some(Credential::Session(token)) => {
                request.header("Authorization", format!("Bearer {}", token.expose()))
            }
            Some(Credential::ApiKey(key)) => {
                request.header("Authorization", format!("Token {}", key.expose()))
            }
            None => request,
        }
    }

    fn get<T: DeserializeOwned>(&self, who: &Credential, segments: &[&str]) -> Result<T> {
        self.send(self.request(Method::GET, segments, Some(who)))
    }

    fn get_query<T: DeserializeOwned>(
        &self,
        who: &Credential,
        segments: &[&str],
        query: &impl Serialize,
    ) -> Result<T> {
        self.send(self.request(Method::GET, segments, Some(who)).query(query))
    }

    fn post<T: DeserializeOwned>(
        &self,
        who: Option<&Credential>,
        segments: &[&str],
        body: &impl Serialize,
    ) -> Result<T> {
        self.send(self.request(Method::POST, segments, who).json(body))
    }

    fn put<T: DeserializeOwned>(
        &self,
        who: &Credential,
        segments: &[&str],
        body: &impl Serialize,
    ) -> Result<T> {
        self.send(self.request(Method::PUT, segments, Some(who)).json(body))
    }

    fn delete(&self, who: &Credential, segments: &[&str]) -> Result<()> {
        self.send_empty(self.request(Method::DELETE, segments, Some(who)))
    }

    fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T> {
        let response = self.exchange(request)?;
        response.json::<T>().map_err(|error| {
            tracing::warn!(%error, "unreadable reply from the server");
            Error::Internal("the server's reply could not be read".into())
        })
    }

    fn send_empty(&self, request: RequestBuilder) -> Result<()> {
        self.exchange(request).map(drop)
    }

    fn exchange(&self, request: RequestBuilder) -> Result<Response> {
        let response = request.send().map_err(|error| transport_error(&error))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        match response.json::<Problem>() {
            Ok(problem) => Err(problem.into_error()),
            Err(_)
                if status == StatusCode::SERVICE_UNAVAILABLE
                    || status == StatusCode::BAD_GATEWAY =>
            {
                Err(Error::Unavailable(format!(
                    "The server is not available right now ({status})."
                )))
            }
            Err(_) => Err(Error::Internal(format!("the server answered {status}"))),
        }
    }
}

/// Checks a server address typed by a person: http or https, a host, nothing after the path.
pub fn parse_server_url(url: &str) -> Result<Url> {
    let text = url.trim();
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    let url = Url::parse(&with_scheme).map_err(|_| {
        Error::invalid(
            "url",
            "Enter the server's address, e.g. https://keyward.example.com.",
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::invalid(
            "url",
            "The address must start with https:// (or http://) and name a host.",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid("url", "Leave out the part after ? or #."));
    }
    Ok(url)
}

/// What went wrong on the way: never the request itself (it may carry a credential).
fn transport_error(error: &reqwest::Error) -> Error {
    let url = error
        .url()
        .map(|url| format!("{}://{}", url.scheme(), url.authority()))
        .unwrap_or_default();
    let chain = std::iter::successors(Some(error as &dyn std::error::Error), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ");
    if chain.contains("certificate") || chain.contains("Certificate") {
        return Error::Unavailable(format!(
            "The server at {url} presented a certificate that is not trusted. If it is your \
             team's own self-signed server, check its fingerprint and trust it in the \
             connection's settings."
        ));
    }
    if error.is_timeout() {
        return Error::Unavailable(format!("The server at {url} did not answer in time."));
    }
    tracing::info!(%url, cause = %chain, "server unreachable");
    Error::Unavailable(format!("Cannot reach the server at {url}."))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Empty {}

impl Directory for RemoteDirectory {
    fn needs_setup(&self) -> Result<bool> {
        let status: SetupStatus = self.send(self.request(Method::GET, &["api", "setup"], None))?;
        Ok(status.needs_setup)
    }

    fn create_first_admin(&self, admin: FirstAdmin) -> Result<User> {
        self.post(None, &["api", "setup"], &admin)
    }

    fn start_sign_in(&self, user_name: &str, password: &Secret) -> Result<SignInStep> {
        let request = LoginRequest {
            user_name: user_name.to_owned(),
            password: password.clone(),
        };
        let reply: LoginReply = self.post(None, &["api", "auth", "login"], &request)?;
        reply
            .into_step()
            .ok_or_else(|| Error::Internal("the server's sign-in reply could not be read".into()))
    }

    fn finish_sign_in(&self, challenge_token: &Secret, code: &Secret) -> Result<SignedIn> {
        let request = ChallengeRequest {
            challenge_token: challenge_token.clone(),
            code: Some(code.clone()),
        };
        self.post(None, &["api", "auth", "login", "totp"], &request)
    }

    fn enroll_second_factor(&self, who: Enrolling<'_>) -> Result<TotpSetup> {
        match who {
            Enrolling::Signed(credential) => {
                self.post(Some(credential), &["api", "me", "totp"], &Empty {})
            }
            Enrolling::AtSignIn(token) => {
                let request = ChallengeRequest {
                    challenge_token: token.clone(),
                    code: None,
                };
                self.post(None, &["api", "auth", "login", "enroll"], &request)
            }
        }
    }

    fn confirm_second_factor(&self, who: Enrolling<'_>, code: &Secret) -> Result<Enrolled> {
        match who {
            Enrolling::Signed(credential) => {
                let request = CodeRequest { code: code.clone() };
                self.post(
                    Some(credential),
                    &["api", "me", "totp", "confirm"],
                    &request,
                )
            }
            Enrolling::AtSignIn(token) => {
                let request = ChallengeRequest {
                    challenge_token: token.clone(),
                    code: Some(code.clone()),
                };
                let path = ["api", "auth", "login", "enroll", "confirm"];
                self.post(None, &path, &request)
            }
        }
    }

    fn new_recovery_codes(&self, credential: &Credential, code: &Secret) -> Result<RecoveryCodes> {
        let request = CodeRequest { code: code.clone() };
        let path = ["api", "me", "totp", "recovery-codes"];
        self.post(Some(credential), &path, &request)
    }

    fn turn_off_second_factor(&self, credential: &Credential, code: &Secret) -> Result<()> {
        let request = CodeRequest { code: code.clone() };
        self.send_empty(
            self.request(Method::DELETE, &["api", "me", "totp"], Some(credential))
                .json(&request),
        )
    }

    fn remove_second_factor(&self, credential: &Credential, id: &str) -> Result<User> {
        self.send(self.request(
            Method::DELETE,
            &["api", "users", id, "totp"],
            Some(credential),
        ))
    }

    fn sign_out(&self, credential: &Credential) -> Result<()> {
        self.send_empty(self.request(Method::POST, &["api", "auth", "logout"], Some(credential)))
    }

    fn me(&self, credential: &Credential) -> Result<Me> {
        self.get(credential, &["api", "me"])
    }

    fn authorize(
        &self,
        credential: &Credential,
        operation: Operation,
        target: Option<&str>,
    ) -> Result<()> {
        let request = AuthorizeRequest {
            operation,
            target: target.map(str::to_owned),
        };
        self.send_empty(
            self.request(Method::POST, &["api", "authorize"], Some(credential))
                .json(&request),
        )
    }

    fn accept_invitation(&self, token: &Secret, password: &Secret) -> Result<User> {
        let request = SetPasswordRequest {
            token: token.clone(),
            password: password.clone(),
        };
        self.post(None, &["api", "auth", "accept-invitation"], &request)
    }

    fn complete_password_reset(&self, token: &Secret, password: &Secret) -> Result<User> {
        let request = SetPasswordRequest {
            token: token.clone(),
            password: password.clone(),
        };
        self.post(None, &["api", "auth", "complete-reset"], &request)
    }

    fn sign_in_providers(&self) -> Result<Vec<ProviderEntry>> {
        let list: ProviderList =
            self.send(self.request(Method::GET, &["api", "auth", "providers"], None))?;
        Ok(list.providers)
    }

    fn provider_start_url(&self, provider: &str, start: &ProviderStart) -> Result<String> {
        let mut url = self.url_for(&["auth", "oidc", provider, "start"]);
        url.query_pairs_mut()
            .append_pair("redirect_uri", &start.redirect_uri)
            .append_pair("state", &start.state)
            .append_pair("code_challenge", &start.code_challenge)
            .append_pair("code_challenge_method", &start.code_challenge_method);
        Ok(url.into())
    }

    fn exchange_provider_code(&self, code: &Secret, code_verifier: &Secret) -> Result<SignedIn> {
        let request = ProviderExchange {
            code: code.clone(),
            code_verifier: code_verifier.clone(),
        };
        self.post(None, &["api", "auth", "oidc", "exchange"], &request)
    }

    fn redeem_code(&self, code: &Secret, password: &Secret) -> Result<User> {
        let request = SetPasswordRequest {
            token: code.clone(),
            password: password.clone(),
        };
        self.post(None, &["api", "auth", "redeem"], &request)
    }

    fn list_users(&self, credential: &Credential, query: &UserQuery) -> Result<Page<User>> {
        let list: UserList = self.get_query(credential, &["api", "users"], query)?;
        Ok(Page {
            items: list.users,
            page_info: list.page_info,
        })
    }

    fn get_user(&self, credential: &Credential, id: &str) -> Result<User> {
        self.get(credential, &["api", "users", id])
    }

    fn find_user(&self, credential: &Credential, name_or_id: &str) -> Result<User> {
        self.get(credential, &["api", "users", "lookup", name_or_id])
    }

    fn create_user(&self, credential: &Credential, user: NewUser) -> Result<CreatedUser> {
        let reply: CreatedUserReply = self.post(Some(credential), &["api", "users"], &user)?;
        Ok(created_user(reply))
    }

    fn import_users(
        &self,
        credential: &Credential,
        users: Vec<NewUser>,
        dry_run: bool,
    ) -> Result<ImportReport> {
        let request = self
            .request(Method::POST, &["api", "users", "import"], Some(credential))
            .query(&ImportQuery { dry_run })
            .json(&ImportRequest { users });
        let reply: ImportReply = self.send(request)?;
        Ok(ImportReport {
            dry_run: reply.dry_run,
            count: reply.count,
            users: reply.users.into_iter().map(created_user).collect(),
        })
    }

    fn update_user(&self, credential: &Credential, id: &str, update: UserUpdate) -> Result<User> {
        self.put(credential, &["api", "users", id], &update)
    }

    fn delete_user(&self, credential: &Credential, id: &str) -> Result<()> {
        self.delete(credential, &["api", "users", id])
    }

    fn change_password(
        &self,
        credential: &Credential,
        id: &str,
        old_password: &Secret,
        new_password: &Secret,
    ) -> Result<ChangePasswordResult> {
        let request = ChangePasswordRequest {
            old_password: old_password.clone(),
            new_password: new_password.clone(),
        };
        self.post(
            Some(credential),
            &["api", "users", id, "changepassword"],
            &request,
        )
    }

    fn change_own_password(
        &self,
        credential: &Credential,
        old_password: &Secret,
        new_password: &Secret,
    ) -> Result<ChangePasswordResult> {
        let request = ChangePasswordRequest {
            old_password: old_password.clone(),
            new_password: new_password.clone(),
        };
        self.post(Some(credential), &["api", "me", "changepassword"], &request)
    }

    fn reset_password(&self, credential: &Credential, id: &str) -> Result<IssuedToken> {
        let reply: ResetReply = self.post(
            Some(credential),
            &["api", "users", id, "resetpassword"],
            &Empty {},
        )?;
        Ok(issued_from_link(
            reply.reset_link,
            reply.expires_time,
            reply.mail,
        ))
    }

    fn send_invitation(&self, credential: &Credential, id: &str) -> Result<IssuedToken> {
        let reply: InviteReply =
            self.post(Some(credential), &["api", "users", id, "invite"], &Empty {})?;
        Ok(issued_from_link(
            reply.invite_link,
            reply.expires_time,
            reply.mail,
        ))
    }

    fn list_roles(&self, credential: &Credential) -> Result<Vec<Role>> {
        let list: RoleList = self.get(credential, &["api", "roles"])?;
        Ok(list.roles)
    }

    fn get_role(&self, credential: &Credential, id: &str) -> Result<Role> {
        self.get(credential, &["api", "roles", id])
    }

    fn create_role(&self, credential: &Credential, role: NewRole) -> Result<Role> {
        self.post(Some(credential), &["api", "roles"], &role)
    }

    fn update_role(&self, credential: &Credential, id: &str, update: RoleUpdate) -> Result<Role> {
        self.put(credential, &["api", "roles", id], &update)
    }

    fn delete_role(&self, credential: &Credential, id: &str) -> Result<()> {
        self.delete(credential, &["api", "roles", id])
    }

    fn list_groups(&self, credential: &Credential) -> Result<Vec<Group>> {
        let list: GroupList = self.get(credential, &["api", "groups"])?;
        Ok(list.groups)
    }

    fn get_group(&self, credential: &Credential, id: &str) -> Result<Group> {
        self.get(credential, &["api", "groups", id])
    }

    fn create_group(&self, credential: &Credential, group: NewGroup) -> Result<Group> {
        self.post(Some(credential), &["api", "groups"], &group)
    }

    fn update_group(
        &self,
        credential: &Credential,
        id: &str,
        update: GroupUpdate,
    ) -> Result<Group> {
        self.put(credential, &["api", "groups", id], &update)
    }

    fn delete_group(&self, credential: &Credential, id: &str) -> Result<()> {
        self.delete(credential, &["api", "groups", id])
    }

    fn list_user_keys(&self, credential: &Credential, user_id: &str) -> Result<Vec<ApiKey>> {
        let list: KeyList = self.get(credential, &["api", "users", user_id, "keys"])?;
        Ok(list.keys)
    }

    fn list_keys(&self, credential: &Credential, query: &KeyQuery) -> Result<Page<ApiKey>> {
        let list: KeyList = self.get_query(credential, &["api", "keys"], query)?;
        let page_info = list
            .page_info
            .ok_or_else(|| Error::Internal("the key list came without pageInfo".into()))?;
        Ok(Page {
            items: list.keys,
            page_info,
        })
    }

    fn list_visible_keys(&self, credential: &Credential, query: &KeyQuery) -> Result<Page<ApiKey>> {
        let list: KeyList = self.get_query(credential, &["api", "keys", "visible"], query)?;
        let page_info = list
            .page_info
            .ok_or_else(|| Error::Internal("the key list came without pageInfo".into()))?;
        Ok(Page {
            items: list.keys,
            page_info,
        })
    }

    fn get_key(&self, credential: &Credential, id: &str) -> Result<ApiKey> {
        self.get(credential, &["api", "keys", id])
    }

    fn create_key(
        &self,
        credential: &Credential,
        owner_id: &str,
        key: NewKey,
    ) -> Result<IssuedKey> {
        self.post(Some(credential), &["api", "users", owner_id, "keys"], &key)
    }

    fn download_key(&self, credential: &Credential, id: &str) -> Result<IssuedKey> {
        self.post(
            Some(credential),
            &["api", "keys", id, "download"],
            &Empty {},
        )
    }

    fn revoke_key(&self, credential: &Credential, id: &str) -> Result<ApiKey> {
        self.post(Some(credential), &["api", "keys", id, "revoke"], &Empty {})
    }

    fn regenerate_key(
        &self,
        credential: &Credential,
        id: &str,
        grace_seconds: u32,
    ) -> Result<IssuedKey> {
        let request = RegenerateRequest {
            grace_seconds: Some(grace_seconds),
        };
        self.post(
            Some(credential),
            &["api", "keys", id, "regenerate"],
            &request,
        )
    }

    fn verify_key(&self, key: &str) -> Result<Verification> {
        let request = VerifyRequest {
            key: key.to_owned(),
        };
        self.post(None, &["api", "keys", "verify"], &request)
    }

    fn list_audit(&self, credential: &Credential, query: &AuditQuery) -> Result<Page<AuditEntry>> {
        let list: AuditList = self.get_query(credential, &["api", "audit"], query)?;
        Ok(Page {
            items: list.entries,
            page_info: list.page_info,
        })
    }

    fn get_settings(&self, credential: &Credential) -> Result<Settings> {
        self.get(credential, &["api", "settings"])
    }

    fn mail_setup(&self, credential: &Credential) -> Result<MailSetup> {
        self.get(credential, &["api", "settings", "mail"])
    }

    fn send_test_mail(&self, credential: &Credential, to: Option<&str>) -> Result<MailTest> {
        let request = TestMailRequest {
            to: to.map(str::to_owned),
        };
        self.post(
            Some(credential),
            &["api", "settings", "test-mail"],
            &request,
        )
    }

    fn update_settings(&self, credential: &Credential, update: SettingsUpdate) -> Result<Settings> {
        self.put(credential, &["api", "settings"], &update)
    }
}

/// A token as the core shapes it from the link a server handed out: the link's token.
fn issued_from_link(link: String, expires_time: Time, mail: Option<MailDelivery>) -> IssuedToken {
    IssuedToken {
        token: token_from_link(&link),
        expires_time,
        link: Some(Secret::new(link)),
        mail,
    }
}

/// A created user as the core shapes it: the link's token is the invitation.
fn created_user(reply: CreatedUserReply) -> CreatedUser {
    let invitation = match (reply.invite_link, reply.expires_time) {
        (Some(link), Some(expires_time)) => {
            Some(issued_from_link(link, expires_time, reply.invitation_mail))
        }
        _ => None,
    };
    CreatedUser {
        user: reply.user,
        invitation,
    }
}

/// A shared handle, as the desktop app and the CLI hold directories.
pub fn connect(url: &str, trust: &Trust) -> Result<Arc<dyn Directory>> {
    Ok(Arc::new(RemoteDirectory::new(url, trust)?))
}
