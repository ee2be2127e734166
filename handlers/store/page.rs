//! Pagination: a validated [`PageRequest`] in, a [`Page`] out.

use serde::Serialize;

use super::StoreError;

/// Largest page a list query returns.
pub const MAX_PAGE_SIZE: u32 = 500;

/// A validated page request (1-based page number, 1..=500 rows per page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    page_size: u32,
}

impl PageRequest {
    /// Validates a page request.
    ///
    /// # Errors
    /// [`StoreError::Validation`] naming `page` (below 1) or `page_size` (outside 1..=500).
    pub fn new(page: u32, page_size: u32) -> Result<Self, StoreError> {
        if page < 1 {
            return Err(StoreError::validation("page", "must be at least 1"));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(StoreError::validation(
                "page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            ));
        }
        Ok(Self { page, page_size })
    }

    /// The first page with `page_size` rows.
    ///
    /// # Errors
    /// As [`PageRequest::new`].
    pub fn first(page_size: u32) -> Result<Self, StoreError> {
        Self::new(1, page_size)
    }

    /// The 1-based page number.
    pub fn page(&self) -> u32 {
        self.page
    }

    /// Rows per page.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    pub(crate) fn limit(&self) -> i64 {
        i64::from(self.page_size)
    }

    pub(crate) fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.page_size)
    }

    /// Wraps one page of `items` out of `total` rows.
    pub fn into_page<T>(self, items: Vec<T>, total: i64) -> Page<T> {
        let total = u64::try_from(total).unwrap_or(0);
        let total_pages = total.div_ceil(u64::from(self.page_size));
        Page { items, page: self.page, page_size: self.page_size, total, total_pages }
    }
}

/// One page of a list query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// The rows on this page (empty past the end).
    pub items: Vec<T>,
    /// The 1-based page number requested.
    pub page: u32,
    /// Rows per page requested.
    pub page_size: u32,
    /// Rows matching the filters across all pages.
    pub total: u64,
    /// Number of non-empty pages (0 when nothing matches).
    pub total_pages: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_enforced_and_named() {
        assert!(matches!(PageRequest::new(0, 10), Err(StoreError::Validation { field: "page", .. })));
        assert!(matches!(PageRequest::new(1, 0), Err(StoreError::Validation { field: "page_size", .. })));
        assert!(matches!(PageRequest::new(1, 501), Err(StoreError::Validation { field: "page_size", .. })));
        assert!(PageRequest::new(1, 500).is_ok());
    }

    #[test]
    fn offsets_and_page_counts() {
        let req = PageRequest::new(3, 20).unwrap();
        assert_eq!((req.limit(), req.offset()), (20, 40));
        let page = req.into_page(Vec::<u8>::new(), 41);
        assert_eq!((page.total, page.total_pages), (41, 3));
        assert_eq!(PageRequest::new(1, 5).unwrap().into_page(Vec::<u8>::new(), 0).total_pages, 0);
    }
}
