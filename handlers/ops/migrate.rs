//! `azcops migrate`: applies the curated store's migrations.

use crate::store::{Backend, StoreConfig, StoreError, migrate};

/// `azcops migrate`: applies the curated store's migrations (`DATABASE_URL` selects the backend).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct MigrateArgs {}

/// Runs `azcops migrate`, printing one line naming the backend (never the URL) to stdout.
///
/// # Errors
/// As [`migrate`].
pub async fn run(_args: MigrateArgs, store: &StoreConfig) -> Result<(), StoreError> {
    let backend = migrate(store).await?;
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    println!("migrations applied ({name})");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SettingsSource;

    #[tokio::test]
    async fn migrate_command_creates_the_sqlite_file_and_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/dir/azcops.db");
        let source = SettingsSource::from_pairs([("DATABASE_URL", format!("sqlite://{}", file.display()))]);
        let config = StoreConfig::from_source(&source).unwrap();
        run(MigrateArgs::default(), &config).await.unwrap();
        assert!(file.exists());
        // Running it again is a no-op.
        assert_eq!(migrate(&config).await.unwrap(), Backend::Sqlite);
    }
}
