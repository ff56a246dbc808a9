//! Schemathesis fuzzes the real binary's API from its own `/openapi.json`, as a real user
//! (bearer token), on SQLite and on PostgreSQL: every check, the coverage, fuzzing and
//! stateful phases. Any failure of any check fails the test.
//!
//! Schemathesis comes from PyPI into a venv that `scripts/prerequisites.sh` makes (the README's
//! test command and CI run it first); `PRICEALERT_VENV` points elsewhere. Without it this
//! test fails, naming the command to run.

mod support;

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{json, Value};
use support::product::Product;
use testkit::{fresh_database_url, Engine};

/// Test cases per operation and phase; both engines together stay within a few minutes.
const MAX_EXAMPLES: &str = "25";
/// The run stops here whatever is left (seconds), so the suite stays bounded.
const MAX_TIME_SECONDS: &str = "100";
const PASSWORD: &str = "correct horse battery";

fn schemathesis() -> PathBuf {
    support::venv::tool("st", "schemathesis")
}

/// Registers a user with a phone (so SMS alerts are deliverable) and logs in.
async fn user_token(base: &str) -> String {
    let client = reqwest::Client::new();
    let registered = client
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": "fuzz@example.com", "password": PASSWORD, "phone": "+14155552671"}))
        .send()
        .await
        .expect("register");
    assert_eq!(registered.status(), reqwest::StatusCode::CREATED);
    let token: Value = client
        .post(format!("{base}/auth/login"))
        .form(&[("username", "fuzz@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("token");
    token["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

async fn schemathesis_finds_no_failure(engine: Engine) {
    let st = schemathesis();
    let (database_url, _scratch) = fresh_database_url(engine).await;
    let mut env = vec![
        // Nothing fires (no tick for an hour), so nothing is sent anywhere.
        ("SIMULATED_INTERVAL_MS", "3600000".to_owned()),
        ("LOGIN_RATE_LIMIT_PER_MINUTE", "100000".to_owned()),
        ("API_RATE_LIMIT_PER_SECOND", "100000".to_owned()),
        ("LOG_LEVEL", "warn".to_owned()),
    ];
    if engine == Engine::Postgres {
        env.push(("DATABASE_URL", database_url));
        env.push((
            "JWT_SECRET",
            "schemathesis-secret-0123456789abcdef".to_owned(),
        ));
    }
    let product = Product::start(&env).await;
    let base = product.gateway_url();
    let token = user_token(&base).await;
    let report = testkit::TempDir::new("pa-schemathesis");
    let started = Instant::now();
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis.toml");
    let output = tokio::process::Command::new(&st)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{base}/openapi.json"))
        // Every check (schemathesis.toml enables them all, and says where one is off).
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--max-time", MAX_TIME_SECONDS])
        .args(["--seed", "14"])
        .args(["--workers", "2"])
        .args(["--request-timeout", "30"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // The WebSocket is no request/response operation; deleting the account would leave
        // every later request without a user.
        .args(["--exclude-path", "/prices/ws"])
        .args(["--exclude-operation-id", "delete_me"])
        .args(["--report", "junit"])
        .arg("--report-dir")
        .arg(&report.0)
        .env("NO_COLOR", "1")
        // Its cache of examples goes to the scratch directory, not into the clone.
        .current_dir(&report.0)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The summary's "Test cases:" line is followed by the counts.
    let lines: Vec<&str> = stdout.lines().collect();
    let summary: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.trim_start().starts_with("Test cases"))
        .filter_map(|(index, _)| lines.get(index + 1).map(|next| next.trim()))
        .collect();
    println!(
        "schemathesis on {engine:?}: {} in {:.0?}",
        summary.join(" | "),
        started.elapsed()
    );
    assert!(
        output.status.success(),
        "schemathesis found failures on {engine:?}:\n{stdout}\n{stderr}\npricealert log:\n{}",
        product.log_tail()
    );
    assert!(
        stdout.contains("Test cases"),
        "no test case count in schemathesis' output:\n{stdout}"
    );
    product.stop();
}

#[tokio::test]
async fn schemathesis_finds_no_failure_on_sqlite() {
    schemathesis_finds_no_failure(Engine::Sqlite).await;
}

#[tokio::test]
async fn schemathesis_finds_no_failure_on_postgres() {
    schemathesis_finds_no_failure(Engine::Postgres).await;
}
