//! TLS trust for the remote client: the system's roots, or one pinned certificate.
//!
//! A team's own server often has a self-signed certificate. It is never accepted silently: the
//! app first shows the certificate's SHA-256 fingerprint ([`fetch_certificate`]), the
//! administrator compares it with the one the server printed and trusts it explicitly, and
//! from then on that profile accepts exactly that certificate and nothing else.

use crate::core::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::{Arc, Mutex};

/// The SHA-256 fingerprint of a certificate, shown as `AB:CD:…` (32 pairs).
#[derive(Clone, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    pub fn of(certificate: &[u8]) -> Fingerprint {
        Fingerprint(Sha256::digest(certificate).into())
    }

    /// Reads a fingerprint as people copy it: hex, with or without colons or spaces.
    pub fn parse(text: &str) -> Result<Fingerprint> {
        let hex: String = text
            .chars()
            .filter(|c| !matches!(c, ':' | ' ' | '-'))
            .collect();
        let refuse = || {
            Error::invalid(
                "fingerprint",
                "A SHA-256 fingerprint is 64 hexadecimal digits (colons allowed).",
            )
        };
        crate::core::secret::bytes_from_hex(&hex)
            .map(Fingerprint)
            .ok_or_else(refuse)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<String> = self.0.iter().map(|b| format!("{b:02X}")).collect();
        f.write_str(&pairs.join(":"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// The system's trusted roots (through the platform verifier), as every browser does.
pub(super) fn system_config() -> ClientConfig {
    use rustls_platform_verifier::BuilderVerifierExt;
    let builder = ClientConfig::builder_with_provider(crate::trust::crypto_provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions");
    match builder.clone().with_platform_verifier() {
        Ok(config) => config.with_no_client_auth(),
        Err(error) => {
            // No usable system store: nothing but pinned certificates will be trusted.
            tracing::warn!(%error, "the system's certificate store cannot be read");
            builder
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        }
    }
}

/// Exactly the certificate with this fingerprint; the host name is not checked, because the
/// administrator pinned this very certificate for this profile.
pub(super) fn pinned_config(fingerprint: Fingerprint) -> ClientConfig {
    let verifier = PinnedVerifier {
        accept: Accept::Only(fingerprint),
        provider: crate::trust::crypto_provider(),
    };
    with_verifier(verifier)
}

fn with_verifier(verifier: PinnedVerifier) -> ClientConfig {
    ClientConfig::builder_with_provider(Arc::clone(&verifier.provider))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth()
}

/// The certificate a server presents, for a person to look at before trusting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedCertificate {
    pub fingerprint: Fingerprint,
    /// Whether the system's roots already trust it (then nothing needs pinning).
    pub trusted_by_system: bool,
}

/// Connects to `url` and reports the certificate it presents, trusting nothing: the only
/// request made is `GET /healthz`, without credentials.
pub fn fetch_certificate(url: &str) -> Result<PresentedCertificate> {
    let base = super::parse_server_url(url)?;
    if base.scheme() != "https" {
        return Err(Error::invalid(
            "url",
            "Only https:// servers have a certificate.",
        ));
    }
    let seen = Arc::new(Mutex::new(None));
    let verifier = PinnedVerifier {
        accept: Accept::Record(Arc::clone(&seen)),
        provider: crate::trust::crypto_provider(),
    };
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(10))
        .use_preconfigured_tls(with_verifier(verifier))
        .build()
        .map_err(|error| Error::Internal(format!("cannot build the HTTP client: {error}")))?;
    let health = base
        .join("/healthz")
        .map_err(|_| Error::invalid("url", "Not a server address."))?;
    client
        .get(health.clone())
        .send()
        .map_err(|error| super::transport_error(&error))?;
    let certificate: Vec<u8> = seen
        .lock()
        .map_err(|_| Error::Internal("certificate record poisoned".into()))?
        .take()
        .ok_or_else(|| Error::Internal("the server presented no certificate".into()))?;
    let trusted_by_system = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .use_preconfigured_tls(system_config())
        .build()
        .ok()
        .is_some_and(|client| client.get(health).send().is_ok());
    Ok(PresentedCertificate {
        fingerprint: Fingerprint::of(&certificate),
        trusted_by_system,
    })
}

#[derive(Debug)]
enum Accept {
    Only(Fingerprint),
    /// Accepts any certificate and keeps it, to show its fingerprint.
    Record(Arc<Mutex<Option<Vec<u8>>>>),
}

#[derive(Debug)]
struct PinnedVerifier {
    accept: Accept,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match &self.accept {
            Accept::Only(pinned) if Fingerprint::of(end_entity) == *pinned => {
                Ok(ServerCertVerified::assertion())
            }
            Accept::Only(_) => Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
            Accept::Record(seen) => {
                if let Ok(mut seen) = seen.lock() {
                    *seen = Some(end_entity.to_vec());
                }
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_read_as_people_copy_them() {
        let fingerprint = Fingerprint::of(b"certificate");
        let shown = fingerprint.to_string();
        assert_eq!(shown.len(), 32 * 3 - 1);
        assert_eq!(Fingerprint::parse(&shown).unwrap(), fingerprint);
        assert_eq!(
            Fingerprint::parse(&shown.replace(':', "").to_lowercase()).unwrap(),
            fingerprint
        );
        assert!(Fingerprint::parse("AB:CD").is_err());
        // Pasted text with a non-ASCII character in it is refused, never sliced mid-character.
        assert!(Fingerprint::parse(&format!("a{}b", "é".repeat(31))).is_err());
    }
}
