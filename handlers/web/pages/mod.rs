//! The dashboard's pages.

pub mod bulk;
pub mod costs;
pub mod forecast;
pub mod governance;
pub mod ingestion;
pub mod layout;
pub mod overview;
pub mod realised;
pub mod recommendation;
pub mod recommendations;
pub mod resources;
pub mod run_now;
pub mod settings;
pub mod tenant;

use super::WebError;
use super::viewer::Viewer;

/// The display name of the tenant the viewer acts on.
pub async fn tenant_name(viewer: &Viewer) -> Result<String, WebError> {
    let tenant = viewer.tenant.store.platform_admin().get_tenant(viewer.tenant.scope.tenant_id()).await?;
    Ok(tenant.name)
}
