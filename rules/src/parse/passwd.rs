//! `/etc/passwd`: which OS users exist and where their homes are (client
//! keys live in `~/.mysql`).

use std::collections::BTreeMap;

use crate::facts::OsUser;

/// Users by name, and `(line, message)` for each line skipped as malformed.
///
/// Blank lines, `#` comments and NIS compat entries (`+`, `-`, `+@group`)
/// are skipped silently. When a name appears twice the first entry wins, as
/// with `getpwnam()`, and the later line is reported.
pub fn parse_passwd(text: &str) -> (BTreeMap<String, OsUser>, Vec<(u32, String)>) {
    let mut users = BTreeMap::new();
    let mut first_line: BTreeMap<String, u32> = BTreeMap::new();
    let mut problems = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('+') || line.starts_with('-') {
            continue;
        }
        match parse_entry(line) {
            Ok(user) => {
                if let Some(first) = first_line.get(&user.name) {
                    problems.push((
                        number,
                        format!(
                            "duplicate user {} ignored (line {first} defines it first)",
                            user.name
                        ),
                    ));
                    continue;
                }
                first_line.insert(user.name.clone(), number);
                users.insert(user.name.clone(), user);
            }
            Err(message) => problems.push((number, message)),
        }
    }
    (users, problems)
}

/// `name:password:uid:gid:gecos:home:shell`.
fn parse_entry(line: &str) -> Result<OsUser, String> {
    let fields: Vec<&str> = line.split(':').collect();
    let [name, _password, uid, gid, _gecos, home, shell] = fields[..] else {
        return Err(format!(
            "malformed passwd entry: {} fields instead of 7",
            fields.len()
        ));
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!(
            "malformed passwd entry: invalid user name {name:?}"
        ));
    }
    let id = |what: &str, value: &str| {
        value.parse::<u32>().map_err(|_| {
            format!("malformed passwd entry for {name}: {what} {value:?} is not a number")
        })
    };
    Ok(OsUser {
        name: name.to_string(),
        uid: id("uid", uid)?,
        gid: id("gid", gid)?,
        home: home.to_string(),
        shell: shell.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENGINEYARD: &str = "\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
mysql:x:105:108:MySQL Server,,,:/nonexistent:/bin/false
deploy:x:1000:1000:Deploy User,Room 1,,:/home/deploy:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
";

    #[test]
    fn real_file() {
        let (users, problems) = parse_passwd(ENGINEYARD);
        assert_eq!(problems, vec![]);
        assert_eq!(
            users.keys().map(String::as_str).collect::<Vec<_>>(),
            vec!["daemon", "deploy", "mysql", "nobody", "root"]
        );
        assert_eq!(
            users["deploy"],
            OsUser {
                name: "deploy".to_string(),
                uid: 1000,
                gid: 1000,
                home: "/home/deploy".to_string(),
                shell: "/bin/bash".to_string(),
            }
        );
        assert_eq!(users["nobody"].uid, 65534);
    }

    #[test]
    fn malformed_lines_are_reported_and_skipped() {
        let text = "root:x:0:0:root:/root:/bin/bash\r\n\
                    \r\n\
                    # a comment\n\
                    broken:x:1001\n\
                    bad:x:abc:1:g:/home/bad:/bin/sh\n\
                    neg:x:-1:1:g:/home/neg:/bin/sh\n\
                    big:x:4294967296:1:g:/h:/bin/sh\n\
                    :x:5:5:g:/h:/bin/sh\n\
                    too:x:1:1:g:/h:/bin/sh:extra\n\
                    +@netgroup\n\
                    +::::::\n\
                    app:x:2000:2000::/srv/app:\n\
                    root:x:0:0:again:/elsewhere:/bin/sh\n";
        let (users, problems) = parse_passwd(text);
        assert_eq!(
            problems,
            vec![
                (
                    4,
                    "malformed passwd entry: 3 fields instead of 7".to_string()
                ),
                (
                    5,
                    "malformed passwd entry for bad: uid \"abc\" is not a number".to_string()
                ),
                (
                    6,
                    "malformed passwd entry for neg: uid \"-1\" is not a number".to_string()
                ),
                (
                    7,
                    "malformed passwd entry for big: uid \"4294967296\" is not a number"
                        .to_string()
                ),
                (
                    8,
                    "malformed passwd entry: invalid user name \"\"".to_string()
                ),
                (
                    9,
                    "malformed passwd entry: 8 fields instead of 7".to_string()
                ),
                (
                    13,
                    "duplicate user root ignored (line 1 defines it first)".to_string()
                ),
            ]
        );
        assert_eq!(
            users.keys().map(String::as_str).collect::<Vec<_>>(),
            vec!["app", "root"]
        );
        assert_eq!(users["root"].home, "/root");
        assert_eq!(users["app"].shell, "");
    }

    #[test]
    fn empty_input() {
        let (users, problems) = parse_passwd("");
        assert!(users.is_empty());
        assert!(problems.is_empty());
    }
}
