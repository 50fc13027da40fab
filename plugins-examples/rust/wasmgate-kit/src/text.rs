//! Text helpers plugins need: base64 (standard alphabet, padded) and JSON
//! string escaping, with exactly the rules of the other wasmgate kits.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard, padded base64.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = Vec::with_capacity((data.len() + 2) / 3 * 4);
    let mut chunks = data.chunks_exact(3);
    for c in &mut chunks {
        let v = (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32;
        out.push(ALPHABET[(v >> 18) as usize & 63]);
        out.push(ALPHABET[(v >> 12) as usize & 63]);
        out.push(ALPHABET[(v >> 6) as usize & 63]);
        out.push(ALPHABET[v as usize & 63]);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let v = (rest[0] as u32) << 16 | if rest.len() == 2 { (rest[1] as u32) << 8 } else { 0 };
        out.push(ALPHABET[(v >> 18) as usize & 63]);
        out.push(ALPHABET[(v >> 12) as usize & 63]);
        out.push(if rest.len() == 2 { ALPHABET[(v >> 6) as usize & 63] } else { b'=' });
        out.push(b'=');
    }
    // Only ASCII was pushed.
    String::from_utf8(out).unwrap_or_default()
}

fn sextet(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some((c - b'A') as u32),
        b'a'..=b'z' => Some((c - b'a') as u32 + 26),
        b'0'..=b'9' => Some((c - b'0') as u32 + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decodes standard base64 (trailing `=` optional); None when the text is not base64.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut len = bytes.len();
    while len > 0 && bytes[len - 1] == b'=' {
        len -= 1;
    }
    if len % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(len * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in &bytes[..len] {
        acc = (acc << 6) | sextet(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Escapes text for a JSON string: `"` and `\` with a backslash, characters
/// below U+0020 as `\u00xx` (lower-case hex); nothing else.
pub fn json_escape(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
            c => out.push(c),
        }
    }
    out
}
