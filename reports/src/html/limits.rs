//! What keeps the page's size and cost bounded for a fleet of thousands of
//! hosts (docs/large-fleets.md). Below every limit the page is the
//! small-fleet report, listing everything; above one, that section
//! aggregates, or lists what matters and says what it left out (the JSON
//! report keeps everything).

/// The header names the environments up to this many; above, it counts
/// them ("1,000 environments") and links to the environment table.
pub(super) const NAMED_ENVIRONMENTS: usize = 12;

/// Rows or cards shown at once by the page's script in a paged list (hosts,
/// environments, finding cards). A list this long or shorter has no pager.
pub(super) const PAGE_SIZE: usize = 50;

/// The host table lists every host up to this many; above, it lists the
/// hosts that need attention (active findings, or not fully scanned), at
/// most `LISTED_HOSTS`, and the environment table counts the rest.
pub(super) const HOST_ROWS: usize = 1_000;
pub(super) const LISTED_HOSTS: usize = 3_000;

/// Finding cards: the worst active findings up to this many, and the worst
/// waived ones up to `WAIVED_CARDS` (about 1.7 KB each: with the other caps,
/// what keeps the page under 10 MB whatever the fleet's size, short of
/// thousands of environments in the overview).
pub(super) const FINDING_CARDS: usize = 3_000;
pub(super) const WAIVED_CARDS: usize = 500;

/// The CA-rotation table lists every trust store up to this many; above, the
/// stores that do not trust their server today or after the rotation (or
/// cannot be judged), at most this many.
pub(super) const READINESS_ROWS: usize = 500;

/// "Findings by rule" repeats every finding as a row under its rule up to
/// this many findings in the report; above, each rule shows its counts and
/// a link that filters the finding cards to it (the drill-down), so a
/// finding is written once.
pub(super) const RULE_ROWS: usize = 500;

/// The expiry timeline draws one bar per certificate up to this many; above,
/// it shows how many certificates expire in each month, by status.
pub(super) const TIMELINE_BARS: usize = 200;

/// The certificate table lists every certificate up to this many; above, it
/// lists the expired and expiring ones (worst first), at most this many.
pub(super) const CERT_ROWS: usize = 500;

/// `1,000`, `10,000`: counts as the page writes them.
pub(super) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(45_210), "45,210");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
