//! The web console in headless Chromium, driven over WebDriver
//! (chromedriver + fantoccini): sign in, watch a queue's depth change live
//! after an ingest, read a ticket's explanation, type into the playground,
//! run a backtest, see the heat map; no console errors. Screenshots of
//! each page go to `target/screenshots/`.
//!
//! Needs `chromium` and `chromium-driver` (Debian). Without them the test
//! says so and passes, except under `CI=true`, where it fails.

mod common;

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

use common::console::{ingest, server_with_tokens, ADMIN};

/// How long to wait for the browser to show something.
const PATIENCE: Duration = Duration::from_secs(15);

/// chromedriver, killed when dropped.
struct Driver {
    child: Child,
    address: SocketAddr,
}

impl Drop for Driver {
    /// Kills chromedriver's process group: chromedriver and the Chromium
    /// it started, even when a failed assertion left the session open.
    fn drop(&mut self) {
        if let Ok(group) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) with a negative pid signals that process
            // group; it touches no memory of ours.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The chromedriver and Chromium binaries, if installed.
fn browser_binaries() -> Option<(PathBuf, PathBuf)> {
    let driver = std::env::var_os("TRIAGE_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    let chromium = std::env::var_os("TRIAGE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    (driver.exists() && chromium.exists()).then_some((driver, chromium))
}

/// The binaries, or `None` after saying why the test is skipped; under
/// `CI=true` a missing browser fails the test instead.
fn browser_or_skip() -> Option<(PathBuf, PathBuf)> {
    let found = browser_binaries();
    if found.is_none() {
        let why = "chromium and chromedriver not found (apt-get install chromium chromium-driver, \
                   or set TRIAGE_CHROMIUM and TRIAGE_CHROMEDRIVER)";
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs the browser: {why}"
        );
        eprintln!("SKIPPED: {why}");
    }
    found
}

/// Starts chromedriver on a free loopback port and waits until it answers
/// (on another port when the one picked was taken meanwhile).
async fn start_driver(binary: &Path) -> Driver {
    for _attempt in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut driver = Driver {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if tokio::net::TcpStream::connect(driver.address).await.is_ok() {
                return driver;
            }
            if driver.child.try_wait().ok().flatten().is_some() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not listen"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("chromedriver exited three times before listening");
}

/// A headless Chromium session that keeps the browser console's log.
async fn browser(driver: &Driver, chromium: &Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--disable-extensions",
                     "--disable-breakpad", "--disable-crash-reporter"],
        }),
    );
    capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&format!("http://{}", driver.address))
        .await
        .expect("a WebDriver session")
}

/// The browser console's entries so far (chromedriver's log endpoint;
/// reading them empties the log).
async fn console_log(driver: &Driver, client: &Client) -> Vec<Value> {
    let session = client.session_id().await.expect("session id").expect("a session");
    let stream = tokio::net::TcpStream::connect(driver.address)
        .await
        .expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(connection);
    let request = http::Request::post(format!("/session/{session}/se/log"))
        .header(http::header::HOST, driver.address.to_string())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(r#"{"type":"browser"}"#)))
        .expect("request");
    let response = sender.send_request(request).await.expect("log answer");
    let body = response.into_body().collect().await.expect("body").to_bytes();
    let answer: Value = serde_json::from_slice(&body).expect("JSON");
    answer["value"].as_array().cloned().unwrap_or_default()
}

/// Fails on any console entry at level SEVERE (errors, CSP violations,
/// failed loads) since the last call.
async fn assert_no_console_errors(driver: &Driver, client: &Client, page: &str) {
    let errors: Vec<Value> = console_log(driver, client)
        .await
        .into_iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "console errors on {page}: {errors:#?}");
}

/// Saves a screenshot as `target/screenshots/NAME.png`.
async fn screenshot(client: &Client, name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

/// Waits until the element at `css` shows `text` (polling the page).
async fn wait_for_text(client: &Client, css: &str, text: &str) -> String {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let shown = match client.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if shown.contains(text) {
            return shown;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{css} never showed {text:?} (last: {shown:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Fails when a form control on the page has no label, or when Tab on
/// the freshly loaded page (a GET) does not reach the skip link first.
async fn assert_labelled_and_keyboard_reachable(client: &Client, page: &str) {
    let unlabelled = client
        .execute(
            "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))\
               .filter(function (e) { return e.labels === null || e.labels.length === 0; })\
               .map(function (e) { return e.outerHTML; });",
            vec![],
        )
        .await
        .expect("find unlabelled controls");
    assert_eq!(unlabelled, json!([]), "controls without a label on {page}");
    client.refresh().await.expect("load the page afresh");
    let tab = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: '\u{E004}' })
        .then(KeyAction::Up { value: '\u{E004}' });
    client.perform_actions(tab).await.expect("press Tab");
    let focused = client
        .execute("return document.activeElement.className;", vec![])
        .await
        .expect("focused element");
    assert_eq!(
        focused,
        json!("skip"),
        "Tab reaches the skip link first on {page}"
    );
}

#[tokio::test]
async fn a_supervisor_uses_the_console_in_a_real_browser() {
    let Some((driver_binary, chromium)) = browser_or_skip() else {
        return;
    };
    let server = server_with_tokens().await;
    let outage = ingest(
        &server,
        "o-1",
        "Site is down",
        "Our shop is down, customers are furious",
    )
    .await;
    ingest(&server, "b-0", "Invoice", "I was charged twice on my invoice").await;
    let driver = start_driver(&driver_binary).await;
    let client = browser(&driver, &chromium).await;
    let base = format!("http://{}", server.http_address);

    // Sign in: the queues redirect to the login form first.
    client
        .goto(&format!("{base}/console/queues"))
        .await
        .expect("open");
    let url = client.current_url().await.expect("url");
    assert_eq!(url.path(), "/console/login");
    // The error check below can fail: an error logged here is seen.
    client
        .execute("console.error('self-check'); return null;", vec![])
        .await
        .expect("log an error");
    let seen = console_log(&driver, &client).await;
    assert!(
        seen.iter().any(|entry| entry["level"] == "SEVERE"
            && entry["message"]
                .as_str()
                .is_some_and(|text| text.contains("self-check"))),
        "the browser's console log is read: {seen:?}"
    );
    screenshot(&client, "01-login").await;
    client
        .find(Locator::Css("#token"))
        .await
        .expect("token field")
        .send_keys(ADMIN)
        .await
        .expect("type token");
    client
        .find(Locator::Css("form.login button[type=submit]"))
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("sign in");
    wait_for_text(&client, "h1", "Queues").await;
    assert_no_console_errors(&driver, &client, "the login").await;

    // The depth changes live: no reload (the marker set on this page
    // survives), the poll brings the new figure.
    let depth = "tr[data-queue=billing] td[data-field=depth]";
    assert_eq!(wait_for_text(&client, depth, "1").await, "1");
    client
        .execute("window.consoleMarker = 42; return null;", vec![])
        .await
        .expect("mark the page");
    ingest(&server, "b-1", "Refund", "please refund the second charge").await;
    assert_eq!(wait_for_text(&client, depth, "2").await, "2");
    let marker = client
        .execute("return window.consoleMarker || null;", vec![])
        .await
        .expect("read the marker");
    assert_eq!(marker, json!(42), "the page was not reloaded");
    screenshot(&client, "02-queues").await;
    assert_no_console_errors(&driver, &client, "the queues").await;

    client
        .goto(&format!("{base}/console/queues/billing"))
        .await
        .expect("queue");
    wait_for_text(&client, "#tickets", "Refund").await;
    screenshot(&client, "03-queue").await;

    // A ticket and its explanation.
    client
        .goto(&format!("{base}/console/tickets/{outage}"))
        .await
        .expect("ticket");
    let explanation = wait_for_text(&client, "#explanation", "fired").await;
    assert!(explanation.contains("outage"), "{explanation}");
    let marked = client
        .find(Locator::Css("#body mark"))
        .await
        .expect("highlighted match");
    assert_eq!(marked.text().await.expect("text"), "is down");
    screenshot(&client, "04-ticket").await;
    assert_no_console_errors(&driver, &client, "the ticket").await;

    // The playground answers as the person types.
    client
        .goto(&format!("{base}/console/rules"))
        .await
        .expect("rules");
    client
        .find(Locator::Css("#pg-body"))
        .await
        .expect("playground message")
        .send_keys("please add a dark mode, it would be great")
        .await
        .expect("type");
    wait_for_text(&client, "#playground-result [data-field=side]", "proactive").await;
    assert_eq!(
        client.current_url().await.expect("url").path(),
        "/console/rules",
        "the result came without a page load"
    );
    screenshot(&client, "05-playground").await;
    assert_labelled_and_keyboard_reachable(&client, "the rules").await;
    assert_no_console_errors(&driver, &client, "the playground").await;

    // A backtest of a candidate that sends billing to the inbox.
    let candidate = common::TEST_RULES
        .replace("version = \"test-1\"", "version = \"test-2\"")
        .replace(
            "queue = \"billing\", priority = \"high\"",
            "queue = \"inbox\", priority = \"high\"",
        );
    client
        .execute(
            "document.getElementById('candidate').value = arguments[0]; return null;",
            vec![json!(candidate)],
        )
        .await
        .expect("paste the candidate");
    client
        .find(Locator::Css("#backtest"))
        .await
        .expect("backtest button")
        .click()
        .await
        .expect("backtest");
    let counts = wait_for_text(&client, "#backtest-counts", "would move").await;
    assert!(counts.contains("2 would move"), "{counts}");
    wait_for_text(&client, "#moves", "billing / inbox").await;
    screenshot(&client, "06-backtest").await;
    assert_no_console_errors(&driver, &client, "the backtest").await;

    // The heat map and a customer's journey.
    client
        .goto(&format!("{base}/console/journey"))
        .await
        .expect("journey");
    let cells = client
        .find_all(Locator::Css("#heat-map td[data-touchpoint]"))
        .await
        .expect("cells");
    assert!(!cells.is_empty(), "the heat map has cells");
    screenshot(&client, "07-journey").await;
    assert_labelled_and_keyboard_reachable(&client, "the journey").await;
    client
        .goto(&format!("{base}/console/journey/customer?id=cust-o-1"))
        .await
        .expect("customer");
    wait_for_text(&client, "#journey", &outage.to_string()).await;
    screenshot(&client, "08-customer").await;
    assert_no_console_errors(&driver, &client, "the journey").await;

    // The cookie as the browser keeps it, and what the live poll does once
    // the session is gone: it opens the login form.
    client
        .goto(&format!("{base}/console/queues"))
        .await
        .expect("queues");
    let cookies = client.get_all_cookies().await.expect("cookies");
    let session = cookies
        .iter()
        .find(|cookie| cookie.name() == "triage_console")
        .expect("the session cookie");
    assert_eq!(session.http_only(), Some(true));
    let same_site = session.same_site().map(|site| site.to_string());
    assert_eq!(same_site.as_deref(), Some("Strict"));
    client
        .delete_cookie("triage_console")
        .await
        .expect("drop the session");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while client.current_url().await.expect("url").path() != "/console/login" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the poll never opened the login form"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_no_console_errors(&driver, &client, "the end of the session").await;

    client.close().await.expect("close the browser");
    server.shutdown().await;
}
