//! The account page: the phone, the password change that ends other sessions, notification
//! settings; the webhook with its secret shown once; deleting the account.

use serde_json::{json, Value};

use fantoccini::key::Key;

use crate::driver::{Browser, Step};
use crate::steps::{
    fill_and_submit, no_serious_violations, rest, sign_up, signed_up, status_of, token, PASSWORD,
};

/// Account: the phone (a bad one refused in words), the password (a wrong current one refused;
/// the change ends the other sessions and keeps this one); then quiet hours.
pub async fn phone_password_and_settings(browser: &Browser, gateway: &str) -> Step<()> {
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
    let refused = status_of(gateway, &other, "/auth/me").await?;
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

/// The webhook: a loopback address refused in words; a public one set, its signing secret shown
/// this once (kept by neither the page's storage nor a reload) and removed again. Then the
/// account deleted from the keyboard once its email is typed: signed out, its token and its
/// password refused.
pub async fn webhook_and_deletion(browser: &Browser, gateway: &str) -> Step<()> {
    let (email, access) = signed_up(browser, gateway, "webhook").await?;
    browser.click("#nav-account").await?;
    let webhook = "form[aria-labelledby=acct-webhook]";
    browser.text_contains(webhook, "No webhook set.").await?;
    fill_and_submit(
        browser,
        webhook,
        &[("webhook_url", "http://127.0.0.1:9/hook")],
    )
    .await?;
    browser
        .text_contains(&format!("{webhook} .error"), "loopback")
        .await?;

    let url = "https://hooks.example.com/prices";
    fill_and_submit(browser, webhook, &[("webhook_url", url)]).await?;
    browser
        .text_contains(&format!("{webhook} .done"), "Webhook set.")
        .await?;
    let secret = browser
        .text_contains(&format!("{webhook} code.secret"), "whsec_")
        .await?;
    browser
        .text_contains(webhook, &format!("Current webhook: {url}"))
        .await?;
    no_serious_violations(browser, "the account page showing a webhook secret").await?;
    let kept = browser
        .run("return JSON.stringify([{ ...localStorage }, { ...sessionStorage }]);")
        .await?;
    if kept.as_str().is_some_and(|kept| kept.contains(&secret)) {
        return Err(format!("the page stored the webhook secret: {kept}"));
    }
    let hook = rest(gateway, &access, "/auth/me/webhook").await?;
    if hook["url"] != url || hook.get("secret").is_some() {
        return Err(format!("GET /auth/me/webhook after setting it: {hook}"));
    }
    // Shown once: the page opened again names the webhook but not its secret.
    browser
        .client
        .refresh()
        .await
        .map_err(|e| format!("reload the account page: {e}"))?;
    browser
        .text_contains(webhook, &format!("Current webhook: {url}"))
        .await?;
    let page = browser.run("return document.body.textContent;").await?;
    if page.as_str().is_some_and(|page| page.contains(&secret)) {
        return Err("the webhook secret is shown again after a reload".to_owned());
    }
    browser
        .click(&format!("{webhook} button.secondary"))
        .await?;
    browser.text_contains(webhook, "No webhook set.").await?;
    let gone = rest(gateway, &access, "/auth/me/webhook").await?;
    if gone["detail"] != "No webhook configured" {
        return Err(format!("GET /auth/me/webhook after removing it: {gone}"));
    }

    let deletion = "form[aria-labelledby=acct-delete-account]";
    fill_and_submit(
        browser,
        deletion,
        &[("confirm_email", "someone@example.com")],
    )
    .await?;
    browser
        .text_contains(&format!("{deletion} .error"), "Type your email exactly")
        .await?;
    let me = rest(gateway, &access, "/auth/me").await?;
    if me["email"] != email.as_str() {
        return Err(format!("the account after a wrong confirmation: {me}"));
    }
    // From the keyboard: the email typed, then Enter in the field submits its form.
    let confirm = format!("{deletion} input[name=confirm_email]");
    browser.type_into(&confirm, &email).await?;
    browser
        .find(&confirm)
        .await?
        .send_keys(&char::from(Key::Enter).to_string())
        .await
        .map_err(|e| format!("press Enter in {confirm}: {e}"))?;
    browser.find("body[data-session=out]").await?;
    browser.text_contains("#toasts", "deleted").await?;
    if token(browser).await?.is_some() {
        return Err("a session is still stored after deleting the account".to_owned());
    }
    let refused = status_of(gateway, &access, "/auth/me").await?;
    let login = reqwest::Client::new()
        .post(format!("{gateway}/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .map_err(|e| format!("POST /auth/login: {e}"))?
        .status();
    if refused != reqwest::StatusCode::UNAUTHORIZED || login != reqwest::StatusCode::UNAUTHORIZED {
        return Err(format!(
            "after deleting the account its token got {refused} and its password {login}"
        ));
    }
    Ok(())
}
