//! `application/x-www-form-urlencoded`: POST bodies and query strings.

use std::collections::BTreeMap;

/// The fields of a form or query string; a repeated name keeps its first
/// value.
#[derive(Debug, Clone, Default)]
pub struct Form {
    fields: BTreeMap<String, String>,
}

impl Form {
    /// Parses `name=value&...` (`+` is a space, `%XX` a byte).
    pub fn parse(text: &str) -> Form {
        let mut fields = BTreeMap::new();
        for pair in text.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            fields.entry(decode(name)).or_insert_with(|| decode(value));
        }
        Form { fields }
    }

    /// Parses a POST body (invalid UTF-8 is replaced).
    pub fn parse_bytes(bytes: &[u8]) -> Form {
        Form::parse(&String::from_utf8_lossy(bytes))
    }

    /// The value of field `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The value of `name`, trimmed; `None` when absent or blank.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).map(str::trim).filter(|value| !value.is_empty())
    }
}

/// Decodes one form-encoded component (`+` is a space).
pub fn decode(text: &str) -> String {
    percent_decode(text, true)
}

/// Decodes one URL path segment (`+` stays a plus).
pub fn decode_path(text: &str) -> String {
    percent_decode(text, false)
}

fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => match bytes.get(i + 1..i + 3).and_then(hex_byte) {
                Some(byte) => {
                    out.push(byte);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes `text` for a URL path segment or query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(pair).ok()?;
    u8::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_percent_and_utf8() {
        let form = Form::parse("a=x+y%21&b=%C3%A9t%C3%A9&c&a=second&bad=%zz");
        assert_eq!(form.get("a"), Some("x y!"));
        assert_eq!(form.get("b"), Some("été"));
        assert_eq!(form.get("c"), Some(""));
        assert_eq!(form.get("bad"), Some("%zz"));
        assert_eq!(decode(&encode("billing & refunds/été")), "billing & refunds/été");
        assert_eq!(decode_path("a+b%20c"), "a+b c");
    }
}
