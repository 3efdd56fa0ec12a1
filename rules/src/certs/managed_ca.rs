//! Well-known CAs of managed databases (`rules/data/managed-cas.toml`), and
//! the naming of the CA that issued a chain a server presented.
//!
//! A managed server (RDS, Aurora, Cloud SQL, Azure Database for MySQL) is
//! often reachable only by the credential-less probe. Its chain still says
//! which provider CA generation issued it, and the provider publishes when
//! that generation expires: the server cannot outlive its CA, whether or not
//! it sends the CA certificate.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::facts::Certificate;

/// The table as shipped.
const TABLE: &str = include_str!("../../data/managed-cas.toml");

/// One CA generation of a managed database provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedCa {
    /// `Amazon RDS`, `Azure Database for MySQL flexible server`.
    pub provider: String,
    /// The provider's name for the generation: `rds-ca-rsa2048-g1`.
    pub name: String,
    /// Common-name patterns (`*` matches any run of characters).
    pub cn: Vec<String>,
    /// Organisation and unit the name must carry, when published.
    pub o: Option<String>,
    pub ou: Option<String>,
    /// The published expiry, unix seconds (end of that day, UTC); `None`
    /// when the provider publishes none.
    pub expires: Option<i64>,
    /// The generation the provider says to move to.
    pub successor: Option<String>,
    /// The documentation the values come from.
    pub source: String,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    ca: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    provider: String,
    name: String,
    cn: Vec<String>,
    #[serde(default)]
    o: Option<String>,
    #[serde(default)]
    ou: Option<String>,
    expires: String,
    successor: String,
    source: String,
    #[serde(default)]
    note: Option<String>,
}

/// Parses a table; every entry must be complete (see the file's header).
fn parse_table(text: &str) -> Result<Vec<ManagedCa>, String> {
    let raw: RawTable = toml::from_str(text).map_err(|e| e.to_string())?;
    let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let mut out = Vec::with_capacity(raw.ca.len());
    for e in raw.ca {
        let what = format!("entry {:?}", e.name);
        for (field, value) in [
            ("provider", &e.provider),
            ("name", &e.name),
            ("source", &e.source),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{what}: {field} is empty"));
            }
        }
        if !e.source.starts_with("https://") {
            return Err(format!("{what}: source is not an https URL"));
        }
        if e.cn.is_empty() || e.cn.iter().any(|p| p.trim().is_empty()) {
            return Err(format!("{what}: cn needs at least one pattern"));
        }
        let expires = if e.expires.is_empty() {
            None
        } else {
            let day = crate::policy::parse_date(&e.expires)
                .map_err(|err| format!("{what}: expires: {err}"))?;
            Some(day + 86_399)
        };
        let note = nonempty(e.note);
        if expires.is_none() && note.is_none() {
            return Err(format!(
                "{what}: no published expiry and no note saying why"
            ));
        }
        if out.iter().any(|o: &ManagedCa| o.name == e.name) {
            return Err(format!("{what}: named twice"));
        }
        out.push(ManagedCa {
            provider: e.provider,
            name: e.name,
            cn: e.cn,
            o: nonempty(e.o),
            ou: nonempty(e.ou),
            expires,
            successor: nonempty(Some(e.successor)),
            source: e.source,
            note,
        });
    }
    Ok(out)
}

/// The shipped table, parsed once. A broken table (which the crate's tests
/// rule out) reads as an empty one rather than stopping a scan.
pub fn table() -> &'static [ManagedCa] {
    static PARSED: OnceLock<Vec<ManagedCa>> = OnceLock::new();
    PARSED.get_or_init(|| parse_table(TABLE).unwrap_or_default())
}

impl ManagedCa {
    /// True when the RFC 4514 name is one of this CA's.
    pub fn matches(&self, name: &str) -> bool {
        let attr = |key: &str| attribute(name, key);
        let Some(cn) = attr("CN") else {
            return false;
        };
        self.cn.iter().any(|p| wildcard(p, &cn))
            && self
                .o
                .as_ref()
                .is_none_or(|o| attr("O").as_ref() == Some(o))
            && self
                .ou
                .as_ref()
                .is_none_or(|u| attr("OU").as_ref() == Some(u))
    }

    /// `2061-05-25`, when published.
    pub fn expires_date(&self) -> Option<String> {
        self.expires.map(crate::facts::format_date)
    }
}

/// The table's entry for an RFC 4514 name.
pub fn lookup(name: &str) -> Option<&'static ManagedCa> {
    table().iter().find(|ca| ca.matches(name))
}

/// The first value of attribute `key` (most specific first), unescaped.
fn attribute(name: &str, key: &str) -> Option<String> {
    let prefix = format!("{key}=");
    crate::facts::rfc4514_attributes(name).find_map(|atv| atv.strip_prefix(&prefix).map(unescape))
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `*` matches any run of characters (none included); everything else is
/// literal and case-sensitive, as the providers publish their names.
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = match parts.split_first() {
        Some(x) => x,
        None => return text.is_empty(),
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// The CA that issued a presented chain.
#[derive(Debug, Clone)]
pub struct IssuingCa<'a> {
    /// The table's entry, when the chain leads to a known managed CA.
    pub known: Option<&'static ManagedCa>,
    /// The RFC 4514 name the table matched (a CA of the chain's issuers),
    /// else the leaf's issuer.
    pub issuer: String,
    /// The certificate of that CA, when the server presented it or the host
    /// holds it.
    pub certificate: Option<&'a Certificate>,
}

impl IssuingCa<'_> {
    /// `rds-ca-rsa2048-g1`, else the issuer's CN (or whole name).
    pub fn name(&self) -> String {
        match self.known {
            Some(ca) => ca.name.clone(),
            None => attribute(&self.issuer, "CN").unwrap_or_else(|| self.issuer.clone()),
        }
    }

    /// When the CA expires: the provider's published date for a known
    /// generation (what its console and API show), else the CA
    /// certificate's own, when the chain or the host holds it.
    pub fn not_after(&self) -> Option<i64> {
        self.known
            .and_then(|ca| ca.expires)
            .or_else(|| self.certificate.map(|c| c.not_after))
    }

    /// `rds-ca-rsa2048-g1 (Amazon RDS, valid until 2061-05-25)`,
    /// `CN=db-ca (valid until 2030-01-01)`, or the bare name when no date
    /// is known.
    pub fn describe(&self) -> String {
        let until = self
            .not_after()
            .map(|t| format!("valid until {}", crate::facts::format_date(t)));
        let mut parts: Vec<String> = self
            .known
            .map(|ca| ca.provider.clone())
            .into_iter()
            .collect();
        parts.extend(until);
        if parts.is_empty() {
            self.name()
        } else {
            format!("{} ({})", self.name(), parts.join(", "))
        }
    }
}

/// Names the CA that issued `chain` (leaf first, as presented). Walks up the
/// chain by issuer name, through the certificates the server sent, and stops
/// at the first issuer the table knows: an RDS leaf names its generation
/// directly, an Azure leaf through the intermediate the server sent with it.
/// When no issuer is known, the leaf's own issuer is named. `host_certs`
/// (certificate files of the host) supply the CA certificate when the
/// server did not send it. `None` for an empty chain and a self-signed leaf.
pub fn issuing_ca<'a>(
    chain: &'a [Certificate],
    host_certs: &[&'a Certificate],
) -> Option<IssuingCa<'a>> {
    let leaf = chain.first()?;
    if leaf.is_self_signed() {
        return None;
    }
    let find_ca = |issued: &Certificate| -> Option<&'a Certificate> {
        let mut candidates = chain[1..]
            .iter()
            .chain(host_certs.iter().copied())
            .filter(|c| c.subject == issued.issuer && c.sha256 != issued.sha256);
        let first = candidates.next()?;
        // Two CAs may share a name (a renewed CA): prefer the one whose
        // signature is on the certificate.
        if super::issued_by(issued, first) {
            return Some(first);
        }
        Some(
            candidates
                .find(|c| super::issued_by(issued, c))
                .unwrap_or(first),
        )
    };
    let mut current = leaf;
    for _ in 0..chain.len() {
        if let Some(known) = lookup(&current.issuer) {
            return Some(IssuingCa {
                known: Some(known),
                issuer: current.issuer.clone(),
                certificate: find_ca(current),
            });
        }
        match chain[1..]
            .iter()
            .find(|c| c.subject == current.issuer && c.sha256 != current.sha256)
        {
            Some(next) if !next.is_self_signed() => current = next,
            _ => break,
        }
    }
    Some(IssuingCa {
        known: None,
        issuer: leaf.issuer.clone(),
        certificate: find_ca(leaf),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;

    const RDS_G1_SUB: &str = "CN=Amazon RDS us-east-1 Subordinate CA RSA2048 G1.A.1,OU=Amazon RDS,O=Amazon Web Services\\, Inc.,L=Seattle,ST=WA,C=US";
    const RDS_G1_ROOT: &str = "L=Seattle,CN=Amazon RDS us-east-1 Root CA RSA2048 G1,ST=WA,OU=Amazon RDS,O=Amazon Web Services\\, Inc.,C=US";
    const RDS_2019_REGION: &str = "CN=Amazon RDS us-east-1 2019 CA,OU=Amazon RDS,O=Amazon Web Services\\, Inc.,L=Seattle,ST=Washington,C=US";
    const BALTIMORE: &str = "CN=Baltimore CyberTrust Root,OU=CyberTrust,O=Baltimore,C=IE";
    const AZURE_ICA: &str = "CN=Microsoft Azure TLS Issuing CA 01,O=Microsoft Corporation,C=US";

    #[test]
    fn the_shipped_table_parses_and_every_entry_is_complete() {
        let parsed = parse_table(TABLE).unwrap_or_else(|e| panic!("managed-cas.toml: {e}"));
        assert_eq!(parsed.len(), table().len(), "table() must not drop entries");
        assert!(parsed.len() >= 8, "{parsed:#?}");
        for ca in &parsed {
            assert!(!ca.cn.is_empty(), "{}", ca.name);
            assert!(ca.source.starts_with("https://"), "{}", ca.name);
            assert!(ca.expires.is_some() || ca.note.is_some(), "{}", ca.name);
            if let Some(s) = &ca.successor {
                assert_ne!(s, &ca.name, "{}: its own successor", ca.name);
            }
        }
        let rds = parsed.iter().find(|c| c.name == "rds-ca-2019");
        assert_eq!(
            rds.and_then(ManagedCa::expires_date).as_deref(),
            Some("2024-08-22")
        );
        assert_eq!(
            rds.and_then(|c| c.successor.as_deref()),
            Some("rds-ca-rsa2048-g1")
        );
    }

    #[test]
    fn incomplete_entries_are_refused() {
        let entry = |extra: &str| {
            format!(
                "[[ca]]\nprovider = \"P\"\nname = \"n\"\ncn = [\"X\"]\nsuccessor = \"\"\nsource = \"https://example.org/\"\n{extra}"
            )
        };
        assert!(parse_table(&entry("expires = \"2030-01-01\"")).is_ok());
        for (extra, why) in [
            ("expires = \"\"", "no published expiry"),
            ("expires = \"2030-13-01\"", "expires"),
            ("expires = \"2030-01-01\"\nsurprise = 1", "unknown field"),
        ] {
            let err = parse_table(&entry(extra)).expect_err(extra);
            assert!(err.contains(why), "{extra}: {err}");
        }
        assert!(parse_table(&entry("expires = \"\"\nnote = \"per instance\"")).is_ok());
        let twice = format!(
            "{}\n{}",
            entry("expires = \"2030-01-01\""),
            entry("expires = \"2030-01-01\"")
        );
        assert!(parse_table(&twice).unwrap_err().contains("named twice"));
        let bad_source = entry("expires = \"2030-01-01\"").replace("https://", "http://");
        assert!(parse_table(&bad_source).unwrap_err().contains("https"));
        let no_cn = entry("expires = \"2030-01-01\"").replace("[\"X\"]", "[]");
        assert!(parse_table(&no_cn).unwrap_err().contains("cn"));
    }

    #[test]
    fn names_match_on_cn_pattern_organisation_and_unit() {
        let name = |n: &str| lookup(n).map(|c| c.name.as_str());
        assert_eq!(name(RDS_G1_SUB), Some("rds-ca-rsa2048-g1"));
        assert_eq!(name(RDS_G1_ROOT), Some("rds-ca-rsa2048-g1"));
        assert_eq!(name(RDS_2019_REGION), Some("rds-ca-2019"));
        assert_eq!(
            name(
                "CN=Amazon RDS Root 2019 CA,OU=Amazon RDS,O=Amazon Web Services\\, Inc.,ST=Washington,L=Seattle,C=US"
            ),
            Some("rds-ca-2019")
        );
        assert_eq!(
            name(
                "L=Seattle,CN=Amazon RDS eu-west-1 Root CA ECC384 G1,ST=WA,OU=Amazon RDS,O=Amazon Web Services\\, Inc.,C=US"
            ),
            Some("rds-ca-ecc384-g1")
        );
        assert_eq!(name(BALTIMORE), Some("Baltimore CyberTrust Root"));
        assert_eq!(
            name("C=US,O=Google\\, Inc,CN=Google Cloud SQL Server CA,dnQualifier=68c79386"),
            Some("Google Cloud SQL Server CA")
        );
        // The same CN under another organisation is somebody else's CA.
        assert_eq!(name("CN=Amazon RDS us-east-1 2019 CA,O=Example"), None);
        assert_eq!(name("CN=Baltimore CyberTrust Root"), None);
        // A regional CA of a newer region is not rds-ca-2019.
        assert_eq!(
            name(
                "CN=Amazon RDS eu-south-1 CA,OU=Amazon RDS,O=Amazon Web Services\\, Inc.,L=Seattle,ST=Washington,C=US"
            ),
            None
        );
        assert_eq!(name(AZURE_ICA), None);
        assert_eq!(name("O=No common name"), None);
    }

    #[test]
    fn wildcards_match_runs_of_characters() {
        assert!(wildcard(
            "Amazon RDS * 2019 CA",
            "Amazon RDS us-east-1 2019 CA"
        ));
        assert!(wildcard("a*", "a"));
        assert!(wildcard("*", ""));
        assert!(wildcard("a*b*c", "a-b-b-c"));
        assert!(!wildcard("a*b", "ab-"));
        assert!(
            !wildcard("ab*ba", "aba"),
            "prefix and suffix must not overlap"
        );
        assert!(!wildcard("exact", "exactly"));
        assert!(!wildcard("Exact", "exact"));
    }

    #[test]
    fn an_rds_leaf_names_its_generation_and_published_expiry() {
        let leaf = cert(
            "probe:db:3306",
            0,
            "CN=db.rds.amazonaws.com",
            RDS_G1_SUB,
            ts("2027-01-01"),
        );
        let chain = [leaf];
        let ca = issuing_ca(&chain, &[]).expect("a CA");
        assert_eq!(ca.name(), "rds-ca-rsa2048-g1");
        assert_eq!(
            ca.describe(),
            "rds-ca-rsa2048-g1 (Amazon RDS, valid until 2061-05-25)"
        );
        assert!(ca.certificate.is_none());
    }

    #[test]
    fn a_known_root_is_found_through_a_presented_intermediate() {
        let leaf = cert(
            "probe:db:3306",
            0,
            "CN=db.mysql.database.azure.com",
            AZURE_ICA,
            ts("2025-09-01"),
        );
        let ica = cert("probe:db:3306", 1, AZURE_ICA, BALTIMORE, ts("2025-05-12"));
        let chain = [leaf.clone(), ica];
        let ca = issuing_ca(&chain, &[]).expect("a CA");
        assert_eq!(
            ca.known.map(|c| c.name.as_str()),
            Some("Baltimore CyberTrust Root")
        );
        assert_eq!(
            ca.describe(),
            "Baltimore CyberTrust Root (Azure Database for MySQL single server, valid until 2025-05-12)"
        );
        // Without the intermediate, the leaf's own issuer is all there is.
        let alone = [leaf];
        let ca = issuing_ca(&alone, &[]).expect("a CA");
        assert!(ca.known.is_none());
        assert_eq!(ca.describe(), "Microsoft Azure TLS Issuing CA 01");
    }

    #[test]
    fn an_unknown_issuer_is_named_with_its_certificate_date() {
        let leaf = cert(
            "probe:db:3306",
            0,
            "CN=db",
            "CN=Fleet CA,O=Example",
            ts("2027-01-01"),
        );
        let chain = [leaf];
        assert_eq!(
            issuing_ca(&chain, &[]).map(|c| c.describe()).as_deref(),
            Some("Fleet CA")
        );
        let on_disk = cert(
            "/db/root.crt",
            0,
            "CN=Fleet CA,O=Example",
            "CN=Fleet CA,O=Example",
            ts("2036-01-01"),
        );
        let ca = issuing_ca(&chain, &[&on_disk]).expect("a CA");
        assert_eq!(ca.describe(), "Fleet CA (valid until 2036-01-01)");
        assert_eq!(
            ca.certificate.map(|c| c.path.as_str()),
            Some("/db/root.crt")
        );
    }

    #[test]
    fn the_report_names_the_issuing_ca_of_the_presented_leaf_only() {
        use crate::report::CertificateSummary;
        let mut h = host("orders-db", "production", &[]);
        let leaf = cert(
            "probe:db:3306",
            0,
            "CN=orders",
            RDS_G1_SUB,
            ts("2027-01-01"),
        );
        let sub = cert(
            "probe:db:3306",
            1,
            RDS_G1_SUB,
            RDS_G1_ROOT,
            ts("2031-01-01"),
        );
        h.probe = Some(probe_with_chain("db:3306", vec![leaf, sub]));
        let summary = CertificateSummary::of_host(&h, ts("2026-06-01"), 30);
        let cas: Vec<Option<&str>> = summary.iter().map(|c| c.issuing_ca.as_deref()).collect();
        assert_eq!(
            cas,
            [
                Some("rds-ca-rsa2048-g1 (Amazon RDS, valid until 2061-05-25)"),
                None
            ]
        );
        // JSON: the field is there when known, and absent (and optional on
        // reading) otherwise, so older reports still read.
        let json = serde_json::to_value(&summary).expect("serializes");
        assert_eq!(
            json[0]["issuing_ca"],
            summary[0].issuing_ca.as_deref().unwrap_or_default()
        );
        assert!(json[1].get("issuing_ca").is_none());
        let back: Vec<CertificateSummary> = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, summary);
        // A leaf that is also a file on the host is listed as the file, named.
        let mut on_disk = h.probe.as_ref().map(|p| p.chain[0].clone()).expect("leaf");
        on_disk.path = "/etc/mysql/server.crt".into();
        h.certificates.insert(on_disk.path.clone(), vec![on_disk]);
        let summary = CertificateSummary::of_host(&h, ts("2026-06-01"), 30);
        assert_eq!(summary[0].path, "/etc/mysql/server.crt");
        assert!(summary[0].issuing_ca.is_some());
    }

    #[test]
    fn self_signed_and_empty_chains_have_no_issuing_ca() {
        let own = cert("probe:db:3306", 0, "CN=db", "CN=db", ts("2027-01-01"));
        assert!(issuing_ca(&[own], &[]).is_none());
        assert!(issuing_ca(&[], &[]).is_none());
    }
}
