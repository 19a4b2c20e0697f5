//! Endpoint ids and tunnel tokens: how they are made, written and checked.
//!
//! An endpoint id is 128 random bits in URL-safe base64 (22 characters): it is part of the public
//! webhook URL, so it is not a secret, but it cannot be guessed. A tunnel token is 256 random bits
//! (`dbr_` + 43 characters, the prefix lets secret scanners recognise a leak). The relay stores only
//! the token's SHA-256 and compares hashes in constant time; the token itself is shown once, when
//! the endpoint is made, and then lives only in the desk's keyring.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use deskbridge_core::random::{RandomError, RandomSource};
use deskbridge_core::secrets::SecretValue;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// The prefix of every tunnel token.
pub const TOKEN_PREFIX: &str = "dbr_";

/// The longest token text the relay will hash (anything longer is not a token).
pub const MAX_TOKEN_LEN: usize = 256;

const ID_BYTES: usize = 16;
const ID_LEN: usize = 22;
const TOKEN_BYTES: usize = 32;

/// An endpoint's id: 22 URL-safe base64 characters (128 random bits).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId(String);

impl EndpointId {
    /// A new random id.
    pub fn generate(random: &dyn RandomSource) -> Result<EndpointId, RandomError> {
        let mut bytes = [0u8; ID_BYTES];
        random.fill(&mut bytes)?;
        Ok(EndpointId(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The id as it appears in URLs.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EndpointId({})", self.0)
    }
}

impl fmt::Display for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The text is not an endpoint id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an endpoint id: expected 22 URL-safe base64 characters")]
pub struct InvalidEndpointId;

impl FromStr for EndpointId {
    type Err = InvalidEndpointId;

    fn from_str(text: &str) -> Result<EndpointId, InvalidEndpointId> {
        let decoded = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| InvalidEndpointId)?;
        // The length check and a canonical re-encoding reject ids with stray trailing bits.
        if text.len() != ID_LEN
            || decoded.len() != ID_BYTES
            || URL_SAFE_NO_PAD.encode(&decoded) != text
        {
            return Err(InvalidEndpointId);
        }
        Ok(EndpointId(text.to_owned()))
    }
}

/// A new tunnel token: `dbr_` + 43 URL-safe base64 characters. Shown once, never stored in clear.
pub fn generate_token(random: &dyn RandomSource) -> Result<SecretValue, RandomError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    random.fill(&mut bytes)?;
    let mut text = String::with_capacity(TOKEN_PREFIX.len() + 43);
    text.push_str(TOKEN_PREFIX);
    URL_SAFE_NO_PAD.encode_string(bytes, &mut text);
    bytes.fill(0);
    Ok(SecretValue::from_text(text))
}

/// The SHA-256 of a token: what the relay stores and compares.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// A hash no known token has (its preimage is unknown): what an unknown endpoint's token is
    /// compared with, so that the check costs the same either way.
    pub(crate) const NEVER: TokenHash = TokenHash([0; 32]);

    /// The hash of `token`'s bytes.
    pub fn of(token: &[u8]) -> TokenHash {
        TokenHash(Sha256::digest(token).into())
    }

    /// True when `token` hashes to this hash, compared in constant time.
    pub fn matches(&self, token: &[u8]) -> bool {
        let candidate = TokenHash::of(token);
        bool::from(self.0.ct_eq(&candidate.0))
    }

    /// Lowercase hex, as kept in the registry file.
    pub fn to_hex(&self) -> String {
        let mut hex = String::with_capacity(64);
        for byte in self.0 {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        hex
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<TokenHash> {
        let text = text.as_bytes();
        if text.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
            *byte = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
        }
        Some(TokenHash(out))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use deskbridge_core::random::OsRandom;

    use super::*;

    #[derive(Debug)]
    struct Fixed(u8);

    impl RandomSource for Fixed {
        fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
            dest.fill(self.0);
            Ok(())
        }
    }

    #[test]
    fn ids_are_22_url_safe_characters_and_parse_back() {
        let id = EndpointId::generate(&OsRandom).unwrap();
        assert_eq!(id.as_str().len(), 22);
        assert!(
            id.as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(id.as_str().parse::<EndpointId>().unwrap(), id);
        assert_ne!(EndpointId::generate(&OsRandom).unwrap(), id);
        assert_eq!(
            EndpointId::generate(&Fixed(0xff)).unwrap().as_str(),
            "_____________________w"
        );
    }

    #[test]
    fn malformed_ids_are_refused() {
        for text in [
            "",
            "short",
            "_____________________w=",
            "_____________________x",
            "______________________w",
            "ab+cdefghijklmnopqrstu",
            "../../../../etc/passwd",
        ] {
            assert!(text.parse::<EndpointId>().is_err(), "{text}");
        }
    }

    #[test]
    fn tokens_are_prefixed_random_and_never_debug_printed() {
        let token = generate_token(&OsRandom).unwrap();
        let text = token.expose_text().unwrap();
        assert!(text.starts_with(TOKEN_PREFIX));
        assert_eq!(text.len(), TOKEN_PREFIX.len() + 43);
        assert!(!format!("{token:?}").contains(&text[4..]));
        assert_ne!(generate_token(&OsRandom).unwrap().expose(), token.expose());
    }

    #[test]
    fn hashes_match_only_their_token_and_survive_hex() {
        let token = generate_token(&OsRandom).unwrap();
        let hash = TokenHash::of(token.expose());
        assert!(hash.matches(token.expose()));
        assert!(!hash.matches(b"dbr_wrong"));
        assert!(!hash.matches(b""));
        let hex = hash.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(TokenHash::from_hex(&hex), Some(hash));
        assert_eq!(TokenHash::from_hex(&hex.to_uppercase()), Some(hash));
        assert_eq!(TokenHash::from_hex(&hex[1..]), None);
        assert_eq!(TokenHash::from_hex(&"g".repeat(64)), None);
        assert_eq!(format!("{hash:?}"), "TokenHash(..)");
        // The known SHA-256 of "abc".
        assert_eq!(
            TokenHash::of(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
