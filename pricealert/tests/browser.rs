//! The web app in a real browser: headless Chromium through chromedriver against the real
//! binary with the simulated price source, doing what a person does, with an accessibility
//! check (axe-core, vendored for tests only) and the page budgets printed (not asserted, so a
//! busy machine cannot fail the suite). A failed step writes a screenshot to
//! `$CARGO_TARGET_TMPDIR/browser-screenshots/` (named in the failure message).
//!
//! `PRICEALERT_SCREENSHOTS_DIR=docs/screenshots cargo test -p pricealert --test browser` also
//! writes the README's screenshots (the board; the instrument page with an alert line).

mod support;

#[path = "browser/account.rs"]
mod account;
#[path = "browser/driver.rs"]
mod driver;
#[path = "browser/journey.rs"]
mod journey;
#[path = "browser/layout.rs"]
mod layout;
#[path = "browser/sessions.rs"]
mod sessions;
#[path = "browser/steps.rs"]
mod steps;

use std::path::PathBuf;

use driver::Browser;
use support::product::Product;

/// 5 ticks per symbol per second, the rate the board's long-task budget is measured at.
const TICK_INTERVAL_MS: &str = "200";

fn failure_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots")
}

/// Ends the run: on a failed step a screenshot (its path in the panic) and the product's log.
async fn finish(browser: Browser, product: Product, outcome: driver::Step<()>, name: &str) {
    if let Err(failure) = outcome {
        let shot = browser
            .screenshot(&failure_dir(), &format!("{name}-failure"))
            .await;
        let log = product.log_tail();
        browser.close().await;
        panic!("{failure}\nscreenshot: {shot:?}\npricealert log:\n{log}");
    }
    browser.close().await;
    product.stop();
}

#[tokio::test]
async fn a_person_signs_up_watches_prices_sets_an_alert_sees_it_fire_and_manages_it() {
    let product = Product::start(&[("SIMULATED_INTERVAL_MS", TICK_INTERVAL_MS.to_owned())]).await;
    let browser = Browser::start(1280, 1000).await;
    let outcome = journey::whole_journey(&browser, &product.gateway_url()).await;
    finish(browser, product, outcome, "journey").await;
}

#[tokio::test]
async fn an_expired_session_asks_to_sign_in_again_and_keeps_the_alert_being_edited() {
    // Tokens that expire while the test edits an alert.
    let product = Product::start(&[("PRICEALERT__GATEWAY__TOKEN_TTL", "10s".to_owned())]).await;
    let browser = Browser::start(1280, 1000).await;
    let outcome = sessions::expired_session(&browser, &product.gateway_url()).await;
    finish(browser, product, outcome, "expired-session").await;
}

#[tokio::test]
async fn account_changes_the_phone_and_the_password_which_ends_the_other_sessions() {
    let product = Product::start(&[]).await;
    let browser = Browser::start(1280, 1000).await;
    let outcome = account::phone_password_and_settings(&browser, &product.gateway_url()).await;
    finish(browser, product, outcome, "account").await;
}

#[tokio::test]
async fn the_webhook_secret_is_shown_once_and_the_account_can_be_deleted() {
    let product = Product::start(&[]).await;
    let browser = Browser::start(1280, 1000).await;
    let outcome = account::webhook_and_deletion(&browser, &product.gateway_url()).await;
    finish(browser, product, outcome, "webhook-deletion").await;
}

#[tokio::test]
async fn the_board_fits_a_375_pixel_wide_screen_with_every_control_reachable() {
    let product = Product::start(&[]).await;
    let browser = Browser::start(375, 800).await;
    let outcome = layout::narrow_screen(&browser, &product.gateway_url()).await;
    finish(browser, product, outcome, "narrow").await;
}

#[tokio::test]
async fn the_header_says_offline_when_the_live_connection_is_lost() {
    let product = Product::start(&[]).await;
    let browser = Browser::start(1280, 1000).await;
    let gateway = product.gateway_url();
    let before = layout::live_status(&browser, &gateway, None).await;
    // The server goes away for good: the page keeps retrying and says so.
    product.stop();
    let after = match before {
        Ok(()) => layout::live_status(&browser, &gateway, Some("offline — retrying in")).await,
        failed => failed,
    };
    if let Err(failure) = after {
        let shot = browser.screenshot(&failure_dir(), "offline-failure").await;
        browser.close().await;
        panic!("{failure}\nscreenshot: {shot:?}");
    }
    browser.close().await;
}
