//! One function, one name, one file: `functions/<name>/function.json` ⇔ the trigger registry ⇔
//! `handlers/triggers/<name>.rs`; and the settings example lists exactly what the code reads.

use std::collections::BTreeSet;

use azcops::appdef::AppDefinition;
use azcops::triggers::{FUNCTIONS, FunctionSpec, TriggerKind, diagnostics};

use crate::support::repo;

fn trigger_type(kind: TriggerKind) -> &'static str {
    match kind {
        TriggerKind::Timer => "timerTrigger",
        TriggerKind::Queue => "queueTrigger",
        TriggerKind::Blob => "blobTrigger",
        TriggerKind::Http => "httpTrigger",
    }
}

fn assert_matches(app: &AppDefinition, specs: &[FunctionSpec]) {
    let folders: BTreeSet<&str> = app.functions.iter().map(|f| f.name.as_str()).collect();
    let registered: BTreeSet<&str> = specs.iter().map(|s| s.name).collect();
    assert_eq!(folders, registered, "function folders and the registry differ");
    for spec in specs {
        let def = app.function(spec.name).unwrap();
        let trigger = def.trigger().unwrap();
        assert_eq!(trigger.kind, trigger_type(spec.trigger), "{}", spec.name);
        assert_eq!(trigger.name, spec.binding, "{} trigger binding name", spec.name);
        let outputs: BTreeSet<&str> = def.outputs().map(|b| b.name.as_str()).collect();
        assert_eq!(outputs, spec.outputs.iter().copied().collect(), "{} outputs", spec.name);
    }
}

#[test]
fn function_folders_registry_and_handler_files_agree() {
    let app = AppDefinition::load(&repo()).unwrap();
    assert_matches(&app, FUNCTIONS);
    for spec in FUNCTIONS {
        let file = repo().join("handlers/triggers").join(format!("{}.rs", spec.name));
        assert!(file.is_file(), "missing {}", file.display());
    }
    let dir = tempfile::tempdir().unwrap();
    let diag = AppDefinition::load(&crate::support::make_app(dir.path(), &[], |_| {})).unwrap();
    assert_matches(&diag, diagnostics::FUNCTIONS);
}

#[test]
fn function_definitions_follow_the_hosts_rules() {
    let name_ok = |n: &str| {
        n.len() <= 128
            && n.starts_with(|c: char| c.is_ascii_lowercase())
            && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    };
    let binding_ok = |n: &str| {
        n == "$return"
            || (n.starts_with(|c: char| c.is_ascii_alphabetic())
                && n.chars().all(|c| c.is_ascii_alphanumeric()))
    };
    let app = AppDefinition::load(&repo()).unwrap();
    for def in &app.functions {
        assert!(name_ok(&def.name), "{}", def.name);
        assert!(def.bindings.iter().all(|b| binding_ok(&b.name)), "{}", def.name);
        let trigger = def.trigger().unwrap();
        if trigger.kind == "blobTrigger" {
            assert_eq!(
                trigger.source.as_deref(),
                Some("EventGrid"),
                "Flex Consumption needs EventGrid blob triggers"
            );
        }
        if let Some(route) = &trigger.route {
            assert!(!route.starts_with("admin") && !route.starts_with("runtime"), "{route}");
        }
    }
    assert_eq!(app.host.executable, "azcops");
    assert_eq!(app.host.arguments, vec!["serve".to_owned()]);
}

#[test]
fn the_settings_example_lists_exactly_the_settings_the_code_reads() {
    let text = std::fs::read_to_string(repo().join("local.settings.json.example")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let example: BTreeSet<String> = doc["Values"].as_object().unwrap().keys().cloned().collect();
    let read: BTreeSet<String> = azcops::settings::Settings::keys().into_iter().map(str::to_owned).collect();
    assert_eq!(example, read, "local.settings.json.example vs registered settings");
    assert_eq!(doc["IsEncrypted"], false);
}
