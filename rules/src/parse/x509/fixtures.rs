//! Test helpers shared by the x509 tests: the files of
//! `fixtures/parsers/x509/` and facts known about them.

use crate::facts::{Certificate, PrivateKeyFacts};

use super::{parse_certificates, parse_private_key};

pub(super) fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../fixtures/parsers/x509/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(super) fn certs(name: &str) -> Vec<Certificate> {
    parse_certificates(name, &fixture(name)).unwrap()
}

pub(super) fn one_cert(name: &str) -> Certificate {
    let mut all = certs(name);
    assert_eq!(all.len(), 1, "{name}");
    all.remove(0)
}

pub(super) fn key(name: &str) -> PrivateKeyFacts {
    parse_private_key(&fixture(name)).unwrap()
}

// Values below were read from the files make.sh generated, with the
// openssl CLI (`x509 -dates -serial`, `x509 -pubkey | pkey -pubin
// -outform der | sha256sum`).
pub(super) const SERVER_SPKI: &str =
    "70038ec7feaa414e32334443e888d6314096087e85e6d8e3df11b6a293e3528d";
pub(super) const CA_SPKI: &str = "f1f5b8949748470a76b2098a83652d4715a52c3930e5ac1a0a10e4120a7658d9";
pub(super) const EC_SPKI: &str = "221e42e0e2fdfd461a705fa07ef0eb10b743481aa12595e21552ffe3a4a2ae32";
pub(super) const ED25519_SPKI: &str =
    "c4dec2567c8e6ae92f152fe01da797bad76b9d036f51ac6b4a5624eb2f2e7795";
