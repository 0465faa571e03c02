//! Two-step sign-in (SPEC 10), on every backend, with the manual clock. Codes are computed
//! here with totp-rs from the secret the directory hands out, as an authenticator app would.

use crate::common::*;
use chrono::TimeDelta;
use keyward::core::model::*;
use keyward::core::permission::BuiltinRole;
use keyward::core::secret::Secret;
use keyward::core::Error;

/// What an authenticator shows for `setup` at `at`.
fn code_at(setup: &TotpSetup, at: Time) -> Secret {
    totp_code(setup.secret.expose(), at)
}

impl Harness {
    /// The code of `setup` now (on the harness's clock).
    fn code(&self, setup: &TotpSetup) -> Secret {
        code_at(setup, self.clock_now())
    }

    /// `name` turns a second step on; the set-up and the recovery codes.
    fn with_second_factor(&self, name: &str) -> (TotpSetup, Vec<Secret>) {
        let turned_on = turn_on_second_factor(self.dir.as_ref(), name, self.clock_now());
        // The code just used stays used: the next sign-in takes the next step's.
        self.clock.advance(TimeDelta::seconds(30));
        turned_on
    }

    fn challenge(&self, name: &str) -> Secret {
        match self.dir.start_sign_in(name, &secret(PASSWORD)) {
            Ok(SignInStep::SecondFactor(challenge)) => challenge.challenge_token,
            other => panic!("expected a second step for {name}, got {other:?}"),
        }
    }
}

fn audit_details(h: &Harness, root: &Credential) -> String {
    let page = h
        .dir
        .list_audit(
            root,
            &AuditQuery {
                page_size: Some(500),
                ..Default::default()
            },
        )
        .expect("audit");
    page.items
        .iter()
        .map(|e| format!("{} {:?} {:?}\n", e.action, e.outcome, e.detail))
        .collect()
}

pub fn a_second_step_is_set_up_confirmed_and_asked_at_every_sign_in(h: &Harness) {
    let root = h.root();
    let ann = h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let session = h.sign_in("ann");
    let setup = h
        .dir
        .enroll_second_factor(Enrolling::Signed(&session))
        .unwrap();
    assert!(setup
        .otpauth_uri
        .expose()
        .starts_with("otpauth://totp/Keyward:ann?"));
    assert!(setup
        .otpauth_uri
        .expose()
        .contains(&format!("secret={}", setup.secret.expose())));
    // Not on until confirmed: the password alone still signs in.
    assert!(!h.dir.get_user(&root, &ann.id).unwrap().second_factor);
    h.sign_in("ann");
    let version = h.fresh_version(&root, &ann.id);
    assert_invalid(
        h.dir
            .confirm_second_factor(Enrolling::Signed(&session), &secret("000000")),
        &["code"],
    );
    let enrolled = h
        .dir
        .confirm_second_factor(Enrolling::Signed(&session), &h.code(&setup))
        .unwrap();
    assert!(enrolled.signed_in.is_none());
    let codes: std::collections::HashSet<&str> =
        enrolled.recovery_codes.iter().map(Secret::expose).collect();
    assert_eq!(codes.len(), 10);
    let shown = h.dir.get_user(&root, &ann.id).unwrap();
    assert!(shown.second_factor);
    assert_eq!(shown.update_version, version + 1);
    // A page of the list says so too (computed for the page's rows only on PostgreSQL).
    let listed = h
        .dir
        .list_users(&root, &UserQuery::default())
        .unwrap()
        .items;
    assert!(listed.iter().any(|u| u.id == ann.id && u.second_factor));
    assert!(listed.iter().any(|u| u.id != ann.id && !u.second_factor));

    // The password alone no longer signs in; a wrong one is answered as for anyone.
    assert!(matches!(
        h.dir.sign_in("ann", &secret(PASSWORD)),
        Err(Error::StateConflict(_))
    ));
    let wrong = h
        .dir
        .start_sign_in("ann", &secret("not the password"))
        .unwrap_err();
    let plain = h
        .dir
        .start_sign_in("root", &secret("not the password"))
        .unwrap_err();
    assert_eq!(wrong, Error::SignInFailed);
    assert_eq!(wrong.to_string(), plain.to_string());

    // The code confirmed is spent for its window; the next step's signs in, once.
    let challenge = h.challenge("ann");
    assert_invalid(h.dir.finish_sign_in(&challenge, &h.code(&setup)), &["code"]);
    h.clock.advance(TimeDelta::seconds(30));
    let code = h.code(&setup);
    let signed = h.dir.finish_sign_in(&challenge, &code).unwrap();
    assert_eq!(signed.user.user_name, "ann");
    h.dir.me(&Credential::Session(signed.access_token)).unwrap();
    assert_invalid(h.dir.finish_sign_in(&challenge, &code), &["challengeToken"]);
    let again = h.challenge("ann");
    assert_invalid(h.dir.finish_sign_in(&again, &code), &["code"]);

    // One step of drift either way; two is too many.
    h.clock.advance(TimeDelta::seconds(90));
    let late = code_at(&setup, h.clock_now() - TimeDelta::seconds(60));
    assert_invalid(h.dir.finish_sign_in(&again, &late), &["code"]);
    let slow = code_at(&setup, h.clock_now() - TimeDelta::seconds(30));
    h.dir.finish_sign_in(&again, &slow).unwrap();
    h.clock.advance(TimeDelta::seconds(30));
    let ahead = code_at(&setup, h.clock_now() + TimeDelta::seconds(30));
    h.dir.finish_sign_in(&h.challenge("ann"), &ahead).unwrap();

    // A challenge lives five minutes.
    let stale = h.challenge("ann");
    h.clock.advance(TimeDelta::minutes(5));
    assert_invalid(
        h.dir.finish_sign_in(&stale, &h.code(&setup)),
        &["challengeToken"],
    );

    // A recovery code signs in once, typed any way.
    let recovery = enrolled.recovery_codes[0].expose().to_uppercase();
    let signed = h
        .dir
        .finish_sign_in(&h.challenge("ann"), &secret(&recovery))
        .unwrap();
    assert_eq!(signed.user.user_name, "ann");
    assert_invalid(
        h.dir
            .finish_sign_in(&h.challenge("ann"), &secret(&recovery)),
        &["code"],
    );

    // The audit log has each step, never a code or the secret.
    let log = audit_details(h, &root);
    for expected in [
        "auth.second_factor_enroll",
        "auth.second_factor_enable",
        "with a code",
        "with a recovery code (9 left)",
        "wrong code",
    ] {
        assert!(log.contains(expected), "{expected} in {log}");
    }
    assert!(!log.contains(setup.secret.expose()), "{log}");
    assert!(!log.contains(code.expose()), "{log}");
    for recovery in &enrolled.recovery_codes {
        assert!(!log.contains(recovery.expose()));
    }
}

pub fn wrong_codes_count_towards_the_sign_in_lockout(h: &Harness) {
    let root = h.root();
    h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let (setup, _) = h.with_second_factor("ann");
    let challenge = h.challenge("ann");
    // The password counted once until a session opens; four wrong codes reach the threshold.
    for _ in 0..4 {
        assert_invalid(
            h.dir.finish_sign_in(&challenge, &secret("000000")),
            &["code"],
        );
    }
    assert!(matches!(
        h.dir.finish_sign_in(&challenge, &h.code(&setup)),
        Err(Error::RateLimited(_))
    ));
    assert!(matches!(
        h.dir.start_sign_in("ann", &secret(PASSWORD)),
        Err(Error::RateLimited(_))
    ));
    h.clock.advance(TimeDelta::seconds(2));
    h.dir.finish_sign_in(&challenge, &h.code(&setup)).unwrap();
    // A session clears the count.
    h.clock.advance(TimeDelta::seconds(30));
    h.dir
        .finish_sign_in(&h.challenge("ann"), &h.code(&setup))
        .unwrap();
}

pub fn a_code_is_accepted_once_by_every_instance_of_the_directory(h: &Harness) {
    let root = h.root();
    h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let (setup, _) = h.with_second_factor("ann");
    let other = h.reopen(None);
    let code = h.code(&setup);
    let first = h.challenge("ann");
    let second = match other.start_sign_in("ann", &secret(PASSWORD)).unwrap() {
        SignInStep::SecondFactor(challenge) => challenge.challenge_token,
        step => panic!("{step:?}"),
    };
    other.finish_sign_in(&second, &code).unwrap();
    assert_invalid(h.dir.finish_sign_in(&first, &code), &["code"]);
}

pub fn the_setting_requires_a_second_step_set_up_at_sign_in(h: &Harness) {
    let root = h.root();
    h.user(&root, "vic", &[BuiltinRole::Viewer.id()]);
    h.user(&root, "ada", &[BuiltinRole::Administrator.id()]);
    let settings = h.change_settings(
        &root,
        SettingsUpdate {
            second_factor: Some(SecondFactorPolicy::RequiredForAdmins),
            ..Default::default()
        },
    );
    assert_eq!(
        settings.second_factor,
        SecondFactorPolicy::RequiredForAdmins
    );
    // A Viewer is not an administrator: the password signs in.
    h.sign_in("vic");
    let challenge = match h.dir.start_sign_in("ada", &secret(PASSWORD)).unwrap() {
        SignInStep::Enrollment(challenge) => challenge.challenge_token,
        step => panic!("expected enrolment, got {step:?}"),
    };
    assert_invalid(
        h.dir.finish_sign_in(&challenge, &secret("123456")),
        &["challengeToken"],
    );
    let setup = h
        .dir
        .enroll_second_factor(Enrolling::AtSignIn(&challenge))
        .unwrap();
    assert_invalid(
        h.dir
            .confirm_second_factor(Enrolling::AtSignIn(&challenge), &secret("000000")),
        &["code"],
    );
    let enrolled = h
        .dir
        .confirm_second_factor(Enrolling::AtSignIn(&challenge), &h.code(&setup))
        .unwrap();
    assert_eq!(enrolled.recovery_codes.len(), 10);
    let signed = enrolled.signed_in.expect("a session");
    let ada = Credential::Session(signed.access_token);
    assert_eq!(h.dir.me(&ada).unwrap().user_name, "ada");
    assert_invalid(
        h.dir.enroll_second_factor(Enrolling::AtSignIn(&challenge)),
        &["challengeToken"],
    );
    // Required: it cannot be turned off; from now on the code is asked.
    h.clock.advance(TimeDelta::seconds(30));
    assert!(matches!(
        h.dir.turn_off_second_factor(&ada, &h.code(&setup)),
        Err(Error::StateConflict(_))
    ));
    h.clock.advance(TimeDelta::seconds(30));
    h.dir
        .finish_sign_in(&h.challenge("ada"), &h.code(&setup))
        .unwrap();
    // REQUIRED takes in everyone with a console.
    h.change_settings(
        &root,
        SettingsUpdate {
            second_factor: Some(SecondFactorPolicy::Required),
            ..Default::default()
        },
    );
    assert!(matches!(
        h.dir.start_sign_in("vic", &secret(PASSWORD)).unwrap(),
        SignInStep::Enrollment(_)
    ));
}

pub fn recovery_codes_are_replaced_and_the_second_step_turned_off_with_a_code(h: &Harness) {
    let root = h.root();
    let ann = h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let (setup, old) = h.with_second_factor("ann");
    let session = Credential::Session(
        h.dir
            .finish_sign_in(&h.challenge("ann"), &h.code(&setup))
            .unwrap()
            .access_token,
    );
    h.clock.advance(TimeDelta::seconds(30));
    assert_invalid(
        h.dir.new_recovery_codes(&session, &secret("000000")),
        &["code"],
    );
    let new = h
        .dir
        .new_recovery_codes(&session, &h.code(&setup))
        .unwrap()
        .recovery_codes;
    assert_eq!(new.len(), 10);
    assert_invalid(
        h.dir.finish_sign_in(&h.challenge("ann"), &old[1]),
        &["code"],
    );
    // A recovery code proves it too.
    h.dir.turn_off_second_factor(&session, &new[0]).unwrap();
    assert!(!h.dir.get_user(&root, &ann.id).unwrap().second_factor);
    h.sign_in("ann");
    assert!(matches!(
        h.dir.turn_off_second_factor(&session, &new[1]),
        Err(Error::StateConflict(_))
    ));
    // An account that only uses API keys has no second step to set up.
    let (_, key) = h.api_user(&root, "svc");
    assert_forbidden(h.dir.enroll_second_factor(Enrolling::Signed(&key)));
    // Nor does a key of a console account change its owner's: only a session does.
    let (otto, session) = h.acting_as(&root, BuiltinRole::Operator, "otto");
    let key = Credential::ApiKey(
        h.dir
            .create_key(&session, &otto.id, key_named("otto's"))
            .unwrap()
            .secret
            .unwrap(),
    );
    assert_forbidden(h.dir.enroll_second_factor(Enrolling::Signed(&key)));
    let (otto_setup, otto_codes) = h.with_second_factor("otto");
    assert_forbidden(h.dir.new_recovery_codes(&key, &h.code(&otto_setup)));
    assert_forbidden(h.dir.turn_off_second_factor(&key, &otto_codes[0]));
    assert!(h.dir.get_user(&root, &otto.id).unwrap().second_factor);
}

pub fn an_administrator_removes_a_lost_second_step(h: &Harness) {
    let root = h.root();
    let ann = h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    h.user(&root, "ada", &[BuiltinRole::Administrator.id()]);
    let (_, vic) = h.acting_as(&root, BuiltinRole::Viewer, "vic");
    h.with_second_factor("ann");
    h.with_second_factor("root");
    let ada = h.sign_in("ada");
    assert_forbidden(h.dir.remove_second_factor(&vic, &ann.id));
    // One's own goes off with a code (turn_off_second_factor), never by removal.
    let ada_id = h.dir.me(&ada).unwrap().id;
    h.with_second_factor("ada");
    assert_forbidden(h.dir.remove_second_factor(&ada, &ada_id));
    let root_id = h.dir.find_user(&ada, "root").unwrap().id;
    assert_forbidden(h.dir.remove_second_factor(&ada, &root_id));
    let version = h.fresh_version(&ada, &ann.id);
    let removed = h.dir.remove_second_factor(&ada, &ann.id).unwrap();
    assert!(!removed.second_factor);
    assert_eq!(removed.update_version, version + 1);
    h.sign_in("ann");
    assert!(matches!(
        h.dir.remove_second_factor(&ada, &ann.id),
        Err(Error::StateConflict(_))
    ));
    let log = audit_details(h, &ada);
    assert!(log.contains("user.remove_second_factor"), "{log}");
}
