//! A saltenv or pillarenv name from outside (the command line, a publish off
//! the wire, an execution function's argument). It is a label that selects
//! configured roots, never a path: names that could become one, or hide in a
//! log line, are refused where they enter.

/// Longer than any environment name a config would hold.
pub const MAX_ENV_NAME: usize = 128;

/// Why an environment name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEnvName {
    #[error("an environment name cannot be empty")]
    Empty,
    #[error("an environment name is at most {MAX_ENV_NAME} bytes, not {0}")]
    TooLong(usize),
    #[error("an environment name cannot contain '/', NUL or a control character")]
    BadCharacter,
    #[error("an environment name cannot be '.' or '..'")]
    Dots,
}

/// Checks `name` as a saltenv or pillarenv name.
pub fn check(name: &str) -> Result<(), InvalidEnvName> {
    if name.is_empty() {
        return Err(InvalidEnvName::Empty);
    }
    if name.len() > MAX_ENV_NAME {
        return Err(InvalidEnvName::TooLong(name.len()));
    }
    if name.chars().any(|c| c == '/' || c.is_control()) {
        return Err(InvalidEnvName::BadCharacter);
    }
    if name == "." || name == ".." {
        return Err(InvalidEnvName::Dots);
    }
    Ok(())
}

/// A checked environment name; one that fails [`check`] does not
/// deserialize, so it never reaches the code behind a decoder.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EnvName(String);

impl EnvName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EnvName {
    type Error = InvalidEnvName;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        check(&s)?;
        Ok(EnvName(s))
    }
}

impl From<EnvName> for String {
    fn from(e: EnvName) -> String {
        e.0
    }
}

impl std::fmt::Display for EnvName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_pass_and_path_like_names_are_refused() {
        for good in ["base", "prod", "feature-x_1", "dev.2", "ünï"] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        assert_eq!(check(""), Err(InvalidEnvName::Empty));
        assert_eq!(check("a/b"), Err(InvalidEnvName::BadCharacter));
        assert_eq!(check("../etc"), Err(InvalidEnvName::BadCharacter));
        assert_eq!(check("a\0b"), Err(InvalidEnvName::BadCharacter));
        assert_eq!(check("a\nb"), Err(InvalidEnvName::BadCharacter));
        assert_eq!(check(".."), Err(InvalidEnvName::Dots));
        let long = "x".repeat(MAX_ENV_NAME + 1);
        assert_eq!(check(&long), Err(InvalidEnvName::TooLong(MAX_ENV_NAME + 1)));
        assert_eq!(check(&long[1..]), Ok(()));
    }

    #[test]
    fn a_bad_name_does_not_deserialize() {
        let ok: EnvName = serde_json::from_str("\"prod\"").unwrap();
        assert_eq!(ok.as_str(), "prod");
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"prod\"");
        for bad in ["\"\"", "\"a/b\"", "\"..\""] {
            assert!(serde_json::from_str::<EnvName>(bad).is_err(), "{bad}");
        }
    }
}
