//! The page's frame: the live-connection status in the header, the board at a phone's width.

use serde_json::json;

use crate::driver::{Browser, Step};
use crate::steps::no_serious_violations;

/// The header's live status: `live` on the board (`offline` `None`), or the offline text.
pub async fn live_status(browser: &Browser, gateway: &str, offline: Option<&str>) -> Step<()> {
    match offline {
        None => {
            browser.goto(&format!("{gateway}/")).await?;
            browser.find("body[data-board-ready]").await?;
            browser
                .text_contains("#live-status[data-state=live]", "live")
                .await
                .map(drop)
        }
        Some(text) => browser
            .text_contains("#live-status[data-state=offline]", text)
            .await
            .map(drop),
    }
}

/// The board at 375 px: nothing wider than the screen, every control focusable and labelled.
pub async fn narrow_screen(browser: &Browser, gateway: &str) -> Step<()> {
    browser.goto(&format!("{gateway}/")).await?;
    browser.find("body[data-board-ready]").await?;
    let widths = browser
        .run("return [document.documentElement.scrollWidth, screen.width];")
        .await?;
    println!(
        "at 375 px: content {} px wide, screen {} px",
        widths[0], widths[1]
    );
    if widths[1] != json!(375) {
        return Err(format!("the screen is {} px wide, not 375", widths[1]));
    }
    if widths[0].as_i64() > widths[1].as_i64() {
        return Err(format!(
            "the board scrolls sideways at 375 px: content {} px, screen {} px",
            widths[0], widths[1]
        ));
    }
    let unreachable = browser
        .run(
            "return [...document.querySelectorAll('a[href], button, input, select')]
           .filter((e) => e.offsetParent !== null && e.tabIndex < 0).map((e) => e.outerHTML);",
        )
        .await?;
    if unreachable != json!([]) {
        return Err(format!(
            "controls out of the keyboard's reach: {unreachable}"
        ));
    }
    no_serious_violations(browser, "the board at 375 px").await
}
