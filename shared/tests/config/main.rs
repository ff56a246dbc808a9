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

/// A settings file with `text` in a directory of its own.
fn settings_file(text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pa-config-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("settings.toml");
    std::fs::write(&path, text).expect("write settings file");
    path
}
