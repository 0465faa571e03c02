//! No password, key or token appears anywhere but in its one-time reveal: not in the audit
//! log, not in listings, not in error messages.

use crate::common::*;
use keyward::core::model::*;
use keyward::core::permission::BuiltinRole;

pub fn no_secret_appears_in_audit_errors_or_listings(h: &Harness) {
    let root = h.root();
    let mut secrets: Vec<String> = vec![PASSWORD.to_owned()];
    let ann = h.user(&root, "ann", &[BuiltinRole::Operator.id()]);
    let session = h.sign_in("ann");
    if let Credential::Session(token) = &session {
        secrets.push(token.expose().to_owned());
    }
    let key = h.dir.create_key(&session, &ann.id, key_named("k")).unwrap();
    secrets.push(key.secret.clone().unwrap().expose().to_owned());
    let rotated = h.dir.regenerate_key(&session, &key.key.id, 3600).unwrap();
    secrets.push(rotated.secret.clone().unwrap().expose().to_owned());
    let reset = h.dir.reset_password(&root, &ann.id).unwrap();
    secrets.push(reset.token.expose().to_owned());
    let invited = h.invite(&root, "ivy", &[]);
    secrets.push(invited.invitation.unwrap().token.expose().to_owned());
    h.dir
        .change_password(
            &session,
            &ann.id,
            &secret(PASSWORD),
            &secret(OTHER_PASSWORD),
        )
        .unwrap();
    secrets.push(OTHER_PASSWORD.to_owned());
    let weak = "weak-secret-pw";
    let mut texts = Vec::new();
    for result in [
        h.dir
            .create_user(
                &root,
                NewUser {
                    user_name: "bob".into(),
                    display_name: "Bob".into(),
                    email: "bob@example.com".into(),
                    password: Some(secret(weak)),
                    ..Default::default()
                },
            )
            .map(drop),
        h.dir.sign_in("ann", &secret(weak)).map(drop),
        h.dir.sign_in("nobody", &secret(weak)).map(drop),
        h.dir
            .accept_invitation(&secret(weak), &secret(weak))
            .map(drop),
        h.dir.me(&Credential::ApiKey(secret(weak))).map(drop),
    ] {
        let error = result.unwrap_err();
        texts.push(error.to_string());
        texts.push(format!("{error:?}"));
        texts.push(serde_json::to_string(&keyward::core::ErrorBody::from(&error)).unwrap());
    }
    secrets.push(weak.to_owned());
    let audit = h
        .dir
        .list_audit(
            &root,
            &AuditQuery {
                page_size: Some(500),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(audit.items.len() > 8);
    texts.push(serde_json::to_string(&audit).unwrap());
    texts.push(
        serde_json::to_string(&h.dir.list_users(&root, &UserQuery::default()).unwrap()).unwrap(),
    );
    texts.push(
        serde_json::to_string(&h.dir.list_keys(&root, &KeyQuery::default()).unwrap()).unwrap(),
    );
    texts.push(format!("{key:?} {rotated:?} {reset:?}"));
    for text in &texts {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret leaked into: {text}"
            );
        }
        assert!(
            !text.contains("$argon2"),
            "a password hash leaked into: {text}"
        );
    }
}
