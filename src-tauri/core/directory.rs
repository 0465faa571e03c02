//! The directory: the one contract every backend (the local SQLite file, a remote server)
//! fulfils, and that the desktop app, the server and the CLI call. Every operation that acts
//! on behalf of someone takes their [`Credential`] and checks their permissions itself.

use super::error::{Error, Result};
use super::model::*;
use super::secret::Secret;

pub trait Directory: Send + Sync {
    // --- Setting up and signing in -------------------------------------------------------

    /// True while the directory has no user at all: the first SuperAdmin is still to be made.
    fn needs_setup(&self) -> Result<bool>;
    /// Creates the first SuperAdmin of an empty directory; refused once any user exists.
    fn create_first_admin(&self, admin: FirstAdmin) -> Result<User>;
    /// Signs in with a password: a session, or (SPEC 10) the second step still to take with
    /// its challenge. Refusals never tell whether the user name exists, nor whether the
    /// account has a second step.
    fn start_sign_in(&self, user_name: &str, password: &Secret) -> Result<SignInStep>;
    /// Signs in with a password alone: an account with a second step (or one the setting
    /// requires to set one up) is refused here and goes through [`Self::start_sign_in`].
    fn sign_in(&self, user_name: &str, password: &Secret) -> Result<SignedIn> {
        match self.start_sign_in(user_name, password)? {
            SignInStep::SignedIn(signed_in) => Ok(*signed_in),
            SignInStep::SecondFactor(_) => Err(Error::StateConflict(
                "This account signs in with a second step (a code from an authenticator app): \
                 sign in where you are asked for it."
                    .to_owned(),
            )),
            SignInStep::Enrollment(_) => Err(Error::StateConflict(
                "This directory requires this account to set up two-step sign-in first: sign \
                 in where you are walked through it."
                    .to_owned(),
            )),
        }
    }
    /// The second step of a sign-in: the challenge and a code from the authenticator, or a
    /// recovery code (used up). Wrong codes count towards the sign-in lockout.
    fn finish_sign_in(&self, challenge_token: &Secret, code: &Secret) -> Result<SignedIn>;
    /// Starts setting up a second step: a new secret, shown once, on only when confirmed.
    fn enroll_second_factor(&self, who: Enrolling<'_>) -> Result<TotpSetup>;
    /// Confirms the secret being set up with a code from it: the second step is on, with ten
    /// recovery codes shown once (and, at sign-in, the session).
    fn confirm_second_factor(&self, who: Enrolling<'_>, code: &Secret) -> Result<Enrolled>;
    /// Replaces one's recovery codes, given a current code.
    fn new_recovery_codes(&self, credential: &Credential, code: &Secret) -> Result<RecoveryCodes>;
    /// Turns one's second step off, given a current code, unless the setting requires it.
    fn turn_off_second_factor(&self, credential: &Credential, code: &Secret) -> Result<()>;
    /// Removes a user's second step (RESET_PASSWORD and the "may manage" rule).
    fn remove_second_factor(&self, credential: &Credential, id: &str) -> Result<User>;
    /// Keeps the start of a sign-in through the identity provider (SPEC 11) while the browser
    /// is there: checks what the app asked (a loopback `redirect_uri`, an S256 challenge).
    /// Only a server does this; a remote directory refuses.
    fn begin_provider_sign_in(&self, start: &ProviderStart, trip: &ProviderTrip) -> Result<()> {
        let _ = (start, trip);
        Err(provider_sign_in_on_a_server())
    }
    /// Takes (once) the sign-in whose browser came back from the provider with `state`.
    fn resume_provider_sign_in(&self, state: &Secret) -> Result<PendingProviderSignIn> {
        let _ = state;
        Err(provider_sign_in_on_a_server())
    }
    /// Decides who the provider's sign-in is (linking or creating an `EXTERNAL` user, or
    /// refusing, audited either way) and issues the one-time code for the app. `identity` is
    /// the validated ID token's, or why it was not valid.
    fn finish_provider_sign_in(
        &self,
        policy: &ProviderPolicy,
        pending: &PendingProviderSignIn,
        identity: std::result::Result<ProviderIdentity, String>,
    ) -> Result<ProviderCode> {
        let _ = (policy, pending, identity);
        Err(provider_sign_in_on_a_server())
    }
    /// The identity providers users can sign in through: a server's (SPEC 11); none on a
    /// directory file, where external users cannot sign in.
    fn sign_in_providers(&self) -> Result<Vec<ProviderEntry>> {
        Ok(Vec::new())
    }
    /// Where a browser starts a sign-in through `provider` for an app waiting as `start`
    /// says. Only a server has such an address.
    fn provider_start_url(&self, provider: &str, start: &ProviderStart) -> Result<String> {
        let _ = (provider, start);
        Err(provider_sign_in_on_a_server())
    }
    /// Opens a session for the one-time code of a provider's sign-in, given the verifier of
    /// the app's PKCE challenge. A code works once.
    fn exchange_provider_code(&self, code: &Secret, code_verifier: &Secret) -> Result<SignedIn>;
    /// Ends the session of this credential. An API key has no session to end, but must
    /// still be a valid credential.
    fn sign_out(&self, credential: &Credential) -> Result<()>;
    fn me(&self, credential: &Credential) -> Result<Me>;
    /// Whether the caller may attempt `operation` on `target` (the user, role, group or key
    /// its path names) at all, before its input is read: `Ok`, or the refusal the operation
    /// itself would give first (Forbidden; NotFound for what the caller may not see). Says
    /// nothing about the input.
    fn authorize(
        &self,
        credential: &Credential,
        operation: Operation,
        target: Option<&str>,
    ) -> Result<()>;
    /// Sets the password of an invited user from their invitation token and activates them.
    fn accept_invitation(&self, token: &Secret, password: &Secret) -> Result<User>;
    /// Sets a new password from a reset token and ends all of the user's sessions.
    fn complete_password_reset(&self, token: &Secret, password: &Secret) -> Result<User>;
    /// Sets a password from a one-time code that is either an invitation or a reset token,
    /// whichever it is (the code a local directory hands out in place of a link).
    fn redeem_code(&self, code: &Secret, password: &Secret) -> Result<User>;

    // --- Users ---------------------------------------------------------------------------

    fn list_users(&self, credential: &Credential, query: &UserQuery) -> Result<Page<User>>;
    fn get_user(&self, credential: &Credential, id: &str) -> Result<User>;
    /// The user with this id, or else the one with exactly this user name (any case).
    fn find_user(&self, credential: &Credential, name_or_id: &str) -> Result<User>;
    fn create_user(&self, credential: &Credential, user: NewUser) -> Result<CreatedUser>;
    /// Adds many users at once, all or none: any refused row refuses the whole import, with
    /// each row's field errors named `rows.INDEX.FIELD` (INDEX from 0). A dry run checks every
    /// row exactly as the import would and changes nothing.
    fn import_users(
        &self,
        credential: &Credential,
        users: Vec<NewUser>,
        dry_run: bool,
    ) -> Result<ImportReport>;
    fn update_user(&self, credential: &Credential, id: &str, update: UserUpdate) -> Result<User>;
    fn delete_user(&self, credential: &Credential, id: &str) -> Result<()>;
    /// Changes the signed-in user's own password, given the old one.
    fn change_password(
        &self,
        credential: &Credential,
        id: &str,
        old_password: &Secret,
        new_password: &Secret,
    ) -> Result<ChangePasswordResult>;
    /// Changes the password of the credential's own user, given the old one.
    fn change_own_password(
        &self,
        credential: &Credential,
        old_password: &Secret,
        new_password: &Secret,
    ) -> Result<ChangePasswordResult>;
    /// Issues a one-time reset token, valid one hour.
    fn reset_password(&self, credential: &Credential, id: &str) -> Result<IssuedToken>;
    /// Replaces an invited user's invitation token; the old one stops working.
    fn send_invitation(&self, credential: &Credential, id: &str) -> Result<IssuedToken>;

    // --- Roles and groups ----------------------------------------------------------------

    fn list_roles(&self, credential: &Credential) -> Result<Vec<Role>>;
    fn get_role(&self, credential: &Credential, id: &str) -> Result<Role>;
    fn create_role(&self, credential: &Credential, role: NewRole) -> Result<Role>;
    fn update_role(&self, credential: &Credential, id: &str, update: RoleUpdate) -> Result<Role>;
    fn delete_role(&self, credential: &Credential, id: &str) -> Result<()>;

    fn list_groups(&self, credential: &Credential) -> Result<Vec<Group>>;
    fn get_group(&self, credential: &Credential, id: &str) -> Result<Group>;
    fn create_group(&self, credential: &Credential, group: NewGroup) -> Result<Group>;
    fn update_group(&self, credential: &Credential, id: &str, update: GroupUpdate)
        -> Result<Group>;
    fn delete_group(&self, credential: &Credential, id: &str) -> Result<()>;

    // --- API keys ------------------------------------------------------------------------

    /// The keys of one user: one's own, or anyone's with VIEW_KEYS.
    fn list_user_keys(&self, credential: &Credential, user_id: &str) -> Result<Vec<ApiKey>>;
    /// Every key in the directory, paged (VIEW_KEYS).
    fn list_keys(&self, credential: &Credential, query: &KeyQuery) -> Result<Page<ApiKey>>;
    /// The keys the caller may see, paged: every key with VIEW_KEYS, else their own.
    fn list_visible_keys(&self, credential: &Credential, query: &KeyQuery) -> Result<Page<ApiKey>>;
    fn get_key(&self, credential: &Credential, id: &str) -> Result<ApiKey>;
    /// Creates a key. For oneself it is ENABLED and its secret comes back once; for another
    /// user (MANAGE_KEYS) it is PENDING with no secret until downloaded.
    fn create_key(&self, credential: &Credential, owner_id: &str, key: NewKey)
        -> Result<IssuedKey>;
    /// Generates the secret of a PENDING key (owner, or an admin for accounts that cannot sign
    /// in) and enables it. A second download is a conflict.
    fn download_key(&self, credential: &Credential, id: &str) -> Result<IssuedKey>;
    fn revoke_key(&self, credential: &Credential, id: &str) -> Result<ApiKey>;
    /// Issues a new secret; the old one keeps verifying for `grace_seconds` (0 = stops now).
    fn regenerate_key(
        &self,
        credential: &Credential,
        id: &str,
        grace_seconds: u32,
    ) -> Result<IssuedKey>;
    /// Checks a presented key, for services that authenticate with Keyward keys.
    fn verify_key(&self, key: &str) -> Result<Verification>;
    /// [`Directory::verify_key`], when it can answer without waiting: from a local file with
    /// a read connection idle. `None` otherwise (a database server, a remote directory, every
    /// connection busy): then call `verify_key` where blocking is allowed. The server calls
    /// this on its async workers, so the hottest request skips the blocking pool.
    fn verify_key_now(&self, key: &str) -> Option<Result<Verification>> {
        let _ = key;
        None
    }

    // --- Audit and settings --------------------------------------------------------------

    fn list_audit(&self, credential: &Credential, query: &AuditQuery) -> Result<Page<AuditEntry>>;
    /// Readable by console users (SIGN_IN) and MANAGE_SETTINGS: the UI needs e.g. the
    /// clipboard delay. Accounts that only use API keys cannot read them.
    fn get_settings(&self, credential: &Credential) -> Result<Settings>;
    fn update_settings(&self, credential: &Credential, update: SettingsUpdate) -> Result<Settings>;
    /// Whether e-mail is configured, and where it goes; readable as the settings are.
    fn mail_setup(&self, credential: &Credential) -> Result<MailSetup>;
    /// Sends a test message (MANAGE_SETTINGS) to `to`, or to the caller's own address, and
    /// reports what the SMTP server answered. Refused where no e-mail is configured.
    fn send_test_mail(&self, credential: &Credential, to: Option<&str>) -> Result<MailTest>;
}

fn provider_sign_in_on_a_server() -> Error {
    Error::Unavailable("Sign-in through an identity provider happens on a server.".to_owned())
}
