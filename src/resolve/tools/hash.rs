//! The digests tools use to name environments kept outside the project:
//! poetry and pipenv hash with SHA-256, pdm with MD5, all three print the
//! digest as URL-safe base64 and keep the first 8 characters.

use md5::{Digest as _, Md5};
use sha2::Sha256;

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// Python's `base64.urlsafe_b64encode`, padding included.
pub fn urlsafe_b64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The first 8 characters of the encoded digest, as all three tools keep.
pub fn short(digest: &[u8]) -> String {
    let mut s = urlsafe_b64(digest);
    s.truncate(8);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_python() {
        // base64.urlsafe_b64encode(b"\xfb\xff\x00ab") == b"-_8AYWI="
        assert_eq!(urlsafe_b64(b"\xfb\xff\x00ab"), "-_8AYWI=");
        assert_eq!(urlsafe_b64(b""), "");
        assert_eq!(urlsafe_b64(b"f"), "Zg==");
    }

    #[test]
    fn digests_match_known_values() {
        // hashlib.sha256(b"abc"), hashlib.md5(b"abc") → urlsafe base64
        assert_eq!(short(&sha256(b"abc")), "ungWv48B");
        assert_eq!(short(&md5(b"abc")), "kAFQmDzS");
    }
}
