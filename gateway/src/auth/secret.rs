//! Where the JWT signing key comes from: `JWT_SECRET`, or (embedded default only) a random key
//! generated once and kept in the data directory.

use std::io::Write;
use std::path::Path;

use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::GatewayError;

const SECRET_FILE: &str = "jwt_secret";

pub fn load_or_generate(
    configured: Option<&SecretString>,
    data_dir: &Path,
    embedded: bool,
) -> Result<Vec<u8>, GatewayError> {
    if let Some(secret) = configured {
        return Ok(secret.expose_secret().as_bytes().to_vec());
    }
    if !embedded {
        return Err(GatewayError::JwtSecret(
            "JWT_SECRET (at least 32 bytes) must be set when DATABASE_URL points at a shared database"
                .to_owned(),
        ));
    }
    let path = data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 32 => return Ok(text.trim().as_bytes().to_vec()),
        Ok(_) => {
            return Err(GatewayError::JwtSecret(format!(
                "{} is shorter than 32 bytes",
                path.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(GatewayError::JwtSecret(format!("{}: {e}", path.display()))),
    }
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    write_private(&path, &secret)
        .map_err(|e| GatewayError::JwtSecret(format!("{}: {e}", path.display())))?;
    tracing::info!(path = %path.display(), "generated a new JWT signing key");
    Ok(secret.into_bytes())
}

fn write_private(path: &Path, secret: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(secret.as_bytes())?;
    file.sync_all()
}
