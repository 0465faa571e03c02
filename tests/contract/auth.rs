use crate::common::*;
use chrono::TimeDelta;
use keyward::core::model::*;
use keyward::core::permission::BuiltinRole;
use keyward::core::Error;

pub fn sign_in_failures_do_not_reveal_whether_a_user_exists(h: &Harness) {
    let root = h.root();
    h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let wrong = h
        .dir
        .sign_in("ann", &secret("wrong password entirely"))
        .unwrap_err();
    let unknown = h
        .dir
        .sign_in("nobody", &secret("wrong password entirely"))
        .unwrap_err();
    assert_eq!(wrong, Error::SignInFailed);
    assert_eq!(wrong, unknown);
    assert_eq!(wrong.to_string(), unknown.to_string());
    // Lockout applies to any name alike, so it tells nothing either.
    for _ in 0..5 {
        let _ = h.dir.sign_in("ann", &secret("x"));
        let _ = h.dir.sign_in("nobody", &secret("x"));
    }
    let locked_real = h.dir.sign_in("ann", &secret(PASSWORD)).unwrap_err();
    let locked_unknown = h.dir.sign_in("nobody", &secret(PASSWORD)).unwrap_err();
    assert!(matches!(locked_real, Error::RateLimited(_)));
    assert_eq!(locked_real, locked_unknown);
}

pub fn repeated_failures_lock_sign_in_with_a_growing_delay(h: &Harness) {
    let root = h.root();
    h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    for _ in 0..4 {
        assert_eq!(
            h.dir.sign_in("ann", &secret("nope")).unwrap_err(),
            Error::SignInFailed
        );
    }
    // The fifth failure reaches the threshold: the next attempt waits 2 s, even when right.
    assert_eq!(
        h.dir.sign_in("Ann", &secret("nope")).unwrap_err(),
        Error::SignInFailed
    );
    assert_eq!(
        h.dir.sign_in("ann", &secret(PASSWORD)).unwrap_err(),
        Error::RateLimited(2)
    );
    h.clock.advance(TimeDelta::seconds(2));
    assert_eq!(
        h.dir.sign_in("ann", &secret("nope")).unwrap_err(),
        Error::SignInFailed
    );
    assert_eq!(
        h.dir.sign_in("ann", &secret(PASSWORD)).unwrap_err(),
        Error::RateLimited(4)
    );
    h.clock.advance(TimeDelta::seconds(4));
    assert_eq!(
        h.dir.sign_in("ann", &secret("nope")).unwrap_err(),
        Error::SignInFailed
    );
    assert_eq!(
        h.dir.sign_in("ann", &secret(PASSWORD)).unwrap_err(),
        Error::RateLimited(8)
    );
    h.clock.advance(TimeDelta::seconds(8));
    // Success clears the count.
    h.sign_in("ann");
    assert_eq!(
        h.dir.sign_in("ann", &secret("nope")).unwrap_err(),
        Error::SignInFailed
    );
    h.sign_in("ann");
    assert_eq!(
        h.dir.sign_in("ann", &secret("x")).unwrap_err().status(),
        401
    );
}

pub fn parallel_attempts_cannot_slip_past_the_lockout(h: &Harness) {
    let root = h.root();
    h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let results: Vec<Error> = std::thread::scope(|scope| {
        let attempts: Vec<_> = (0..12)
            .map(|_| scope.spawn(|| h.dir.sign_in("ann", &secret("a wrong guess")).unwrap_err()))
            .collect();
        attempts.into_iter().map(|a| a.join().unwrap()).collect()
    });
    let checked = results
        .iter()
        .filter(|e| **e == Error::SignInFailed)
        .count();
    let refused = results
        .iter()
        .filter(|e| matches!(e, Error::RateLimited(_)))
        .count();
    // Only as many passwords are checked as the threshold allows; the rest wait.
    assert_eq!((checked, refused), (5, 7), "{results:?}");
    drop(root);
}

pub fn api_users_and_deactivated_users_cannot_sign_in(h: &Harness) {
    let root = h.root();
    let api = h
        .dir
        .create_user(
            &root,
            NewUser {
                user_name: "robot".into(),
                display_name: "Robot".into(),
                email: "robot@example.com".into(),
                password: Some(secret(PASSWORD)),
                roles: vec![BuiltinRole::ApiUser.id().into()],
                ..Default::default()
            },
        )
        .unwrap();
    assert!(matches!(
        h.dir.sign_in("robot", &secret(PASSWORD)),
        Err(Error::Forbidden(_))
    ));
    let ann = h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    h.dir
        .update_user(
            &root,
            &ann.id,
            UserUpdate {
                status: Some(UserStatus::Inactive),
                update_version: ann.update_version,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(matches!(
        h.dir.sign_in("ann", &secret(PASSWORD)),
        Err(Error::Forbidden(_))
    ));
    // A wrong password for either still says only that sign-in failed.
    assert_eq!(
        h.dir.sign_in("ann", &secret("nope")).unwrap_err(),
        Error::SignInFailed
    );
    assert_eq!(api.user.roles, [BuiltinRole::ApiUser.id()]);
}

pub fn sessions_expire_and_end_on_sign_out(h: &Harness) {
    let root = h.root();
    let signed = h.dir.sign_in("root", &secret(PASSWORD)).unwrap();
    assert_eq!(signed.expires_time, h.clock_now() + TimeDelta::minutes(720));
    assert!(signed.user.last_login_time.is_some());
    let session = Credential::Session(signed.access_token);
    h.dir.me(&session).unwrap();
    h.clock.advance(TimeDelta::minutes(720));
    assert_eq!(h.dir.me(&session).unwrap_err(), Error::Unauthenticated);
    let fresh = h.sign_in("root");
    h.dir.sign_out(&fresh).unwrap();
    assert_eq!(h.dir.me(&fresh).unwrap_err(), Error::Unauthenticated);
    assert_eq!(
        h.dir
            .me(&Credential::Session(secret("made-up")))
            .unwrap_err(),
        Error::Unauthenticated
    );
    drop(root);
}

pub fn change_password_reports_succeeded_and_errors(h: &Harness) {
    let root = h.root();
    let ann = h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let session = h.sign_in("ann");
    let other_session = h.sign_in("ann");
    let wrong_old = h
        .dir
        .change_password(
            &session,
            &ann.id,
            &secret("not it"),
            &secret(OTHER_PASSWORD),
        )
        .unwrap();
    assert!(!wrong_old.succeeded);
    assert_eq!(wrong_old.errors[0].code, "PASSWORD_MISMATCH");
    let weak = h
        .dir
        .change_password(&session, &ann.id, &secret(PASSWORD), &secret("short"))
        .unwrap();
    assert!(!weak.succeeded);
    assert_eq!(weak.errors[0].code, "PASSWORD_TOO_SHORT");
    let ok = h
        .dir
        .change_password(
            &session,
            &ann.id,
            &secret(PASSWORD),
            &secret(OTHER_PASSWORD),
        )
        .unwrap();
    assert_eq!(
        ok,
        ChangePasswordResult {
            succeeded: true,
            errors: vec![]
        }
    );
    h.dir.me(&session).unwrap();
    assert_eq!(
        h.dir.me(&other_session).unwrap_err(),
        Error::Unauthenticated
    );
    let signed = h.dir.sign_in("ann", &secret(OTHER_PASSWORD)).unwrap();
    assert_eq!(signed.user.update_version, ann.update_version + 1);
    // Guessing the current password is limited like signing in.
    let fresh = Credential::Session(signed.access_token);
    for _ in 0..5 {
        let guess = h
            .dir
            .change_password(&fresh, &ann.id, &secret("a guess"), &secret(PASSWORD))
            .unwrap();
        assert!(!guess.succeeded);
    }
    assert!(matches!(
        h.dir
            .change_password(&fresh, &ann.id, &secret(OTHER_PASSWORD), &secret(PASSWORD)),
        Err(Error::RateLimited(_))
    ));
    // Nobody changes someone else's password this way, not even a SuperAdmin.
    assert_forbidden(h.dir.change_password(
        &root,
        &ann.id,
        &secret(OTHER_PASSWORD),
        &secret(PASSWORD),
    ));
}

pub fn password_reset_is_one_time_expires_and_ends_sessions(h: &Harness) {
    let root = h.root();
    let ann = h.user(&root, "ann", &[BuiltinRole::Viewer.id()]);
    let session = h.sign_in("ann");
    let reset = h.dir.reset_password(&root, &ann.id).unwrap();
    assert_eq!(reset.expires_time, h.clock_now() + TimeDelta::hours(1));
    h.dir.me(&session).unwrap();
    h.dir
        .complete_password_reset(&reset.token, &secret(OTHER_PASSWORD))
        .unwrap();
    assert_eq!(h.dir.me(&session).unwrap_err(), Error::Unauthenticated);
    h.dir.sign_in("ann", &secret(OTHER_PASSWORD)).unwrap();
    assert_invalid(
        h.dir
            .complete_password_reset(&reset.token, &secret(PASSWORD)),
        &["token"],
    );
    let late = h.dir.reset_password(&root, &ann.id).unwrap();
    h.clock.advance(TimeDelta::hours(1));
    assert_invalid(
        h.dir
            .complete_password_reset(&late.token, &secret(PASSWORD)),
        &["token"],
    );
    // An invitation token is no reset token.
    let invited = h.invite(&root, "ivy", &[]);
    assert_invalid(
        h.dir
            .complete_password_reset(&invited.invitation.unwrap().token, &secret(PASSWORD)),
        &["token"],
    );
    assert!(matches!(
        h.dir.reset_password(&root, &invited.user.id),
        Err(Error::StateConflict(_))
    ));
}

pub fn password_policy_applies_everywhere_a_password_is_set(h: &Harness) {
    let root = h.root();
    h.change_settings(
        &root,
        SettingsUpdate {
            password_min_length: Some(30),
            ..Default::default()
        },
    );
    assert_invalid(
        h.dir.create_user(
            &root,
            NewUser {
                user_name: "ann".into(),
                display_name: "Ann".into(),
                email: "ann@example.com".into(),
                password: Some(secret(PASSWORD)),
                ..Default::default()
            },
        ),
        &["password"],
    );
    let long = "tangerine orbit wallpaper 42 and more";
    let ann = h
        .dir
        .create_user(
            &root,
            NewUser {
                user_name: "ann".into(),
                display_name: "Ann".into(),
                email: "ann@example.com".into(),
                password: Some(secret(long)),
                roles: vec![BuiltinRole::Viewer.id().into()],
                ..Default::default()
            },
        )
        .unwrap()
        .user;
    let reset = h.dir.reset_password(&root, &ann.id).unwrap();
    assert_invalid(
        h.dir
            .complete_password_reset(&reset.token, &secret("ann is my name and it is long")),
        &["password"],
    );
    assert_invalid(
        h.dir
            .complete_password_reset(&reset.token, &secret(OTHER_PASSWORD)),
        &["password"],
    );
}

pub fn an_api_key_authenticates_as_its_owner(h: &Harness) {
    let root = h.root();
    let (robot, key) = h.api_user(&root, "robot");
    let me = h.dir.me(&key).unwrap();
    assert_eq!(me.id, robot.id);
    assert_eq!(me.permissions, BuiltinRole::ApiUser.permissions());
    assert_eq!(h.dir.list_user_keys(&key, &robot.id).unwrap().len(), 1);
    assert_forbidden(h.dir.list_users(&key, &UserQuery::default()));
    assert_forbidden(h.dir.get_settings(&key));
    h.change_settings(
        &root,
        SettingsUpdate {
            api_key_auth_enabled: Some(false),
            ..Default::default()
        },
    );
    assert_eq!(h.dir.me(&key).unwrap_err(), Error::Unauthenticated);
    assert_eq!(
        h.dir
            .me(&Credential::ApiKey(secret("kw_nonsense")))
            .unwrap_err(),
        Error::Unauthenticated
    );
}
