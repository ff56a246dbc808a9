//! Sessions and the account: an expired token signed in again over a half-edited form; the
//! phone, the password change that ends other sessions, notification settings.

use serde_json::{json, Value};

use crate::driver::{Browser, Step};
use crate::steps::{
    choose, fill_and_submit, no_serious_violations, rest, sign_up, token, PASSWORD,
};

/// With tokens that live `ttl`: an alert half-edited when the session expires is saved after
/// signing in again in the dialog, with what was typed.
pub async fn expired_session(browser: &Browser, gateway: &str) -> Step<()> {
    let email = format!("expiring-{}@example.com", std::process::id());
    sign_up(browser, gateway, &email).await?;
    let access = token(browser)
        .await?
        .ok_or("no session stored after signing up")?;
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
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + crate::driver::STEP_TIMEOUT;
    loop {
        let status = client
            .get(format!("{gateway}/auth/me"))
            .bearer_auth(&access)
            .send()
            .await
            .map_err(|e| format!("GET /auth/me: {e}"))?
            .status();
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

/// Account: the phone (a bad one refused in words), the password (a wrong current one refused;
/// the change ends the other sessions and keeps this one); then quiet hours.
pub async fn account(browser: &Browser, gateway: &str) -> Step<()> {
    let email = format!("account-{}@example.com", std::process::id());
    sign_up(browser, gateway, &email).await?;
    let other_session: Value = reqwest::Client::new()
        .post(format!("{gateway}/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("a second session: {e}"))?
        .json()
        .await
        .map_err(|e| format!("a second session: {e}"))?;
    let other = other_session["access_token"]
        .as_str()
        .ok_or("no token")?
        .to_owned();

    browser.click("#nav-account").await?;
    let phone = "form[aria-labelledby=acct-phone-number]";
    fill_and_submit(browser, phone, &[("phone", "12")]).await?;
    browser
        .text_contains(&format!("{phone} .error"), "phone")
        .await?;
    fill_and_submit(browser, phone, &[("phone", "+1 415 555 2671")]).await?;
    browser
        .text_contains(&format!("{phone} .done"), "+14155552671")
        .await?;
    no_serious_violations(browser, "the account page").await?;

    let password = "form[aria-labelledby=acct-password]";
    let new_password = "a brand new passphrase";
    let wrong = [
        ("current_password", "not the password"),
        ("new_password", new_password),
    ];
    fill_and_submit(browser, password, &wrong).await?;
    browser
        .text_contains(&format!("{password} .error"), "password")
        .await?;
    let right = [
        ("current_password", PASSWORD),
        ("new_password", new_password),
    ];
    fill_and_submit(browser, password, &right).await?;
    browser
        .text_contains(&format!("{password} .done"), "Password changed")
        .await?;
    let mine = token(browser)
        .await?
        .ok_or("signed out by the password change")?;
    let me = rest(gateway, &mine, "/auth/me").await?;
    if me["phone"] != "+14155552671" {
        return Err(format!("after the change this session reads {me}"));
    }
    let refused = reqwest::Client::new()
        .get(format!("{gateway}/auth/me"))
        .bearer_auth(&other)
        .send()
        .await
        .map_err(|e| format!("GET /auth/me: {e}"))?
        .status();
    if refused != reqwest::StatusCode::UNAUTHORIZED {
        return Err(format!(
            "the other session still works after the password change: {refused}"
        ));
    }

    browser.click("a[href='#/settings']").await?;
    browser
        .type_into("input[name=timezone]", "Europe/Berlin")
        .await?;
    browser
        .click("form[aria-labelledby=quiet-title] button[type=submit]")
        .await?;
    browser
        .text_contains("form[aria-labelledby=quiet-title]", "(Europe/Berlin)")
        .await?;
    if browser
        .run("return document.querySelector('dialog#reauth').open;")
        .await?
        != json!(false)
    {
        return Err("asked to sign in again after changing the password here".to_owned());
    }
    // A chat channel: saved and shown masked; "send test" shows the server's answer in words
    // (no bot token is configured here, so Telegram is refused).
    browser.type_into("input[name=chat_id]", "12345").await?;
    browser
        .click("form[aria-labelledby=ch-telegram] button[type=submit]")
        .await?;
    browser
        .text_contains("form[aria-labelledby=ch-telegram]", "Set (chat id: 12345)")
        .await?;
    browser
        .click("form[aria-labelledby=ch-telegram] button.secondary")
        .await?;
    browser
        .text_contains(
            "form[aria-labelledby=ch-telegram] .error",
            "telegram is not configured",
        )
        .await?;
    no_serious_violations(browser, "the notification settings").await
}
