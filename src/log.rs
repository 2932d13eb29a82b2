//! The decision log, `VENVEXEC_LOG=PATH`: one JSON line per shim call, so
//! that "which python ran in my worker last night, and why?" has an answer.
//! `venvexec log` reads it back.
//!
//! Each line is written with one `open(O_APPEND)` and one `write(2)` (see
//! [`platform::append_once`]) and is kept under `PIPE_BUF`, so lines of
//! concurrent calls never mix. Keys (stable): `time` (UTC, RFC 3339 with
//! milliseconds), `pid`, `ppid`, `cwd`, `name`, `action` (`exec`,
//! `fall_through`, `error`), `program`, `source` (the kind key of `which
//! --json`), `environment`, `skipped` (how many sources were passed over),
//! `code` and `error` (the exit status and first line of a failure).

use std::ffi::OsStr;
use std::fmt::Write;
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::json;
use crate::platform::{self, PIPE_BUF};
use crate::resolve::{Inputs, Resolution};
use crate::shim::Plan;

/// One call, as the log records it.
struct Entry<'a> {
    name: &'a OsStr,
    cwd: Option<&'a Path>,
    action: &'static str,
    program: Option<&'a Path>,
    source: Option<&'static str>,
    environment: Option<&'a Path>,
    skipped: usize,
    /// Exit status and the first line of the message.
    error: Option<(u8, &'a str)>,
}

/// Appends the record of this call to `path`. The caller decides what a
/// failure means; it must never stop the call.
pub fn record(
    path: &OsStr,
    name: &OsStr,
    inputs: &Inputs,
    res: &Resolution,
    plan: &Plan,
) -> io::Result<()> {
    let (action, program, error) = match plan {
        Plan::InEnv { program, .. } => ("exec", Some(program.as_path()), None),
        Plan::FallThrough { program } => ("fall_through", Some(program.as_path()), None),
        Plan::Fail(f) => {
            let first = f.message.lines().next().unwrap_or_default();
            ("error", None, Some((f.code, first)))
        }
    };
    let entry = Entry {
        name,
        cwd: inputs.cwd().ok(),
        action,
        program,
        source: res.found.as_ref().map(|f| f.source.key()),
        environment: res.found.as_ref().map(|f| f.env.root.as_path()),
        skipped: res.skipped.len(),
        error,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let stamp = timestamp(now.as_secs(), now.subsec_millis());
    let line = line(
        &entry,
        &stamp,
        std::process::id(),
        std::os::unix::process::parent_id(),
    );
    platform::append_once(Path::new(path), line.as_bytes())
}

/// The JSON line, newline included, shorter than `PIPE_BUF`: when paths are
/// so long that it would not be, every string is cut (and marked `…`) until
/// it is. A cut record beats one that another call's record can split.
fn line(e: &Entry, stamp: &str, pid: u32, ppid: u32) -> String {
    let mut cap = PIPE_BUF;
    loop {
        let line = render(e, stamp, pid, ppid, cap);
        if line.len() < PIPE_BUF || cap == 0 {
            return line;
        }
        cap /= 2;
    }
}

fn render(e: &Entry, stamp: &str, pid: u32, ppid: u32, cap: usize) -> String {
    let s = |text: &str| json::string(&cut(text, cap));
    let p = |path: Option<&Path>| path.map_or("null".into(), |p| s(&p.to_string_lossy()));
    let mut out = String::with_capacity(256);
    let _ = write!(
        out,
        "{{\"time\":{},\"pid\":{pid},\"ppid\":{ppid},\"cwd\":{},\"name\":{},\"action\":{},\
         \"program\":{},\"source\":{},\"environment\":{},\"skipped\":{},",
        json::string(stamp),
        p(e.cwd),
        s(&e.name.to_string_lossy()),
        json::string(e.action),
        p(e.program),
        e.source.map_or("null".into(), json::string),
        p(e.environment),
        e.skipped,
    );
    match e.error {
        Some((code, message)) => {
            let _ = write!(out, "\"code\":{code},\"error\":{}}}", s(message));
        }
        None => out.push_str("\"code\":null,\"error\":null}"),
    }
    out.push('\n');
    out
}

/// `text` cut to at most `cap` bytes on a character boundary, marked `…`.
fn cut(text: &str, cap: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= cap {
        return text.into();
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end]).into()
}

/// RFC 3339 in UTC with milliseconds: `2026-12-02T06:52:05.123Z`. UTC
/// because the shim reads no time zone files.
fn timestamp(secs: u64, millis: u32) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`, for days >= 0).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(cwd: &'a Path, program: &'a Path) -> Entry<'a> {
        Entry {
            name: OsStr::new("python"),
            cwd: Some(cwd),
            action: "exec",
            program: Some(program),
            source: Some("project"),
            environment: Some(Path::new("/p/.venv")),
            skipped: 2,
            error: None,
        }
    }

    #[test]
    fn timestamps_are_utc_rfc3339() {
        assert_eq!(timestamp(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(951_782_400, 7), "2000-02-29T00:00:00.007Z");
        assert_eq!(timestamp(1_796_194_325, 123), "2026-12-02T06:52:05.123Z");
    }

    #[test]
    fn a_line_is_one_json_object_ending_in_newline() {
        let e = entry(Path::new("/p/src"), Path::new("/p/.venv/bin/python"));
        let l = line(&e, "T", 10, 9);
        assert_eq!(
            l,
            "{\"time\":\"T\",\"pid\":10,\"ppid\":9,\"cwd\":\"/p/src\",\"name\":\"python\",\
             \"action\":\"exec\",\"program\":\"/p/.venv/bin/python\",\"source\":\"project\",\
             \"environment\":\"/p/.venv\",\"skipped\":2,\"code\":null,\"error\":null}\n"
        );
    }

    #[test]
    fn long_paths_are_cut_below_pipe_buf() {
        let long = format!("/{}", "é".repeat(3000));
        let e = entry(Path::new(&long), Path::new(&long));
        let l = line(&e, "T", 1, 1);
        assert!(l.len() < PIPE_BUF, "{}", l.len());
        assert!(l.contains('…'));
        assert!(l.ends_with("}\n"));
    }
}
