//! [`LocalRawStore`]: the raw container as a directory tree (the embedded default, `data/raw`).
//!
//! A create-only write never exposes a partial file and never replaces one: the content goes to
//! a hidden temporary file next to the target, which is then hard-linked to the target name.
//! `link(2)` fails atomically when the name exists, so of two racing writers exactly one
//! creates the file and the other sees the complete content the winner wrote.

use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::path::{validate_path, validate_prefix};
use super::{PutOutcome, RawError, RawStore};

/// A raw store rooted at a local directory.
#[derive(Debug, Clone)]
pub struct LocalRawStore {
    root: PathBuf,
}

impl LocalRawStore {
    /// A store whose container root is `root`; directories are created on first write.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The container root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn file(&self, path: &str) -> PathBuf {
        path.split('/').fold(self.root.clone(), |file, segment| file.join(segment))
    }
}

fn storage(what: &str, path: &str, e: &std::io::Error) -> RawError {
    RawError::Storage(format!("{what} {path}: {e}"))
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, RawError> + Send + 'static,
) -> Result<T, RawError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| RawError::Storage(format!("file task failed: {e}")))?
}

/// Removes the temporary file however the write ends.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn put_blocking(target: &Path, path: &str, content: &[u8]) -> Result<PutOutcome, RawError> {
    let dir = target.parent().ok_or_else(|| RawError::InvalidPath { path: path.to_owned() })?;
    std::fs::create_dir_all(dir).map_err(|e| storage("cannot create the directory of", path, &e))?;
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = TempFile(dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple())));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp.0)
        .map_err(|e| storage("cannot write", path, &e))?;
    file.write_all(content).map_err(|e| storage("cannot write", path, &e))?;
    // Durable before it becomes visible: a crash must not leave a short snapshot under its name.
    file.sync_all().map_err(|e| storage("cannot sync", path, &e))?;
    drop(file);
    match std::fs::hard_link(&temp.0, target) {
        Ok(()) => {
            // Best effort: the content is already synced, and a directory that cannot be synced
            // is no reason to report a write that happened as failed.
            if let Ok(dir) = std::fs::File::open(dir) {
                let _ = dir.sync_all();
            }
            Ok(PutOutcome::Created)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            let existing = std::fs::read(target).map_err(|e| storage("cannot read", path, &e))?;
            if existing == content {
                Ok(PutOutcome::AlreadyExists)
            } else {
                Err(RawError::Conflict { path: path.to_owned() })
            }
        }
        Err(e) => Err(storage("cannot create", path, &e)),
    }
}

fn get_blocking(file: &Path, path: &str) -> Result<Option<Vec<u8>>, RawError> {
    match std::fs::read(file) {
        Ok(content) => Ok(Some(content)),
        // A directory or a file standing where a directory would be: no blob has this name,
        // as in Blob Storage where "a/b" and "a/b/c" are unrelated names.
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::NotFound | ErrorKind::IsADirectory | ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(storage("cannot read", path, &e)),
    }
}

fn list_blocking(root: &Path, prefix: &str) -> Result<Vec<String>, RawError> {
    // Only the subtree of the prefix's complete directories can match.
    let base: Vec<&str> = match prefix.rsplit_once('/') {
        Some((dirs, _)) => dirs.split('/').collect(),
        None => Vec::new(),
    };
    let start = base.iter().fold(root.to_owned(), |dir, segment| dir.join(segment));
    let mut found = Vec::new();
    let mut stack = vec![(start, base.join("/"))];
    while let Some((dir, name)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => continue,
            Err(e) => return Err(storage("cannot list", &name, &e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| storage("cannot list", &name, &e))?;
            let file_name = entry.file_name().to_string_lossy().into_owned();
            // Dot-files are writes in progress (or not blobs at all).
            if file_name.starts_with('.') {
                continue;
            }
            let child = if name.is_empty() { file_name } else { format!("{name}/{file_name}") };
            let kind = entry.file_type().map_err(|e| storage("cannot list", &child, &e))?;
            if kind.is_dir() {
                stack.push((entry.path(), child));
            } else if kind.is_file() && child.starts_with(prefix) {
                found.push(child);
            }
        }
    }
    found.sort_unstable();
    Ok(found)
}

#[async_trait]
impl RawStore for LocalRawStore {
    async fn put_create_only(&self, path: &str, content: &[u8]) -> Result<PutOutcome, RawError> {
        validate_path(path)?;
        let (target, path, content) = (self.file(path), path.to_owned(), content.to_vec());
        blocking(move || put_blocking(&target, &path, &content)).await
    }

    async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, RawError> {
        validate_path(path)?;
        let (file, path) = (self.file(path), path.to_owned());
        blocking(move || get_blocking(&file, &path)).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, RawError> {
        validate_prefix(prefix)?;
        let (root, prefix) = (self.root.clone(), prefix.to_owned());
        blocking(move || list_blocking(&root, &prefix)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_temporary_file_is_gone_after_both_outcomes() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalRawStore::new(dir.path());
        assert_eq!(store.put_create_only("t/a.json", b"1").await.unwrap(), PutOutcome::Created);
        assert!(matches!(store.put_create_only("t/a.json", b"2").await, Err(RawError::Conflict { .. })));
        let names: Vec<_> = std::fs::read_dir(dir.path().join("t"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.json"]);
    }

    #[tokio::test]
    async fn dot_files_and_foreign_prefixes_are_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("t/x")).unwrap();
        std::fs::write(dir.path().join("t/x/.in-progress.tmp"), b"").unwrap();
        std::fs::write(dir.path().join("t/x/b.json"), b"").unwrap();
        std::fs::write(dir.path().join("t/xy.json"), b"").unwrap();
        let store = LocalRawStore::new(dir.path());
        assert_eq!(store.list("t/x").await.unwrap(), ["t/x/b.json", "t/xy.json"]);
        assert_eq!(store.list("t/x/").await.unwrap(), ["t/x/b.json"]);
        assert!(store.list("absent/").await.unwrap().is_empty());
    }
}
