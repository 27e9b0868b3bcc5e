//! Job ids: Salt's `YYYYMMDDhhmmssffffff`, exactly 20 ASCII digits. A [`Jid`]
//! is checked when it is made (decoded off the wire, parsed from the command
//! line or read back from a file), so code holding one never re-checks it and
//! can use it as a file name.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A job id known to be 20 ASCII digits. On the wire it is a plain string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Jid(String);

/// A string that is not a job id. It keeps at most the first 40 characters
/// of what was given, shown escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid job id {shown:?}: expected 20 digits")]
pub struct InvalidJid {
    shown: String,
}

impl Jid {
    pub fn parse(s: &str) -> Result<Jid, InvalidJid> {
        s.parse()
    }

    pub fn is_valid(s: &str) -> bool {
        s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Jid {
    type Err = InvalidJid;

    fn from_str(s: &str) -> Result<Jid, InvalidJid> {
        if Jid::is_valid(s) {
            Ok(Jid(s.to_string()))
        } else {
            Err(InvalidJid {
                shown: s.chars().take(40).collect(),
            })
        }
    }
}

impl TryFrom<String> for Jid {
    type Error = InvalidJid;

    fn try_from(s: String) -> Result<Jid, InvalidJid> {
        if Jid::is_valid(&s) {
            Ok(Jid(s))
        } else {
            Err(InvalidJid {
                shown: s.chars().take(40).collect(),
            })
        }
    }
}

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Jid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<std::path::Path> for Jid {
    fn as_ref(&self) -> &std::path::Path {
        self.0.as_ref()
    }
}

impl std::borrow::Borrow<str> for Jid {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Jid {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Jid {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl Serialize for Jid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Jid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Jid, D::Error> {
        Jid::try_from(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_ascii_digits_and_nothing_else() {
        let jid = Jid::parse("20261124101010123456").unwrap();
        assert_eq!(jid.as_str(), "20261124101010123456");
        assert_eq!(jid.to_string(), "20261124101010123456");
        for bad in [
            "",
            "2026112410101012345",
            "202611241010101234567",
            "2026112410101012345x",
            "../../../../etc/passwd",
            "２0261124101010123456",
            " 20261124101010123456",
        ] {
            assert!(Jid::parse(bad).is_err(), "{bad:?}");
            assert!(Jid::try_from(bad.to_string()).is_err(), "{bad:?}");
        }
        let long = "x".repeat(100);
        let e = Jid::parse(&long).unwrap_err().to_string();
        assert_eq!(
            e,
            format!("invalid job id {:?}: expected 20 digits", "x".repeat(40))
        );
    }

    #[test]
    fn a_json_string_that_is_not_a_jid_does_not_deserialize() {
        let jid: Jid = serde_json::from_str("\"20261124101010123456\"").unwrap();
        assert_eq!(
            serde_json::to_string(&jid).unwrap(),
            "\"20261124101010123456\""
        );
        let e = serde_json::from_str::<Jid>("\"../x\"").unwrap_err();
        assert!(e.to_string().contains("invalid job id"), "{e}");
        assert!(serde_json::from_str::<Jid>("20261124101010123456").is_err());
    }
}
