//! SSL010: the RANDFILE lines of openssl.cnf, commented out.

use sslaudit_rules::Finding;
use sslaudit_rules::facts::HostFacts;
use sslaudit_rules::parse::openssl_cnf::parse_openssl_cnf;

use super::explain_hint;
use crate::runners::{Builder, Refusal, indent_of, split_lines};

/// SSL010: comments out every active RANDFILE line of openssl.cnf (the
/// seed's Key Maintenance step 2).
pub(crate) fn plan(b: &mut Builder, host: &HostFacts, findings: &[&Finding]) {
    let refuse_all = |b: &mut Builder, r: Refusal| {
        for f in findings {
            b.refuse(f, r.clone());
        }
    };
    let Some(cnf) = &host.openssl_cnf else {
        return refuse_all(
            b,
            Refusal::NotCollected {
                host: host.name.clone(),
                what: host.layout.openssl_cnf.clone(),
            },
        );
    };
    let path = cnf.path.clone();
    let text = match b.text(host, &path) {
        Ok(t) => t,
        Err(r) => return refuse_all(b, r),
    };
    let active = parse_openssl_cnf(&path, &text).randfile;
    if active.is_empty() {
        return refuse_all(
            b,
            Refusal::AlreadyFixed {
                host: host.name.clone(),
                what: format!("RANDFILE in {path}"),
            },
        );
    }
    let lines = split_lines(&text);
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let mut numbers = Vec::new();
    for (n, _) in &active {
        let i = usize::try_from(*n).unwrap_or(0).wrapping_sub(1);
        if let Some(l) = out.get_mut(i) {
            let ind = indent_of(l).len();
            l.insert(ind, '#');
            numbers.push(n.to_string());
        }
    }
    let new_text = out.concat();
    if !parse_openssl_cnf(&path, &new_text).randfile.is_empty() {
        return refuse_all(
            b,
            Refusal::CannotEdit {
                host: host.name.clone(),
                path,
                reason: "a RANDFILE line stays active after commenting out".into(),
                instead: explain_hint("SSL010"),
            },
        );
    }
    b.edit(
        host,
        &path,
        new_text,
        format!(
            "comment out RANDFILE (line {}): with it active, key generation fails when $HOME/.rnd does not exist (the seed's Key Maintenance step 2; SSL010)",
            numbers.join(", ")
        ),
    );
    b.fixes("SSL010");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Applicability;
    use crate::runners::testutil::*;
    use sslaudit_rules::Location;
    use sslaudit_rules::facts::OpensslCnf;

    const UBUNTU_CNF: &str = "#\n# OpenSSL example configuration file.\n#\n\n# This definition stops the following lines choking if HOME isn't\n# defined.\nHOME\t\t\t= .\nRANDFILE\t\t= $ENV::HOME/.rnd\n\n[ CA_default ]\ndir\t\t= ./demoCA\n  RANDFILE = $dir/private/.rand\t# private random number file\n";

    #[test]
    fn ssl010_comments_out_every_active_randfile_line_and_rolls_back() {
        let mut h = db_host("db-master");
        h.openssl_cnf = Some(OpensslCnf {
            path: "/etc/ssl/openssl.cnf".into(),
            randfile: vec![(8, "RANDFILE\t\t= $ENV::HOME/.rnd".into())],
        });
        file(&mut h, "/etc/ssl/openssl.cnf", 0o644, "root", "root");
        let mut w = World::new(vec![h]);
        w.text("db-master", "/etc/ssl/openssl.cnf", UBUNTU_CNF);
        let f = finding(
            "SSL010",
            "db-master",
            Location::file("/etc/ssl/openssl.cnf", Some(8)).with_object("openssl-cnf:RANDFILE"),
        );
        let (plan, refusals) = w.plan(std::slice::from_ref(&f));
        assert!(refusals.is_empty(), "{refusals:?}");
        let new = w.written(&plan, "/etc/ssl/openssl.cnf");
        assert_eq!(
            new,
            UBUNTU_CNF
                .replace("RANDFILE\t\t=", "#RANDFILE\t\t=")
                .replace("  RANDFILE = $dir", "  #RANDFILE = $dir")
        );
        assert_eq!(plan.steps[0].applicability, Applicability::Safe);
        let hosts = w.targets();
        let state = tempfile::tempdir().expect("tempdir");
        apply_to(&plan, &hosts, state.path());
        assert_eq!(
            read(&hosts["db-master"], "/etc/ssl/openssl.cnf").as_deref(),
            Some(new.as_str())
        );
        rollback_on(&plan.run_id, &hosts, state.path());
        assert_eq!(
            read(&hosts["db-master"], "/etc/ssl/openssl.cnf").as_deref(),
            Some(UBUNTU_CNF)
        );

        // Already commented out in the collected text: nothing to do.
        w.text("db-master", "/etc/ssl/openssl.cnf", &new);
        let (plan, refusals) = w.plan(&[f]);
        assert!(plan.steps.is_empty());
        assert!(matches!(refusals[0].1, Refusal::AlreadyFixed { .. }));
    }
}
