//! What every browser test does: the product's REST API beside the page, the stored session,
//! axe-core, signing up and filling forms.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::driver::{Browser, Step};

pub const PASSWORD: &str = "correct horse battery";

/// The sign-in and sign-up form's fields, in the page's view: the session-expired dialog has
/// fields of the same names, hidden while it is closed.
pub const FORM_EMAIL: &str = "#main input[name=email]";
pub const FORM_PASSWORD: &str = "#main input[name=password]";
pub const FORM_SUBMIT: &str = "#main form button[type=submit]";

pub fn hosts_are_only(figures: &Value, host: &str) -> Step<()> {
    let hosts = figures["hosts"].as_array().cloned().unwrap_or_default();
    if hosts.iter().all(|h| h.as_str() == Some(host)) && !hosts.is_empty() {
        Ok(())
    } else {
        Err(format!("requests to another host than {host}: {hosts:?}"))
    }
}

pub async fn no_serious_violations(browser: &Browser, screen: &str) -> Step<()> {
    let violations = browser.accessibility_violations().await?;
    if violations.is_empty() {
        println!("axe-core on {screen}: no serious or critical violations");
        Ok(())
    } else {
        Err(format!("axe-core on {screen}:\n{}", violations.join("\n")))
    }
}

pub async fn board_cell(browser: &Browser, symbol: &str) -> Step<String> {
    let css = format!("td.price[data-symbol=\"{symbol}\"]");
    browser
        .until(
            &format!("{symbol} priced on the board"),
            &format!(
                "const e = document.querySelector({}); return e ? e.textContent : null;",
                json!(css)
            ),
            |v| v.as_str().filter(|t| *t != "—").map(str::to_owned),
        )
        .await
}

pub async fn token(browser: &Browser) -> Step<Option<String>> {
    let stored = browser
        .run("return localStorage.getItem('pricealert.session');")
        .await?;
    Ok(stored
        .as_str()
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .and_then(|s| s["token"].as_str().map(str::to_owned)))
}

pub async fn rest(gateway: &str, token: &str, path: &str) -> Step<Value> {
    reqwest::Client::new()
        .get(format!("{gateway}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("GET {path}: {e}"))?
        .json()
        .await
        .map_err(|e| format!("GET {path}: {e}"))
}

/// The status `GET path` gets with `token`: what the server thinks of a session.
pub async fn status_of(gateway: &str, token: &str, path: &str) -> Step<reqwest::StatusCode> {
    reqwest::Client::new()
        .get(format!("{gateway}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .map(|answer| answer.status())
        .map_err(|e| format!("GET {path}: {e}"))
}

pub async fn shoot_for_readme(browser: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("PRICEALERT_SCREENSHOTS_DIR") {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(dir);
        let written = browser.screenshot(&dir, name).await;
        println!("screenshot for the README: {written:?}");
    }
}

/// Signs up through the page and waits for the board, signed in.
pub async fn sign_up(browser: &Browser, gateway: &str, email: &str) -> Step<()> {
    browser.goto(&format!("{gateway}/#/signup")).await?;
    browser.type_into(FORM_EMAIL, email).await?;
    browser.type_into(FORM_PASSWORD, PASSWORD).await?;
    browser.click(FORM_SUBMIT).await?;
    browser.find("body[data-session=in]").await?;
    browser.find("body[data-board-ready]").await.map(drop)
}

/// Signs up a new `who-<pid>@example.com` through the page; its email and stored token.
pub async fn signed_up(browser: &Browser, gateway: &str, who: &str) -> Step<(String, String)> {
    let email = format!("{who}-{}@example.com", std::process::id());
    sign_up(browser, gateway, &email).await?;
    let access = token(browser)
        .await?
        .ok_or("no session stored after signing up")?;
    Ok((email, access))
}

/// Types each `(input name, text)` into the form matching `form` and submits it.
pub async fn fill_and_submit(browser: &Browser, form: &str, fields: &[(&str, &str)]) -> Step<()> {
    for (name, text) in fields {
        browser
            .type_into(&format!("{form} input[name={name}]"), text)
            .await?;
    }
    browser.click(&format!("{form} button[type=submit]")).await
}

/// Chooses `value` in the `<select>` matching `css`, as a person picking it would.
pub async fn choose(browser: &Browser, css: &str, value: &str) -> Step<()> {
    browser.find(css).await?;
    browser
        .run(&format!(
            "const s = document.querySelector({}); s.value = {}; \
             s.dispatchEvent(new Event('change', {{ bubbles: true }})); return s.value;",
            json!(css),
            json!(value)
        ))
        .await
        .and_then(|chosen| match chosen.as_str() {
            Some(chosen) if chosen == value => Ok(()),
            _ => Err(format!("{css} has no option {value}")),
        })
}

/// Waits for the editor's backtest preview of `condition`; its text.
pub async fn preview_of(browser: &Browser, condition: &str) -> Step<String> {
    let preview = browser
        .text_contains(
            &format!("#backtest-preview[data-condition={condition}]"),
            "Would have fired",
        )
        .await?;
    if preview.contains("in the last 7 days") {
        Ok(preview)
    } else {
        Err(format!("backtest preview of {condition}: {preview}"))
    }
}
