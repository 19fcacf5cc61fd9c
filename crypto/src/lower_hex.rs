//! Lowercase hexadecimal for 32-byte values (keys and hashes), the one spelling the protocol
//! uses wherever such a value appears as text (member state keys, power-level `users` entries).

/// The 64 lowercase hex digits of `bytes`.
///
/// By table rather than through a char iterator: the room engine calls this for every event it
/// receives.
pub fn encode32(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Parses exactly 64 lowercase hex digits; anything else (uppercase, a sigil, another length)
/// is `None`, so that one value has exactly one spelling.
pub fn decode32(text: &str) -> Option<[u8; 32]> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_spellings() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37) as u8);
        let text = encode32(&bytes);
        assert_eq!(text, hex::encode(bytes));
        assert_eq!(decode32(&text), Some(bytes));
        assert_eq!(decode32(&text.to_uppercase()), None);
        assert_eq!(decode32(&text[..62]), None);
        assert_eq!(decode32(&format!("{text}00")), None);
        assert_eq!(decode32(&format!("!{}", &text[1..])), None);
        assert_eq!(decode32(&"g".repeat(64)), None);
    }
}
