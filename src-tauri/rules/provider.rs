//! Sign-in through the organisation's identity provider (SPEC 11): the rules, not the
//! protocol. The server speaks OpenID Connect (`server::oidc`) and hands over a validated
//! identity; here it becomes a Keyward user (linked once by `(issuer, sub)`), or a refusal,
//! and then a session for the app that asked, through a one-time code bound to the app's
//! PKCE challenge. The provider's own second step counts: Keyward asks for no TOTP code on
//! top (ARCHITECTURE.md).

use super::audit::Record;
use super::auth;
use super::grants;
use super::run::StoredDirectory;
use super::storage::{NewUserRow, ProviderSignInRow, ProviderStep, Store, Tx};
use super::users;
use crate::core::model::*;
use crate::core::names::{DisplayName, Email, UserName};
use crate::core::secret::{generate_token, pkce_challenge, Secret};
use crate::core::{Error, FieldErrors, Result};
use chrono::TimeDelta;
use std::collections::BTreeSet;

/// Keeps the start of a sign-in while the browser is at the provider.
pub(super) fn begin<S: Store>(
    dir: &StoredDirectory<S>,
    start: &ProviderStart,
    trip: &ProviderTrip,
) -> Result<()> {
    let mut errors = FieldErrors::new();
    if let Err(why) = loopback_redirect(&start.redirect_uri) {
        errors.add("redirect_uri", why);
    }
    if start.code_challenge_method != "S256" {
        errors.add(
            "code_challenge_method",
            "Only S256 is accepted as the PKCE method.",
        );
    }
    if !is_pkce_value(&start.code_challenge) {
        errors.add(
            "code_challenge",
            "Send the S256 PKCE challenge: 43 characters of base64url.",
        );
    }
    if start.state.is_empty() || start.state.len() > 512 {
        errors.add("state", "Send a state of 1 to 512 characters.");
    }
    errors.into_result()?;
    dir.write(|tx, now| {
        tx.delete_provider_sign_ins_expired_by(now)?;
        tx.insert_provider_sign_in(
            &trip.state.digest(),
            &ProviderSignInRow {
                step: ProviderStep::Pending,
                provider: trip.provider.clone(),
                nonce: Some(trip.nonce.clone()),
                redirect_uri: start.redirect_uri.clone(),
                client_state: start.state.clone(),
                code_challenge: start.code_challenge.clone(),
                user_id: None,
                expires_time: now + TimeDelta::minutes(PROVIDER_TRIP_MINUTES),
            },
        )
    })
}

/// Takes the sign-in whose browser came back with `state`: once.
pub(super) fn resume<S: Store>(
    dir: &StoredDirectory<S>,
    state: &Secret,
) -> Result<PendingProviderSignIn> {
    let row = dir.write(|tx, _| tx.take_provider_sign_in(&state.digest()))?;
    let now = dir.now();
    match row {
        Some(row) if row.step == ProviderStep::Pending && row.expires_time > now => {
            Ok(PendingProviderSignIn {
                provider: row.provider,
                nonce: row.nonce.unwrap_or_default(),
                redirect_uri: row.redirect_uri,
                client_state: row.client_state,
                code_challenge: row.code_challenge,
            })
        }
        Some(row) if row.step == ProviderStep::Pending => Err(Error::forbidden(
            "This sign-in took too long. Start it again from the app.",
        )),
        _ => Err(Error::forbidden(
            "This sign-in is unknown or was already finished. Start it again from the app.",
        )),
    }
}

/// What the provider's sign-in comes to: the app's one-time code, or a refusal (audited,
/// and told to the app).
enum Decision {
    Code(ProviderCode),
    Refused(String),
}

pub(super) fn finish<S: Store>(
    dir: &StoredDirectory<S>,
    policy: &ProviderPolicy,
    pending: &PendingProviderSignIn,
    identity: std::result::Result<ProviderIdentity, String>,
) -> Result<ProviderCode> {
    let decision = dir.write(|tx, now| {
        let identity = match &identity {
            Ok(identity) => identity,
            Err(why) => {
                audit_refusal(tx, &policy.name, None, why, now)?;
                return Ok(Decision::Refused(why.clone()));
            }
        };
        let user = match who_is(tx, policy, identity, now)? {
            Ok(user) => user,
            Err(refusal) => return Ok(Decision::Refused(refusal)),
        };
        // Before the permission to sign in is judged: the mapping may be what grants it.
        let user = apply_group_mapping(tx, policy, user, identity, now)?;
        if let Err(refusal) = auth::may_sign_in(tx, &user) {
            let why = refusal.to_string();
            audit_refusal(tx, &policy.name, Some(&user), &why, now)?;
            return Ok(Decision::Refused(why));
        }
        let code = generate_token();
        tx.insert_provider_sign_in(
            &code.digest(),
            &ProviderSignInRow {
                step: ProviderStep::Code,
                provider: policy.name.clone(),
                nonce: None,
                redirect_uri: pending.redirect_uri.clone(),
                client_state: pending.client_state.clone(),
                code_challenge: pending.code_challenge.clone(),
                user_id: Some(user.id.clone()),
                expires_time: now + TimeDelta::seconds(PROVIDER_CODE_SECONDS),
            },
        )?;
        Ok(Decision::Code(ProviderCode {
            code,
            redirect_uri: pending.redirect_uri.clone(),
            client_state: pending.client_state.clone(),
        }))
    })?;
    match decision {
        Decision::Code(code) => Ok(code),
        Decision::Refused(why) => Err(Error::Forbidden(why)),
    }
}

/// Audits a refused sign-in through `provider`: about the user when it is known.
fn audit_refusal(
    tx: &dyn Tx,
    provider: &str,
    user: Option<&User>,
    why: &str,
    now: Time,
) -> Result<()> {
    let record = match user {
        Some(user) => Record::about_oneself(&user.id, &user.user_name, now, "auth.sign_in"),
        None => Record::by_system(now, "auth.sign_in"),
    };
    record
        .outcome(Outcome::Failure)
        .detail(format!("through {provider}: {why}"))
        .append(tx)
}

/// The Keyward user the provider's identity is: the one linked to it; else, the first time,
/// the `EXTERNAL` user with the e-mail the provider vouches for (linked now), or a new one
/// where the server allows it. A `NATIVE` user is never taken over. A refusal is audited.
fn who_is(
    tx: &dyn Tx,
    policy: &ProviderPolicy,
    identity: &ProviderIdentity,
    now: Time,
) -> Result<std::result::Result<User, String>> {
    if let Some(id) = tx.linked_user(&identity.issuer, &identity.subject)? {
        return Ok(Ok(users::load(tx, &id)?));
    }
    let refuse = |tx: &dyn Tx, user: Option<&User>, why: String| -> Result<_> {
        audit_refusal(tx, &policy.name, user, &why, now)?;
        Ok(Err(why))
    };
    let email = match (&identity.email, identity.email_verified) {
        (Some(email), true) => match Email::parse(email) {
            Ok(email) => email,
            Err(_) => {
                return refuse(
                    tx,
                    None,
                    "The identity provider gave no usable e-mail address.".to_owned(),
                )
            }
        },
        (Some(_), false) => {
            return refuse(
                tx,
                None,
                "The identity provider does not vouch for your e-mail address (not verified), \
                 so it cannot be matched to a Keyward account. Ask an administrator."
                    .to_owned(),
            )
        }
        (None, _) => {
            return refuse(
                tx,
                None,
                "The identity provider gave no e-mail address (ask for the email scope)."
                    .to_owned(),
            )
        }
    };
    let user = match tx.user_id_by_email(&email.key())? {
        Some(id) => users::load(tx, &id)?,
        None if policy.create_users => create_external(tx, policy, identity, &email, now)?,
        None => {
            return refuse(
                tx,
                None,
                format!(
                    "No Keyward account has the e-mail address {}. Ask an administrator to add \
                     you as an external user.",
                    email.as_str()
                ),
            )
        }
    };
    if user.user_type != UserType::External {
        return refuse(
            tx,
            Some(&user),
            "The Keyward account with this e-mail address signs in with its own password, \
             not through the identity provider."
                .to_owned(),
        );
    }
    if user.status == UserStatus::Inactive {
        // Refused before anything is linked: a deactivated account stays as it was.
        return refuse(
            tx,
            Some(&user),
            "This account is deactivated. Ask an administrator to activate it.".to_owned(),
        );
    }
    tx.link_identity(&identity.issuer, &identity.subject, &user.id, now)?;
    Record::about_oneself(&user.id, &user.user_name, now, "user.link")
        .detail(format!(
            "linked to {} (issuer {})",
            policy.name, identity.issuer
        ))
        .append(tx)?;
    if user.status == UserStatus::Invited {
        // An invited external user accepts by signing in through the provider.
        tx.change_user(
            &user.id,
            &super::storage::UserChange {
                status: Some(UserStatus::Active),
                ..Default::default()
            },
        )?;
        return Ok(Ok(users::load(tx, &user.id)?));
    }
    Ok(Ok(user))
}

/// Sets the user's membership of the mapped groups (the `providerGroups` setting) from the
/// provider's groups claim: a member of a mapped group exactly when the provider lists one of
/// its claims; other groups are left as they are. Audited when it changes. A change that would
/// leave no active SuperAdmin is not made (and audited as such).
fn apply_group_mapping(
    tx: &dyn Tx,
    policy: &ProviderPolicy,
    user: User,
    identity: &ProviderIdentity,
    now: Time,
) -> Result<User> {
    let mapping = tx.settings()?.provider_groups;
    if mapping.is_empty() {
        return Ok(user);
    }
    let managed: BTreeSet<&str> = mapping.iter().map(|l| l.group_id.as_str()).collect();
    let wanted = mapping
        .iter()
        .filter(|l| identity.groups.contains(&l.claim))
        .map(|l| l.group_id.as_str());
    let current: BTreeSet<&str> = user.groups.iter().map(String::as_str).collect();
    let next: BTreeSet<&str> = current
        .iter()
        .copied()
        .filter(|g| !managed.contains(g))
        .chain(wanted)
        .collect();
    if next == current {
        return Ok(user);
    }
    let added: Vec<String> = next.difference(&current).map(|g| (*g).to_owned()).collect();
    let removed: Vec<String> = current.difference(&next).map(|g| (*g).to_owned()).collect();
    let next: Vec<String> = next.into_iter().map(str::to_owned).collect();
    let names = |ids: &[String]| -> Result<String> {
        let names = ids
            .iter()
            .map(|id| Ok(tx.find_group(id)?.map_or_else(|| id.clone(), |g| g.name)))
            .collect::<Result<Vec<_>>>()?;
        Ok(names.join(", "))
    };
    let mut detail = format!("from {}:", policy.name);
    if !added.is_empty() {
        detail.push_str(&format!(" added to {}", names(&added)?));
    }
    if !removed.is_empty() {
        let joint = if added.is_empty() { "" } else { ";" };
        detail.push_str(&format!("{joint} removed from {}", names(&removed)?));
    }
    tx.savepoint()?;
    tx.set_user_groups(&user.id, &next)?;
    let touched: Vec<String> = added.iter().chain(&removed).cloned().collect();
    tx.touch_groups(&touched, now)?;
    tx.touch_users(std::slice::from_ref(&user.id), now)?;
    if let Err(kept) = grants::ensure_super_admin_remains(tx) {
        tx.roll_back_savepoint()?;
        Record::about_oneself(&user.id, &user.user_name, now, "user.groups")
            .outcome(Outcome::Failure)
            .detail(format!("{detail} — not made: {kept}"))
            .append(tx)?;
        return Ok(user);
    }
    tx.release_savepoint()?;
    Record::about_oneself(&user.id, &user.user_name, now, "user.groups")
        .detail(detail)
        .append(tx)?;
    users::load(tx, &user.id)
}

/// A new `EXTERNAL` user for the provider's identity (`--oidc-create-users`): named after the
/// provider's `preferred_username` (or the e-mail address), made unique with a number.
fn create_external(
    tx: &dyn Tx,
    policy: &ProviderPolicy,
    identity: &ProviderIdentity,
    email: &Email,
    now: Time,
) -> Result<User> {
    let local = email.as_str().split('@').next().unwrap_or_default();
    let base = [identity.preferred_username.as_deref(), Some(local)]
        .into_iter()
        .flatten()
        .find_map(|name| UserName::parse(name).ok())
        .ok_or_else(|| Error::Internal("no user name from the provider".into()))?;
    let mut user_name = base.clone();
    for n in 2..100 {
        if !tx.user_name_in_use(&user_name, "")? {
            break;
        }
        user_name = UserName::parse(&format!("{}-{n}", base.as_str()))
            .map_err(|_| Error::Internal("no free user name".into()))?;
    }
    let display_name = identity
        .name
        .as_deref()
        .and_then(|name| DisplayName::parse(name).ok())
        .or_else(|| DisplayName::parse(user_name.as_str()).ok())
        .ok_or_else(|| Error::Internal("no display name".into()))?;
    let id = new_id();
    users::insert_row(
        tx,
        &NewUserRow {
            id: &id,
            user_name: &user_name,
            display_name: &display_name,
            email,
            status: UserStatus::Active,
            user_type: UserType::External,
            password_hash: None,
            created_time: now,
        },
    )?;
    Record::by_system(now, "user.create")
        .target("user", &id, user_name.as_str())
        .detail(format!(
            "external user created at first sign-in through {}",
            policy.name
        ))
        .append(tx)?;
    users::load(tx, &id)
}

/// Opens the session for a provider's one-time code and the verifier of its challenge. The
/// code is used up by the attempt, right or wrong.
pub(super) fn exchange<S: Store>(
    dir: &StoredDirectory<S>,
    code: &Secret,
    code_verifier: &Secret,
) -> Result<SignedIn> {
    let unknown = || {
        Error::invalid(
            "code",
            "This sign-in code is unknown, used or expired. Sign in again.",
        )
    };
    if code.expose().is_empty() {
        return Err(unknown());
    }
    if !is_pkce_verifier(code_verifier.expose()) {
        return Err(Error::invalid(
            "codeVerifier",
            "A PKCE code verifier is 43 to 128 characters: letters, digits, '-', '.', '_', '~'.",
        ));
    }
    let outcome = dir.write(|tx, now| {
        let row = match tx.take_provider_sign_in(&code.digest())? {
            Some(row) if row.step == ProviderStep::Code && row.expires_time > now => row,
            _ => return Ok(Err(unknown())),
        };
        let user = users::load(tx, row.user_id.as_deref().unwrap_or_default())?;
        if pkce_challenge(code_verifier.expose()) != row.code_challenge {
            let why = "the code verifier did not match";
            audit_refusal(tx, &row.provider, Some(&user), why, now)?;
            return Ok(Err(Error::invalid(
                "codeVerifier",
                "The code verifier does not match this sign-in. Sign in again.",
            )));
        }
        if let Err(refusal) = auth::may_sign_in(tx, &user) {
            return Ok(Err(refusal));
        }
        let settings = tx.settings()?;
        tx.delete_provider_sign_ins_expired_by(now)?;
        auth::open_session(
            tx,
            &user,
            &settings,
            now,
            &format!("signed in through {}", row.provider),
        )
        .map(Ok)
    })?;
    outcome
}

/// A PKCE verifier: 43 to 128 unreserved characters (RFC 7636 4.1).
fn is_pkce_verifier(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// An S256 challenge: 43 characters of base64url.
fn is_pkce_value(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
}

/// RFC 8252 7.3: the app's redirect is `http` to a loopback address with a port; anything
/// else could hand the code to someone else.
fn loopback_redirect(uri: &str) -> std::result::Result<(), &'static str> {
    let url = url::Url::parse(uri).map_err(|_| "Send the app's loopback address as a URL.")?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    if url.scheme() != "http" || !loopback || url.port().is_none() {
        return Err(
            "The app must listen on a loopback address: http://127.0.0.1:PORT/… or \
             http://[::1]:PORT/… (RFC 8252).",
        );
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err("The loopback address must have no user, password or fragment.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_with_a_port_take_the_code() {
        assert!(loopback_redirect("http://127.0.0.1:4711/callback").is_ok());
        assert!(loopback_redirect("http://[::1]:4711/").is_ok());
        for refused in [
            "https://127.0.0.1:4711/",
            "http://localhost:4711/",
            "http://127.0.0.1/",
            "http://example.com:4711/",
            "http://127.0.0.1.example.com:4711/",
            "http://user@127.0.0.1:4711/",
            "http://127.0.0.1:4711/#x",
            "127.0.0.1:4711",
        ] {
            assert!(loopback_redirect(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn the_pkce_challenge_is_rfc_7636s_example() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(is_pkce_verifier(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(is_pkce_value("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!is_pkce_verifier("short"));
    }
}
