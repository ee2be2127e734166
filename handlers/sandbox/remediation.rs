//! What remediation does to the estate: ARM `GET`/`DELETE` of disks, public IPs, NICs and
//! snapshots, `PUT` of snapshots, both as asynchronous operations (`201`/`202` with
//! `Azure-AsyncOperation` and `Location`, the status going `InProgress` → `Succeeded`), and
//! management locks (`Microsoft.Authorization/locks` at resource and group scope; a delete under
//! a `CanNotDelete`/`ReadOnly` lock is refused with ARM's `409 ScopeLocked`).
//!
//! The control API (`/_sandbox/remediation/…`) sets locks and tags, attaches a disk between a
//! dry run and the execution, injects 5xx answers while polling (and a delete whose answer is
//! lost after it went through), and backdates a deletion. A deleted resource disappears from
//! ARM and Resource Graph, and its cost stops from the deletion day.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::server::{Shared, arm_error, authorize, json_response, readable_subscription};
use super::{render, usage};

/// Status polls an operation answers `InProgress` before it succeeds.
pub const POLLS_IN_PROGRESS: u32 = 2;

/// One lock the control API set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct SandboxLock {
    /// The scope (a resource or resource group id).
    pub scope: String,
    /// Lock name.
    pub name: String,
    /// `CanNotDelete` or `ReadOnly`.
    pub level: String,
}

#[derive(Debug, Clone)]
struct Operation {
    polls_left: u32,
}

/// The remediation state of the estate (changes only through ARM writes and the control API).
#[derive(Debug, Default)]
pub struct RemediationWorld {
    /// Deleted resources (lower-case id) and the day their cost stops.
    deleted: HashMap<String, NaiveDate>,
    /// Deletions carried out per resource (lower-case id).
    deletions: BTreeMap<String, u32>,
    /// Disks attached by the control API: disk id (lower case) → VM id.
    attached: HashMap<String, String>,
    /// Tags set by the control API, merged over the generated ones.
    tags: HashMap<String, Map<String, Value>>,
    locks: Vec<SandboxLock>,
    /// Snapshots created through ARM (lower-case id → body).
    snapshots: BTreeMap<String, Value>,
    operations: HashMap<String, Operation>,
    /// Status polls still to answer 503.
    poll_faults: u32,
    /// Accepted deletes still to answer 500 after carrying them out (the answer is "lost").
    lost_delete_answers: u32,
}

impl RemediationWorld {
    /// The day a resource's cost stops, if it was deleted.
    pub fn deleted_on(&self, id: &str) -> Option<NaiveDate> {
        self.deleted.get(&id.to_ascii_lowercase()).copied()
    }
}

fn world(state: &Shared) -> std::sync::MutexGuard<'_, RemediationWorld> {
    state.remediation.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The lower-case ids of deleted resources (Resource Graph leaves them out).
pub fn deleted_ids(state: &Shared) -> std::collections::HashSet<String> {
    world(state).deleted.keys().cloned().collect()
}

/// Every deleted resource (lower-case id) with the day its cost stops.
pub fn deletion_days(state: &Shared) -> HashMap<String, NaiveDate> {
    world(state).deleted.clone()
}

/// The ARM body of a generated resource with the control API's changes applied.
fn resource_body(state: &Shared, w: &RemediationWorld, id: &str) -> Option<Value> {
    let lower = id.to_ascii_lowercase();
    if w.deleted.contains_key(&lower) {
        return None;
    }
    if let Some(snapshot) = w.snapshots.get(&lower) {
        return Some(snapshot.clone());
    }
    let r = state.estate.resource(id)?;
    let row = render::resource_row(&state.estate, r);
    let mut body = json!({
        "id": r.id, "name": r.name, "type": usage::arm_type(&r.kind), "location": r.location,
        "tags": row.get("tags").cloned().unwrap_or_else(|| json!({})),
        "sku": row.get("sku").cloned().unwrap_or(Value::Null),
        "properties": row.get("properties").cloned().unwrap_or_else(|| json!({})),
    });
    if let Some(owner) = row.get("managedBy").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        body["managedBy"] = json!(owner);
    }
    if let Some(vm) = w.attached.get(&lower) {
        body["managedBy"] = json!(vm);
        body["properties"]["diskState"] = json!("Attached");
    }
    if let (Some(extra), Some(tags)) = (w.tags.get(&lower), body["tags"].as_object_mut()) {
        tags.extend(extra.clone());
    }
    Some(body)
}

fn not_found(id: &str) -> Response {
    arm_error(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("The Resource '{id}' was not found."))
}

fn accepted(
    state: &Shared,
    status: StatusCode,
    body: &Value,
    sub: &str,
    provider: &str,
    location: &str,
    op: &str,
) -> Response {
    let base = format!("{}/subscriptions/{sub}/providers/{provider}/locations/{location}", state.base_url);
    let mut response = json_response(status, body);
    let h = response.headers_mut();
    for (name, value) in [
        ("azure-asyncoperation", format!("{base}/operations/{op}?api-version=2023-04-02")),
        ("location", format!("{base}/operationResults/{op}?api-version=2023-04-02")),
        ("retry-after", "1".to_owned()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    response
}

/// Answers the remediation paths under `/subscriptions/{sub}/…`, or `None` for other paths.
pub fn dispatch(
    state: &Shared,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Option<Response> {
    let lower = path.to_ascii_lowercase();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let sub_id = segments.get(1).copied()?;
    let operation = lower.contains("/locations/")
        && (lower.contains("/operations/") || lower.contains("/operationresults/"));
    let locks = lower.ends_with("/providers/microsoft.authorization/locks");
    let kinds = [
        "/microsoft.compute/disks/",
        "/microsoft.compute/snapshots/",
        "/microsoft.network/publicipaddresses/",
        "/microsoft.network/networkinterfaces/",
    ];
    let resource = segments.len() == 8 && kinds.iter().any(|k| lower.contains(k));
    if !(operation || locks || resource) {
        return None;
    }
    let claims = match authorize(state, headers) {
        Ok(c) => c,
        Err(r) => return Some(*r),
    };
    if let Err(r) = readable_subscription(state, &claims, sub_id) {
        return Some(*r);
    }
    Some(if operation {
        poll(state, &lower, segments.last().copied().unwrap_or_default())
    } else if locks {
        list_locks(state, &path[..path.len() - "/providers/Microsoft.Authorization/locks".len()])
    } else {
        match *method {
            Method::GET => {
                let w = world(state);
                resource_body(state, &w, path)
                    .map_or_else(|| not_found(path), |b| json_response(StatusCode::OK, &b))
            }
            Method::DELETE => delete(state, path, sub_id),
            Method::PUT if lower.contains("/microsoft.compute/snapshots/") => {
                put_snapshot(state, path, sub_id, body)
            }
            _ => arm_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The sandbox does not serve this method here.",
            ),
        }
    })
}

fn lock_json(lock: &SandboxLock) -> Value {
    json!({
        "id": format!("{}/providers/Microsoft.Authorization/locks/{}", lock.scope, lock.name),
        "type": "Microsoft.Authorization/locks", "name": lock.name,
        "properties": { "level": lock.level, "notes": "set through the sandbox control API", "owners": [] },
    })
}

/// Locks at `scope` and inherited from the scopes above it.
fn locks_over(w: &RemediationWorld, scope: &str) -> Vec<SandboxLock> {
    let scope = scope.to_ascii_lowercase();
    w.locks
        .iter()
        .filter(|l| {
            let at = l.scope.to_ascii_lowercase();
            scope == at || scope.starts_with(&format!("{at}/"))
        })
        .cloned()
        .collect()
}

fn list_locks(state: &Shared, scope: &str) -> Response {
    let w = world(state);
    let value: Vec<Value> = locks_over(&w, scope).iter().map(lock_json).collect();
    json_response(StatusCode::OK, &json!({ "value": value }))
}

fn delete(state: &Shared, id: &str, sub: &str) -> Response {
    let mut w = world(state);
    let Some(body) = resource_body(state, &w, id) else { return not_found(id) };
    if let Some(lock) = locks_over(&w, id).into_iter().find(|l| !l.level.is_empty()) {
        let message = format!(
            "The scope '{id}' cannot perform delete operation because following scope(s) are locked: '{}'. Please remove the lock and try again.",
            lock.scope
        );
        return arm_error(StatusCode::CONFLICT, "ScopeLocked", &message);
    }
    let lower = id.to_ascii_lowercase();
    w.snapshots.remove(&lower);
    w.deleted.insert(lower.clone(), state.estate.as_of);
    *w.deletions.entry(lower).or_insert(0) += 1;
    if w.lost_delete_answers > 0 {
        w.lost_delete_answers -= 1;
        return arm_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "The answer to the delete was lost.",
        );
    }
    let op = uuid::Uuid::new_v4().to_string();
    w.operations.insert(op.clone(), Operation { polls_left: POLLS_IN_PROGRESS });
    let provider = if id.to_ascii_lowercase().contains("/microsoft.network/") {
        "Microsoft.Network"
    } else {
        "Microsoft.Compute"
    };
    let location = body["location"].as_str().unwrap_or("westeurope").to_owned();
    accepted(state, StatusCode::ACCEPTED, &Value::Null, sub, provider, &location, &op)
}

fn put_snapshot(state: &Shared, id: &str, sub: &str, body: &Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "The request content was invalid.",
        );
    };
    let Some(source) = request.pointer("/properties/creationData/sourceResourceId").and_then(Value::as_str)
    else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            "creationData.sourceResourceId is required.",
        );
    };
    let mut w = world(state);
    let Some(disk) = resource_body(state, &w, source) else { return not_found(source) };
    let name = id.rsplit('/').next().unwrap_or_default();
    let location =
        request["location"].as_str().or_else(|| disk["location"].as_str()).unwrap_or("westeurope").to_owned();
    let created = json!({
        "id": id, "name": name, "type": "Microsoft.Compute/snapshots", "location": location,
        "tags": request.get("tags").cloned().unwrap_or_else(|| json!({})),
        "sku": request.get("sku").cloned().unwrap_or_else(|| json!({"name": "Standard_LRS"})),
        "properties": {
            "creationData": { "createOption": "Copy", "sourceResourceId": source },
            "diskSizeGB": disk["properties"]["diskSizeGB"], "incremental": true, "diskState": "Unattached",
            "timeCreated": format!("{}T00:00:00+00:00", state.estate.as_of), "provisioningState": "Succeeded",
        },
    });
    let existed = w.snapshots.insert(id.to_ascii_lowercase(), created.clone()).is_some();
    let op = uuid::Uuid::new_v4().to_string();
    w.operations.insert(op.clone(), Operation { polls_left: POLLS_IN_PROGRESS });
    let mut answer = created;
    answer["properties"]["provisioningState"] = json!(if existed { "Updating" } else { "Creating" });
    let status = if existed { StatusCode::OK } else { StatusCode::CREATED };
    accepted(state, status, &answer, sub, "Microsoft.Compute", &location, &op)
}

fn poll(state: &Shared, lower_path: &str, op: &str) -> Response {
    let mut w = world(state);
    if w.poll_faults > 0 {
        w.poll_faults -= 1;
        let mut r = arm_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The server is currently unable to handle the request. Please retry.",
        );
        r.headers_mut().insert("retry-after", HeaderValue::from(1));
        return r;
    }
    let Some(operation) = w.operations.get_mut(op) else {
        return arm_error(
            StatusCode::NOT_FOUND,
            "OperationNotFound",
            &format!("The operation '{op}' was not found."),
        );
    };
    let running = operation.polls_left > 0;
    operation.polls_left = operation.polls_left.saturating_sub(1);
    let results = lower_path.contains("/operationresults/");
    let mut response = match (results, running) {
        (true, true) => json_response(StatusCode::ACCEPTED, &Value::Null),
        (true, false) => json_response(StatusCode::NO_CONTENT, &Value::Null),
        (false, true) => json_response(
            StatusCode::OK,
            &json!({"name": op, "status": "InProgress", "startTime": state.estate.as_of.to_string()}),
        ),
        (false, false) => json_response(
            StatusCode::OK,
            &json!({"name": op, "status": "Succeeded", "startTime": state.estate.as_of.to_string(), "endTime": state.estate.as_of.to_string()}),
        ),
    };
    if running {
        response.headers_mut().insert("retry-after", HeaderValue::from(1));
    }
    response
}

/// Body of `PUT /_sandbox/remediation`: changes to the remediation state (each optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// Add these locks.
    #[serde(default)]
    pub add_locks: Vec<SandboxLock>,
    /// Remove every lock first.
    #[serde(default)]
    pub clear_locks: bool,
    /// Attach disks: disk id → VM id.
    #[serde(default)]
    pub attach: BTreeMap<String, String>,
    /// Set tags: resource id → tags merged over its own.
    #[serde(default)]
    pub tags: BTreeMap<String, Map<String, Value>>,
    /// Answer this many status polls 503.
    pub poll_faults: Option<u32>,
    /// Answer this many accepted deletes 500 after carrying them out.
    pub lost_delete_answers: Option<u32>,
    /// Mark resources deleted from these days (cost history drops from then).
    #[serde(default)]
    pub deleted: BTreeMap<String, NaiveDate>,
}

/// `PUT /_sandbox/remediation`: applies a [`Change`], answers the state.
pub async fn change(State(state): State<Shared>, body: Bytes) -> Response {
    let change: Change = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return arm_error(StatusCode::BAD_REQUEST, "InvalidRemediationChange", &e.to_string()),
    };
    {
        let mut w = world(&state);
        if change.clear_locks {
            w.locks.clear();
        }
        w.locks.extend(change.add_locks);
        for (disk, vm) in change.attach {
            w.attached.insert(disk.to_ascii_lowercase(), vm);
        }
        for (id, tags) in change.tags {
            w.tags.entry(id.to_ascii_lowercase()).or_default().extend(tags);
        }
        if let Some(n) = change.poll_faults {
            w.poll_faults = n;
        }
        if let Some(n) = change.lost_delete_answers {
            w.lost_delete_answers = n;
        }
        for (id, day) in change.deleted {
            w.deleted.insert(id.to_ascii_lowercase(), day);
        }
    }
    report(State(state)).await
}

/// `GET /_sandbox/remediation`: deletions per resource, snapshots created, locks, pending faults.
pub async fn report(State(state): State<Shared>) -> Response {
    let w = world(&state);
    json_response(
        StatusCode::OK,
        &json!({
            "deletions": w.deletions, "snapshots": w.snapshots.keys().collect::<Vec<_>>(), "locks": w.locks,
            "poll_faults": w.poll_faults, "lost_delete_answers": w.lost_delete_answers,
        }),
    )
}
