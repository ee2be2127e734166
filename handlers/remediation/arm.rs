//! The I/O of a remediation: reading a resource's state and locks from ARM, and carrying out a
//! [`Plan`] with ARM's asynchronous-operation protocol. Every request and answer (errors too)
//! is kept as an [`Exchange`] for the raw layer; bearer tokens never are (paths keep only the
//! allow-listed query parameters, and ARM bodies carry none).

use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::RemediationError;
use super::plan::{LOCKS_API, Lock, Plan, Step};
use super::poll::{Monitor, PollBudget, PollState, interpret, monitor, wait};
use crate::azure::client::{ApiRequest, Exchange, RawResponse, loggable_path};
use crate::azure::{Api, ArmClient, AzureError, CallContext};

/// The ARM side of one remediation: the client of the remediation identity, the call context
/// and the exchanges recorded so far.
pub struct ArmSession<'a> {
    arm: &'a ArmClient,
    call: CallContext,
    wait_cap: Duration,
    /// Every request/answer of the session, in order.
    pub exchanges: Vec<Exchange>,
}

/// An ARM answer: its status and body (errors included).
struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Value,
}

impl<'a> ArmSession<'a> {
    /// A session for one subscription; polls wait at most `wait_cap` (`Retry-After` capped).
    pub fn new(arm: &'a ArmClient, call: CallContext, wait_cap: Duration) -> Self {
        Self { arm, call, wait_cap, exchanges: Vec::new() }
    }

    /// Sends one request and records it; HTTP error statuses are answers, not errors.
    async fn send(
        &mut self,
        method: http::Method,
        url: Url,
        body: Option<Value>,
    ) -> Result<Answer, AzureError> {
        let request = ApiRequest {
            api: Api::Subscriptions,
            method: method.clone(),
            url: url.clone(),
            body: body.clone(),
            cost: 1.0,
            reserved: None,
        };
        let result = self.arm.send(&self.call, &request).await;
        let (status, headers, text) = match &result {
            Ok(RawResponse { status, headers, body }) => (*status, headers.clone(), body.to_vec()),
            Err(AzureError::Http { status, code, message }) => {
                let envelope = serde_json::json!({"error": {"code": code, "message": message}});
                (*status, http::HeaderMap::new(), envelope.to_string().into_bytes())
            }
            Err(other) => {
                let envelope =
                    serde_json::json!({"error": {"code": "no_answer", "message": other.to_string()}});
                (0, http::HeaderMap::new(), envelope.to_string().into_bytes())
            }
        };
        self.exchanges.push(Exchange {
            api: "remediation".into(),
            method: method.to_string(),
            path: loggable_path(&url),
            request: body,
            status,
            response: Exchange::response_of(&text),
        });
        match result {
            Ok(_) | Err(AzureError::Http { .. }) => {
                Ok(Answer { status, headers, body: serde_json::from_slice(&text).unwrap_or(Value::Null) })
            }
            Err(other) => Err(other),
        }
    }

    fn url(&self, path: &str, api_version: &str) -> Result<Url, RemediationError> {
        Ok(self.arm.arm_url(path, &[("api-version", api_version)])?)
    }

    /// The resource's ARM body (`None` when ARM answers 404) and the locks at its own and its
    /// resource group's scope.
    ///
    /// # Errors
    /// ARM failures other than 404.
    pub async fn read_state(
        &mut self,
        resource_id: &str,
        api_version: &str,
    ) -> Result<Option<(Value, Vec<Lock>)>, RemediationError> {
        let url = self.url(resource_id, api_version)?;
        let answer = self.send(http::Method::GET, url, None).await?;
        match answer.status {
            404 => return Ok(None),
            200 => {}
            other => {
                return Err(RemediationError::Arm(format!(
                    "GET {resource_id} answered {other}: {}",
                    answer.body
                )));
            }
        }
        let group = resource_group_of(resource_id);
        let mut locks = Vec::new();
        for scope in [Some(resource_id), group.as_deref()].into_iter().flatten() {
            let url = self.url(&format!("{scope}/providers/Microsoft.Authorization/locks"), LOCKS_API)?;
            let listed = self.send(http::Method::GET, url, None).await?;
            if listed.status != 200 {
                return Err(RemediationError::Arm(format!(
                    "listing the locks of {scope} answered {}: {}",
                    listed.status, listed.body
                )));
            }
            locks.extend(Lock::from_list(&listed.body));
        }
        Ok(Some((answer.body, locks)))
    }

    /// Carries out every step of `plan`, each to completion, in order.
    ///
    /// # Errors
    /// [`RemediationError::Failed`] when ARM refuses a step or its operation fails or does not
    /// settle; client errors when ARM cannot be reached.
    pub async fn perform(&mut self, plan: &Plan) -> Result<(), RemediationError> {
        for step in &plan.steps {
            self.step(step).await?;
        }
        Ok(())
    }

    async fn step(&mut self, step: &Step) -> Result<(), RemediationError> {
        let (path, query) = step.path.split_once("?api-version=").unwrap_or((step.path.as_str(), ""));
        let url = self.url(path, query)?;
        let method = if step.method == "PUT" { http::Method::PUT } else { http::Method::DELETE };
        let deleting = method == http::Method::DELETE;
        let answer = self.send(method, url, step.body.clone()).await?;
        match answer.status {
            // A DELETE of what is already gone (a retried delivery after an accepted delete)
            // is done: the one deletion already happened.
            404 if deleting => return Ok(()),
            200..=299 => {}
            other => {
                let message =
                    answer.body.pointer("/error/message").and_then(Value::as_str).unwrap_or_default();
                return Err(RemediationError::Failed(format!(
                    "{} {path} answered {other}: {message}",
                    step.method
                )));
            }
        }
        let Some(target) = monitor(answer.status, &answer.headers) else { return Ok(()) };
        self.poll(target, wait(&answer.headers, self.wait_cap), deleting).await
    }

    async fn poll(
        &mut self,
        target: Monitor,
        mut pause: Duration,
        deleting: bool,
    ) -> Result<(), RemediationError> {
        let mut budget = PollBudget::default();
        let link = match &target {
            Monitor::AsyncOperation(u) | Monitor::Location(u) => u.clone(),
        };
        let url = Url::parse(&link)
            .map_err(|e| RemediationError::Failed(format!("the operation link {link} is not a URL: {e}")))?;
        loop {
            budget.poll().map_err(RemediationError::Failed)?;
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            let answer = match self.send(http::Method::GET, url.clone(), None).await {
                Ok(a) if a.status < 500 && a.status != 429 => a,
                Ok(a) => {
                    budget.failed(&format!("HTTP {}", a.status)).map_err(RemediationError::PollsFailing)?;
                    continue;
                }
                // A status link the client will not follow (another host) never becomes followable.
                Err(AzureError::InvalidRequest(why)) => return Err(RemediationError::Failed(why)),
                Err(e) => {
                    budget.failed(&e.to_string()).map_err(RemediationError::PollsFailing)?;
                    continue;
                }
            };
            budget.answered();
            pause = wait(&answer.headers, self.wait_cap);
            if answer.status >= 400 {
                // A Location monitor of a delete answers 404 once the resource is gone.
                if deleting && answer.status == 404 && matches!(target, Monitor::Location(_)) {
                    return Ok(());
                }
                return Err(RemediationError::Failed(format!(
                    "the status poll answered {}: {}",
                    answer.status, answer.body
                )));
            }
            match interpret(&target, answer.status, &answer.body) {
                PollState::Running => {}
                PollState::Succeeded => return Ok(()),
                PollState::Failed(why) => return Err(RemediationError::Failed(why)),
            }
        }
    }

    /// Deletes `id` (a snapshot retention removes) to completion.
    ///
    /// # Errors
    /// As [`ArmSession::perform`].
    pub async fn delete(&mut self, id: &str, api_version: &str) -> Result<(), RemediationError> {
        let step = Step {
            method: "DELETE".into(),
            path: format!("{id}?api-version={api_version}"),
            body: None,
            description: String::new(),
        };
        self.step(&step).await
    }
}

/// `/subscriptions/{s}/resourceGroups/{rg}` of a resource id.
pub fn resource_group_of(resource_id: &str) -> Option<String> {
    let parts: Vec<&str> = resource_id.split('/').collect();
    let at = parts.iter().position(|p| p.eq_ignore_ascii_case("resourcegroups"))?;
    (parts.len() > at + 1).then(|| parts[..=at + 1].join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_scope_is_cut_from_the_id() {
        assert_eq!(
            resource_group_of("/subscriptions/s/resourceGroups/rg-1/providers/Microsoft.Compute/disks/d")
                .as_deref(),
            Some("/subscriptions/s/resourceGroups/rg-1")
        );
        assert_eq!(resource_group_of("/subscriptions/s"), None);
    }
}
