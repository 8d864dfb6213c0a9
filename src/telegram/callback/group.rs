//! The group buttons' data: `1:g:<asker>:<link payload>:<tag>`.
//!
//! Anyone can send any callback data for a message, so the asker's id in the data proves
//! nothing by itself: a member could put their own id into a copy of someone else's button.
//! The tag binds the two: 64 bits of HMAC-SHA256 over the asker and the payload, under a key
//! derived from the bot token ([`ButtonKey`]), written as 16 hex digits. Without the token no
//! one can make a tag for another id. A new token makes the old group buttons answer "not
//! yours", which is harmless: a group card is one tap from being asked for again.

use std::fmt;

use ring::hmac;
use subtle::ConstantTimeEq;
use teloxide::types::UserId;

use super::VERSION;
use crate::knowledge::Link;

/// The tag's length in bytes (written as twice as many hex digits).
const TAG_BYTES: usize = 8;

/// Separates the key of the group buttons from anything else derived from the token.
const KEY_LABEL: &[u8] = b"scar-guide group buttons v1";

/// A topic button on a message the bot posted in a group: only the person who asked may use it,
/// so the asker travels with the button (groups keep no conversation state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupTap {
    pub asker: UserId,
    pub link: Link,
}

/// The key of the group buttons' tags, derived from the bot token (so every instance of one
/// bot has the same, and nothing else has to be kept). Its `Debug` prints a placeholder.
#[derive(Clone)]
pub struct ButtonKey(hmac::Key);

impl ButtonKey {
    pub fn from_token(token: &str) -> Self {
        let derived = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, token.as_bytes()),
            KEY_LABEL,
        );
        Self(hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()))
    }

    fn tag(&self, tap: GroupTap) -> [u8; TAG_BYTES] {
        let signed = hmac::sign(&self.0, body(tap).as_bytes());
        let mut tag = [0; TAG_BYTES];
        tag.copy_from_slice(&signed.as_ref()[..TAG_BYTES]);
        tag
    }
}

impl fmt::Debug for ButtonKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ButtonKey(<redacted>)")
    }
}

/// Group button data as pressed: what it says, not yet checked against its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupData {
    pub tap: GroupTap,
    tag: [u8; TAG_BYTES],
}

impl GroupData {
    /// The tap, if its tag is the one `key` gives it (compared in constant time).
    pub fn verified(&self, key: &ButtonKey) -> Option<GroupTap> {
        bool::from(key.tag(self.tap).ct_eq(&self.tag)).then_some(self.tap)
    }
}

/// `<asker>:<link payload>`, the part the tag covers.
fn body(tap: GroupTap) -> String {
    format!("{}:{}", tap.asker.0, tap.link.payload())
}

/// Encodes a group button, tagged with `key`.
pub fn encode_group(tap: GroupTap, key: &ButtonKey) -> String {
    let tag: String = key.tag(tap).iter().map(|b| format!("{b:02x}")).collect();
    format!("{VERSION}:g:{}:{tag}", body(tap))
}

/// Parses a group button; `None` for anything [`encode_group`] would not produce with some
/// key. The tag is checked by [`GroupData::verified`].
pub fn parse_group(data: &str) -> Option<GroupData> {
    let rest = data.strip_prefix(VERSION)?.strip_prefix(":g:")?;
    let mut parts = rest.split(':');
    let (asker, payload, hex) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || hex.len() != 2 * TAG_BYTES {
        return None;
    }
    // Lowercase hex digits only, as written: one spelling per tag.
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut tag = [0; TAG_BYTES];
    for (byte, pair) in tag.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    let tap = GroupTap {
        asker: UserId(asker.parse().ok()?),
        link: Link::parse(payload)?,
    };
    // One spelling per button: no leading zeros, no '+'.
    (format!("{VERSION}:g:{}:{hex}", body(tap)) == data).then_some(GroupData { tap, tag })
}
