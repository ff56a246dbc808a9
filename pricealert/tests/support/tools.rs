//! The Prometheus tool binaries the checks run. Missing tools fail the test: a skipped check
//! would let a broken config ship.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A tool on `PATH` (or at `$<NAME>_BIN`), with the Debian package that provides it.
pub struct Tool {
    pub name: &'static str,
    pub debian_package: &'static str,
}

pub const PROMTOOL: Tool = Tool {
    name: "promtool",
    debian_package: "prometheus",
};
pub const PROMETHEUS: Tool = Tool {
    name: "prometheus",
    debian_package: "prometheus",
};
pub const AMTOOL: Tool = Tool {
    name: "amtool",
    debian_package: "prometheus-alertmanager",
};

impl Tool {
    pub fn path(&self) -> PathBuf {
        let override_var = format!("{}_BIN", self.name.to_ascii_uppercase());
        if let Some(path) = std::env::var_os(&override_var) {
            return PathBuf::from(path);
        }
        let search = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&search)
            .map(|dir| dir.join(self.name))
            .find(|candidate| candidate.is_file())
            .unwrap_or_else(|| {
                panic!(
                    "`{}` is not installed: `apt-get install {}` (or set {override_var})",
                    self.name, self.debian_package
                )
            })
    }

    /// Runs the tool in `dir` and returns its output, whatever the exit status.
    pub fn run(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new(self.path())
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("could not run {}: {e}", self.name))
    }

    /// Runs the tool and fails the test, with everything it printed, unless it succeeds.
    pub fn run_ok(&self, dir: &Path, args: &[&str]) -> String {
        let output = self.run(dir, args);
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "`{} {}` failed ({}):\n{printed}",
            self.name,
            args.join(" "),
            output.status
        );
        printed
    }
}
