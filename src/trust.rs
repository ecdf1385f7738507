//! Which certificate authorities `--verify` trusts. The public web roots by default;
//! when the environment names CA bundles the way the W&B SDK's HTTP stacks read them,
//! exactly those: `REQUESTS_CA_BUNDLE` and `CURL_CA_BUNDLE` (Python `requests`, older
//! SDKs), `SSL_CERT_FILE` and `SSL_CERT_DIR` (Go's TLS, `wandb-core` in SDK 0.31), so a
//! self-hosted server behind a private CA verifies wherever the SDK works.

use std::path::{Path, PathBuf};

use ureq::tls::{Certificate, PemItem, RootCerts};

use crate::env::Environment;

/// The variables that name PEM bundle files, in the order they are read.
pub const BUNDLE_FILE_VARS: &[&str] = &["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"];
/// Folders of PEM files (several separated by the platform's path separator), as Go reads it.
pub const BUNDLE_DIR_VAR: &str = "SSL_CERT_DIR";

/// A CA bundle that was named but cannot be used. Says which variable and path.
#[derive(Debug, thiserror::Error)]
#[error("{var} names {}, which {why}", path.display())]
pub struct TrustError {
    pub var: &'static str,
    pub path: PathBuf,
    pub why: String,
}

/// The roots to trust: `None` means the public web roots.
pub fn roots(env: &Environment) -> Result<Option<RootCerts>, TrustError> {
    let mut certs = Vec::new();
    let mut named = false;
    for &var in BUNDLE_FILE_VARS {
        if let Some(path) = env.var(var) {
            named = true;
            certs.extend(read_bundle(var, Path::new(path))?);
        }
    }
    if let Some(dirs) = env.var(BUNDLE_DIR_VAR) {
        named = true;
        for dir in std::env::split_paths(dirs).filter(|d| !d.as_os_str().is_empty()) {
            certs.extend(read_dir(&dir)?);
        }
    }
    if !named {
        return Ok(None);
    }
    if certs.is_empty() {
        let var = BUNDLE_DIR_VAR;
        return Err(TrustError {
            var,
            path: PathBuf::from(env.var(var).unwrap_or_default()),
            why: "holds no PEM certificate".to_owned(),
        });
    }
    Ok(Some(RootCerts::new_with_certs(&certs)))
}

/// The certificates of one PEM bundle named by `var` (e.g. `VAULT_CACERT`), as roots.
pub fn bundle_roots(var: &'static str, path: &Path) -> Result<RootCerts, TrustError> {
    Ok(RootCerts::new_with_certs(&read_bundle(var, path)?))
}

fn read_bundle(var: &'static str, path: &Path) -> Result<Vec<Certificate<'static>>, TrustError> {
    let error = |why: String| TrustError {
        var,
        path: path.to_owned(),
        why,
    };
    // Bounded, never a FIFO, and refused when another user could have written it: a CA
    // bundle decides whom the token and keys are sent to.
    let text = crate::config::atomic::read_trusted_text(path)
        .map_err(|e| error(format!("cannot be used: {}", e.cause)))?
        .ok_or_else(|| error("cannot be read: it does not exist".to_owned()))?;
    let certs = pem_certificates(text.as_bytes());
    if certs.is_empty() {
        return Err(error("holds no PEM certificate".to_owned()));
    }
    Ok(certs)
}

/// Every certificate in the folder's regular files (others are skipped, as Go does).
fn read_dir(dir: &Path) -> Result<Vec<Certificate<'static>>, TrustError> {
    let entries = std::fs::read_dir(dir).map_err(|e| TrustError {
        var: BUNDLE_DIR_VAR,
        path: dir.to_owned(),
        why: format!("cannot be read: {e}"),
    })?;
    let mut certs = Vec::new();
    for entry in entries.flatten() {
        if entry.path().is_file()
            && let Ok(bytes) = std::fs::read(entry.path())
        {
            certs.extend(pem_certificates(&bytes));
        }
    }
    Ok(certs)
}

fn pem_certificates(bytes: &[u8]) -> Vec<Certificate<'static>> {
    ureq::tls::parse_pem(bytes)
        .filter_map(|item| match item {
            Ok(PemItem::Certificate(cert)) => Some(cert.to_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&'static str, &str)]) -> Environment {
        Environment::for_test("/nonexistent".into(), "/".into(), vars)
    }

    #[test]
    fn nothing_named_means_the_public_roots() {
        assert!(roots(&env(&[])).unwrap().is_none());
    }

    #[test]
    fn a_named_bundle_that_cannot_be_used_is_an_error_naming_it() {
        let e = roots(&env(&[("SSL_CERT_FILE", "/no/such/ca.pem")])).unwrap_err();
        assert_eq!(e.var, "SSL_CERT_FILE");
        assert!(
            e.to_string()
                .starts_with("SSL_CERT_FILE names /no/such/ca.pem, which cannot be read"),
            "{e}"
        );
        let t = tempfile::tempdir().unwrap();
        let junk = t.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let e = roots(&env(&[("REQUESTS_CA_BUNDLE", junk.to_str().unwrap())])).unwrap_err();
        assert!(e.to_string().ends_with("holds no PEM certificate"), "{e}");
        let e = roots(&env(&[("SSL_CERT_DIR", t.path().to_str().unwrap())])).unwrap_err();
        assert_eq!(e.var, "SSL_CERT_DIR");
    }
}
