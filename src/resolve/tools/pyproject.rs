//! Just the facts the conventions need from a `pyproject.toml`: which
//! tools claim the project and its name. Line-based, not a TOML parser:
//! table headers and `name = "…"` lines cover how these files are written;
//! anything it does not understand is ignored, never an error.

use crate::resolve::Kind;
use std::cell::OnceCell;

use super::super::level::Level;
use super::super::{Inputs, Skip};
use super::{Read, read_pointer};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pyproject {
    /// `[project] name`.
    pub project_name: Option<String>,
    /// `[tool.poetry] name`.
    pub poetry_name: Option<String>,
    /// A `[tool.poetry…]` table, or poetry as the build backend.
    pub poetry: bool,
    /// A `[tool.pdm…]` table, or pdm as the build backend.
    pub pdm: bool,
}

/// A directory's `pyproject.toml`, read and parsed at most once however
/// many conventions ask about it (pdm's central venvs, then poetry).
pub struct InDir<'a> {
    level: &'a Level,
    inp: &'a Inputs,
    parsed: OnceCell<Option<Pyproject>>,
}

impl<'a> InDir<'a> {
    pub fn new(level: &'a Level, inp: &'a Inputs) -> InDir<'a> {
        InDir {
            level,
            inp,
            parsed: OnceCell::new(),
        }
    }

    /// `None` when the directory has no readable `pyproject.toml`, or one
    /// that someone else could have written (noted): it then chooses
    /// nothing.
    pub fn get(&self, skipped: &mut Vec<Skip>) -> Option<&Pyproject> {
        self.parsed
            .get_or_init(|| {
                match read_pointer(
                    self.level,
                    crate::platform::fd::Name::lit("pyproject.toml"),
                    Kind::Project,
                    self.inp,
                    skipped,
                ) {
                    Read::Bytes(b) => Some(parse(&b)),
                    Read::Absent | Read::Untrusted => None,
                }
            })
            .as_ref()
    }
}

pub fn parse(bytes: &[u8]) -> Pyproject {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Pyproject::default();
    let mut table = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.starts_with('[') {
            table = line
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'')
                .collect();
            if table == "tool.poetry" || table.starts_with("tool.poetry.") {
                out.poetry = true;
            }
            if table == "tool.pdm" || table.starts_with("tool.pdm.") {
                out.pdm = true;
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        match (table.as_str(), key) {
            ("project", "name") => out.project_name = string_value(value),
            ("tool.poetry", "name") => out.poetry_name = string_value(value),
            ("build-system", "build-backend") => {
                let backend = string_value(value).unwrap_or_default();
                out.poetry |= backend.starts_with("poetry");
                out.pdm |= backend.starts_with("pdm");
            }
            _ => {}
        }
    }
    out
}

/// A basic or literal TOML string on one line, up to its closing quote.
fn string_value(v: &str) -> Option<String> {
    let v = v.trim();
    let quote = v.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &v[1..];
    let end = rest.find(quote)?;
    Some(rest[..end].to_string())
}

/// PEP 503 normalisation, as poetry applies to the package name:
/// lowercase, every run of `-`, `_`, `.` becomes one `-`.
pub fn canonical_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_and_tools() {
        let p = parse(
            b"[build-system]\nbuild-backend = \"poetry.core.masonry.api\"\n\n[project]\nname = 'My_Cool.App' # c\nversion = \"1\"\n\n[tool.pdm.dev]\nx = 1\n",
        );
        assert_eq!(p.project_name.as_deref(), Some("My_Cool.App"));
        assert!(p.poetry && p.pdm);
        let p = parse(b"[ tool . poetry ]\nname = \"x\"\n");
        assert_eq!(p.poetry_name.as_deref(), Some("x"));
        assert!(p.poetry && !p.pdm);
    }

    #[test]
    fn garbage_is_ignored() {
        assert_eq!(
            parse(b"\xff[[[\n=\nname = \"unterminated\n"),
            Pyproject::default()
        );
    }

    #[test]
    fn canonical_names() {
        assert_eq!(canonical_name("My_Cool.App"), "my-cool-app");
        assert_eq!(canonical_name("a--_.b"), "a-b");
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes: no panic, and names never span lines.
        #[test]
        fn parse_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let p = parse(&bytes);
            for name in [&p.project_name, &p.poetry_name].into_iter().flatten() {
                prop_assert!(!name.contains('\n'));
            }
        }

        /// A name written the usual way is read back exactly, whatever
        /// garbage surrounds the table.
        #[test]
        fn parse_reads_back_a_quoted_name(
            name in "[A-Za-z0-9][A-Za-z0-9._-]{0,30}",
            before in "[^\\[\n]{0,40}",
            quote in prop_oneof![Just('"'), Just('\'')],
        ) {
            let text = format!("{before}\n[project]\nname = {quote}{name}{quote} # c\n");
            prop_assert_eq!(parse(text.as_bytes()).project_name, Some(name));
        }

        /// PEP 503: idempotent, lowercase, and `-`, `_`, `.` runs are one `-`.
        #[test]
        fn canonical_name_is_normal_form(name in any::<String>()) {
            let once = canonical_name(&name);
            prop_assert_eq!(canonical_name(&once), once.clone());
            prop_assert!(!once.contains("--"));
            prop_assert!(!once.contains('_') && !once.contains('.'));
            prop_assert!(!once.chars().any(|c| c.is_ascii_uppercase()));
        }
    }
}
