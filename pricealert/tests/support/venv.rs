//! The Python tools from PyPI the suite runs (Schemathesis, kubernetes-validate, checkov), in the
//! venv `scripts/prerequisites.sh` makes. A missing tool fails the test: a skipped check would
//! let a broken API or manifest ship.

use std::path::PathBuf;

/// `PRICEALERT_VENV`, else `${XDG_CACHE_HOME:-$HOME/.cache}/pricealert/venv` (the script's default).
pub fn venv() -> PathBuf {
    if let Some(venv) = std::env::var_os("PRICEALERT_VENV") {
        return PathBuf::from(venv);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .expect("HOME or XDG_CACHE_HOME is set");
    cache.join("pricealert").join("venv")
}

/// The venv's `bin/<command>`, which the PyPI package `package` installs.
pub fn tool(command: &str, package: &str) -> PathBuf {
    let venv = venv();
    let path = venv.join("bin").join(command);
    assert!(
        path.exists(),
        "{package} is not installed at {}: run scripts/prerequisites.sh (it installs it from \
         PyPI into that venv), or set PRICEALERT_VENV to a venv that has it \
         (python3 -m venv \"$PRICEALERT_VENV\" && \"$PRICEALERT_VENV/bin/pip\" install {package})",
        path.display()
    );
    path
}
