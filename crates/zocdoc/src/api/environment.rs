//! Zocdoc's two environments, each with its own API host, token server and token audience. A
//! token of one is rejected (401) by the other, and credentials belong to one of them.

use std::fmt;

/// Which Zocdoc the client talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Zocdoc's developer sandbox: fixed test appointments, no real patients.
    Sandbox,
    /// Zocdoc's production API: real appointments and patients.
    Production,
}

impl Environment {
    /// The API base URL, without a trailing slash.
    pub fn api_base(self) -> &'static str {
        match self {
            Environment::Sandbox => "https://api-developer-sandbox.zocdoc.com",
            Environment::Production => "https://api-developer.zocdoc.com",
        }
    }

    /// The OAuth 2.0 token URL (client credentials).
    pub fn token_url(self) -> &'static str {
        match self {
            Environment::Sandbox => "https://auth-api-developer-sandbox.zocdoc.com/oauth/token",
            Environment::Production => "https://auth.zocdoc.com/oauth/token",
        }
    }

    /// The `audience` sent in the token request.
    pub fn audience(self) -> &'static str {
        match self {
            Environment::Sandbox => "https://api-developer-sandbox.zocdoc.com/",
            Environment::Production => "https://api-developer.zocdoc.com/",
        }
    }

    /// `sandbox` or `production`.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Sandbox => "sandbox",
            Environment::Production => "production",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_have_zocdocs_documented_endpoints() {
        assert_eq!(
            Environment::Sandbox.api_base(),
            "https://api-developer-sandbox.zocdoc.com"
        );
        assert_eq!(
            Environment::Sandbox.token_url(),
            "https://auth-api-developer-sandbox.zocdoc.com/oauth/token"
        );
        assert_eq!(
            Environment::Sandbox.audience(),
            "https://api-developer-sandbox.zocdoc.com/"
        );
        assert_eq!(
            Environment::Production.api_base(),
            "https://api-developer.zocdoc.com"
        );
        assert_eq!(
            Environment::Production.token_url(),
            "https://auth.zocdoc.com/oauth/token"
        );
        assert_eq!(
            Environment::Production.audience(),
            "https://api-developer.zocdoc.com/"
        );
    }
}
