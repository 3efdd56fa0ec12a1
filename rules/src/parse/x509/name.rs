//! Subject and issuer names as RFC 4514 strings
//! (`CN=db-master,O=Example Corp,C=US`).

use openssl::asn1::Asn1Object;
use openssl::nid::Nid;
use x509_parser::asn1_rs::{Tag, ToDer};
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

use super::clear_openssl_errors;

/// RFC 4514: RDNs from the most specific (last in the DER) to the least,
/// joined by `,`; attributes of a multi-valued RDN joined by `+`.
pub(super) fn format_name(name: &X509Name<'_>) -> String {
    let mut rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(format_attribute)
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.reverse();
    rdns.join(",")
}

fn format_attribute(atv: &AttributeTypeAndValue<'_>) -> String {
    let oid = atv.attr_type().to_id_string();
    let value = atv.attr_value();
    let text = match string_value(value.tag(), value.as_bytes()) {
        Some(s) => escape_rfc4514(&s),
        // RFC 4514 2.4: a value that is not a string is `#` and its BER.
        None => format!("#{}", hex::encode(value.to_der_vec().unwrap_or_default())),
    };
    format!("{}={text}", attribute_name(&oid))
}

fn attribute_name(oid: &str) -> String {
    let short = match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        _ => {
            let name = Asn1Object::from_str(oid)
                .ok()
                .map(|o| o.nid())
                .filter(|nid| *nid != Nid::UNDEF)
                .and_then(|nid| nid.short_name().ok());
            clear_openssl_errors();
            return name.map_or_else(|| oid.to_string(), str::to_string);
        }
    };
    short.to_string()
}

fn string_value(tag: Tag, data: &[u8]) -> Option<String> {
    match tag {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString => std::str::from_utf8(data).ok().map(str::to_string),
        // T61 in practice carries Latin-1.
        Tag::TeletexString => Some(data.iter().map(|b| char::from(*b)).collect()),
        Tag::BmpString => {
            if data.len() % 2 != 0 {
                return None;
            }
            let units = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        Tag::UniversalString => {
            if data.len() % 4 != 0 {
                return None;
            }
            data.chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

fn escape_rfc4514(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use openssl::nid::Nid;
    use openssl::pkey::PKey;

    use crate::parse::x509::{is_issued_by, parse_certificates};

    #[test]
    fn names_are_rfc4514_escaped_and_common_name_survives_commas() {
        use openssl::ec::{EcGroup, EcKey};
        use openssl::hash::MessageDigest;
        use openssl::x509::{X509Builder, X509NameBuilder};

        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let pkey = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("C", "US").unwrap();
        name.append_entry_by_text("O", "Acme; Inc").unwrap();
        name.append_entry_by_text("CN", "Smith, John").unwrap();
        let name = name.build();
        let mut builder = X509Builder::new().unwrap();
        builder.set_version(2).unwrap();
        builder.set_subject_name(&name).unwrap();
        builder.set_issuer_name(&name).unwrap();
        builder.set_pubkey(&pkey).unwrap();
        builder
            .set_not_before(&openssl::asn1::Asn1Time::from_unix(0).unwrap())
            .unwrap();
        builder
            .set_not_after(&openssl::asn1::Asn1Time::from_unix(86_400).unwrap())
            .unwrap();
        builder.sign(&pkey, MessageDigest::sha384()).unwrap();
        let der = builder.build().to_der().unwrap();

        let cert = &parse_certificates("mem", &der).unwrap()[0];
        assert_eq!(cert.subject, r"CN=Smith\, John,O=Acme\; Inc,C=US");
        assert_eq!(cert.common_name(), Some(r"Smith\, John"));
        assert_eq!(cert.signature_algorithm, "ecdsa-with-SHA384");
        assert_eq!((cert.not_before, cert.not_after), (0, 86_400));
        assert_eq!(cert.serial, "00");
        assert!(is_issued_by(cert, cert));
    }
}
