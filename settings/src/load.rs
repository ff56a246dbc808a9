//! Loading the settings: defaults, the file, the environment, then validation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{env, file, ConfigError, Settings};

impl Settings {
    /// Defaults, then the TOML file (if any), then the environment, then validation.
    ///
    /// The file is `config_file`, else `PRICEALERT_CONFIG` from `env` (empty means none).
    pub fn load(
        config_file: Option<&Path>,
        env: &HashMap<String, String>,
    ) -> Result<Settings, ConfigError> {
        let file = config_file.map(Path::to_path_buf).or_else(|| {
            env.get("PRICEALERT_CONFIG")
                .filter(|path| !path.trim().is_empty())
                .map(PathBuf::from)
        });
        let (settings, tree) = match file {
            Some(path) => file::read(&path)?,
            None => (Settings::default(), toml::Table::new()),
        };
        let settings = env::apply(settings, tree, env)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Settings from the process environment and an optional file. Variables whose name or
    /// value is not UTF-8 are none of ours and are skipped.
    pub fn from_process_env(config_file: Option<&Path>) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        Settings::load(config_file, &env)
    }
}
