//! The dashboard's cookies: sealed (AES-256-GCM, key derived from `AZCOPS_SESSION_KEY`) so the
//! browser can neither read nor alter them, each bound to its cookie name so one cannot be
//! replayed as another, and each carrying its own expiry.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::api::Identity;

/// The session cookie.
pub const SESSION_COOKIE: &str = "azcops_session";
/// The cookie holding one sign-in attempt's `state`, `nonce` and PKCE verifier.
pub const SIGNIN_COOKIE: &str = "azcops_signin";

/// How long a session lasts after sign-in: a working day, after which the user signs in again
/// (Entra's own session usually makes that a redirect without a prompt).
pub const SESSION_LIFETIME_SECS: i64 = 8 * 3600;
/// How long a sign-in attempt may take between leaving for the identity provider and returning.
pub const SIGNIN_LIFETIME_SECS: i64 = 600;

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The ID token's claims that authorisation uses.
    pub identity: Identity,
    /// The anti-forgery token every state-changing request must carry.
    pub csrf: String,
    /// Unix time after which the session is refused.
    pub expires_at: i64,
    /// For a platform admin: the customer tenant chosen with the tenant switcher.
    #[serde(default)]
    pub acting_tenant: Option<String>,
}

/// One sign-in attempt, kept between the redirect to the identity provider and its return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInAttempt {
    /// The `state` sent (compared with the one returned).
    pub state: String,
    /// The `nonce` sent (compared with the ID token's).
    pub nonce: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// Unix time after which the attempt is refused.
    pub expires_at: i64,
}

/// Something with an expiry.
pub trait Expiring {
    /// Unix time after which it is no longer valid.
    fn expires_at(&self) -> i64;
}

impl Expiring for Session {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

impl Expiring for SignInAttempt {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

/// Seals and opens cookie values.
pub struct CookieKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieKey([redacted])")
    }
}

impl CookieKey {
    /// A key derived from the configured secret (SHA-256 with a purpose label, so the same
    /// secret used elsewhere yields a different key here).
    pub fn from_secret(secret: &str) -> Option<Self> {
        let mut hasher = Sha256::new();
        hasher.update(b"azcops-web-cookie-v1\0");
        hasher.update(secret.as_bytes());
        let bytes = hasher.finalize();
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes).ok()?;
        Some(Self { key: LessSafeKey::new(unbound) })
    }

    /// The sealed, base64url form of `value` for the cookie `name`.
    pub fn seal<T: Serialize>(&self, name: &str, value: &T) -> Option<String> {
        let mut data = serde_json::to_vec(value).ok()?;
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).ok()?;
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(name.as_bytes()),
                &mut data,
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Some(URL_SAFE_NO_PAD.encode(out))
    }

    /// The value sealed in `text` for the cookie `name`, if it opens and has not expired at `now`.
    pub fn open<T: DeserializeOwned + Expiring>(&self, name: &str, text: &str, now: i64) -> Option<T> {
        let raw = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut sealed = sealed.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(name.as_bytes()), &mut sealed).ok()?;
        let value: T = serde_json::from_slice(plain).ok()?;
        (value.expires_at() > now).then_some(value)
    }
}

/// A random URL-safe token of 32 bytes (state, nonce, PKCE verifier, CSRF token).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The system generator does not fail on supported platforms; an all-zero token would only
    // weaken one attempt, and sealing already depends on the same generator.
    let _ = SystemRandom::new().fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The PKCE S256 challenge of `verifier`.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Compares two secrets without leaking where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `Set-Cookie` value for `name`; `secure` unless served over plain-http loopback.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}")
}

/// The `Set-Cookie` value that removes `name`.
pub fn clear_cookie(name: &str, secure: bool) -> String {
    set_cookie(name, "", 0, secure)
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').filter_map(|part| part.trim().split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(expires_at: i64) -> Session {
        Session {
            identity: Identity {
                tid: "t".into(),
                roles: vec!["AzCops.Reader".into()],
                name: None,
                oid: None,
            },
            csrf: random_token(),
            expires_at,
            acting_tenant: None,
        }
    }

    #[test]
    fn sealed_cookies_open_only_with_their_key_name_and_before_expiry() {
        let key = CookieKey::from_secret("0123456789abcdef0123456789abcdef").unwrap();
        let value = session(1000);
        let sealed = key.seal(SESSION_COOKIE, &value).unwrap();
        assert!(!sealed.contains("AzCops"), "the value is encrypted, not only signed");
        assert_eq!(key.open::<Session>(SESSION_COOKIE, &sealed, 999), Some(value));
        assert_eq!(key.open::<Session>(SESSION_COOKIE, &sealed, 1000), None, "expired at its bound");
        assert_eq!(key.open::<Session>(SIGNIN_COOKIE, &sealed, 0), None, "bound to its cookie name");
        let other = CookieKey::from_secret("another secret of at least 32 chars!").unwrap();
        assert_eq!(other.open::<Session>(SESSION_COOKIE, &sealed, 0), None);
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.open::<Session>(SESSION_COOKIE, &String::from_utf8(tampered).unwrap(), 0), None);
    }

    #[test]
    fn a_sign_in_attempt_lasts_its_bound() {
        let key = CookieKey::from_secret("0123456789abcdef0123456789abcdef").unwrap();
        let started = 1_000_000;
        let attempt = SignInAttempt {
            state: random_token(),
            nonce: random_token(),
            verifier: random_token(),
            expires_at: started + SIGNIN_LIFETIME_SECS,
        };
        let sealed = key.seal(SIGNIN_COOKIE, &attempt).unwrap();
        assert!(
            key.open::<SignInAttempt>(SIGNIN_COOKIE, &sealed, started + SIGNIN_LIFETIME_SECS - 1).is_some()
        );
        assert!(key.open::<SignInAttempt>(SIGNIN_COOKIE, &sealed, started + SIGNIN_LIFETIME_SECS).is_none());
        assert_ne!(attempt.state, attempt.nonce, "independent random values");
    }

    #[test]
    fn pkce_matches_the_rfc_7636_example() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_unless_told() {
        let c = set_cookie(SESSION_COOKIE, "v", SESSION_LIFETIME_SECS, true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        assert!(c.contains("Max-Age=28800"));
        assert!(!set_cookie(SESSION_COOKIE, "v", 1, false).contains("Secure"));
        assert_eq!(cookie_value("a=1; azcops_session=xyz; b=2", SESSION_COOKIE), Some("xyz"));
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "ab"));
    }
}
