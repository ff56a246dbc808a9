//! Debian's Chromium, headless, driven through chromedriver (started here on a port of its own)
//! with fantoccini; waits poll with a deadline, and any failed step leaves a screenshot.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use testkit::TempDir;

use crate::support::free_port;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Long enough for a debug build on a busy machine, short enough to fail within the budget.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

pub type Step<T> = Result<T, String>;

pub struct Browser {
    pub client: Client,
    driver: tokio::process::Child,
    _profile: TempDir,
}

impl Browser {
    pub async fn start(width: u32, height: u32) -> Browser {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(tool).exists(),
                "{tool} is missing: run scripts/prerequisites.sh (it installs chromium and chromium-driver)"
            );
        }
        let profile = TempDir::new("pa-browser-profile");
        let port = free_port();
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                    // Nothing but the product: no update checks, sync or field trials.
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--lang=en-US", "--hide-scrollbars",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.0.display()),
                ],
            },
        });
        // A desktop window is never narrower than Chromium's minimum (about 500 px): a phone's
        // width is emulated instead.
        let mut capabilities = capabilities;
        if width < 500 {
            capabilities["goog:chromeOptions"]["mobileEmulation"] = json!({
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0, "touch": true},
            });
        }
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!("built as an object"),
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + STEP_TIMEOUT;
        let client = loop {
            let attempt = ClientBuilder::new(HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&url)
                .await;
            match attempt {
                Ok(client) => break client,
                Err(error) if Instant::now() < deadline => {
                    // chromedriver not listening yet
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("no WebDriver session from {CHROMEDRIVER}: {error}"),
            }
        };
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.start_kill();
    }

    /// Writes the page as it is now to `dir/name.png`; the path written.
    pub async fn screenshot(&self, dir: &std::path::Path, name: &str) -> Option<PathBuf> {
        let png = self.client.screenshot().await.ok()?;
        std::fs::create_dir_all(dir).ok()?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).ok()?;
        Some(path)
    }

    pub async fn goto(&self, url: &str) -> Step<()> {
        self.client
            .goto(url)
            .await
            .map_err(|e| format!("open {url}: {e}"))
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Step<Element> {
        self.client
            .wait()
            .at_most(STEP_TIMEOUT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
            .map_err(|e| format!("no element {css} within {STEP_TIMEOUT:?}: {e}"))
    }

    /// The element matching `css` once it is shown and enabled: a view being drawn may hold
    /// it for a moment before it can be used, and WebDriver refuses to type into it then.
    pub async fn find_usable(&self, css: &str) -> Step<Element> {
        let script = format!(
            "const e = document.querySelector({}); \
             return !!e && !e.disabled && e.checkVisibility();",
            json!(css)
        );
        self.until(&format!("{css} shown and enabled"), &script, |usable| {
            usable.as_bool().filter(|usable| *usable)
        })
        .await?;
        self.find(css).await
    }

    /// Clicks the element matching `css`. A live update may redraw its view between the find
    /// and the click (a fire's delivery redraws the alert list), leaving WebDriver holding a
    /// stale element: it is found again, until the step's deadline.
    pub async fn click(&self, css: &str) -> Step<()> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let element = self.find(css).await?;
            match element.click().await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_stale_element_reference() && Instant::now() < deadline => {}
                Err(e) => return Err(format!("click {css}: {e}")),
            }
        }
    }

    /// Replaces the value of the input matching `css` with `text`, as typed (found again if a
    /// redraw makes it stale, as in [`Browser::click`]).
    pub async fn type_into(&self, css: &str, text: &str) -> Step<()> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let element = self.find_usable(css).await?;
            let typed = match element.clear().await {
                Ok(()) => element.send_keys(text).await,
                Err(e) => Err(e),
            };
            match typed {
                Ok(()) => return Ok(()),
                Err(e) if e.is_stale_element_reference() && Instant::now() < deadline => {}
                Err(e) => return Err(format!("type {text:?} into {css}: {e}")),
            }
        }
    }

    pub async fn run(&self, script: &str) -> Step<Value> {
        self.client
            .execute(script, Vec::new())
            .await
            .map_err(|e| format!("script failed: {e}\n{script}"))
    }

    /// Polls `script` (which returns a value) until `accept` takes it, or fails with the
    /// last value seen.
    pub async fn until<T>(
        &self,
        what: &str,
        script: &str,
        accept: impl Fn(&Value) -> Option<T>,
    ) -> Step<T> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let value = self.run(script).await?;
            if let Some(found) = accept(&value) {
                return Ok(found);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{what}: not within {STEP_TIMEOUT:?}; last seen {value}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the text of the element matching `css` contains `expected`.
    pub async fn text_contains(&self, css: &str, expected: &str) -> Step<String> {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.textContent : null;",
            json!(css)
        );
        self.until(&format!("{css} to say {expected:?}"), &script, |value| {
            value
                .as_str()
                .filter(|text| text.contains(expected))
                .map(str::to_owned)
        })
        .await
    }

    /// Runs the vendored axe-core on the page; the serious and critical violations, described.
    pub async fn accessibility_violations(&self) -> Step<Vec<String>> {
        let axe = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/browser/vendor/axe-core/axe.min.js"),
        )
        .map_err(|e| format!("read axe-core: {e}"))?;
        // WebDriver scripts are not subject to the page's policy: axe is never served by the app.
        self.run(&format!("{axe}\n;return true;")).await?;
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then((r) => done(r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
                     .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)))
                   .catch((e) => done([`axe failed: ${e}`]));",
                Vec::new(),
            )
            .await
            .map_err(|e| format!("axe.run: {e}"))?;
        Ok(result
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default())
    }
}
