//! The object identifiers certificates commonly carry, with the names
//! OpenSSL gives them, so the common case is named without a lookup in
//! OpenSSL's object tables (which takes a lock on every call).
//!
//! Every entry is checked against OpenSSL by the tests below: a name here
//! that OpenSSL spells differently fails them. An OID missing from these
//! tables is still named, by OpenSSL (`cert::oid_long_name`).

/// Dotted OID → OpenSSL's long name (`OBJ_nid2ln`), for signature and key
/// algorithms.
const LONG_NAMES: [(&str, &str); 29] = [
    // PKCS #1
    ("1.2.840.113549.1.1.1", "rsaEncryption"),
    ("1.2.840.113549.1.1.2", "md2WithRSAEncryption"),
    ("1.2.840.113549.1.1.3", "md4WithRSAEncryption"),
    ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.2.840.113549.1.1.10", "rsassaPss"),
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
    ("1.2.840.113549.1.1.14", "sha224WithRSAEncryption"),
    ("1.2.840.113549.1.1.15", "sha512-224WithRSAEncryption"),
    ("1.2.840.113549.1.1.16", "sha512-256WithRSAEncryption"),
    // OIW
    ("1.3.14.3.2.29", "sha1WithRSA"),
    // ANSI X9.62
    ("1.2.840.10045.2.1", "id-ecPublicKey"),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10045.4.3.1", "ecdsa-with-SHA224"),
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512"),
    // RFC 8410
    ("1.3.101.110", "X25519"),
    ("1.3.101.111", "X448"),
    ("1.3.101.112", "ED25519"),
    ("1.3.101.113", "ED448"),
    // DSA (X9.57, NIST)
    ("1.2.840.10040.4.1", "dsaEncryption"),
    ("1.2.840.10040.4.3", "dsaWithSHA1"),
    ("2.16.840.1.101.3.4.3.1", "dsa_with_SHA224"),
    ("2.16.840.1.101.3.4.3.2", "dsa_with_SHA256"),
    ("2.16.840.1.101.3.4.3.3", "dsa_with_SHA384"),
    ("2.16.840.1.101.3.4.3.4", "dsa_with_SHA512"),
];

/// OpenSSL's long name for a dotted OID of [`LONG_NAMES`].
pub(super) fn long_name(oid: &str) -> Option<&'static str> {
    LONG_NAMES
        .iter()
        .find(|(o, _)| *o == oid)
        .map(|(_, name)| *name)
}

/// A named elliptic curve as OpenSSL describes a key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Curve {
    /// Dotted OID of the curve (the parameters of `id-ecPublicKey`).
    pub oid: &'static str,
    /// OpenSSL's short name (`OBJ_nid2sn`), the name reports show.
    pub short_name: &'static str,
    /// Bits of the group order: what OpenSSL gives as the key's size.
    pub bits: u32,
    /// Bytes of one coordinate: an uncompressed point is `04 || X || Y`.
    pub field_bytes: usize,
}

/// The named curves certificates use; keys on any other curve are read by
/// OpenSSL.
pub(super) const CURVES: [Curve; 9] = [
    curve("1.2.840.10045.3.1.7", "prime256v1", 256, 32),
    curve("1.3.132.0.34", "secp384r1", 384, 48),
    curve("1.3.132.0.35", "secp521r1", 521, 66),
    curve("1.3.132.0.10", "secp256k1", 256, 32),
    curve("1.3.132.0.33", "secp224r1", 224, 28),
    curve("1.2.840.10045.3.1.1", "prime192v1", 192, 24),
    curve("1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1", 256, 32),
    curve("1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1", 384, 48),
    curve("1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1", 512, 64),
];

const fn curve(
    oid: &'static str,
    short_name: &'static str,
    bits: u32,
    field_bytes: usize,
) -> Curve {
    Curve {
        oid,
        short_name,
        bits,
        field_bytes,
    }
}

/// The curve of [`CURVES`] with this dotted OID, and its place in the table.
pub(super) fn curve_by_oid(oid: &str) -> Option<(usize, &'static Curve)> {
    CURVES.iter().enumerate().find(|(_, c)| c.oid == oid)
}

#[cfg(test)]
mod tests {
    use openssl::asn1::Asn1Object;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::pkey::PKey;

    use super::*;

    fn openssl_nid(oid: &str) -> Nid {
        let nid = Asn1Object::from_str(oid).unwrap().nid();
        assert_ne!(nid, Nid::UNDEF, "{oid} unknown to OpenSSL");
        nid
    }

    #[test]
    fn long_names_are_openssls() {
        for (oid, name) in LONG_NAMES {
            assert_eq!(openssl_nid(oid).long_name().unwrap(), name, "{oid}");
            assert_eq!(long_name(oid), Some(name));
        }
        let mut oids: Vec<_> = LONG_NAMES.iter().map(|(o, _)| o).collect();
        oids.sort();
        oids.dedup();
        assert_eq!(oids.len(), LONG_NAMES.len(), "an OID listed twice");
        assert_eq!(long_name("1.2.3.4"), None);
    }

    #[test]
    fn curves_are_named_and_sized_as_openssl_does() {
        for c in CURVES {
            let nid = openssl_nid(c.oid);
            assert_eq!(nid.short_name().unwrap(), c.short_name, "{}", c.oid);
            let group = EcGroup::from_curve_name(nid).unwrap();
            let pkey = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
            assert_eq!(pkey.bits(), c.bits, "{}", c.short_name);
            let field_bytes = group.degree().div_ceil(8) as usize;
            assert_eq!(c.field_bytes, field_bytes, "{}", c.short_name);
            assert_eq!(curve_by_oid(c.oid).map(|(_, found)| found), Some(&c));
        }
        assert_eq!(curve_by_oid("1.2.840.10045.3.1.2"), None);
    }
}
