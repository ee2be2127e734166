//! Continuation bookkeeping shared by every paging style.
//!
//! The styles differ only in where the token travels (Resource Graph: `options.$skipToken` in
//! the POST body; Cost Management: POST to `nextLink` with the same body; ARM/Advisor: GET
//! `nextLink` verbatim; Retail Prices: GET `NextPageLink`). What they share — stop on an
//! absent/empty token, fail on a repeated token or past the page cap, and follow a link only to
//! the origin (scheme, host, port) that served the first page — lives here. A response naming
//! another host must not receive the bearer token the next request carries.

use std::collections::HashSet;

use url::{Origin, Url};

use crate::azure::{Api, AzureError};

/// Tracks the continuation tokens of one listing.
#[derive(Debug)]
pub struct PageGuard {
    api: Api,
    cap: usize,
    pages: usize,
    seen: HashSet<String>,
    origin: Option<Origin>,
}

impl PageGuard {
    /// A guard for one listing of `api`, failing after `cap` pages.
    pub fn new(api: Api, cap: usize) -> Self {
        Self { api, cap: cap.max(1), pages: 0, seen: HashSet::new(), origin: None }
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

    /// As [`PageGuard::next`] for a link to GET or POST (`nextLink`, `NextPageLink`): resolves it
    /// against `served`, the URL of the page just received, and returns it only when its origin
    /// is the one that served the listing's first page (the first `served` this guard sees).
    ///
    /// # Errors
    /// As [`PageGuard::next`]; [`AzureError::InvalidRequest`] for a link that is not a URL;
    /// [`AzureError::ForeignPageLink`] for a link to another scheme, host or port.
    pub fn next_url(&mut self, served: &Url, link: Option<&str>) -> Result<Option<Url>, AzureError> {
        let first = self.origin.get_or_insert_with(|| served.origin()).clone();
        let Some(link) = self.next(link)? else { return Ok(None) };
        let url = served
            .join(&link)
            .map_err(|e| AzureError::InvalidRequest(format!("{} paging link is not a URL: {e}", self.api)))?;
        let origin = url.origin();
        if origin != first {
            return Err(AzureError::ForeignPageLink {
                api: self.api,
                link_origin: origin.ascii_serialization(),
                first_origin: first.ascii_serialization(),
            });
        }
        Ok(Some(url))
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
    fn links_are_followed_only_to_the_first_pages_origin() {
        let first = Url::parse("https://management.azure.com/subscriptions?api-version=1").unwrap();
        let mut g = PageGuard::new(Api::Advisor, 10);
        g.page_received().unwrap();
        let next =
            g.next_url(&first, Some("https://management.azure.com/subscriptions?page=2")).unwrap().unwrap();
        assert_eq!(next.as_str(), "https://management.azure.com/subscriptions?page=2");
        g.page_received().unwrap();
        let relative = g.next_url(&next, Some("/subscriptions?page=3")).unwrap().unwrap();
        assert_eq!(relative.as_str(), "https://management.azure.com/subscriptions?page=3");
        for foreign in [
            "https://evil.example.com/subscriptions?page=4",
            "http://management.azure.com/subscriptions?page=4",
            "https://management.azure.com:8443/subscriptions?page=4",
            "https://management.azure.com.evil.example/subscriptions?page=4",
        ] {
            let mut g = PageGuard::new(Api::Advisor, 10);
            g.page_received().unwrap();
            match g.next_url(&first, Some(foreign)) {
                Err(AzureError::ForeignPageLink { api: Api::Advisor, link_origin, first_origin }) => {
                    assert_eq!(first_origin, "https://management.azure.com");
                    assert!(foreign.starts_with(&link_origin), "{link_origin} for {foreign}");
                }
                other => panic!("{foreign}: {other:?}"),
            }
        }
        assert_eq!(g.next_url(&first, None).unwrap(), None);
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
