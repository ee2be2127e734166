//! Channel secrets at rest: AES-256-GCM under `AZCOPS_NOTIFY_SECRET_KEY`, bound to the tenant
//! and channel (associated data) so a sealed value copied to another row does not open.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Version prefix of a sealed value, so the format can change without guessing.
const PREFIX: &str = "v1:";

/// Seals and opens channel secrets.
pub struct SecretBox {
    key: LessSafeKey,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox([redacted])")
    }
}

impl SecretBox {
    /// The box of a base64-encoded 32-byte key, or `None` for anything else.
    pub fn from_base64(key: &str) -> Option<Self> {
        let bytes = STANDARD.decode(key.trim()).ok()?;
        if bytes.len() != 32 {
            return None;
        }
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes).ok()?;
        Some(Self { key: LessSafeKey::new(unbound) })
    }

    /// `secret` sealed for the channel `channel_id` of `tenant_id`.
    pub fn seal(&self, tenant_id: &str, channel_id: &str, secret: &str) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).ok()?;
        let mut data = secret.as_bytes().to_vec();
        let aad = associated(tenant_id, channel_id);
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut data,
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Some(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// The secret sealed in `sealed` for that channel, if it opens with this key.
    pub fn open(&self, tenant_id: &str, channel_id: &str, sealed: &str) -> Option<String> {
        let raw = STANDARD.decode(sealed.strip_prefix(PREFIX)?).ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let aad = associated(tenant_id, channel_id);
        let plain = self.key.open_in_place(nonce, Aad::from(aad.as_bytes()), &mut body).ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

fn associated(tenant_id: &str, channel_id: &str) -> String {
    format!("azcops-notify-channel-v1\0{tenant_id}\0{channel_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretBox {
        SecretBox::from_base64(&STANDARD.encode([byte; 32])).unwrap()
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_tenant_and_channel() {
        let sealed = key(1).seal("t", "c", "hunter2").unwrap();
        assert!(sealed.starts_with("v1:") && !sealed.contains("hunter2"));
        assert_eq!(key(1).open("t", "c", &sealed).as_deref(), Some("hunter2"));
        assert_eq!(key(2).open("t", "c", &sealed), None, "another key");
        assert_eq!(key(1).open("t2", "c", &sealed), None, "another tenant");
        assert_eq!(key(1).open("t", "c2", &sealed), None, "another channel");
        assert_ne!(sealed, key(1).seal("t", "c", "hunter2").unwrap(), "a fresh nonce each time");
        assert!(SecretBox::from_base64(&STANDARD.encode([0u8; 16])).is_none());
        assert!(format!("{:?}", key(1)).contains("redacted"));
    }
}
