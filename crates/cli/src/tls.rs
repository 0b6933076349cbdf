//! `serve --tls`: the certificate HTTPS is served with, either generated and kept in the data
//! directory or the user's own (`--tls-cert`, `--tls-key`), and the rustls configuration.
//!
//! Generated, in `<data dir>/tls/` (the folder mode 0700):
//! - `ca.pem`, `ca-key.pem`: a local certificate authority (ECDSA P-256, ten years), made once.
//!   Its key (mode 0600) is read only by `serve` to sign the server certificate and never leaves
//!   the folder; `ca.pem` is the file developers trust.
//! - `server.pem`, `server-key.pem`: the server certificate (ECDSA P-256, 397 days, never
//!   beyond the CA) for `localhost`, `127.0.0.1`, `::1`, the listen address, the public URL's host
//!   and each `--tls-name`, signed by the CA; the key mode 0600.
//!
//! Renewal, checked at each start: the server certificate is made anew when it expires within
//! 30 days, lacks one of the names asked for, was not signed by the CA, or does not match its
//! key; the CA is made anew (and must then be trusted again) only when it expires within 30 days
//! or its files are missing or do not match.

use anyhow::{Context, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;

/// The folder of the data directory that holds the generated CA and certificate.
pub const TLS_DIR: &str = "tls";
const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca-key.pem";
const SERVER_CERT: &str = "server.pem";
const SERVER_KEY: &str = "server-key.pem";

const CA_LIFETIME_DAYS: i64 = 3650;
/// The longest lifetime every client accepts for a server certificate (Apple's rule).
const SERVER_LIFETIME_DAYS: i64 = 397;
/// A certificate that expires within this many days is made anew at start.
pub const RENEW_BEFORE_DAYS: i64 = 30;
/// Backdated so that a client whose clock is a little behind accepts a fresh certificate.
const BACKDATE: time::Duration = time::Duration::hours(1);

/// Where the certificate comes from.
pub enum Source {
    /// Generated in the data directory for these names (besides the fixed local ones).
    Generated { names: Vec<String> },
    /// The user's own PEM files: the certificate chain and its private key.
    Files { cert: PathBuf, key: PathBuf },
}

/// What `serve` needs: the rustls configuration and what to tell the user.
pub struct Tls {
    pub config: Arc<ServerConfig>,
    /// The CA file to trust, when generated.
    pub ca_file: Option<PathBuf>,
    /// One line on the certificate (names, expiry, what happened at this start).
    pub summary: String,
}

/// Loads the certificate (generating or renewing it if it must), and the rustls configuration
/// with ALPN `h2` and `http/1.1`.
pub fn load(data_dir: &Path, source: Source) -> anyhow::Result<Tls> {
    let now = OffsetDateTime::now_utc();
    let (chain, key, ca_file, summary) = match source {
        Source::Generated { names } => {
            let generated = ensure_generated(&data_dir.join(TLS_DIR), &names, now)?;
            let chain = vec![CertificateDer::from_pem_file(&generated.server_cert)?];
            let key = PrivateKeyDer::from_pem_file(&generated.server_key)?;
            (chain, key, Some(generated.ca_cert), generated.summary)
        }
        Source::Files { cert, key } => {
            let chain = CertificateDer::pem_file_iter(&cert)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .with_context(|| format!("--tls-cert {}: not a PEM certificate", cert.display()))?;
            if chain.is_empty() {
                bail!("--tls-cert {}: no certificate in the file", cert.display());
            }
            let private = PrivateKeyDer::from_pem_file(&key)
                .with_context(|| format!("--tls-key {}: not a PEM private key", key.display()))?;
            let summary = match parse(&chain[0]) {
                Some(leaf) => {
                    let left = leaf.not_after - now;
                    if left.is_negative() {
                        tracing::warn!(
                            "--tls-cert {}: the certificate has expired",
                            cert.display()
                        );
                    } else if left.whole_days() < RENEW_BEFORE_DAYS {
                        tracing::warn!(
                            "--tls-cert {}: the certificate expires in {} days",
                            cert.display(),
                            left.whole_days()
                        );
                    }
                    format!(
                        "{} (yours) for {}, valid until {}",
                        cert.display(),
                        leaf.names.join(", "),
                        leaf.not_after.date()
                    )
                }
                None => format!("{} (yours)", cert.display()),
            };
            (chain, private, None, summary)
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS certificate and key do not go together")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls {
        config: Arc::new(config),
        ca_file,
        summary,
    })
}

/// The names a generated server certificate is for: the fixed local ones, the listen address
/// (unless it is a wildcard), the public URL's host and the user's `--tls-name`s, once each.
pub fn names_for(listen: IpAddr, public_host: Option<&str>, extra: &[String]) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if !listen.is_unspecified() {
        names.push(listen.to_string());
    }
    names.extend(public_host.map(|h| h.trim_matches(['[', ']']).to_owned()));
    names.extend(extra.iter().map(|n| n.trim().to_owned()));
    let mut unique = Vec::new();
    for name in names {
        let name = normalize(&name);
        if !name.is_empty() && !unique.contains(&name) {
            unique.push(name);
        }
    }
    unique
}

/// IP addresses in their canonical form, DNS names in lower case.
fn normalize(name: &str) -> String {
    match name.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => name.to_ascii_lowercase(),
    }
}

struct Generated {
    ca_cert: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    summary: String,
}

fn ensure_generated(
    dir: &Path,
    names: &[String],
    now: OffsetDateTime,
) -> anyhow::Result<Generated> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    set_mode(dir, 0o700)?;
    let ca_cert_path = dir.join(CA_CERT);
    let ca_key_path = dir.join(CA_KEY);
    let server_cert_path = dir.join(SERVER_CERT);
    let server_key_path = dir.join(SERVER_KEY);
    let mut events = Vec::new();

    let (ca_pem, ca_key, ca_renewed) = match load_ca(&ca_cert_path, &ca_key_path, now) {
        Ok((pem, key)) => (pem, key, false),
        Err(reason) => {
            if ca_cert_path.exists() {
                tracing::warn!(
                    "the local CA is made anew ({reason}): trust {} again",
                    ca_cert_path.display()
                );
                events.push(format!("new CA ({reason}): trust it again"));
            } else {
                events.push("CA generated".to_owned());
            }
            let (pem, key) = generate_ca(now)?;
            write_file(&ca_key_path, key.serialize_pem().as_bytes(), 0o600)?;
            write_file(&ca_cert_path, pem.as_bytes(), 0o644)?;
            (pem, key, true)
        }
    };
    set_mode(&ca_key_path, 0o600)?;
    let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes())?;
    let ca = parse(&ca_der).context("parsing the local CA")?;

    let reason = if ca_renewed {
        Some("the CA is new".to_owned())
    } else {
        check_server(&server_cert_path, &server_key_path, &ca_der, names, now).err()
    };
    if let Some(reason) = reason {
        let issuer = Issuer::from_ca_cert_pem(&ca_pem, &ca_key)?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "bankid-oidc test server");
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => Ok(SanType::DnsName(n.clone().try_into().map_err(|_| {
                    anyhow::anyhow!("--tls-name '{n}' is not a DNS name or IP address")
                })?)),
            })
            .collect::<anyhow::Result<_>>()?;
        params.not_before = now - BACKDATE;
        params.not_after = (now + time::Duration::days(SERVER_LIFETIME_DAYS)).min(ca.not_after);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &issuer)?;
        write_file(&server_key_path, key.serialize_pem().as_bytes(), 0o600)?;
        write_file(&server_cert_path, cert.pem().as_bytes(), 0o644)?;
        if !ca_renewed {
            tracing::info!("server certificate made anew: {reason}");
            events.push(format!("server certificate renewed ({reason})"));
        }
    }
    set_mode(&server_key_path, 0o600)?;
    let server = parse(&CertificateDer::from_pem_file(&server_cert_path)?)
        .context("parsing the server certificate")?;
    let mut summary = String::new();
    write!(
        summary,
        "{} for {}, valid until {}; renewed at start within {RENEW_BEFORE_DAYS} days of expiry",
        server_cert_path.display(),
        server.names.join(", "),
        server.not_after.date()
    )?;
    if !events.is_empty() {
        write!(summary, " ({})", events.join("; "))?;
    }
    Ok(Generated {
        ca_cert: ca_cert_path,
        server_cert: server_cert_path,
        server_key: server_key_path,
        summary,
    })
}

/// The CA's certificate (PEM) and key, if both are there, match, and last beyond the renewal
/// margin; else why not.
fn load_ca(cert: &Path, key: &Path, now: OffsetDateTime) -> Result<(String, KeyPair), String> {
    let pem = std::fs::read_to_string(cert).map_err(|_| "no CA certificate".to_owned())?;
    let key_pem = std::fs::read_to_string(key).map_err(|_| "no CA key".to_owned())?;
    let key = KeyPair::from_pem(&key_pem).map_err(|_| "the CA key is unreadable".to_owned())?;
    let der = CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| "the CA certificate is unreadable".to_owned())?;
    let parsed = parse(&der).ok_or("the CA certificate is unreadable")?;
    if parsed.public_key != key.public_key_raw() {
        return Err("the CA key does not match its certificate".to_owned());
    }
    if parsed.not_after - now < time::Duration::days(RENEW_BEFORE_DAYS) {
        return Err(format!("the CA expires {}", parsed.not_after.date()));
    }
    Ok((pem, key))
}

/// Whether the server certificate can be kept; if not, why.
fn check_server(
    cert: &Path,
    key: &Path,
    ca: &CertificateDer<'_>,
    names: &[String],
    now: OffsetDateTime,
) -> Result<(), String> {
    let der = CertificateDer::from_pem_file(cert).map_err(|_| "none yet".to_owned())?;
    let key = std::fs::read_to_string(key)
        .ok()
        .and_then(|k| KeyPair::from_pem(&k).ok())
        .ok_or("its key is missing")?;
    let parsed = parse(&der).ok_or("unreadable")?;
    if parsed.public_key != key.public_key_raw() {
        return Err("its key does not match".to_owned());
    }
    if !signed_by(&der, ca) {
        return Err("not signed by the local CA".to_owned());
    }
    if parsed.not_after - now < time::Duration::days(RENEW_BEFORE_DAYS) {
        return Err(format!("it expires {}", parsed.not_after.date()));
    }
    if let Some(missing) = names.iter().find(|n| !parsed.names.contains(n)) {
        return Err(format!("'{missing}' is not among its names"));
    }
    Ok(())
}

fn signed_by(cert: &CertificateDer<'_>, ca: &CertificateDer<'_>) -> bool {
    let (Ok((_, cert)), Ok((_, ca))) = (
        x509_parser::parse_x509_certificate(cert),
        x509_parser::parse_x509_certificate(ca),
    ) else {
        return false;
    };
    cert.verify_signature(Some(ca.public_key())).is_ok()
}

fn generate_ca(now: OffsetDateTime) -> anyhow::Result<(String, KeyPair)> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    // A name of its own per data directory, so that two trusted CAs can be told apart.
    let id = &hex(key.public_key_raw())[2..10];
    params.distinguished_name.push(
        DnType::CommonName,
        format!("bankid-oidc local CA {id} (TEST ONLY)"),
    );
    params
        .distinguished_name
        .push(DnType::OrganizationName, "bankid-oidc test provider");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - BACKDATE;
    params.not_after = now + time::Duration::days(CA_LIFETIME_DAYS);
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// What `serve` reads from a certificate.
struct Parsed {
    not_after: OffsetDateTime,
    names: Vec<String>,
    public_key: Vec<u8>,
}

fn parse(der: &CertificateDer<'_>) -> Option<Parsed> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some(normalize(dns)),
                    GeneralName::IPAddress(ip) => match ip.len() {
                        4 => Some(IpAddr::from(<[u8; 4]>::try_from(*ip).ok()?).to_string()),
                        16 => Some(IpAddr::from(<[u8; 16]>::try_from(*ip).ok()?).to_string()),
                        _ => None,
                    },
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Parsed {
        not_after: cert.validity().not_after.to_datetime(),
        names,
        public_key: cert.public_key().subject_public_key.data.to_vec(),
    })
}

/// Writes a file whole or not at all (a temporary file renamed), with this mode from the start.
fn write_file(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Sets a file's or folder's mode (a key copied in with a wider one is narrowed at each start).
fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("setting the mode of {}", path.display()))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// How to trust the CA, per ecosystem, for the start banner.
pub fn trust_lines(ca: &Path, base: &str) -> Vec<(&'static str, String)> {
    let ca = ca.display();
    vec![
        ("curl:", format!("curl --cacert {ca} {base}/")),
        ("Node:", format!("NODE_EXTRA_CA_CERTS={ca} node app.js")),
        (
            "Rust, Python:",
            format!("SSL_CERT_FILE={ca} (Python requests: REQUESTS_CA_BUNDLE={ca})"),
        ),
        (
            ".NET:",
            format!(
                "sudo cp {ca} /usr/local/share/ca-certificates/bankid-oidc.crt && sudo update-ca-certificates (Windows: certutil -user -addstore Root {ca})"
            ),
        ),
        (
            "Java:",
            format!(
                "keytool -importcert -noprompt -alias bankid-oidc -file {ca} -keystore bankid-oidc.p12 -storepass changeit, then -Djavax.net.ssl.trustStore=bankid-oidc.p12 -Djavax.net.ssl.trustStorePassword=changeit"
            ),
        ),
        (
            "Browser:",
            format!(
                "certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n bankid-oidc -i {ca} (Chrome, Chromium on Linux; Firefox: Settings > Certificates > Import)"
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_canonical_and_unique() {
        let names = names_for(
            "0.0.0.0".parse().unwrap(),
            Some("[::1]"),
            &["Merchant.Test".to_owned(), "127.0.0.1".to_owned()],
        );
        assert_eq!(names, ["localhost", "127.0.0.1", "::1", "merchant.test"]);
    }

    #[test]
    fn generated_once_then_kept_and_renewed_when_a_name_is_added() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let names = names_for("127.0.0.1".parse().unwrap(), None, &[]);
        let first = ensure_generated(dir.path(), &names, now).unwrap();
        assert!(first.summary.contains("CA generated"), "{}", first.summary);
        let read = |f: &str| std::fs::read(dir.path().join(f)).unwrap();
        let (ca, server) = (read(CA_CERT), read(SERVER_CERT));
        let again = ensure_generated(dir.path(), &names, now).unwrap();
        assert!(!again.summary.contains('('), "{}", again.summary);
        assert_eq!(
            (read(CA_CERT), read(SERVER_CERT)),
            (ca.clone(), server.clone())
        );

        let more = names_for(
            "127.0.0.1".parse().unwrap(),
            None,
            &["shop.test".to_owned()],
        );
        let renewed = ensure_generated(dir.path(), &more, now).unwrap();
        assert!(renewed.summary.contains("renewed"), "{}", renewed.summary);
        assert_eq!(read(CA_CERT), ca);
        assert_ne!(read(SERVER_CERT), server);

        // A year on, within 30 days of the server certificate's end: renewed, the CA kept.
        let later = now + time::Duration::days(SERVER_LIFETIME_DAYS - 10);
        let renewed = ensure_generated(dir.path(), &more, later).unwrap();
        assert!(renewed.summary.contains("expires"), "{}", renewed.summary);
        assert_eq!(read(CA_CERT), ca);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |f: &str| {
                std::fs::metadata(dir.path().join(f))
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777
            };
            assert_eq!(mode(CA_KEY), 0o600);
            assert_eq!(mode(SERVER_KEY), 0o600);
        }
    }
}
