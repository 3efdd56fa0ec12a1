//! Making a plan's [`Recipe`]s at apply time: new keys and certificates,
//! signed by a CA of the same run, by a CA in local files, or on the host
//! that keeps the CA key (the request goes there, the certificate comes
//! back; the CA key never leaves it).
//!
//! What is made is stored once per run in `<run dir>/generated.json`
//! (mode 0600 from creation, beside the journal), so a resumed run writes
//! exactly the bytes the interrupted one recorded.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::ApplyError;
use crate::fsutil;
use crate::keygen::{self, Ca, CertSpec, KeyAlgo};
use crate::plan::{Issuer, KeyType, Plan, Recipe, Usage};
use crate::shell::quote;
use crate::target::{Target, Targets};

/// The file name of the store in a run folder.
pub const STORE_FILE: &str = "generated.json";

/// The run's store: loaded when an earlier attempt made it, else made now
/// and written before any step runs.
pub(crate) fn load_or_make(
    run_dir: &Path,
    plan: &Plan,
    targets: &Targets<'_>,
) -> Result<BTreeMap<String, Vec<u8>>, ApplyError> {
    let path = run_dir.join(STORE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let map: BTreeMap<String, String> =
                serde_json::from_slice(&bytes).map_err(|e| ApplyError::Journal {
                    path: path.clone(),
                    line: e.line(),
                    message: e.to_string(),
                })?;
            return Ok(map.into_iter().map(|(k, v)| (k, v.into_bytes())).collect());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(ApplyError::State { path, source }),
    }
    let made = make(plan, targets)?;
    let json = serde_json::to_vec(&made).map_err(|e| ApplyError::Journal {
        path: path.clone(),
        line: 0,
        message: e.to_string(),
    })?;
    fsutil::write_local_atomic(&path, &json, 0o600)
        .map_err(|source| ApplyError::State { path, source })?;
    Ok(made.into_iter().map(|(k, v)| (k, v.into_bytes())).collect())
}

fn algo(k: KeyType) -> KeyAlgo {
    match k {
        KeyType::Rsa2048 => KeyAlgo::Rsa(2048),
        KeyType::Rsa4096 => KeyAlgo::Rsa(4096),
        KeyType::EcdsaP256 => KeyAlgo::EcdsaP256,
    }
}

/// Makes every recipe, in plan order (a CA before the leaves it signs).
pub fn make(plan: &Plan, targets: &Targets<'_>) -> Result<BTreeMap<String, String>, ApplyError> {
    let mut out = BTreeMap::new();
    let mut cas: BTreeMap<&str, Ca> = BTreeMap::new();
    for recipe in &plan.generate {
        let id = recipe.id();
        let fail = |message: String| ApplyError::Generate {
            id: id.to_string(),
            message,
        };
        match recipe {
            Recipe::Ca {
                common_name,
                days,
                algo: a,
                ..
            } => {
                let ca =
                    Ca::generate(common_name, *days, algo(*a)).map_err(|e| fail(e.to_string()))?;
                out.insert(format!("{id}.crt"), ca.cert_pem());
                out.insert(format!("{id}.key"), ca.key_pem());
                cas.insert(id, ca);
            }
            Recipe::Leaf {
                usage,
                common_name,
                sans,
                days,
                algo: a,
                issuer,
                ..
            } => {
                let spec = CertSpec {
                    common_name: common_name.clone(),
                    sans: sans.clone(),
                    days: *days,
                    algo: algo(*a),
                };
                let issue = |ca: &Ca| match usage {
                    Usage::Server => ca.issue_server(&spec),
                    Usage::Client => ca.issue_client(&spec),
                };
                let issued = match issuer {
                    Issuer::Generated { id: ca_id } => {
                        let ca = cas.get(ca_id.as_str()).ok_or_else(|| {
                            fail(format!("the CA recipe {ca_id:?} does not come before it"))
                        })?;
                        issue(ca).map_err(|e| fail(e.to_string()))?
                    }
                    Issuer::Local {
                        cert_path,
                        key_path,
                    } => {
                        let read = |p: &str| {
                            std::fs::read_to_string(p)
                                .map_err(|e| fail(format!("reading {p}: {e}")))
                        };
                        let ca = Ca::from_pem(&read(cert_path)?, &read(key_path)?)
                            .map_err(|e| fail(e.to_string()))?;
                        issue(&ca).map_err(|e| fail(e.to_string()))?
                    }
                    Issuer::Remote {
                        host,
                        cert_path,
                        key_path,
                    } => {
                        let target = targets(host)
                            .ok_or_else(|| fail(format!("no target for the CA host {host:?}")))?;
                        sign_remote(target, &spec, *usage, cert_path, key_path)
                            .map_err(|m| fail(format!("signing on {host}: {m}")))?
                    }
                };
                out.insert(format!("{id}.crt"), issued.cert_pem);
                out.insert(format!("{id}.key"), issued.key_pem);
            }
        }
    }
    Ok(out)
}

/// The command that signs a request with the CA key on its host: a private
/// temporary folder for the request and the extensions, `openssl x509
/// -req` with a random serial (no serial file is written), the certificate
/// on stdout. Nothing on the host changes.
pub fn sign_command(
    csr_pem: &str,
    extfile: &str,
    cert_path: &str,
    key_path: &str,
    days: u32,
    serial_hex: &str,
) -> String {
    format!(
        "umask 077 && d=$(mktemp -d) && trap 'rm -rf \"$d\"' EXIT && \
         printf '%s' {csr} > \"$d/req.pem\" && printf '%s' {ext} > \"$d/ext.cnf\" && \
         openssl x509 -req -in \"$d/req.pem\" -CA {cert} -CAkey {key} -set_serial 0x{serial_hex} \
         -days {days} -sha256 -extfile \"$d/ext.cnf\" -extensions v3",
        csr = quote(csr_pem),
        ext = quote(extfile),
        cert = quote(cert_path),
        key = quote(key_path),
    )
}

fn sign_remote(
    target: &dyn Target,
    spec: &CertSpec,
    usage: Usage,
    cert_path: &str,
    key_path: &str,
) -> Result<keygen::Issued, String> {
    let ca_cert = target
        .read_file(cert_path)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{cert_path} does not exist"))?;
    let ca_cert = String::from_utf8_lossy(&ca_cert.content).into_owned();
    let req = keygen::leaf_request(spec, usage == Usage::Server).map_err(|e| e.to_string())?;
    let mut serial = [0u8; 16];
    openssl::rand::rand_bytes(&mut serial).map_err(|e| e.to_string())?;
    // A positive serial with its top bit set: 128 bits, like local issuing.
    serial[0] = (serial[0] & 0x7f) | 0x40;
    let serial_hex = hex::encode(serial);
    let command = sign_command(
        &req.csr_pem,
        &req.extfile,
        cert_path,
        key_path,
        req.days,
        &serial_hex,
    );
    let out = target.run_command(&command).map_err(|e| e.to_string())?;
    if out.status != 0 {
        return Err(format!(
            "openssl x509 -req exited with {}: {}",
            out.status,
            out.stderr.trim()
        ));
    }
    req.accept(&out.stdout, &ca_cert).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Issuer, Recipe};
    use crate::target::LocalTarget;

    fn plan(generate: Vec<Recipe>) -> Plan {
        Plan {
            run_id: "r".into(),
            created_at: String::new(),
            title: String::new(),
            generate,
            steps: Vec::new(),
        }
    }

    #[test]
    fn a_new_ca_signs_the_leaves_of_its_run() {
        let p = plan(vec![
            Recipe::Ca {
                id: "ca".into(),
                common_name: "test CA".into(),
                days: 30,
                algo: KeyType::EcdsaP256,
            },
            Recipe::Leaf {
                id: "db".into(),
                usage: Usage::Server,
                common_name: "db-master".into(),
                sans: vec!["127.0.0.1".into()],
                days: 10,
                algo: KeyType::EcdsaP256,
                issuer: Issuer::Generated { id: "ca".into() },
            },
        ]);
        let none = |_: &str| None::<&dyn Target>;
        let made = make(&p, &none).unwrap();
        assert_eq!(
            made.keys().collect::<Vec<_>>(),
            ["ca.crt", "ca.key", "db.crt", "db.key"]
        );
        let ca = openssl::x509::X509::from_pem(made["ca.crt"].as_bytes()).unwrap();
        let db = openssl::x509::X509::from_pem(made["db.crt"].as_bytes()).unwrap();
        assert!(db.verify(&ca.public_key().unwrap()).unwrap());
    }

    /// The openssl CLI signs on the "CA host" (a local folder here): the
    /// certificate verifies against the CA, carries the new key and the
    /// server extensions, and no file appears next to the CA key.
    #[test]
    fn remote_signing_uses_the_ca_key_where_it_is() {
        if std::process::Command::new("openssl")
            .arg("version")
            .output()
            .is_err()
        {
            eprintln!("skipping: no openssl CLI");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::generate("remote CA", 30, KeyAlgo::Rsa(2048)).unwrap();
        let root = dir.path().join("data");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("root.crt"), ca.cert_pem()).unwrap();
        std::fs::write(root.join("root.key"), ca.key_pem()).unwrap();
        let p = plan(vec![Recipe::Leaf {
            id: "db".into(),
            usage: Usage::Server,
            common_name: "db-master".into(),
            sans: vec!["db.example.com".into(), "127.0.50.1".into()],
            days: 10,
            algo: KeyType::Rsa2048,
            issuer: Issuer::Remote {
                host: "db-master".into(),
                cert_path: format!("{}/root.crt", root.display()),
                key_path: format!("{}/root.key", root.display()),
            },
        }]);
        let local = LocalTarget::new("db-master", "/");
        let targets = |h: &str| (h == "db-master").then_some(&local as &dyn Target);
        let made = make(&p, &targets).unwrap();
        let cert = openssl::x509::X509::from_pem(made["db.crt"].as_bytes()).unwrap();
        let ca_cert = openssl::x509::X509::from_pem(ca.cert_pem().as_bytes()).unwrap();
        assert!(cert.verify(&ca_cert.public_key().unwrap()).unwrap());
        let text = String::from_utf8(cert.to_text().unwrap()).unwrap();
        assert!(text.contains("TLS Web Server Authentication"), "{text}");
        assert!(
            text.contains("DNS:db-master, DNS:db.example.com, IP Address:127.0.50.1"),
            "{text}"
        );
        assert!(text.contains("CA:FALSE"), "{text}");
        assert!(made["db.key"].starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let mut left: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["root.crt", "root.key"]);
    }

    #[test]
    fn a_wrong_ca_key_is_reported_not_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::generate("CA one", 30, KeyAlgo::EcdsaP256).unwrap();
        let other = Ca::generate("CA two", 30, KeyAlgo::EcdsaP256).unwrap();
        std::fs::write(dir.path().join("root.crt"), ca.cert_pem()).unwrap();
        std::fs::write(dir.path().join("root.key"), other.key_pem()).unwrap();
        let local = LocalTarget::new("db", "/");
        let targets = |h: &str| (h == "db").then_some(&local as &dyn Target);
        let p = plan(vec![Recipe::Leaf {
            id: "x".into(),
            usage: Usage::Client,
            common_name: "deploy".into(),
            sans: vec![],
            days: 10,
            algo: KeyType::EcdsaP256,
            issuer: Issuer::Remote {
                host: "db".into(),
                cert_path: format!("{}/root.crt", dir.path().display()),
                key_path: format!("{}/root.key", dir.path().display()),
            },
        }]);
        let err = make(&p, &targets).unwrap_err().to_string();
        assert!(err.contains("making x: signing on db:"), "{err}");
    }
}
