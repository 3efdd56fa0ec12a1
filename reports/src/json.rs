//! The JSON report: [`ScanReport`] as serde writes it, pretty-printed. Key
//! order is the model's field order and maps are `BTreeMap`s, so the same scan
//! always gives the same bytes. The shape is documented in
//! `docs/json-report.md` and versioned by [`SCHEMA_VERSION`].

use std::io::{self, Write};

use serde::Deserialize;
use serde::de::IgnoredAny;
use sslaudit_rules::report::{SCHEMA_VERSION, ScanReport};

use crate::ReportError;

/// The report as pretty JSON with a trailing newline.
pub fn to_json(report: &ScanReport) -> String {
    // Every map in the model has string keys and every value is plain data,
    // so serde_json has nothing it could refuse.
    let mut out =
        serde_json::to_string_pretty(report).expect("a ScanReport always serializes to JSON");
    out.push('\n');
    out
}

/// The report as [`to_json`] gives it, written to `out` as it is serialized
/// rather than built in memory first: a large fleet's report is hundreds of
/// megabytes of text. `out` is buffered here; the bytes are flushed before
/// returning.
pub fn write_json(report: &ScanReport, out: impl Write) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, report).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// What is read before the whole report, to tell a wrong document or a
/// report of another schema version apart from a malformed one.
#[derive(Deserialize)]
struct Header {
    schema_version: Option<u64>,
    runs: Option<IgnoredAny>,
}

/// Reads a report written by [`to_json`] (of this [`SCHEMA_VERSION`]).
pub fn from_json(text: &str) -> Result<ScanReport, ReportError> {
    let header: Header = serde_json::from_str(text)?;
    match header.schema_version {
        None => Err(ReportError::NotAReport {
            hint: if header.runs.is_some() {
                " (it looks like a SARIF log)"
            } else {
                ""
            },
        }),
        Some(found) if found != u64::from(SCHEMA_VERSION) => Err(ReportError::UnsupportedSchema {
            found,
            supported: SCHEMA_VERSION,
        }),
        Some(_) => Ok(serde_json::from_str(text)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_other_documents_with_a_reason() {
        let e = from_json("[1, 2]").unwrap_err();
        assert!(matches!(e, ReportError::Json(_)), "{e}");

        let e = from_json(r#"{"version": "2.1.0", "runs": []}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not an sslaudit JSON report: no `schema_version` at the top level \
             (it looks like a SARIF log)"
        );

        let e = from_json(r#"{"schema_version": 99}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "sslaudit JSON report has schema_version 99, this sslaudit reads 1"
        );
    }

    #[test]
    fn shape_errors_name_line_and_column() {
        let text = "{\n  \"schema_version\": 1,\n  \"tool\": {\"name\": \"sslaudit\"}\n}\n";
        let e = from_json(text).unwrap_err().to_string();
        assert!(e.contains("missing field `version`"), "{e}");
        assert!(e.contains("line 3"), "{e}");
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let e = from_json("{\"schema_version\": 1, \"tool\":").unwrap_err();
        assert!(e.to_string().contains("EOF"), "{e}");
    }
}
