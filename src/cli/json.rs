//! Just enough JSON output for `--json`, without pulling in serde for the
//! binary that also serves the shim.

use std::fmt::Write;
use std::path::Path;

pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Paths that are not UTF-8 are rendered lossily: JSON has no way to carry
/// raw bytes, and the text form is still what a reader wants to see.
pub fn path(p: &Path) -> String {
    string(&p.to_string_lossy())
}

pub fn opt_path(p: Option<&Path>) -> String {
    p.map_or_else(|| "null".into(), path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_control_and_quotes() {
        assert_eq!(super::string("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
    }
}
