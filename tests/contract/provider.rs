//! Sign-in through an identity provider (SPEC 11), the rules' side: the group mapping (a
//! setting, on every backend) and what a validated identity comes to (on the stores: only a
//! server speaks to a provider, so a remote directory refuses those steps).

use crate::common::*;
use base64::Engine;
use keyward::core::model::*;
use keyward::core::permission::{BuiltinRole, Permission};
use keyward::core::secret::Secret;
use keyward::core::Error;
use sha2::{Digest, Sha256};

fn group(h: &Harness, by: &Credential, name: &str, roles: &[&str]) -> Group {
    h.dir
        .create_group(
            by,
            NewGroup {
                name: name.into(),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                ..Default::default()
            },
        )
        .unwrap()
}

fn external(h: &Harness, by: &Credential, name: &str, roles: &[&str]) -> User {
    h.dir
        .create_user(
            by,
            NewUser {
                user_name: name.into(),
                display_name: name.into(),
                email: format!("{name}@example.com"),
                user_type: Some(UserType::External),
                roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                ..Default::default()
            },
        )
        .unwrap()
        .user
}

fn mapping(lines: &[(&str, &str)]) -> SettingsUpdate {
    SettingsUpdate {
        provider_groups: Some(
            lines
                .iter()
                .map(|(claim, group_id)| ProviderGroup {
                    claim: (*claim).to_owned(),
                    group_id: (*group_id).to_owned(),
                })
                .collect(),
        ),
        ..Default::default()
    }
}

pub fn the_group_mapping_is_a_setting_that_grants_what_membership_grants(h: &Harness) {
    let root = h.root();
    let readers = group(h, &root, "Readers", &[BuiltinRole::Viewer.id()]);
    let admins = group(h, &root, "Admins", &[BuiltinRole::SuperAdmin.id()]);
    let settings = h.change_settings(
        &root,
        mapping(&[(" staff ", &readers.id), ("staff", &readers.id)]),
    );
    assert_eq!(
        settings.provider_groups,
        [ProviderGroup {
            claim: "staff".into(),
            group_id: readers.id.clone()
        }],
        "trimmed, without repeats"
    );
    let version = settings.update_version;
    let update = |lines: &[(&str, &str)]| SettingsUpdate {
        update_version: version,
        ..mapping(lines)
    };
    assert_invalid(
        h.dir.update_settings(&root, update(&[("", &readers.id)])),
        &["providerGroups"],
    );
    assert_invalid(
        h.dir
            .update_settings(&root, update(&[("staff", "no-such-group")])),
        &["providerGroups"],
    );
    // Someone who may change settings but not grant what a group carries cannot map it.
    let settings_role = h
        .dir
        .create_role(
            &root,
            NewRole {
                name: "Settings only".into(),
                permissions: [Permission::SIGN_IN, Permission::MANAGE_SETTINGS]
                    .into_iter()
                    .collect(),
                ..Default::default()
            },
        )
        .unwrap();
    h.user(&root, "tuner", &[&settings_role.id]);
    let tuner = h.sign_in("tuner");
    assert_forbidden(
        h.dir
            .update_settings(&tuner, update(&[("root", &admins.id)])),
    );
    assert_eq!(
        h.dir.get_settings(&root).unwrap().update_version,
        version,
        "nothing changed"
    );

    // An external user's membership of a mapped group is not changed by hand, either way.
    let ext = external(h, &root, "ext", &[]);
    let refused = h.dir.update_user(
        &root,
        &ext.id,
        UserUpdate {
            groups: Some(vec![readers.id.clone()]),
            update_version: ext.update_version,
            ..Default::default()
        },
    );
    assert_invalid(refused, &["groups"]);
    let readers = h.dir.get_group(&root, &readers.id).unwrap();
    let refused = h.dir.update_group(
        &root,
        &readers.id,
        GroupUpdate {
            members: Some(vec![ext.id.clone()]),
            update_version: readers.update_version,
            ..Default::default()
        },
    );
    assert_invalid(refused, &["members"]);
    // A native user's is.
    let native = h.user(&root, "native", &[]);
    h.dir
        .update_group(
            &root,
            &readers.id,
            GroupUpdate {
                members: Some(vec![native.id.clone()]),
                update_version: readers.update_version,
                ..Default::default()
            },
        )
        .unwrap();

    // Deleting a mapped group takes its lines out of the mapping.
    h.dir.delete_group(&root, &readers.id).unwrap();
    assert!(h
        .dir
        .get_settings(&root)
        .unwrap()
        .provider_groups
        .is_empty());
}

/// The app's PKCE pair.
fn pkce(seed: &str) -> (Secret, String) {
    let verifier = format!("{seed}-verifier-0123456789-0123456789-0123456789");
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    (Secret::new(verifier), challenge)
}

fn policy() -> ProviderPolicy {
    ProviderPolicy {
        name: "Contoso SSO".into(),
        create_users: false,
    }
}

fn identity(subject: &str, email: &str, groups: &[&str]) -> ProviderIdentity {
    ProviderIdentity {
        issuer: "https://login.example.com".into(),
        subject: subject.into(),
        email: Some(email.into()),
        email_verified: true,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        ..Default::default()
    }
}

/// One sign-in through the provider, from the start to the app's one-time code (or the
/// refusal).
fn through_provider(
    h: &Harness,
    who: std::result::Result<ProviderIdentity, String>,
    challenge: &str,
) -> keyward::core::Result<ProviderCode> {
    let state = keyward::core::secret::generate_token();
    let start = ProviderStart {
        redirect_uri: "http://127.0.0.1:4711/done".into(),
        state: "app-state".into(),
        code_challenge: challenge.into(),
        code_challenge_method: "S256".into(),
    };
    let trip = ProviderTrip {
        provider: "Contoso SSO".into(),
        state: state.clone(),
        nonce: "nonce".into(),
    };
    h.dir.begin_provider_sign_in(&start, &trip).unwrap();
    let pending = h.dir.resume_provider_sign_in(&state).unwrap();
    assert_eq!(pending.client_state, "app-state");
    assert!(
        h.dir.resume_provider_sign_in(&state).is_err(),
        "a trip comes back once"
    );
    h.dir.finish_provider_sign_in(&policy(), &pending, who)
}

pub fn a_provider_sign_in_links_once_sets_the_mapped_groups_and_opens_a_session(h: &Harness) {
    let root = h.root();
    let readers = group(h, &root, "Readers", &[BuiltinRole::Viewer.id()]);
    let ops = group(h, &root, "Ops", &[BuiltinRole::Operator.id()]);
    let manual = group(h, &root, "Manual", &[]);
    h.change_settings(&root, mapping(&[("staff", &readers.id), ("ops", &ops.id)]));
    let ext = external(h, &root, "ext", &[]);
    // A group that is not mapped stays as an administrator set it.
    let manual = h.dir.get_group(&root, &manual.id).unwrap();
    h.dir
        .update_group(
            &root,
            &manual.id,
            GroupUpdate {
                members: Some(vec![ext.id.clone()]),
                update_version: manual.update_version,
                ..Default::default()
            },
        )
        .unwrap();

    let (verifier, challenge) = pkce("first");
    let code = through_provider(
        h,
        Ok(identity("sub-1", "EXT@example.com", &["staff", "other"])),
        &challenge,
    )
    .unwrap();
    assert_eq!(code.client_state, "app-state");
    let (wrong, _) = pkce("wrong");
    assert_invalid(
        h.dir.exchange_provider_code(&code.code, &wrong),
        &["codeVerifier"],
    );
    assert_invalid(
        h.dir.exchange_provider_code(&code.code, &verifier),
        &["code"],
    );

    let (verifier, challenge) = pkce("second");
    let code = through_provider(
        h,
        Ok(identity("sub-1", "changed@example.com", &["staff", "ops"])),
        &challenge,
    )
    .unwrap();
    let signed_in = h.dir.exchange_provider_code(&code.code, &verifier).unwrap();
    assert_eq!(
        signed_in.user.id, ext.id,
        "the link decides, not the e-mail"
    );
    let mut groups = signed_in.user.groups.clone();
    groups.sort();
    let mut expected = vec![readers.id.clone(), ops.id.clone(), manual.id.clone()];
    expected.sort();
    assert_eq!(groups, expected);
    let me = h
        .dir
        .me(&Credential::Session(signed_in.access_token.clone()))
        .unwrap();
    assert_eq!(me.user_name, "ext");

    // Out of every mapped group at the provider: out of them here, and so no longer allowed in.
    let (verifier, challenge) = pkce("third");
    let refused = through_provider(h, Ok(identity("sub-1", "ext@example.com", &[])), &challenge);
    assert!(
        matches!(&refused, Err(Error::Forbidden(why)) if why.contains("API keys only")),
        "{refused:?}"
    );
    let ext = h.dir.get_user(&root, &ext.id).unwrap();
    assert_eq!(ext.groups, std::slice::from_ref(&manual.id));
    let _ = verifier;

    // A code expires after a minute.
    let (verifier, challenge) = pkce("fourth");
    let code = through_provider(
        h,
        Ok(identity("sub-1", "ext@example.com", &["staff"])),
        &challenge,
    )
    .unwrap();
    h.clock
        .advance(chrono::TimeDelta::seconds(PROVIDER_CODE_SECONDS + 1));
    assert_invalid(
        h.dir.exchange_provider_code(&code.code, &verifier),
        &["code"],
    );

    let audit = h
        .dir
        .list_audit(&root, &AuditQuery::default())
        .unwrap()
        .items;
    let details: Vec<String> = audit
        .iter()
        .filter(|e| e.action == "user.groups")
        .filter_map(|e| e.detail.clone())
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d == "from Contoso SSO: added to Readers"),
        "{details:?}"
    );
    assert!(
        details.iter().any(|d| d.contains("added to Ops")),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .any(|d| d.contains("removed from Ops, Readers")
                || d.contains("removed from Readers, Ops")),
        "{details:?}"
    );
    assert_eq!(audit.iter().filter(|e| e.action == "user.link").count(), 1);
}

pub fn a_provider_sign_in_refuses_what_it_must_and_audits_it(h: &Harness) {
    let root = h.root();
    h.user(&root, "native", &[BuiltinRole::Viewer.id()]);
    let gone = external(h, &root, "gone", &[BuiltinRole::Viewer.id()]);
    h.dir
        .update_user(
            &root,
            &gone.id,
            UserUpdate {
                status: Some(UserStatus::Inactive),
                update_version: gone.update_version,
                ..Default::default()
            },
        )
        .unwrap();
    let (_, challenge) = pkce("any");
    let mut unverified = identity("sub-u", "native@example.com", &[]);
    unverified.email_verified = false;
    for (who, why) in [
        (
            Ok(identity("sub-n", "native@example.com", &[])),
            "its own password",
        ),
        (
            Ok(identity("sub-g", "gone@example.com", &[])),
            "deactivated",
        ),
        (
            Ok(identity("sub-x", "nobody@example.com", &[])),
            "No Keyward account",
        ),
        (Ok(unverified), "not verified"),
        (
            Err("the ID token is not valid: Invalid nonce".to_owned()),
            "Invalid nonce",
        ),
    ] {
        let refused = through_provider(h, who, &challenge);
        assert!(
            matches!(&refused, Err(Error::Forbidden(reason)) if reason.contains(why)),
            "{why}: {refused:?}"
        );
    }
    // An app's start that is not a loopback address, or no S256 challenge, is refused.
    let trip = ProviderTrip {
        provider: "Contoso SSO".into(),
        state: keyward::core::secret::generate_token(),
        nonce: "n".into(),
    };
    let start = ProviderStart {
        redirect_uri: "https://example.com/done".into(),
        state: "s".into(),
        code_challenge: "short".into(),
        code_challenge_method: "plain".into(),
    };
    assert_invalid(
        h.dir.begin_provider_sign_in(&start, &trip),
        &["code_challenge", "code_challenge_method", "redirect_uri"],
    );
    // A trip that took too long.
    let start = ProviderStart {
        redirect_uri: "http://127.0.0.1:4711/".into(),
        state: "s".into(),
        code_challenge: challenge.clone(),
        code_challenge_method: "S256".into(),
    };
    h.dir.begin_provider_sign_in(&start, &trip).unwrap();
    h.clock
        .advance(chrono::TimeDelta::minutes(PROVIDER_TRIP_MINUTES + 1));
    assert!(h.dir.resume_provider_sign_in(&trip.state).is_err());

    let audit = h
        .dir
        .list_audit(&root, &AuditQuery::default())
        .unwrap()
        .items;
    let refusals = audit
        .iter()
        .filter(|e| e.action == "auth.sign_in" && e.outcome == Outcome::Failure)
        .count();
    assert_eq!(refusals, 5);
    assert_eq!(audit.iter().filter(|e| e.action == "user.link").count(), 0);
}
