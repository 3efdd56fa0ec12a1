//! The inventory loader: sslaudit's YAML format, Ansible INI and Ansible
//! YAML (told apart by content, as `inventory::load` does).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sslaudit_scanner::inventory;

/// `inventory::load` reads a path; one scratch file per fuzzing process.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sslaudit-fuzz-inv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir.join("fleet.yml")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).expect("scratch file");
    if let Ok(inv) = inventory::load(path) {
        for h in &inv.hosts {
            assert!(!h.name.is_empty());
            assert!(!h.address.is_empty());
            let _ = h.host_meta();
        }
        let _ = inv.limit(&["db*".to_string()]);
    }
});
