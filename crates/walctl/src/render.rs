//! Small text helpers shared by the commands' readable output.

use std::fmt::Write;

/// `text` on one line: line breaks become spaces (an error must be exactly one line).
pub fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(text, "{b:02x}");
    }
    text
}

/// A payload as a quoted, escaped string for a terminal: printable ASCII as is, anything
/// else as `\xNN`, cut after `max_bytes` bytes with a note of how many were left out.
pub fn quoted_payload(payload: &[u8], max_bytes: usize) -> String {
    let shown = payload.get(..max_bytes).unwrap_or(payload);
    let mut text = String::with_capacity(shown.len() + 2);
    text.push('"');
    for &b in shown {
        match b {
            b'"' => text.push_str("\\\""),
            b'\\' => text.push_str("\\\\"),
            b'\n' => text.push_str("\\n"),
            b'\t' => text.push_str("\\t"),
            0x20..=0x7e => text.push(char::from(b)),
            _ => {
                let _ = write!(text, "\\x{b:02x}");
            }
        }
    }
    text.push('"');
    if payload.len() > shown.len() {
        let _ = write!(text, "...(+{} bytes)", payload.len() - shown.len());
    }
    text
}

/// A crc as `0x` and eight hex digits, or `-` when there is none (v1).
pub fn crc(crc: Option<u32>) -> String {
    crc.map_or_else(|| "-".to_owned(), |c| format!("{c:#010x}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_joins_lines() {
        assert_eq!(one_line("a\n  b\r\n\nc"), "a b c");
    }

    #[test]
    fn payloads_are_escaped_and_cut() {
        assert_eq!(quoted_payload(b"a\"b\x00", 10), "\"a\\\"b\\x00\"");
        assert_eq!(quoted_payload(b"abcdef", 3), "\"abc\"...(+3 bytes)");
        assert_eq!(hex(&[0, 0xab]), "00ab");
        assert_eq!(crc(Some(0xab)), "0x000000ab");
    }
}
