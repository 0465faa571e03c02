//! HTTPS with a self-signed certificate: refused by the system's trust, shown by its
//! fingerprint, accepted when exactly that certificate is pinned.

use super::support::test_options;
use crate::common::{secret, Harness, PASSWORD};
use keyward::core::directory::Directory;
use keyward::core::model::{Credential, FirstAdmin};
use keyward::core::Error;
use keyward::remote::{fetch_certificate, Fingerprint, RemoteDirectory, Trust};
use keyward::server::{load_tls, RunningServer, ServerOptions};
use std::sync::Arc;

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files.
struct SelfSigned {
    der: Vec<u8>,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

fn self_signed(dir: &std::path::Path, name: &str) -> SelfSigned {
    let generated =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("certificate");
    let cert = dir.join(format!("{name}.crt.pem"));
    let key = dir.join(format!("{name}.key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    SelfSigned {
        der: generated.cert.der().to_vec(),
        cert,
        key,
    }
}

/// An HTTPS server over an empty directory; the harness keeps the file and stops the server.
fn https_server(tls: &SelfSigned) -> (Harness, String) {
    let mut harness = Harness::sqlite();
    let options = ServerOptions {
        tls: Some(load_tls(&tls.cert, &tls.key).expect("load the certificate")),
        ..test_options()
    };
    let server = RunningServer::start(
        Arc::clone(&harness.dir),
        "127.0.0.1:0".parse().unwrap(),
        options,
        2,
    )
    .expect("start");
    let url = server.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    harness.server = Some(server);
    (harness, url)
}

#[track_caller]
fn assert_refused_for_its_certificate<T: std::fmt::Debug>(result: keyward::core::Result<T>) {
    match result {
        Err(Error::Unavailable(message)) => {
            assert!(message.contains("certificate"), "{message}");
        }
        other => panic!("expected a refused certificate, got {other:?}"),
    }
}

#[test]
fn a_self_signed_server_is_refused_by_the_system_trust_and_shows_its_fingerprint() {
    let tmp = tempfile::TempDir::new().unwrap();
    let tls = self_signed(tmp.path(), "server");
    let (_harness, url) = https_server(&tls);

    let system = RemoteDirectory::new(&url, &Trust::System).unwrap();
    assert_refused_for_its_certificate(system.needs_setup());
    assert_refused_for_its_certificate(system.sign_in("root", &secret(PASSWORD)));

    let presented = fetch_certificate(&url).expect("the certificate");
    assert_eq!(presented.fingerprint, Fingerprint::of(&tls.der));
    assert!(!presented.trusted_by_system);
    assert_eq!(presented.fingerprint.to_string().len(), 32 * 3 - 1);
    // As a person would copy it, the fingerprint reads back the same.
    assert_eq!(
        Fingerprint::parse(&presented.fingerprint.to_string()).unwrap(),
        presented.fingerprint
    );
    // Plain HTTP has no certificate to show.
    assert!(matches!(
        fetch_certificate(&url.replace("https://", "http://")),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn a_pinned_certificate_is_trusted_and_any_other_refused() {
    let tmp = tempfile::TempDir::new().unwrap();
    let tls = self_signed(tmp.path(), "server");
    let other = self_signed(tmp.path(), "other");
    let (_harness, url) = https_server(&tls);

    let pinned = RemoteDirectory::new(&url, &Trust::Pinned(Fingerprint::of(&tls.der))).unwrap();
    assert!(pinned.needs_setup().unwrap());
    let admin = pinned
        .create_first_admin(FirstAdmin {
            user_name: "root".into(),
            display_name: "Root".into(),
            email: "root@example.com".into(),
            password: secret(PASSWORD),
        })
        .unwrap();
    assert!(!pinned.needs_setup().unwrap());
    let signed_in = pinned.sign_in("root", &secret(PASSWORD)).unwrap();
    assert_eq!(signed_in.user.id, admin.id);
    let me = pinned
        .me(&Credential::Session(signed_in.access_token.clone()))
        .unwrap();
    assert_eq!(me.user_name, "root");

    let wrong = RemoteDirectory::new(&url, &Trust::Pinned(Fingerprint::of(&other.der))).unwrap();
    assert_refused_for_its_certificate(wrong.needs_setup());
    assert_refused_for_its_certificate(wrong.sign_in("root", &secret(PASSWORD)));
    assert_refused_for_its_certificate(
        wrong.me(&Credential::Session(signed_in.access_token.clone())),
    );
    // Plain HTTP to the HTTPS port gets no answer from the API.
    let plain = RemoteDirectory::new(&url.replace("https://", "http://"), &Trust::System).unwrap();
    assert!(plain.needs_setup().is_err());
    // The pinned client goes on working after the refusals.
    assert!(!pinned.needs_setup().unwrap());
}
