//! Sessions: an expired token signed in again over a half-edited form.

use serde_json::json;

use crate::driver::{Browser, Step};
use crate::steps::{choose, no_serious_violations, rest, signed_up, status_of, token, PASSWORD};

/// With tokens that live `ttl`: an alert half-edited when the session expires is saved after
/// signing in again in the dialog, with what was typed.
pub async fn expired_session(browser: &Browser, gateway: &str) -> Step<()> {
    let (_, access) = signed_up(browser, gateway, "expiring").await?;
    browser.click("a[href='#/i/ETH']").await?;
    browser.find("select[name=condition]").await?;
    choose(browser, "select[name=condition]", "below").await?;
    browser
        .type_into("input[name=target_price]", "1234.5")
        .await?;
    browser
        .type_into("input[name=cooldown_minutes]", "17")
        .await?;
    // The token runs out on the server's clock.
    let deadline = std::time::Instant::now() + crate::driver::STEP_TIMEOUT;
    loop {
        let status = status_of(gateway, &access, "/auth/me").await?;
        if status == reqwest::StatusCode::UNAUTHORIZED {
            break;
        }
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "the token was still accepted ({status}) after {:?}",
                crate::driver::STEP_TIMEOUT
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    browser.click("#save-alert").await?;
    browser.find("dialog#reauth[open]").await?;
    let kept = browser.run("return [document.querySelector('select[name=condition]').value, document.querySelector('input[name=target_price]').value, document.querySelector('input[name=cooldown_minutes]').value];").await?;
    if kept != json!(["below", "1234.5", "17"]) {
        return Err(format!(
            "the form being edited changed under the dialog: {kept}"
        ));
    }
    no_serious_violations(browser, "the sign-in-again dialog").await?;
    browser
        .type_into("#reauth-password", "not the password")
        .await?;
    browser.click("#reauth-submit").await?;
    browser
        .text_contains("#reauth-error", "Incorrect email or password")
        .await?;
    browser.type_into("#reauth-password", PASSWORD).await?;
    browser.click("#reauth-submit").await?;
    browser.text_contains("#toasts", "saved").await?;
    // The same page carried on (signing in again did not redraw it under the save).
    browser
        .text_contains("main", "Saved. See my alerts")
        .await?;
    let renewed = token(browser)
        .await?
        .ok_or("no session after signing in again")?;
    if renewed == access {
        return Err("the expired token is still the one stored".to_owned());
    }
    let alerts = rest(gateway, &renewed, "/alerts").await?;
    let saved = &alerts[0];
    if saved["symbol"] != "ETH"
        || saved["condition"] != "below"
        || saved["target_price"].as_f64() != Some(1234.5)
        || saved["cooldown_minutes"] != 17
    {
        return Err(format!("saved after signing in again: {alerts}"));
    }
    browser.find("dialog#reauth:not([open])").await.map(drop)
}
