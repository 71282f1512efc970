//! How ticketgate logs in to a `[[mailbox]]`: a password, or an XOAUTH2 access token from a
//! file, a command or an OAuth2 token endpoint it refreshes itself.

use std::path::PathBuf;

use crate::config::error::Errors;
use crate::config::secret::SecretSource;

/// How to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxAuth {
    /// LOGIN with this password.
    Password(SecretSource),
    /// AUTHENTICATE XOAUTH2 with an access token from this source.
    XOAuth2(TokenSource),
}

/// Where an XOAUTH2 access token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// A file kept fresh by something else.
    File(PathBuf),
    /// A command that prints a fresh token (`sh -c`).
    Command(String),
    /// ticketgate refreshes the token itself at an OAuth2 token endpoint.
    Endpoint(OAuth2Endpoint),
}

/// An OAuth2 token endpoint with a refresh token (Google, Microsoft 365).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Endpoint {
    /// `https://oauth2.googleapis.com/token`, `https://login.microsoftonline.com/TENANT/oauth2/v2.0/token`.
    pub token_url: String,
    /// The application's id at the provider.
    pub client_id: String,
    /// The application's secret, when the provider wants one.
    pub client_secret: Option<SecretSource>,
    /// The refresh token lives in this file; a rotated one is written back to it.
    pub refresh_token_file: PathBuf,
    /// Scope to ask for (Microsoft needs `https://outlook.office365.com/IMAP.AccessAsUser.All offline_access`).
    pub scope: Option<String>,
    /// How long a refresh token lives at this provider, to warn well before it expires.
    pub refresh_token_lifetime_days: u32,
}

/// The login keys of one `[[mailbox]]` as written (they sit in the mailbox's table).
pub(super) struct RawAuth {
    /// `auth`: `password` or `xoauth2`.
    pub(super) method: String,
    /// The password: at most one of `password`, `password_env`, `password_file`.
    pub(super) password: Option<String>,
    pub(super) password_env: Option<String>,
    pub(super) password_file: Option<PathBuf>,
    /// The XOAUTH2 token: exactly one of `token_file`, `token_command`, `oauth2_token_url`.
    pub(super) token_file: Option<PathBuf>,
    pub(super) token_command: Option<String>,
    pub(super) oauth2_token_url: Option<String>,
    pub(super) oauth2_client_id: Option<String>,
    pub(super) oauth2_client_secret: Option<String>,
    pub(super) oauth2_client_secret_file: Option<PathBuf>,
    pub(super) oauth2_refresh_token_file: Option<PathBuf>,
    pub(super) oauth2_scope: Option<String>,
    pub(super) oauth2_refresh_token_lifetime_days: u32,
}

impl RawAuth {
    /// Validates the login keys, recording each error under `key(name)`; `None` when one
    /// is wrong.
    pub(super) fn validate(
        mut self,
        key: &impl Fn(&str) -> String,
        errors: &mut Errors,
    ) -> Option<MailboxAuth> {
        let password = SecretSource::one_of(
            &key("password"),
            self.password.take(),
            self.password_env.take(),
            self.password_file.take(),
            errors,
        );
        match self.method.as_str() {
            "password" => match password {
                Some(p) => Some(MailboxAuth::Password(p)),
                None => {
                    errors.push(
                        key("password"),
                        "set password, password_env or password_file",
                    );
                    None
                }
            },
            "xoauth2" => self.token_source(key, errors).map(MailboxAuth::XOAuth2),
            other => {
                errors.push(
                    key("auth"),
                    format_args!("`{other}` is not one of password, xoauth2"),
                );
                None
            }
        }
    }

    /// The one source of XOAUTH2 tokens; an endpoint needs a client id and a refresh token.
    fn token_source(
        self,
        key: &impl Fn(&str) -> String,
        errors: &mut Errors,
    ) -> Option<TokenSource> {
        match (self.token_file, self.token_command, self.oauth2_token_url) {
            (Some(f), None, None) => Some(TokenSource::File(f)),
            (None, Some(c), None) => Some(TokenSource::Command(c)),
            (None, None, Some(token_url)) => {
                match (self.oauth2_client_id, self.oauth2_refresh_token_file) {
                    (Some(client_id), Some(refresh_token_file)) => {
                        Some(TokenSource::Endpoint(OAuth2Endpoint {
                            token_url,
                            client_id,
                            client_secret: match (
                                self.oauth2_client_secret,
                                self.oauth2_client_secret_file,
                            ) {
                                (Some(s), _) => Some(SecretSource::Inline(s)),
                                (None, Some(f)) => Some(SecretSource::File(f)),
                                (None, None) => None,
                            },
                            refresh_token_file,
                            scope: self.oauth2_scope,
                            refresh_token_lifetime_days: self.oauth2_refresh_token_lifetime_days,
                        }))
                    }
                    _ => {
                        errors.push(
                            key("oauth2_token_url"),
                            "an OAuth2 endpoint needs oauth2_client_id and oauth2_refresh_token_file",
                        );
                        None
                    }
                }
            }
            _ => {
                errors.push(
                    key("auth"),
                    "with auth = \"xoauth2\" give exactly one of token_file, token_command, oauth2_token_url",
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(method: &str) -> RawAuth {
        RawAuth {
            method: method.into(),
            password: None,
            password_env: None,
            password_file: None,
            token_file: None,
            token_command: None,
            oauth2_token_url: None,
            oauth2_client_id: None,
            oauth2_client_secret: None,
            oauth2_client_secret_file: None,
            oauth2_refresh_token_file: None,
            oauth2_scope: None,
            oauth2_refresh_token_lifetime_days: 90,
        }
    }

    fn validate(raw: RawAuth) -> (Option<MailboxAuth>, Vec<String>) {
        let mut errors = Errors::default();
        let auth = raw.validate(&|k: &str| format!("mailbox[3].{k}"), &mut errors);
        (auth, errors.into_messages())
    }

    #[test]
    fn an_endpoint_refreshes_its_own_tokens() {
        let (auth, errors) = validate(RawAuth {
            oauth2_token_url: Some("https://oauth2.googleapis.com/token".into()),
            oauth2_client_id: Some("id".into()),
            oauth2_client_secret_file: Some("secret".into()),
            oauth2_refresh_token_file: Some("refresh".into()),
            ..raw("xoauth2")
        });
        assert_eq!(errors, Vec::<String>::new());
        let Some(MailboxAuth::XOAuth2(TokenSource::Endpoint(e))) = auth else {
            panic!("{auth:?}");
        };
        assert_eq!(e.client_secret, Some(SecretSource::File("secret".into())));
        assert_eq!(e.refresh_token_lifetime_days, 90);
    }

    #[test]
    fn each_missing_or_extra_secret_is_named_by_its_key() {
        assert_eq!(
            validate(raw("password")).1,
            ["mailbox[3].password: set password, password_env or password_file"]
        );
        assert_eq!(
            validate(raw("xoauth2")).1,
            [
                "mailbox[3].auth: with auth = \"xoauth2\" give exactly one of token_file, token_command, oauth2_token_url"
            ]
        );
        let half_endpoint = RawAuth {
            oauth2_token_url: Some("https://example.com/token".into()),
            ..raw("xoauth2")
        };
        assert_eq!(
            validate(half_endpoint).1,
            [
                "mailbox[3].oauth2_token_url: an OAuth2 endpoint needs oauth2_client_id and oauth2_refresh_token_file"
            ]
        );
        assert_eq!(
            validate(raw("kerberos")).1,
            ["mailbox[3].auth: `kerberos` is not one of password, xoauth2"]
        );
    }
}
