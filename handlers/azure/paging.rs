//! Continuation bookkeeping shared by every paging style.
//!
//! The styles differ only in where the token travels (Resource Graph: `options.$skipToken` in
//! the POST body; Cost Management: POST to `nextLink` with the same body; ARM/Advisor: GET
//! `nextLink` verbatim; Retail Prices: GET `NextPageLink`). What they share — stop on an
//! absent/empty token, fail on a repeated token or past the page cap — lives here.

use std::collections::HashSet;

use crate::azure::{Api, AzureError};

/// Tracks the continuation tokens of one listing.
#[derive(Debug)]
pub struct PageGuard {
    api: Api,
    cap: usize,
    pages: usize,
    seen: HashSet<String>,
}

impl PageGuard {
    /// A guard for one listing of `api`, failing after `cap` pages.
    pub fn new(api: Api, cap: usize) -> Self {
        Self { api, cap: cap.max(1), pages: 0, seen: HashSet::new() }
    }

    /// Records that one page was received.
    ///
    /// # Errors
    /// [`AzureError::PagingLoop`] when more than `cap` pages were fetched.
    pub fn page_received(&mut self) -> Result<(), AzureError> {
        self.pages += 1;
        if self.pages > self.cap {
            return Err(AzureError::PagingLoop { api: self.api });
        }
        Ok(())
    }

    /// Given the continuation of the page just received, returns the token to follow, or
    /// `None` at the end (absent, null or empty).
    ///
    /// # Errors
    /// [`AzureError::PagingLoop`] when the token was already followed, or the cap is reached.
    pub fn next(&mut self, token: Option<&str>) -> Result<Option<String>, AzureError> {
        let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if !self.seen.insert(token.to_owned()) || self.pages >= self.cap {
            return Err(AzureError::PagingLoop { api: self.api });
        }
        Ok(Some(token.to_owned()))
    }

    /// Pages received so far.
    pub fn pages(&self) -> usize {
        self.pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_new_tokens_and_stops_at_the_end() {
        let mut g = PageGuard::new(Api::ResourceGraph, 10);
        g.page_received().unwrap();
        assert_eq!(g.next(Some("a")).unwrap().as_deref(), Some("a"));
        g.page_received().unwrap();
        assert_eq!(g.next(Some("")).unwrap(), None);
        assert_eq!(g.next(None).unwrap(), None);
        assert_eq!(g.pages(), 2);
    }

    #[test]
    fn repeated_token_is_a_loop() {
        let mut g = PageGuard::new(Api::Advisor, 10);
        g.page_received().unwrap();
        g.next(Some("t")).unwrap();
        g.page_received().unwrap();
        assert!(matches!(g.next(Some("t")), Err(AzureError::PagingLoop { api: Api::Advisor })));
    }

    #[test]
    fn page_cap_is_enforced() {
        let mut g = PageGuard::new(Api::RetailPrices, 2);
        g.page_received().unwrap();
        g.next(Some("1")).unwrap();
        g.page_received().unwrap();
        assert!(matches!(g.next(Some("2")), Err(AzureError::PagingLoop { .. })));
    }
}
