//! The file layer: a TOML file read once, its errors located by line, column and key.

use std::ops::Range;
use std::path::Path;

use toml_edit::{Item, Table, Value};

use super::{fields, ConfigError, Settings};

/// The file as settings (so its errors carry a position) and as a tree, the base the
/// environment layers are applied to.
pub(super) fn read(path: &Path) -> Result<(Settings, toml::Table), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let located = |error: toml::de::Error| located_error(path, &text, &error);
    let settings: Settings = toml::from_str(&text).map_err(located)?;
    let tree: toml::Table = text.parse().map_err(located)?;
    Ok((settings, tree))
}

/// The error at its line, column and key; the message of a key holding a secret is withheld,
/// as it could quote the value.
fn located_error(path: &Path, text: &str, error: &toml::de::Error) -> ConfigError {
    let offset = error.span().map_or(0, |span| span.start);
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    let key = key_at(text, offset);
    let secret = key
        .as_deref()
        .is_some_and(|key| fields::SECRET_PATHS.contains(&key));
    let message = if secret {
        "invalid value (not shown: the key holds a secret)".to_owned()
    } else {
        error
            .message()
            .trim()
            .lines()
            .collect::<Vec<_>>()
            .join("; ")
    };
    ConfigError::Parse {
        path: path.to_path_buf(),
        line,
        column,
        key,
        message,
    }
}

/// The dotted path of the innermost key whose text contains `offset`; `None` when the file is
/// not even valid TOML.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let document = toml_edit::ImDocument::parse(text).ok()?;
    key_in_table(document.as_table(), offset, "")
}

fn key_in_table(table: &Table, offset: usize, prefix: &str) -> Option<String> {
    table.iter().find_map(|(key, item)| {
        let path = joined(prefix, key);
        match item {
            Item::Table(child) => key_in_table(child, offset, &path)
                .or_else(|| contains(child.span(), offset).then_some(path)),
            Item::ArrayOfTables(array) => array.iter().enumerate().find_map(|(index, child)| {
                let path = format!("{path}[{index}]");
                key_in_table(child, offset, &path)
                    .or_else(|| contains(child.span(), offset).then_some(path))
            }),
            Item::Value(value) => {
                let key_start = table.key(key).and_then(|key| key.span());
                key_in_value(key_start, value, offset, path)
            }
            Item::None => None,
        }
    })
}

/// `path` when `offset` lies between the key and the end of its value, or a deeper key of an
/// inline table or array there.
fn key_in_value(
    key_span: Option<Range<usize>>,
    value: &Value,
    offset: usize,
    path: String,
) -> Option<String> {
    let value_span = value.span()?;
    let start = key_span.map_or(value_span.start, |span| span.start);
    if !(start..value_span.end.max(start + 1)).contains(&offset) {
        return None;
    }
    let deeper = match value {
        Value::InlineTable(table) => table.iter().find_map(|(key, child)| {
            let key_span = table.key(key).and_then(|key| key.span());
            key_in_value(key_span, child, offset, joined(&path, key))
        }),
        Value::Array(array) => array.iter().enumerate().find_map(|(index, child)| {
            key_in_value(None, child, offset, format!("{path}[{index}]"))
        }),
        _ => None,
    };
    deeper.or(Some(path))
}

fn contains(span: Option<Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|span| span.contains(&offset))
}

fn joined(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_at_an_offset_is_found_in_tables_inline_tables_and_arrays_of_tables() {
        let text = "data_dir = \"x\"\n[gateway]\nport = 1\n\
                    [[ingestor.instruments]]\nsymbol = \"A\"\n\
                    [notifier]\nsmtp = { port = 2 }\n";
        let at = |needle: &str| key_at(text, text.find(needle).expect("needle in text"));
        assert_eq!(at("data_dir").as_deref(), Some("data_dir"));
        assert_eq!(at("1\n").as_deref(), Some("gateway.port"));
        assert_eq!(
            at("\"A\"").as_deref(),
            Some("ingestor.instruments[0].symbol")
        );
        assert_eq!(at("2 }").as_deref(), Some("notifier.smtp.port"));
        assert_eq!(key_at("port = ", 5), None);
    }
}
