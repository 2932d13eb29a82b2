//! Just enough JSON for `--json` and the decision log, without pulling in
//! serde for the binary that also serves the shim.

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

/// A value of a flat JSON object, as [`parse_flat`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// The number as written: the log's are integers.
    Number(String),
    String(String),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n),
            _ => None,
        }
    }
}

/// Reads one object whose values are strings, numbers, booleans or null
/// (what the decision log writes): its keys and values in order. `None`
/// for anything else, a line cut short included.
pub fn parse_flat(text: &str) -> Option<Vec<(String, Value)>> {
    let mut r = Reader {
        rest: text.trim().chars().peekable(),
    };
    let mut out = Vec::new();
    r.expect('{')?;
    if r.eat('}') {
        return r.end(out);
    }
    loop {
        let key = r.string()?;
        r.expect(':')?;
        out.push((key, r.value()?));
        if r.eat('}') {
            return r.end(out);
        }
        r.expect(',')?;
    }
}

struct Reader<'a> {
    rest: std::iter::Peekable<std::str::Chars<'a>>,
}

impl Reader<'_> {
    fn skip_ws(&mut self) {
        while self.rest.next_if(|c| c.is_ascii_whitespace()).is_some() {}
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        self.rest.next_if_eq(&c).is_some()
    }

    fn expect(&mut self, c: char) -> Option<()> {
        self.eat(c).then_some(())
    }

    fn end<T>(&mut self, v: T) -> Option<T> {
        self.skip_ws();
        self.rest.peek().is_none().then_some(v)
    }

    fn value(&mut self) -> Option<Value> {
        self.skip_ws();
        match *self.rest.peek()? {
            '"' => self.string().map(Value::String),
            'n' => self.word("null", Value::Null),
            't' => self.word("true", Value::Bool(true)),
            'f' => self.word("false", Value::Bool(false)),
            c if c == '-' || c.is_ascii_digit() => {
                let mut n = String::new();
                while let Some(c) = self
                    .rest
                    .next_if(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
                {
                    n.push(c);
                }
                Some(Value::Number(n))
            }
            _ => None,
        }
    }

    fn word(&mut self, word: &str, v: Value) -> Option<Value> {
        for w in word.chars() {
            self.rest.next_if_eq(&w)?;
        }
        Some(v)
    }

    fn string(&mut self) -> Option<String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            match self.rest.next()? {
                '"' => return Some(out),
                '\\' => match self.rest.next()? {
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'u' => out.push(self.unicode_escape()?),
                    c @ ('"' | '\\' | '/') => out.push(c),
                    _ => return None,
                },
                c => out.push(c),
            }
        }
    }

    /// After `\u`: four hex digits, and a second escape for a surrogate
    /// pair. A lone surrogate reads as U+FFFD.
    fn unicode_escape(&mut self) -> Option<char> {
        let hi = self.hex4()?;
        if !(0xD800..0xDC00).contains(&hi) {
            return Some(char::from_u32(hi).unwrap_or('\u{fffd}'));
        }
        if self.rest.next_if_eq(&'\\').is_none() || self.rest.next_if_eq(&'u').is_none() {
            return Some('\u{fffd}');
        }
        let lo = self.hex4()?;
        let c = 0x10000 + ((hi - 0xD800) << 10) + lo.checked_sub(0xDC00)?;
        Some(char::from_u32(c).unwrap_or('\u{fffd}'))
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut v = 0;
        for _ in 0..4 {
            v = v * 16 + self.rest.next()?.to_digit(16)?;
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_and_quotes() {
        assert_eq!(super::string("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
    }

    #[test]
    fn flat_objects_read_back_what_was_written() {
        let text = format!(
            "{{\"a\":{},\"n\":-12,\"z\":null,\"t\":true,\"u\":\"\\ud83d\\udc0d\\u00e9\"}}",
            string("q\"\\\n\t\u{1}é")
        );
        let got = parse_flat(&text).unwrap();
        assert_eq!(
            got,
            [
                ("a".into(), Value::String("q\"\\\n\t\u{1}é".into())),
                ("n".into(), Value::Number("-12".into())),
                ("z".into(), Value::Null),
                ("t".into(), Value::Bool(true)),
                ("u".into(), Value::String("\u{1f40d}é".into())),
            ]
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "{",
            "{\"a\":1",
            "{\"a\":{}}",
            "[1]",
            "{\"a\":1} x",
            "{\"a\":\"\\q\"}",
        ] {
            assert_eq!(parse_flat(bad), None, "{bad}");
        }
        assert_eq!(parse_flat(" {} "), Some(Vec::new()));
    }
}
