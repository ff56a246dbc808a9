//! The environment layers, applied onto the file's tree before it is deserialised: first the
//! documented names ([`DOCUMENTED_ENV`], each in its documented unit), then generic overrides
//! `PRICEALERT__SECTION__KEY` (double underscores between path segments, any case), so a
//! generic override wins over a documented name for the same key.
//!
//! After each variable the tree is deserialised again, so an error names that variable and
//! the setting it sets.

use std::collections::HashMap;
use std::time::Duration;

use humantime_serde::re::humantime;
use toml::{Table, Value};

use super::{ConfigError, Settings};

mod documented;

pub use documented::DOCUMENTED_ENV;

/// The prefix of a generic override, matched in any case.
const GENERIC_PREFIX: &str = "PRICEALERT__";

/// The unit a documented variable gives its duration in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Milliseconds,
    Seconds,
    /// Seconds with fractions allowed (`2.5`).
    FractionalSeconds,
    Minutes,
    Days,
}

/// How a documented variable's text becomes its setting's value.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// The text read as the setting's own type: a number, `true`/`false`, text or a name.
    Plain,
    /// Like `Plain`, but empty means unset.
    Optional,
    /// A whole (or, for `FractionalSeconds`, fractional) number of `Unit`s.
    Duration(Unit),
    /// Comma-separated; empty items are dropped.
    List,
    /// True when the text is this word (any case), false otherwise.
    TrueWhen(&'static str),
    /// A URL whose trailing `/` is dropped.
    BaseUrl,
    /// A whole number, and `factor` times it at the path `also`.
    Scaled { also: &'static str, factor: u32 },
}

/// A documented environment variable and the setting it sets.
#[derive(Debug, Clone, Copy)]
pub struct EnvName {
    name: &'static str,
    path: &'static str,
    kind: Kind,
}

impl EnvName {
    const fn new(name: &'static str, path: &'static str) -> EnvName {
        EnvName::of(name, path, Kind::Plain)
    }

    const fn optional(name: &'static str, path: &'static str) -> EnvName {
        EnvName::of(name, path, Kind::Optional)
    }

    const fn duration(name: &'static str, path: &'static str, unit: Unit) -> EnvName {
        EnvName::of(name, path, Kind::Duration(unit))
    }

    const fn list(name: &'static str, path: &'static str) -> EnvName {
        EnvName::of(name, path, Kind::List)
    }

    const fn true_when(name: &'static str, path: &'static str, word: &'static str) -> EnvName {
        EnvName::of(name, path, Kind::TrueWhen(word))
    }

    const fn base_url(name: &'static str, path: &'static str) -> EnvName {
        EnvName::of(name, path, Kind::BaseUrl)
    }

    const fn scaled(
        name: &'static str,
        path: &'static str,
        also: &'static str,
        factor: u32,
    ) -> EnvName {
        EnvName::of(name, path, Kind::Scaled { also, factor })
    }

    const fn of(name: &'static str, path: &'static str, kind: Kind) -> EnvName {
        EnvName { name, path, kind }
    }

    /// The variable, e.g. `GATEWAY_PORT`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The dotted path of the setting, e.g. `gateway.port`.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The values this variable's (trimmed) text sets, by path; `None` unsets.
    fn values(
        &self,
        text: &str,
        like: Option<&Value>,
    ) -> Result<Vec<(&'static str, Option<Value>)>, String> {
        let value = match self.kind {
            Kind::Plain => typed_like(text, like)?,
            Kind::Optional if text.is_empty() => return Ok(vec![(self.path, None)]),
            Kind::Optional => typed_like(text, like)?,
            Kind::Duration(unit) => Value::String(unit.humantime(text)?),
            Kind::List => list(text),
            Kind::TrueWhen(word) => Value::Boolean(text.eq_ignore_ascii_case(word)),
            Kind::BaseUrl => Value::String(text.trim_end_matches('/').to_owned()),
            Kind::Scaled { also, factor } => {
                let number = text.parse::<u32>().map_err(|e| e.to_string())?;
                let scaled = number.saturating_mul(factor);
                return Ok(vec![
                    (self.path, Some(Value::Integer(i64::from(number)))),
                    (also, Some(Value::Integer(i64::from(scaled)))),
                ]);
            }
        };
        Ok(vec![(self.path, Some(value))])
    }
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Milliseconds => "milliseconds",
            Unit::Seconds | Unit::FractionalSeconds => "seconds",
            Unit::Minutes => "minutes",
            Unit::Days => "days",
        }
    }

    /// A number of this unit as a humantime duration (`10000` ms → `10s`).
    fn humantime(self, text: &str) -> Result<String, String> {
        let whole = || {
            text.parse::<u64>()
                .map_err(|e| format!("{e} (a whole number of {})", self.name()))
        };
        let duration = match self {
            Unit::Milliseconds => Duration::from_millis(whole()?),
            Unit::Seconds => Duration::from_secs(whole()?),
            Unit::Minutes => whole()?
                .checked_mul(60)
                .map(Duration::from_secs)
                .ok_or_else(|| "too many minutes".to_owned())?,
            Unit::Days => whole()?
                .checked_mul(86_400)
                .map(Duration::from_secs)
                .ok_or_else(|| "too many days".to_owned())?,
            Unit::FractionalSeconds => {
                let seconds = text.parse::<f64>().map_err(|e| e.to_string())?;
                Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())?
            }
        };
        Ok(humantime::format_duration(duration).to_string())
    }
}

/// Applies the environment onto `tree` (the file, or empty) and returns the settings it gives;
/// `settings` are those of `tree` alone.
pub(super) fn apply(
    mut settings: Settings,
    mut tree: Table,
    env: &HashMap<String, String>,
) -> Result<Settings, ConfigError> {
    let defaults = Value::try_from(Settings::default())
        .map_err(|e| ConfigError::Invalid(format!("the defaults do not serialise: {e}")))?;
    let defaults = defaults.as_table();
    let like = |tree: &Table, path: &[String]| {
        lookup(tree, path)
            .or_else(|| defaults.and_then(|defaults| lookup(defaults, path)))
            .cloned()
    };
    for entry in DOCUMENTED_ENV {
        let Some(text) = env.get(entry.name) else {
            continue;
        };
        let failed = |reason: String| ConfigError::Env {
            name: entry.name.to_owned(),
            path: entry.path.to_owned(),
            reason,
        };
        let like = like(&tree, &segments(entry.path));
        for (path, value) in entry.values(text.trim(), like.as_ref()).map_err(failed)? {
            set(&mut tree, &segments(path), value).map_err(failed)?;
        }
        settings = deserialised(&tree).map_err(failed)?;
    }
    let mut generic: Vec<(&String, &String)> =
        env.iter().filter(|(name, _)| is_generic(name)).collect();
    generic.sort();
    for (name, text) in generic {
        let path = generic_path(name);
        let failed = |reason: String| ConfigError::Env {
            name: name.clone(),
            path: path.join("."),
            reason,
        };
        if path.iter().any(String::is_empty) {
            return Err(failed("a path segment is empty".to_owned()));
        }
        let text = text.trim();
        let value = if text.is_empty() {
            None
        } else {
            Some(typed_like(text, like(&tree, &path).as_ref()).map_err(failed)?)
        };
        set(&mut tree, &path, value).map_err(failed)?;
        settings = deserialised(&tree).map_err(failed)?;
    }
    Ok(settings)
}

fn is_generic(name: &str) -> bool {
    name.get(..GENERIC_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(GENERIC_PREFIX))
}

/// `PRICEALERT__NOTIFIER__SMTP__PORT` → `["notifier", "smtp", "port"]`.
fn generic_path(name: &str) -> Vec<String> {
    name.get(GENERIC_PREFIX.len()..)
        .unwrap_or_default()
        .split("__")
        .map(str::to_ascii_lowercase)
        .collect()
}

fn segments(path: &str) -> Vec<String> {
    path.split('.').map(str::to_owned).collect()
}

fn deserialised(tree: &Table) -> Result<Settings, String> {
    Value::Table(tree.clone())
        .try_into()
        .map_err(|e: toml::de::Error| e.message().trim().to_owned())
}

/// The text as a value of the same type as `like` (the key's current or default value);
/// text when there is none, as for an unset optional setting.
fn typed_like(text: &str, like: Option<&Value>) -> Result<Value, String> {
    match like {
        Some(Value::Integer(_)) => text.parse().map(Value::Integer).map_err(|e| e.to_string()),
        Some(Value::Float(_)) => text.parse().map(Value::Float).map_err(|e| e.to_string()),
        Some(Value::Boolean(_)) => text.parse().map(Value::Boolean).map_err(|e| e.to_string()),
        Some(Value::Array(_)) => Ok(list(text)),
        Some(Value::Table(_)) => Err("this is a section: set its keys one by one".to_owned()),
        Some(Value::String(_) | Value::Datetime(_)) | None => Ok(Value::String(text.to_owned())),
    }
}

fn list(text: &str) -> Value {
    Value::Array(
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| Value::String(item.to_owned()))
            .collect(),
    )
}

fn lookup<'a>(tree: &'a Table, path: &[String]) -> Option<&'a Value> {
    let (last, sections) = path.split_last()?;
    let mut table = tree;
    for section in sections {
        table = table.get(section)?.as_table()?;
    }
    table.get(last)
}

/// Sets (or with `None` removes) the key at `path`, creating the sections above it.
fn set(tree: &mut Table, path: &[String], value: Option<Value>) -> Result<(), String> {
    let Some((last, sections)) = path.split_last() else {
        return Err("no setting named".to_owned());
    };
    let mut table = tree;
    for (depth, section) in sections.iter().enumerate() {
        let entry = table
            .entry(section.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        table = match entry {
            Value::Table(inner) => inner,
            _ => {
                return Err(format!(
                    "{} is a value, not a section",
                    path[..=depth].join(".")
                ))
            }
        };
    }
    match value {
        Some(value) => table.insert(last.clone(), value),
        None => table.remove(last),
    };
    Ok(())
}
