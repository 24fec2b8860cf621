//! HTTPS to ClickHouse (`secure=true`): rustls with the ring provider, the server's certificate
//! verified against the system's CA store, or against the PEM file given with `ca=` (a private
//! CA or a self-signed server), never not at all.

use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The client configuration for `ca` (`None`: the system's store). Built once per CA and kept:
/// the live tail connects every poll, and the system's store takes milliseconds to load.
pub fn config(ca: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    static LAST: Mutex<Option<(Option<PathBuf>, Arc<ClientConfig>)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((path, config)) = last.as_ref()
        && path.as_deref() == ca
    {
        return Ok(config.clone());
    }
    let config = Arc::new(build(ca)?);
    *last = Some((ca.map(Path::to_path_buf), config.clone()));
    Ok(config)
}

fn build(ca: Option<&Path>) -> Result<ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("ca={}: {}", path.display(), pem_error(&e)))?;
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| format!("ca={}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!("ca={} holds no PEM certificate", path.display()));
            }
        }
        None => {
            // Unreadable entries of the system store are skipped, as every TLS client does.
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(
                    "the system has no CA certificates (install ca-certificates, or give the \
                     server's CA with ca=PATH)"
                        .into(),
                );
            }
        }
    }
    // ring builds with the C compiler alone; rustls 0.23.48 deprecates its provider for lacking
    // post-quantum key exchange, which a client reading ClickHouse does not need.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => io.to_string(),
        other => format!("not a PEM file ({other:?})"),
    }
}

/// A failed handshake in words: a certificate the roots do not vouch for says where roots come
/// from.
pub fn handshake_error(e: &std::io::Error, ca: Option<&Path>) -> String {
    let text = e.to_string();
    if !text.contains("certificate") {
        return format!("TLS handshake failed: {text}");
    }
    let roots = match ca {
        Some(path) => format!("the CA in ca={}", path.display()),
        None => "the system's CA store (a private CA: ca=PATH)".into(),
    };
    format!("TLS handshake failed: {text}; the server's certificate is not trusted by {roots}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "no certificate here\n").unwrap();
        let err = build(Some(&path)).unwrap_err();
        assert!(err.contains("holds no PEM certificate"), "{err}");
        let err = build(Some(&dir.path().join("missing.pem"))).unwrap_err();
        assert!(err.starts_with("ca="), "{err}");
    }
}
