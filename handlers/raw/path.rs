//! Raw-path rules shared by every [`super::RawStore`]: a path is a relative, `/`-separated blob
//! name that maps onto a file under the local root and onto a blob name unchanged.

use super::RawError;

/// Azure caps a blob name at 1,024 characters.
const MAX_PATH_LEN: usize = 1024;

/// Checks that `path` names a blob: non-empty, relative, `/`-separated, no empty, `.` or `..`
/// segments.
///
/// Segments starting with `.` are refused too: the local store writes its temporary files as
/// dot-files and `list` skips them, so such a blob would be written but never listed.
///
/// # Errors
/// [`RawError::InvalidPath`] naming the path.
pub fn validate_path(path: &str) -> Result<(), RawError> {
    if path.is_empty() || path.len() > MAX_PATH_LEN || path.split('/').any(|s| !valid_segment(s)) {
        return Err(invalid(path));
    }
    Ok(())
}

/// Checks a `list` prefix: empty (everything), or a path whose last segment may be partial or
/// empty (`tenant/costs/` and `tenant/co` are both prefixes).
///
/// # Errors
/// [`RawError::InvalidPath`] naming the prefix.
pub fn validate_prefix(prefix: &str) -> Result<(), RawError> {
    if prefix.is_empty() {
        return Ok(());
    }
    if prefix.len() > MAX_PATH_LEN {
        return Err(invalid(prefix));
    }
    let mut segments: Vec<&str> = prefix.split('/').collect();
    let last = segments.pop().unwrap_or_default();
    if segments.iter().any(|s| !valid_segment(s)) || !valid_partial(last) {
        return Err(invalid(prefix));
    }
    Ok(())
}

fn valid_segment(segment: &str) -> bool {
    !segment.is_empty() && valid_partial(segment)
}

/// A segment that may still be a prefix of a valid one (possibly empty).
fn valid_partial(segment: &str) -> bool {
    !segment.starts_with('.') && !segment.chars().any(|c| c == '\\' || c.is_control())
}

fn invalid(path: &str) -> RawError {
    RawError::InvalidPath { path: path.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_and_manifest_paths_are_valid() {
        validate_path("t1/costs/2026/11/25/sub-1/run-1.json").unwrap();
        validate_path("t1/manifests/2026/11/25/sub-1.json").unwrap();
        validate_path("a").unwrap();
    }

    #[test]
    fn escaping_absolute_and_empty_segment_paths_are_refused() {
        for bad in [
            "",
            "/t1/a.json",
            "t1//a.json",
            "t1/a.json/",
            "../a.json",
            "t1/../a.json",
            "t1/./a.json",
            "t1/.hidden",
            "t1\\a.json",
            "t1/a\0.json",
            "t1/a\n.json",
        ] {
            assert!(
                matches!(validate_path(bad), Err(RawError::InvalidPath { path }) if path == bad),
                "{bad:?}"
            );
        }
        assert!(validate_path(&"a".repeat(MAX_PATH_LEN + 1)).is_err());
    }

    #[test]
    fn prefixes_may_be_empty_partial_or_end_with_a_slash() {
        for good in ["", "t1", "t1/", "t1/co", "t1/costs/2026/"] {
            validate_prefix(good).unwrap();
        }
        for bad in ["/", "/t1", "t1//", "../", "t1/../x", "t1/.", ".", "t1/.x"] {
            assert!(validate_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
