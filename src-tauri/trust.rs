//! The TLS trust for the servers Keyward itself calls (a PostgreSQL database, an identity
//! provider), shared by the store and the server so that neither depends on the other or on the
//! remote client; the remote client's own trust (system roots or one pinned certificate) is in
//! `remote::pinning` and uses the same cryptography.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::CertificateDer;
use rustls::ClientConfig;
use std::fmt;
use std::sync::Arc;

/// The one cryptography provider all of Keyward's TLS uses: its clients, and `keyward
/// serve --tls-cert`.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes [`crypto_provider`] the process's default, for HTTP clients built without an
/// explicit configuration (reqwest is built without a provider of its own); Keyward's own
/// clients always bring theirs. Harmless when called twice.
pub fn ensure_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = CryptoProvider::install_default(Arc::unwrap_or_clone(crypto_provider()));
    });
}

/// The trust for a server Keyward itself calls (a PostgreSQL database, an identity provider):
/// only the certificates in `ca_file` (a PEM file: an organisation's private CA), or else the
/// platform's roots.
pub fn tls_config(ca_file: Option<&std::path::Path>) -> std::result::Result<ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls_platform_verifier::BuilderVerifierExt;
    let builder = ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let Some(ca_file) = ca_file else {
        return Ok(builder
            .with_platform_verifier()
            .map_err(|e| e.to_string())?
            .with_no_client_auth());
    };
    let unreadable = |e: &dyn fmt::Display| {
        format!("cannot read the certificates of {}: {e}", ca_file.display())
    };
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_file_iter(ca_file).map_err(|e| unreadable(&e))? {
        roots
            .add(certificate.map_err(|e| unreadable(&e))?)
            .map_err(|e| unreadable(&e))?;
    }
    if roots.is_empty() {
        return Err(unreadable(&"no certificate in it"));
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}
