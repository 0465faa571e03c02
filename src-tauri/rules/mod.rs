//! The rule layer: every rule of the product, written once, over any [`Store`].
//!
//! [`StoredDirectory`] implements [`Directory`] for a store: it resolves the caller's
//! credential, checks permissions, validates input, applies the lifecycles and writes the
//! audit entries, asking the store only for rows inside transactions. A store holds SQL and
//! nothing else ([`storage`] says what it is asked); this layer holds no SQL.
//!
//! Each module is one aggregate or one concern, and none imports the one that uses it:
//! `run` (transactions on behalf of a credential, and the writer of `key_uses`) over
//! `actors` (who acts) over `verification` (API keys presented); `users`, `auth`, `keys`, `roles`, `groups` and
//! `settings` over `grants`, `tokens` and `audit`.

mod actors;
mod audit;
mod auth;
mod grants;
mod groups;
mod key_uses;
mod keys;
mod mail;
mod provider;
mod roles;
mod run;
mod second_factor;
mod settings;
pub mod storage;
mod tokens;
mod users;
mod verification;

pub use run::StoredDirectory;
pub use storage::Store;

use crate::core::access::Actor;
use crate::core::directory::Directory;
use crate::core::model::*;
use crate::core::permission::Permission;
use crate::core::secret::Secret;
use crate::core::Result;
use storage::TokenKind;

impl<S: Store> StoredDirectory<S> {
    /// Issues a token to user `id` with `issue` and, where the directory sends e-mail, mails
    /// its link to them after the commit.
    fn issue_mailed(
        &self,
        credential: &Credential,
        action: &'static str,
        id: &str,
        kind: MailKind,
        issue: fn(&dyn storage::Tx, &Actor, Time, &str) -> Result<IssuedToken>,
    ) -> Result<IssuedToken> {
        self.mutate_mailing(credential, action, Some(id), |tx, actor, now, letters| {
            let mut issued = issue(tx, actor, now, id)?;
            let user = users::load(tx, id)?;
            mail::queue_link(
                tx,
                self.mail(),
                actor,
                now,
                &user,
                kind,
                &mut issued,
                letters,
            )?;
            Ok(issued)
        })
    }
}

impl<S: Store> Directory for StoredDirectory<S> {
    fn needs_setup(&self) -> Result<bool> {
        self.look(|tx, _| Ok(!tx.has_users()?))
    }

    fn create_first_admin(&self, admin: FirstAdmin) -> Result<User> {
        auth::create_first_admin(self, &admin)
    }

    fn start_sign_in(&self, user_name: &str, password: &Secret) -> Result<SignInStep> {
        auth::sign_in(self, user_name, password)
    }

    fn finish_sign_in(&self, challenge_token: &Secret, code: &Secret) -> Result<SignedIn> {
        second_factor::finish_sign_in(self, challenge_token, code)
    }

    fn enroll_second_factor(&self, who: Enrolling<'_>) -> Result<TotpSetup> {
        second_factor::enroll(self, who)
    }

    fn confirm_second_factor(&self, who: Enrolling<'_>, code: &Secret) -> Result<Enrolled> {
        second_factor::confirm(self, who, code)
    }

    fn new_recovery_codes(&self, credential: &Credential, code: &Secret) -> Result<RecoveryCodes> {
        second_factor::new_recovery_codes(self, credential, code)
    }

    fn turn_off_second_factor(&self, credential: &Credential, code: &Secret) -> Result<()> {
        second_factor::turn_off(self, credential, code)
    }

    fn remove_second_factor(&self, credential: &Credential, id: &str) -> Result<User> {
        self.mutate(
            credential,
            "user.remove_second_factor",
            Some(id),
            |tx, actor, now| second_factor::remove(tx, actor, now, id),
        )
    }

    fn sign_out(&self, credential: &Credential) -> Result<()> {
        auth::sign_out(self, credential)
    }

    fn me(&self, credential: &Credential) -> Result<Me> {
        self.read(credential, |tx, actor, _| auth::me(tx, actor))
    }

    fn authorize(
        &self,
        credential: &Credential,
        operation: Operation,
        target: Option<&str>,
    ) -> Result<()> {
        let action = match operation {
            Operation::CreateUser => "user.create",
            Operation::ImportUsers => "user.import",
            Operation::UpdateUser => "user.update",
            Operation::ChangePassword => "user.change_password",
            Operation::CreateRole => "role.create",
            Operation::UpdateRole => "role.update",
            Operation::CreateGroup => "group.create",
            Operation::UpdateGroup => "group.update",
            Operation::CreateKey => "key.create",
            Operation::RegenerateKey => "key.regenerate",
            Operation::UpdateSettings => "settings.update",
            Operation::OwnSecondFactor => "auth.second_factor",
        };
        let target_id = target;
        let target = target.unwrap_or_default();
        self.check(
            credential,
            action,
            target_id,
            |tx, actor, now| match operation {
                Operation::CreateUser | Operation::ImportUsers => users::may_create(actor),
                Operation::UpdateUser => users::may_update(tx, actor, target).map(drop),
                Operation::ChangePassword => {
                    auth::may_change_password(actor, Some(target).filter(|t| !t.is_empty()))
                }
                Operation::CreateRole => roles::may_create(actor),
                Operation::UpdateRole => roles::may_change(tx, actor, target).map(drop),
                Operation::CreateGroup => groups::may_create(actor),
                Operation::UpdateGroup => groups::may_change(tx, actor, target).map(drop),
                Operation::CreateKey => keys::may_create(tx, actor, target).map(drop),
                Operation::RegenerateKey => keys::may_regenerate(tx, actor, now, target).map(drop),
                Operation::UpdateSettings => settings::may_update(actor),
                Operation::OwnSecondFactor => actor.require(Permission::SIGN_IN),
            },
        )
    }

    fn accept_invitation(&self, token: &Secret, password: &Secret) -> Result<User> {
        auth::redeem_token(self, Some(TokenKind::Invite), token, password)
    }

    fn complete_password_reset(&self, token: &Secret, password: &Secret) -> Result<User> {
        auth::redeem_token(self, Some(TokenKind::Reset), token, password)
    }

    fn begin_provider_sign_in(&self, start: &ProviderStart, trip: &ProviderTrip) -> Result<()> {
        provider::begin(self, start, trip)
    }

    fn resume_provider_sign_in(&self, state: &Secret) -> Result<PendingProviderSignIn> {
        provider::resume(self, state)
    }

    fn finish_provider_sign_in(
        &self,
        policy: &ProviderPolicy,
        pending: &PendingProviderSignIn,
        identity: std::result::Result<ProviderIdentity, String>,
    ) -> Result<ProviderCode> {
        provider::finish(self, policy, pending, identity)
    }

    fn exchange_provider_code(&self, code: &Secret, code_verifier: &Secret) -> Result<SignedIn> {
        provider::exchange(self, code, code_verifier)
    }

    fn redeem_code(&self, code: &Secret, password: &Secret) -> Result<User> {
        auth::redeem_token(self, None, code, password)
    }

    fn list_users(&self, credential: &Credential, query: &UserQuery) -> Result<Page<User>> {
        self.read(credential, |tx, actor, _| users::list(tx, actor, query))
    }

    fn get_user(&self, credential: &Credential, id: &str) -> Result<User> {
        self.read(credential, |tx, actor, _| users::get(tx, actor, id))
    }

    fn find_user(&self, credential: &Credential, name_or_id: &str) -> Result<User> {
        self.read(credential, |tx, actor, _| {
            users::find(tx, actor, name_or_id)
        })
    }

    fn create_user(&self, credential: &Credential, user: NewUser) -> Result<CreatedUser> {
        users::create(self, credential, &user)
    }

    fn import_users(
        &self,
        credential: &Credential,
        users: Vec<NewUser>,
        dry_run: bool,
    ) -> Result<ImportReport> {
        users::import(self, credential, &users, dry_run)
    }

    fn update_user(&self, credential: &Credential, id: &str, update: UserUpdate) -> Result<User> {
        self.mutate(credential, "user.update", Some(id), |tx, actor, now| {
            users::update(tx, actor, now, id, &update)
        })
    }

    fn delete_user(&self, credential: &Credential, id: &str) -> Result<()> {
        self.mutate(credential, "user.delete", Some(id), |tx, actor, now| {
            users::delete(tx, actor, now, id)
        })
    }

    fn change_password(
        &self,
        credential: &Credential,
        id: &str,
        old_password: &Secret,
        new_password: &Secret,
    ) -> Result<ChangePasswordResult> {
        auth::change_password(self, credential, Some(id), old_password, new_password)
    }

    fn change_own_password(
        &self,
        credential: &Credential,
        old_password: &Secret,
        new_password: &Secret,
    ) -> Result<ChangePasswordResult> {
        auth::change_password(self, credential, None, old_password, new_password)
    }

    fn reset_password(&self, credential: &Credential, id: &str) -> Result<IssuedToken> {
        self.issue_mailed(
            credential,
            "user.reset_password",
            id,
            MailKind::PasswordReset,
            auth::issue_reset,
        )
    }

    fn send_invitation(&self, credential: &Credential, id: &str) -> Result<IssuedToken> {
        self.issue_mailed(
            credential,
            "user.invite",
            id,
            MailKind::Invitation,
            auth::reissue_invitation,
        )
    }

    fn list_roles(&self, credential: &Credential) -> Result<Vec<Role>> {
        self.read(credential, |tx, actor, _| roles::list(tx, actor))
    }

    fn get_role(&self, credential: &Credential, id: &str) -> Result<Role> {
        self.read(credential, |tx, actor, _| roles::get(tx, actor, id))
    }

    fn create_role(&self, credential: &Credential, role: NewRole) -> Result<Role> {
        self.mutate(credential, "role.create", None, |tx, actor, now| {
            roles::create(tx, actor, now, &role)
        })
    }

    fn update_role(&self, credential: &Credential, id: &str, update: RoleUpdate) -> Result<Role> {
        self.mutate(credential, "role.update", Some(id), |tx, actor, now| {
            roles::update(tx, actor, now, id, &update)
        })
    }

    fn delete_role(&self, credential: &Credential, id: &str) -> Result<()> {
        self.mutate(credential, "role.delete", Some(id), |tx, actor, now| {
            roles::delete(tx, actor, now, id)
        })
    }

    fn list_groups(&self, credential: &Credential) -> Result<Vec<Group>> {
        self.read(credential, |tx, actor, _| groups::list(tx, actor))
    }

    fn get_group(&self, credential: &Credential, id: &str) -> Result<Group> {
        self.read(credential, |tx, actor, _| groups::get(tx, actor, id))
    }

    fn create_group(&self, credential: &Credential, group: NewGroup) -> Result<Group> {
        self.mutate(credential, "group.create", None, |tx, actor, now| {
            groups::create(tx, actor, now, &group)
        })
    }

    fn update_group(
        &self,
        credential: &Credential,
        id: &str,
        update: GroupUpdate,
    ) -> Result<Group> {
        self.mutate(credential, "group.update", Some(id), |tx, actor, now| {
            groups::update(tx, actor, now, id, &update)
        })
    }

    fn delete_group(&self, credential: &Credential, id: &str) -> Result<()> {
        self.mutate(credential, "group.delete", Some(id), |tx, actor, now| {
            groups::delete(tx, actor, now, id)
        })
    }

    fn list_user_keys(&self, credential: &Credential, user_id: &str) -> Result<Vec<ApiKey>> {
        self.read(credential, |tx, actor, now| {
            keys::list_for_user(tx, actor, now, user_id)
        })
    }

    fn list_keys(&self, credential: &Credential, query: &KeyQuery) -> Result<Page<ApiKey>> {
        self.read(credential, |tx, actor, now| {
            keys::list(tx, actor, now, query)
        })
    }

    fn list_visible_keys(&self, credential: &Credential, query: &KeyQuery) -> Result<Page<ApiKey>> {
        self.read(credential, |tx, actor, now| {
            keys::list_visible(tx, actor, now, query)
        })
    }

    fn get_key(&self, credential: &Credential, id: &str) -> Result<ApiKey> {
        self.read(credential, |tx, actor, now| keys::get(tx, actor, now, id))
    }

    fn create_key(
        &self,
        credential: &Credential,
        owner_id: &str,
        key: NewKey,
    ) -> Result<IssuedKey> {
        self.mutate(
            credential,
            "key.create",
            Some(owner_id),
            |tx, actor, now| keys::create(tx, actor, now, owner_id, &key),
        )
    }

    fn download_key(&self, credential: &Credential, id: &str) -> Result<IssuedKey> {
        self.mutate(credential, "key.download", Some(id), |tx, actor, now| {
            keys::download(tx, actor, now, id)
        })
    }

    fn revoke_key(&self, credential: &Credential, id: &str) -> Result<ApiKey> {
        self.mutate(credential, "key.revoke", Some(id), |tx, actor, now| {
            keys::revoke(tx, actor, now, id)
        })
    }

    fn regenerate_key(
        &self,
        credential: &Credential,
        id: &str,
        grace_seconds: u32,
    ) -> Result<IssuedKey> {
        self.mutate(credential, "key.regenerate", Some(id), |tx, actor, now| {
            keys::regenerate(tx, actor, now, id, grace_seconds)
        })
    }

    fn verify_key(&self, key: &str) -> Result<Verification> {
        // One statement: no snapshot needed.
        let (verification, touch) = self.look_up(|tx, now| verification::verify(tx, key, now))?;
        self.record_key_use(touch)?;
        Ok(verification)
    }

    fn verify_key_now(&self, key: &str) -> Option<Result<Verification>> {
        let found = self.look_up_now(|tx, now| verification::verify(tx, key, now))?;
        Some(found.and_then(|(verification, touch)| {
            self.record_key_use(touch)?;
            Ok(verification)
        }))
    }

    fn list_audit(&self, credential: &Credential, query: &AuditQuery) -> Result<Page<AuditEntry>> {
        self.read(credential, |tx, actor, _| audit::list(tx, actor, query))
    }

    fn get_settings(&self, credential: &Credential) -> Result<Settings> {
        self.read(credential, |tx, actor, _| settings::get(tx, actor))
    }

    fn mail_setup(&self, credential: &Credential) -> Result<MailSetup> {
        settings::mail_setup(self, credential)
    }

    fn send_test_mail(&self, credential: &Credential, to: Option<&str>) -> Result<MailTest> {
        settings::send_test_mail(self, credential, to)
    }

    fn update_settings(&self, credential: &Credential, update: SettingsUpdate) -> Result<Settings> {
        self.mutate(credential, "settings.update", None, |tx, actor, now| {
            settings::update(tx, actor, now, &update)
        })
    }
}
