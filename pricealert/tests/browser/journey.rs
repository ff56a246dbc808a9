//! The whole journey of the Must-show list, each step failing with a sentence saying what was
//! not seen.

use serde_json::{json, Value};

use crate::driver::{Browser, Step};
use crate::steps::{
    board_cell, choose, hosts_are_only, no_serious_violations, preview_of, rest, shoot_for_readme,
    token, FORM_EMAIL, FORM_PASSWORD, FORM_SUBMIT, PASSWORD,
};

/// The resources the page loaded, their bytes on the wire, the hosts they came from and
/// when the board was usable (the app's `pricealert:usable` mark, ms after navigation).
const LOAD_FIGURES: &str = "
    const nav = performance.getEntriesByType('navigation')[0];
    const resources = performance.getEntriesByType('resource');
    const usable = performance.getEntriesByName('pricealert:usable')[0];
    return {
      bytes: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
      usable_ms: usable ? usable.startTime : null,
      hosts: [...new Set([nav, ...resources].map((r) => new URL(r.name).host))],
    };";

/// For `seconds`, the board's long tasks and how many price cells changed.
const BOARD_UNDER_LOAD: &str = "
    const done = arguments[arguments.length - 1];
    const tasks = [];
    const observer = new PerformanceObserver((list) => { for (const e of list.getEntries()) tasks.push(e.duration); });
    observer.observe({ type: 'longtask' });
    let updates = 0;
    const cells = new MutationObserver((changes) => { updates += changes.length; });
    cells.observe(document.querySelector('.board-grid'), { subtree: true, characterData: true, childList: true });
    setTimeout(() => {
      observer.disconnect();
      cells.disconnect();
      done({ long_tasks: tasks.length, longest_ms: Math.max(0, ...tasks), updates });
    }, 5000);";

pub async fn whole_journey(browser: &Browser, gateway: &str) -> Step<()> {
    let host = gateway.trim_start_matches("http://").to_owned();

    // The board before signing in: first load, grouped, each price in its own currency.
    browser.goto(&format!("{gateway}/")).await?;
    browser.find("body[data-board-ready]").await?;
    let figures = browser.run(LOAD_FIGURES).await?;
    println!(
        "budget: first load {} bytes transferred (target ≤ 300 KB), usable after {} ms (target ≤ 1 s)",
        figures["bytes"], figures["usable_ms"]
    );
    hosts_are_only(&figures, &host)?;
    let groups = browser
        .run("return [...document.querySelectorAll('.board-grid h2')].map((h) => h.textContent);")
        .await?;
    if groups != json!(["Crypto", "Indices", "Commodities", "Stocks"]) {
        return Err(format!("asset classes on the board: {groups}"));
    }
    let rows = browser
        .run("return document.querySelectorAll('td.price[data-symbol]').length;")
        .await?;
    if rows != json!(55) {
        return Err(format!("{rows} instruments on the board, not 55"));
    }
    let nifty = board_cell(browser, "NIFTY50").await?;
    let btc = board_cell(browser, "BTC").await?;
    if !nifty.starts_with('₹') || !btc.starts_with('$') {
        return Err(format!(
            "currencies: NIFTY50 {nifty:?} (₹ expected), BTC {btc:?} ($ expected)"
        ));
    }
    browser.text_contains("td.change", "%").await?;
    let ticking = browser
        .client
        .execute_async(BOARD_UNDER_LOAD, Vec::new())
        .await
        .map_err(|e| format!("board under load: {e}"))?;
    println!(
        "budget: board with 55 symbols ticking 5×/s for 5 s: {} long tasks, longest {} ms (target: none over 50 ms), {} cell updates",
        ticking["long_tasks"], ticking["longest_ms"], ticking["updates"]
    );
    if ticking["updates"].as_u64().unwrap_or(0) == 0 {
        return Err(format!("no price moved on the board in 5 s: {ticking}"));
    }
    let btc_later = board_cell(browser, "BTC").await?;
    if btc_later == btc {
        browser
            .until(
                "BTC to tick on the board",
                "return document.querySelector('td.price[data-symbol=\"BTC\"]').textContent;",
                |v| v.as_str().filter(|t| *t != btc).map(str::to_owned),
            )
            .await?;
    }
    shoot_for_readme(browser, "board").await;
    no_serious_violations(browser, "the board").await?;

    // Sign up: a 422 is shown as text, then the account is made and signed in.
    let email = format!("browser-{}@example.com", std::process::id());
    browser.click("a[href='#/signup']").await?;
    browser.type_into(FORM_EMAIL, &email).await?;
    browser.type_into(FORM_PASSWORD, "short").await?;
    browser.click(FORM_SUBMIT).await?;
    browser
        .text_contains(
            "#auth-error",
            "password: String should have at least 8 characters",
        )
        .await?;
    browser.type_into(FORM_PASSWORD, PASSWORD).await?;
    browser.click(FORM_SUBMIT).await?;
    browser.find("body[data-session=in]").await?;
    browser.find("body[data-board-ready]").await?;

    // A reload keeps the session.
    browser
        .client
        .refresh()
        .await
        .map_err(|e| format!("reload: {e}"))?;
    browser.find("body[data-session=in]").await?;
    browser.find("body[data-board-ready]").await?;
    let access = token(browser)
        .await?
        .ok_or("no session stored after signing up")?;

    // BTC: a chart with candles, then an `above` alert just under the price, previewed first.
    browser.click("a[href='#/i/BTC']").await?;
    browser.until("candles on the BTC chart", "const c = document.querySelector('#chart'); return c && Number(c.dataset.candles || 0);",
        |v| v.as_u64().filter(|n| *n >= 1)).await?;
    choose(browser, "select[name=interval]", "1h").await?;
    browser
        .find("#chart[data-interval='1h'][data-candles]")
        .await?;
    choose(browser, "select[name=interval]", "1m").await?;
    browser
        .find("#chart[data-interval='1m'][data-candles]")
        .await?;
    let price = browser.until("a live BTC price", "const e = document.querySelector('#live-price'); return e && e.dataset.price ? Number(e.dataset.price) : null;",
        Value::as_f64).await?;
    let target = format!("{:.2}", price * 0.98);
    // Every condition previews: a range draws both bounds, a percent move asks for its window.
    choose(browser, "select[name=condition]", "range").await?;
    browser
        .type_into("input[name=target_price]", &format!("{:.2}", price * 0.9))
        .await?;
    browser
        .type_into(
            "input[name=target_price_high]",
            &format!("{:.2}", price * 1.1),
        )
        .await?;
    preview_of(browser, "range").await?;
    browser.find("#chart[data-levels='2']").await?;
    choose(browser, "select[name=condition]", "percent_move").await?;
    browser.type_into("input[name=target_price]", "1").await?;
    browser.type_into("input[name=window_minutes]", "5").await?;
    preview_of(browser, "percent_move").await?;
    browser.find("#chart[data-levels='0']").await?;
    choose(browser, "select[name=condition]", "above").await?;
    browser
        .type_into("input[name=target_price]", &target)
        .await?;
    preview_of(browser, "above").await?;
    browser.find("#chart[data-markers]").await?;
    browser.find("#chart[data-levels='1']").await?;
    no_serious_violations(browser, "the alert editor").await?;
    browser.click("#save-alert").await?;
    browser.text_contains("#toasts", "saved").await?;
    let alerts = rest(gateway, &access, "/alerts").await?;
    let alert_id = alerts[0]["id"]
        .as_i64()
        .ok_or(format!("no alert stored: {alerts}"))?;
    if alerts[0]["condition"] != "above"
        || alerts[0]["target_price"]
            .as_f64()
            .map(|p| format!("{p:.2}"))
            != Some(target.clone())
    {
        return Err(format!("stored alert {alerts} for target {target}"));
    }
    browser.find("#chart[data-levels='1']").await?;
    shoot_for_readme(browser, "instrument").await;

    // The fire arrives live: a toast and the badge.
    browser
        .text_contains(
            "#toasts .toast.fire",
            &format!("Alert #{alert_id} fired: BTC above"),
        )
        .await?;
    browser.text_contains("#badge:not([hidden])", "1").await?;

    // My alerts: the fire counted and its delivery in the history.
    browser.click("#nav-alerts").await?;
    let item = format!("li.alert[data-alert='{alert_id}']");
    browser
        .text_contains(&format!("{item} .triggered"), "fired 1×")
        .await?;
    browser
        .click(&format!("{item} button[data-action=details]"))
        .await?;
    browser
        .text_contains(&format!("{item} table.deliveries tbody"), "email")
        .await?;
    no_serious_violations(browser, "my alerts").await?;
    // "Why hasn't this fired?": it just fired, so it is cooling down; then a snooze.
    browser
        .text_contains(&format!("{item} .details dl"), "cooling down")
        .await?;
    browser
        .run(&format!(
            "const input = document.querySelector(\"{item} input[name=snooze_until]\");
             input.value = '2030-01-01T12:00'; return true;"
        ))
        .await?;
    browser
        .click(&format!("{item} form button[type=submit]"))
        .await?;
    browser
        .text_contains(&format!("{item} .state"), "snoozed until")
        .await?;
    let snoozed = rest(gateway, &access, &format!("/alerts/{alert_id}")).await?;
    if !snoozed["snoozed_until"]
        .as_str()
        .is_some_and(|t| t.starts_with("2030-01-01"))
    {
        return Err(format!("snoozed in the page, not on the server: {snoozed}"));
    }

    // The filter asks the server: another symbol shows none, this one shows the alert again.
    browser.type_into("input[name=symbol]", "ETH").await?;
    browser.text_contains("#alert-list", "No alerts").await?;
    browser.type_into("input[name=symbol]", "btc").await?;
    browser.find(&format!("{item} .what")).await?;

    // Toggle, edit, delete.
    browser
        .click(&format!("{item} button[data-action=toggle]"))
        .await?;
    browser
        .find(&format!("{item} .state[data-state=paused]"))
        .await?;
    if rest(gateway, &access, &format!("/alerts/{alert_id}")).await?["active"] != json!(false) {
        return Err("paused in the page but still active on the server".to_owned());
    }
    browser
        .click(&format!("{item} a[data-action=edit]"))
        .await?;
    browser
        .text_contains("#editor-title", &format!("Edit alert #{alert_id}"))
        .await?;
    let new_target = format!("{:.2}", price * 1.5);
    browser
        .type_into("input[name=target_price]", &new_target)
        .await?;
    browser.click("#save-alert").await?;
    browser.find(&format!("{item} .what")).await?;
    let stored = rest(gateway, &access, &format!("/alerts/{alert_id}")).await?;
    if stored["target_price"].as_f64().map(|p| format!("{p:.2}")) != Some(new_target.clone()) {
        return Err(format!(
            "after the edit the server holds {stored}, not {new_target}"
        ));
    }
    let shown = browser
        .text_contains(&format!("{item} .what"), "BTC above")
        .await?;
    let digits: String = shown.chars().filter(char::is_ascii_digit).collect();
    if !digits.contains(&new_target.replace('.', "")) {
        return Err(format!(
            "the list shows {shown:?} after editing to {new_target}"
        ));
    }
    browser
        .click(&format!("{item} button[data-action=delete]"))
        .await?;
    browser
        .text_contains(&format!("{item} button[data-action=delete]"), "Confirm")
        .await?;
    browser
        .click(&format!("{item} button[data-action=delete]"))
        .await?;
    browser.text_contains("#alert-list", "No alerts").await?;
    if rest(gateway, &access, "/alerts").await? != json!([]) {
        return Err("deleted in the page but still on the server".to_owned());
    }

    // Sign out forgets the token; a wrong password is refused in words; the right one works.
    browser.click("#sign-out").await?;
    browser.find("body[data-session=out]").await?;
    if token(browser).await?.is_some() {
        return Err("the token is still stored after signing out".to_owned());
    }
    browser.click("#nav-signin").await?;
    browser.type_into(FORM_EMAIL, &email).await?;
    browser.type_into(FORM_PASSWORD, "not the password").await?;
    browser.click(FORM_SUBMIT).await?;
    browser
        .text_contains("#auth-error", "Incorrect email or password")
        .await?;
    browser.find("body[data-session=out]").await?;
    browser.type_into(FORM_PASSWORD, PASSWORD).await?;
    browser.click(FORM_SUBMIT).await?;
    browser.find("body[data-session=in]").await?;

    let figures = browser.run(LOAD_FIGURES).await?;
    hosts_are_only(&figures, &host)
}
