//! `/etc/ssl/openssl.cnf`: only what the RANDFILE rule needs. On Ubuntu 18.04
//! (OpenSSL 1.1.1) an active `RANDFILE = $ENV::HOME/.rnd` makes `openssl req`
//! fail when that file does not exist, which breaks key generation.

use crate::facts::OpensslCnf;

/// Records every active `RANDFILE = ...` line, in any section, with its
/// 1-based line number and its text (trimmed). The key is case-sensitive,
/// as in OpenSSL; spaces around `=` are optional.
pub fn parse_openssl_cnf(path: &str, text: &str) -> OpensslCnf {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut randfile = Vec::new();
    let mut continued = false;
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // OpenSSL joins a line ending in an unescaped backslash with the
        // next one before anything else (comments included): the next line
        // is then part of this one's value, never a key of its own.
        let was_continued = continued;
        continued = ends_with_escape(line);
        if was_continued {
            continue;
        }
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.starts_with('[') || trimmed.starts_with('.') {
            continue;
        }
        let Some((key, _)) = trimmed.split_once('=') else {
            continue;
        };
        if key.trim_end() == "RANDFILE" {
            let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
            randfile.push((number, trimmed.to_string()));
        }
    }
    OpensslCnf {
        path: path.to_string(),
        randfile,
    }
}

/// An odd number of trailing backslashes: the last one escapes the newline.
fn ends_with_escape(line: &str) -> bool {
    let trailing = line.bytes().rev().take_while(|&b| b == b'\\').count();
    trailing % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The top of Ubuntu 18.04's /etc/ssl/openssl.cnf (openssl 1.1.1).
    const UBUNTU_1804: &str = "\
#
# OpenSSL example configuration file.
# This is mostly being used for generation of certificate requests.
#

# Note that you can include other files from the main configuration
# file using the .include directive.
#.include filename

# This definition stops the following lines choking if HOME isn't
# defined.
HOME\t\t\t= .
RANDFILE\t\t= $ENV::HOME/.rnd

# Extra OBJECT IDENTIFIER info:
#oid_file\t\t= $ENV::HOME/.oid
oid_section\t\t= new_oids

[ new_oids ]
tsa_policy1 = 1.2.3.4.1
";

    #[test]
    fn ubuntu_1804_active_randfile() {
        let cnf = parse_openssl_cnf("/etc/ssl/openssl.cnf", UBUNTU_1804);
        assert_eq!(cnf.path, "/etc/ssl/openssl.cnf");
        assert_eq!(
            cnf.randfile,
            vec![(13, "RANDFILE\t\t= $ENV::HOME/.rnd".to_string())]
        );
    }

    #[test]
    fn commented_out_as_the_seed_says() {
        let fixed = UBUNTU_1804.replace("RANDFILE\t\t=", "#RANDFILE\t\t=");
        let cnf = parse_openssl_cnf("/etc/ssl/openssl.cnf", &fixed);
        assert_eq!(cnf.randfile, vec![]);
        let indented = UBUNTU_1804.replace("RANDFILE\t\t=", "  # RANDFILE =");
        assert_eq!(parse_openssl_cnf("x", &indented).randfile, vec![]);
    }

    #[test]
    fn any_section_spacing_crlf_and_case() {
        let text = "\u{feff}[ req ]\r\ndefault_bits = 2048\r\n  RANDFILE=/root/.rnd\r\n\
                    [ ca ]\r\nrandfile = /lower/case/is/another/key\r\n\
                    RANDFILES = /not/it\r\nXRANDFILE = /not/it\r\nRANDFILE    =    $ENV::HOME/.rnd   # trailing\r\n";
        let cnf = parse_openssl_cnf("/etc/ssl/openssl.cnf", text);
        assert_eq!(
            cnf.randfile,
            vec![
                (3, "RANDFILE=/root/.rnd".to_string()),
                (
                    8,
                    "RANDFILE    =    $ENV::HOME/.rnd   # trailing".to_string()
                ),
            ]
        );
    }

    #[test]
    fn continuation_lines_are_values_not_keys() {
        let text = "subjectAltName = DNS:a,\\\nRANDFILE = x\nname = a\\\\\nRANDFILE = y\n";
        let cnf = parse_openssl_cnf("p", text);
        assert_eq!(cnf.randfile, vec![(4, "RANDFILE = y".to_string())]);
    }

    #[test]
    fn empty_and_garbage() {
        assert_eq!(parse_openssl_cnf("p", "").randfile, vec![]);
        assert_eq!(parse_openssl_cnf("p", "RANDFILE\n= x\n[").randfile, vec![]);
    }
}
