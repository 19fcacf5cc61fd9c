//! `causerie.example.toml` is the configuration reference: every option, set to its default.
//! Loaded as it is, it must give exactly the embedded defaults; with its `#?` lines (options
//! without a default) enabled, every option of the file format must be set. A new option that
//! is not documented there, or a default changed in one place only, fails here.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;

use causerie_node::config::{Config, ConfigFile, Overrides};

const REFERENCE: &str = include_str!("../../causerie.example.toml");

/// The paths of the values left unset (null) in `value`.
fn unset(value: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Null => out.push(path.to_owned()),
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                unset(inner, &format!("{path}.{key}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_reference_gives_exactly_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../causerie.example.toml");
    let loaded = Config::load(Some(&path), Overrides::default()).unwrap();
    assert_eq!(loaded, Config::load(None, Overrides::default()).unwrap());
}

#[test]
fn the_reference_names_every_option() {
    let enabled: String = REFERENCE
        .lines()
        .map(|line| line.strip_prefix("#? ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n");
    let file: ConfigFile = toml::from_str(&enabled).unwrap();
    let mut missing = Vec::new();
    unset(&serde_json::to_value(&file).unwrap(), "", &mut missing);
    assert!(
        missing.is_empty(),
        "options missing from the reference: {missing:?}"
    );
    // And the enabled options are valid values, not just the right keys.
    let config = Config::from_parts(file, Overrides::default()).unwrap();
    assert!(config.classifier.is_some() && config.enforcer_key_file.is_some());
}
