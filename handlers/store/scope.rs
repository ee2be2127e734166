//! [`TenantScope`]: the only way to name a tenant when reading or writing tenant data.
//!
//! A scope can only be built through constructors that say where the tenant id came from, so a
//! query without a tenant cannot be written and a tenant id typed in by a user cannot be
//! passed where a verified one is expected without a visible, greppable call.

use std::fmt;

/// The tenant every tenant-data repository call is confined to (the internal `tenants.id`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TenantScope {
    tenant_id: String,
}

impl TenantScope {
    /// A tenant taken from a validated access token (after the API has resolved the token's
    /// `tid` to the internal tenant id).
    pub fn from_verified_token(tenant_id: impl Into<String>) -> Self {
        Self { tenant_id: tenant_id.into() }
    }

    /// A tenant named by a trusted trigger (queue message, blob path, timer fan-out) or by the
    /// operator CLI after looking the tenant up.
    pub fn from_trusted_trigger(tenant_id: impl Into<String>) -> Self {
        Self { tenant_id: tenant_id.into() }
    }

    /// The internal tenant id this scope is confined to.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }
}

impl fmt::Debug for TenantScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TenantScope").field(&self.tenant_id).finish()
    }
}
