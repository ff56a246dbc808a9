//! Settings in layers: defaults < file < documented environment names < generic
//! `PRICEALERT__SECTION__KEY` overrides, with errors that name their source.

use std::collections::HashMap;
use std::path::PathBuf;

mod documented;
mod errors;
mod ingestor;
mod layers;
mod notifier;
mod secrets;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A settings file in a directory of its own, removed when dropped.
struct SettingsFile {
    path: PathBuf,
    _dir: testkit::TempDir,
}

impl std::ops::Deref for SettingsFile {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        &self.path
    }
}

/// A settings file with `text`.
fn settings_file(text: &str) -> SettingsFile {
    let dir = testkit::TempDir::new("pa-config");
    let path = dir.0.join("settings.toml");
    std::fs::write(&path, text).expect("write settings file");
    SettingsFile { path, _dir: dir }
}
