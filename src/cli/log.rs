//! `venvexec log [PATH]`: the decision log (`VENVEXEC_LOG`) as a table,
//! oldest call first: which program each shim call ran, and why.

use std::fs;
use std::path::PathBuf;

use crate::fail::{self, Fail};
use crate::json::{self, Value};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The log to read [default: $VENVEXEC_LOG]
    path: Option<PathBuf>,
}

/// The columns before the last, each a heading and the log's key it
/// shows; the last, RAN, is the program or the error.
const COLUMNS: [(&str, &str); 7] = [
    ("TIME", "time"),
    ("PID", "pid"),
    ("PPID", "ppid"),
    ("NAME", "name"),
    ("SOURCE", "source"),
    ("SKIPPED", "skipped"),
    ("CWD", "cwd"),
];

pub fn run(args: Args) -> anyhow::Result<u8> {
    let path = args
        .path
        .or_else(|| {
            std::env::var_os("VENVEXEC_LOG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .ok_or_else(|| {
            Fail::new(
                fail::USAGE,
                "no decision log to read: pass its path, or set VENVEXEC_LOG",
            )
        })?;
    let bytes = fs::read(&path).map_err(|e| {
        Fail::new(
            fail::FAILURE,
            format!(
                "cannot read the decision log {}: {e}\n  hint: the shims write it when VENVEXEC_LOG=PATH is set in their environment",
                path.display()
            ),
        )
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let mut rows = vec![heading()];
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match json::parse_flat(line).map(|fields| row(&fields)) {
            Some(r) => rows.push(r),
            None => errln!(
                "venvexec: warning: {} line {}: not a decision log record, left out",
                path.display(),
                n + 1
            ),
        }
    }
    print_table(&rows);
    Ok(0)
}

fn heading() -> Vec<String> {
    let mut h: Vec<String> = COLUMNS.iter().map(|(h, _)| h.to_string()).collect();
    h.push("RAN".into());
    h
}

/// One call: its columns, then what ran.
fn row(fields: &[(String, Value)]) -> Vec<String> {
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_str())
    };
    let mut out: Vec<String> = COLUMNS
        .iter()
        .map(|(_, key)| get(key).unwrap_or("-").to_string())
        .collect();
    let program = get("program").unwrap_or("-");
    out.push(match get("action") {
        Some("error") => format!(
            "error {}: {}",
            get("code").unwrap_or("?"),
            get("error").unwrap_or("")
        ),
        Some("fall_through") => format!("{program} (fall-through)"),
        _ => program.to_string(),
    });
    out
}

/// Columns padded to their widest cell; the last one is not padded.
fn print_table(rows: &[Vec<String>]) {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < columns {
                let pad = widths[i] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        outln!("{line}");
    }
}
