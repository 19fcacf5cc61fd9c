//! Browser driving for the web client's tests (they exercise the web client of
//! specs/client-api.md): a small W3C WebDriver client over HTTP and the management of the
//! ChromeDriver and headless Chromium processes behind it.
//!
//! Layout:
//! - [`BrowserSetup`]: whether the browser tests run here (the skip rule), and where their
//!   screenshots go ([`Artifacts`]).
//! - [`Browser`]: one ChromeDriver process on a free loopback port, one Chromium session with a
//!   fresh profile directory; commands (navigate, find, click, type, scripts, screenshots,
//!   alerts) and polling waits that report what they waited for and take a screenshot when
//!   they give up. ChromeDriver and everything it started are killed when the browser is
//!   dropped; [`Browser::close`] ends the session cleanly first.
//! - [`Element`]: a found element, tied to its browser.
//! - [`chat`]: the web client through its DOM contract ([`chat::Chat`]) and the helpers the
//!   browser tests share. Other users beside the browser are [`crate::api::ApiUser`].
//! - [`panel`]: the moderator panel and what a moderated user reads, as methods of
//!   [`chat::Chat`].
//!
//! WebDriver is plain HTTP+JSON (<https://www.w3.org/TR/webdriver2/>), so no WebDriver crate is
//! needed: `reqwest` with a response size cap is enough.

use std::future::Future;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use thiserror::Error;

pub mod chat;
pub mod panel;
pub mod timeline;

/// The Chromium binary the tests drive (Debian's `chromium` package).
pub const CHROMIUM_PATH: &str = "/usr/bin/chromium";
/// The ChromeDriver binary (Debian's `chromium-driver` package).
pub const CHROMEDRIVER_PATH: &str = "/usr/bin/chromedriver";
/// Overrides [`CHROMIUM_PATH`] (to run the browser tests against another Chromium build, e.g. an
/// older Debian package unpacked with `dpkg -x`).
pub const CHROMIUM_VAR: &str = "CAUSERIE_CHROMIUM";
/// Overrides [`CHROMEDRIVER_PATH`]; it must match the Chromium's major version.
pub const CHROMEDRIVER_VAR: &str = "CAUSERIE_CHROMEDRIVER";
/// Set to `1` to make a missing browser a failure instead of a skip (CI sets it).
pub const REQUIRE_BROWSER_VAR: &str = "CAUSERIE_REQUIRE_BROWSER";
/// Overrides where screenshots are written.
pub const ARTIFACTS_VAR: &str = "CAUSERIE_BROWSER_ARTIFACTS";

/// The Chromium binary: `$CAUSERIE_CHROMIUM`, else [`CHROMIUM_PATH`].
pub fn chromium_path() -> PathBuf {
    std::env::var_os(CHROMIUM_VAR).map_or_else(|| PathBuf::from(CHROMIUM_PATH), PathBuf::from)
}

/// The ChromeDriver binary: `$CAUSERIE_CHROMEDRIVER`, else [`CHROMEDRIVER_PATH`].
pub fn chromedriver_path() -> PathBuf {
    std::env::var_os(CHROMEDRIVER_VAR)
        .map_or_else(|| PathBuf::from(CHROMEDRIVER_PATH), PathBuf::from)
}

/// How long ChromeDriver may take to answer `/status` with `ready: true`.
pub const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(30);
/// How many times starting ChromeDriver and Chromium is tried (the free port can be taken in
/// between, Chromium can fail to start).
pub const DRIVER_START_ATTEMPTS: u32 = 3;
/// Longest a single WebDriver command may take (creating a session starts Chromium, which is
/// slow on a loaded machine; asynchronous scripts have their own [`SCRIPT_TIMEOUT`]).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);
/// Script timeout given to the session (asynchronous scripts must call back within it).
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Page load timeout given to the session.
pub const PAGE_LOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`Browser::close`] waits for the session to end.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(15);
/// How often waits re-check their condition.
pub const WAIT_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Default patience of waits: generous, the tests run on 2 shared cores with debug builds.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(45);
/// Largest WebDriver response read (a full-page screenshot is a few MB of base64).
pub const MAX_DRIVER_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// How many window resizes [`Browser::set_viewport_size`] may take.
const VIEWPORT_ATTEMPTS: u32 = 4;
/// Longest description of a poll's last observation kept in a timeout error.
const MAX_SEEN_CHARS: usize = 500;
/// Longest step name kept in an artifact file name.
const MAX_STEP_NAME_CHARS: usize = 60;
/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The first bytes of every PNG file.
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Why a browser operation failed.
#[derive(Debug, Error)]
pub enum BrowserError {
    /// Chromium or ChromeDriver is not installed while the tests are required to run.
    #[error("{0} is missing: install the chromium and chromium-driver packages")]
    Missing(PathBuf),
    /// ChromeDriver could not be started.
    #[error("could not start chromedriver: {0}")]
    Spawn(std::io::Error),
    /// ChromeDriver exited before it was ready.
    #[error("chromedriver exited before it was ready: {0}")]
    DriverExited(String),
    /// ChromeDriver did not report ready in time.
    #[error("chromedriver not ready after {0:?}")]
    DriverNotReady(Duration),
    /// The HTTP exchange with ChromeDriver failed.
    #[error("webdriver {command}: transport: {source}")]
    Transport {
        /// The command sent.
        command: String,
        /// The HTTP client's error.
        source: reqwest::Error,
    },
    /// ChromeDriver answered with a WebDriver error.
    #[error("webdriver {command}: {error}: {message}")]
    WebDriver {
        /// The command sent.
        command: String,
        /// The WebDriver error code (`no such element`, `javascript error`, ...).
        error: String,
        /// ChromeDriver's explanation.
        message: String,
    },
    /// ChromeDriver answered something that is not a WebDriver response.
    #[error("webdriver {command}: unexpected response: {detail}")]
    BadResponse {
        /// The command sent.
        command: String,
        /// What was wrong.
        detail: String,
    },
    /// A waited-for condition did not hold in time.
    #[error(
        "timed out after {waited:?} waiting for {what} (last seen: {last_seen}; screenshot: {screenshot})"
    )]
    Timeout {
        /// What was waited for.
        what: String,
        /// How long.
        waited: Duration,
        /// What the last poll saw (a value or an error).
        last_seen: String,
        /// Where the screenshot taken at the timeout went, or why there is none.
        screenshot: String,
    },
    /// Writing artifacts failed.
    #[error("artifacts: {0}")]
    Io(#[from] std::io::Error),
    /// A screenshot was not a base64 PNG.
    #[error("bad screenshot: {0}")]
    Screenshot(String),
}

impl BrowserError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            BrowserError::Missing(_) => "browser_missing",
            BrowserError::Spawn(_) => "spawn_failed",
            BrowserError::DriverExited(_) => "driver_exited",
            BrowserError::DriverNotReady(_) => "driver_not_ready",
            BrowserError::Transport { .. } => "transport",
            BrowserError::WebDriver { .. } => "webdriver",
            BrowserError::BadResponse { .. } => "bad_response",
            BrowserError::Timeout { .. } => "timeout",
            BrowserError::Io(_) => "io",
            BrowserError::Screenshot(_) => "bad_screenshot",
        }
    }

    /// The WebDriver error code, when ChromeDriver sent one.
    pub fn webdriver_code(&self) -> Option<&str> {
        match self {
            BrowserError::WebDriver { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether polling may go on after this error: the page may be between two states
    /// (navigating, re-rendering). An open alert, a dead session or a dead driver end the wait.
    fn is_transient(&self) -> bool {
        match self.webdriver_code() {
            Some("unexpected alert open" | "invalid session id" | "session not created") => false,
            Some(_) => true,
            None => false,
        }
    }
}

/// Browser result.
pub type Result<T, E = BrowserError> = std::result::Result<T, E>;

/// Where one test's screenshots and logs go: `<dir>/NN-<browser>-<step>.png`, numbered in the
/// order they were taken across all browsers of the test.
#[derive(Debug)]
pub struct Artifacts {
    dir: PathBuf,
    next: AtomicU32,
}

impl Artifacts {
    /// A fresh artifact directory (emptied if a previous run left files there).
    pub fn create(dir: PathBuf) -> Result<Arc<Artifacts>> {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(Arc::new(Artifacts {
            dir,
            next: AtomicU32::new(1),
        }))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The next numbered path for `label` and `step` with extension `ext`.
    pub fn next_path(&self, label: &str, step: &str, ext: &str) -> PathBuf {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let name = format!("{number:02}-{}-{}.{ext}", file_part(label), file_part(step));
        self.dir.join(name)
    }
}

/// `text` reduced to characters safe in a file name, bounded in length.
fn file_part(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(MAX_STEP_NAME_CHARS)
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "step".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// What a browser test needs from its environment: the artifact directory. Built by
/// [`BrowserSetup::from_env`], the one place that reads the browser variables.
#[derive(Debug, Clone)]
pub struct BrowserSetup {
    /// The test's artifact directory.
    pub artifacts: Arc<Artifacts>,
}

impl BrowserSetup {
    /// The skip rule. When Chromium and ChromeDriver are installed: the setup for `test`, with
    /// its artifact directory at `$CAUSERIE_BROWSER_ARTIFACTS/<test>` or else
    /// `<workspace root>/target/browser-artifacts/<test>`. When one is missing: `Ok(None)`
    /// after printing a SKIP line, unless `CAUSERIE_REQUIRE_BROWSER=1`, then the error.
    pub fn from_env(test: &str) -> Result<Option<BrowserSetup>> {
        let required = std::env::var(REQUIRE_BROWSER_VAR).is_ok_and(|v| v == "1");
        let root = match std::env::var_os(ARTIFACTS_VAR) {
            Some(dir) => PathBuf::from(dir),
            None => workspace_root().join("target").join("browser-artifacts"),
        };
        let (chromium, driver) = (chromium_path(), chromedriver_path());
        BrowserSetup::decide(test, &[&chromium, &driver], required, &root)
    }

    /// [`BrowserSetup::from_env`] with its inputs given.
    pub fn decide(
        test: &str,
        binaries: &[&Path],
        required: bool,
        artifacts_root: &Path,
    ) -> Result<Option<BrowserSetup>> {
        if let Some(missing) = binaries.iter().find(|binary| !binary.exists()) {
            if required {
                return Err(BrowserError::Missing(missing.to_path_buf()));
            }
            // Straight to stderr, not through `eprintln!`: the test harness captures the
            // printing macros of passing tests, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIP {test}: {} is missing (apt-get install chromium chromium-driver; \
                 set {REQUIRE_BROWSER_VAR}=1 to fail instead)",
                missing.display()
            );
            return Ok(None);
        }
        let artifacts = Artifacts::create(artifacts_root.join(file_part(test)))?;
        eprintln!("{test}: browser artifacts in {}", artifacts.dir().display());
        Ok(Some(BrowserSetup { artifacts }))
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// How a browser is launched.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// Name used in artifact file names and messages ("alice").
    pub label: String,
    /// Window width in CSS pixels.
    pub width: u32,
    /// Window height in CSS pixels.
    pub height: u32,
    /// Chromium switches added to the headless set (e.g. `--host-resolver-rules=…`).
    pub args: Vec<String>,
    /// `HOME` for ChromeDriver and Chromium (default: the test's own). Chromium on Linux reads
    /// its trusted certificates from `$HOME/.pki/nssdb`, so a test CA is trusted through it.
    pub home: Option<PathBuf>,
}

impl LaunchOptions {
    /// A desktop-sized browser (1280x900) named `label`.
    pub fn desktop(label: &str) -> LaunchOptions {
        LaunchOptions {
            label: label.to_owned(),
            width: 1280,
            height: 900,
            args: Vec::new(),
            home: None,
        }
    }
}

/// The ChromeDriver process, in its own process group so that Chromium and all its helper
/// processes can be killed with it.
struct DriverProcess {
    child: Child,
    port: u16,
    killed: bool,
}

impl DriverProcess {
    /// Kills the whole process group and reaps ChromeDriver.
    fn kill(&mut self) {
        if std::mem::replace(&mut self.killed, true) {
            return;
        }
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        // The group may already be gone; nothing else to do then.
        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A loopback port that was free a moment ago (ChromeDriver takes a port number, not a
/// listener, so a race is possible; starting is retried).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// One headless Chromium session behind its own ChromeDriver.
pub struct Browser {
    label: String,
    http: reqwest::Client,
    base: String,
    session: String,
    artifacts: Arc<Artifacts>,
    // Dropped before the profile directory: Chromium must be gone before its files are removed.
    driver: DriverProcess,
    home: tempfile::TempDir,
    closed: bool,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("label", &self.label)
            .field("driver_port", &self.driver.port)
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts ChromeDriver on a free loopback port, waits until it is ready, and opens a
    /// headless Chromium session with a fresh profile directory.
    pub async fn launch(setup: &BrowserSetup, options: LaunchOptions) -> Result<Browser> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(COMMAND_TIMEOUT)
            .build()
            .map_err(|source| BrowserError::Transport {
                command: "build client".to_owned(),
                source,
            })?;
        let log_path = setup
            .artifacts
            .dir()
            .join(format!("chromedriver-{}.log", file_part(&options.label)));
        // Retried: the free port can be taken before ChromeDriver binds it, and Chromium can
        // fail to start on a machine short of memory. Both leave nothing behind.
        let mut last_error = BrowserError::DriverNotReady(DRIVER_START_TIMEOUT);
        for _ in 0..DRIVER_START_ATTEMPTS {
            let driver = match start_driver(&http, &log_path, options.home.as_deref()).await {
                Ok(driver) => driver,
                Err(e @ BrowserError::DriverExited(_)) => {
                    last_error = e;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match Browser::open_session(setup, options.clone(), http.clone(), driver).await {
                Err(e) if e.webdriver_code() == Some("session not created") => last_error = e,
                other => return other,
            }
        }
        Err(last_error)
    }

    async fn open_session(
        setup: &BrowserSetup,
        options: LaunchOptions,
        http: reqwest::Client,
        driver: DriverProcess,
    ) -> Result<Browser> {
        // One temporary directory per browser: its profile and its downloads.
        let home = tempfile::Builder::new()
            .prefix("causerie-chromium-")
            .tempdir()?;
        let profile = home.path().join("profile");
        let downloads = home.path().join("downloads");
        std::fs::create_dir_all(&profile)?;
        std::fs::create_dir_all(&downloads)?;
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-extensions".to_owned(),
            "--disable-default-apps".to_owned(),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--disable-quic".to_owned(),
            "--no-proxy-server".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={},{}", options.width, options.height),
        ];
        args.extend(options.args.iter().cloned());
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    // An alert left open must stay visible to the test, not be dismissed.
                    "unhandledPromptBehavior": "ignore",
                    "timeouts": {
                        "implicit": 0,
                        "pageLoad": PAGE_LOAD_TIMEOUT.as_millis() as u64,
                        "script": SCRIPT_TIMEOUT.as_millis() as u64,
                    },
                    "goog:chromeOptions": {
                        "binary": chromium_path(),
                        "args": args,
                        "prefs": {
                            "download.default_directory": downloads.display().to_string(),
                            "download.prompt_for_download": false,
                            "download.directory_upgrade": true,
                        },
                    },
                    "goog:loggingPrefs": {"browser": "ALL"},
                }
            }
        });
        let base = format!("http://127.0.0.1:{}", driver.port);
        let value = send(
            &http,
            reqwest::Method::POST,
            &base,
            "/session",
            Some(&capabilities),
        )
        .await?;
        let session = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| BrowserError::BadResponse {
                command: "new session".to_owned(),
                detail: "no sessionId".to_owned(),
            })?
            .to_owned();
        Ok(Browser {
            label: options.label,
            http,
            base,
            session,
            artifacts: setup.artifacts.clone(),
            driver,
            home,
            closed: false,
        })
    }

    /// The browser's name.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The profile directory (fresh per browser).
    pub fn profile_dir(&self) -> PathBuf {
        self.home.path().join("profile")
    }

    /// Where the browser saves downloads (fresh per browser).
    pub fn downloads_dir(&self) -> PathBuf {
        self.home.path().join("downloads")
    }

    /// Waits until a download has finished (a file in [`Browser::downloads_dir`] that is not
    /// one of Chromium's partial files) and returns its path. The file goes with the browser:
    /// copy it to keep it.
    pub async fn wait_download(&self, timeout: Duration) -> Result<PathBuf> {
        let dir = self.downloads_dir();
        self.wait_observing("a finished download", timeout, || {
            let dir = dir.clone();
            async move {
                let mut names = Vec::new();
                for entry in std::fs::read_dir(&dir)? {
                    let path = entry?.path();
                    // Chromium writes to a hidden temporary file or a `.crdownload`, then
                    // renames it.
                    let hidden = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with('.'));
                    let partial = hidden || path.extension().is_some_and(|e| e == "crdownload");
                    if !partial && path.metadata()?.len() > 0 {
                        return Ok(Ok(path));
                    }
                    names.push(path.display().to_string());
                }
                Ok(Err(format!("files in {}: {names:?}", dir.display())))
            }
        })
        .await
    }

    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let path = format!("/session/{}{path}", self.session);
        send(&self.http, method, &self.base, &path, body).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.command(reqwest::Method::POST, path, Some(&body)).await
    }

    async fn get(&self, path: &str) -> Result<Value> {
        self.command(reqwest::Method::GET, path, None).await
    }

    /// Navigates to `url` and waits for the page load.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.post("/url", json!({ "url": url })).await.map(drop)
    }

    /// Reloads the page.
    pub async fn refresh(&self) -> Result<()> {
        self.post("/refresh", json!({})).await.map(drop)
    }

    /// The current URL.
    pub async fn current_url(&self) -> Result<String> {
        let value = self.get("/url").await?;
        as_string("get url", value)
    }

    /// Resizes the window (CSS pixels).
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await
            .map(drop)
    }

    /// Resizes the window so that the page's viewport (`innerWidth` x `innerHeight`) is
    /// `width` x `height` CSS pixels, as on a device of that screen size. The window is larger
    /// than its viewport by the browser's frame, which is only known after resizing (and
    /// `outerWidth` is not to be trusted headless), so the window is corrected by what the
    /// viewport lacks, a few times at most.
    pub async fn set_viewport_size(&self, width: u32, height: u32) -> Result<()> {
        let (mut window_width, mut window_height) = (width, height);
        let mut inner = (0, 0);
        for _ in 0..VIEWPORT_ATTEMPTS {
            self.set_window_size(window_width, window_height).await?;
            let measured = self
                .execute("return [window.innerWidth, window.innerHeight];", vec![])
                .await?;
            let dimension = |i: usize| {
                measured
                    .get(i)
                    .and_then(Value::as_i64)
                    .and_then(|v| i32::try_from(v).ok())
                    .unwrap_or(0)
            };
            inner = (dimension(0), dimension(1));
            if inner == (width as i32, height as i32) {
                return Ok(());
            }
            let correct = |window: u32, target: u32, got: i32| {
                u32::try_from(window as i32 + (target as i32 - got)).unwrap_or(window)
            };
            window_width = correct(window_width, width, inner.0);
            window_height = correct(window_height, height, inner.1);
        }
        Err(BrowserError::BadResponse {
            command: "set viewport size".to_owned(),
            detail: format!(
                "viewport is {}x{} instead of {width}x{height}",
                inner.0, inner.1
            ),
        })
    }

    /// The first element matching the CSS `selector`, if any.
    pub async fn find(&self, selector: &str) -> Result<Option<Element<'_>>> {
        let body = json!({ "using": "css selector", "value": selector });
        match self.post("/element", body).await {
            Ok(value) => Ok(Some(self.element_from("find element", &value)?)),
            Err(e) if e.webdriver_code() == Some("no such element") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every element matching the CSS `selector`, in document order.
    pub async fn find_all(&self, selector: &str) -> Result<Vec<Element<'_>>> {
        let body = json!({ "using": "css selector", "value": selector });
        let value = self.post("/elements", body).await?;
        let Value::Array(items) = value else {
            return Err(BrowserError::BadResponse {
                command: "find elements".to_owned(),
                detail: "not an array".to_owned(),
            });
        };
        items
            .iter()
            .map(|item| self.element_from("find elements", item))
            .collect()
    }

    fn element_from(&self, command: &str, value: &Value) -> Result<Element<'_>> {
        let id = value
            .get(ELEMENT_KEY)
            .and_then(Value::as_str)
            .ok_or_else(|| BrowserError::BadResponse {
                command: command.to_owned(),
                detail: format!("no element reference in {value}"),
            })?;
        Ok(Element {
            browser: self,
            id: id.to_owned(),
        })
    }

    /// Runs `script` (a function body; arguments in `arguments`) and returns what it returns.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// Runs `script` asynchronously: it gets a callback as its last argument
    /// (`arguments[arguments.length - 1]`) and must call it within [`SCRIPT_TIMEOUT`].
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/async", json!({ "script": script, "args": args }))
            .await
    }

    /// The text of the open alert, confirm or prompt, or `None` when no dialog is open.
    pub async fn alert_text(&self) -> Result<Option<String>> {
        match self.get("/alert/text").await {
            Ok(Value::String(text)) => Ok(Some(text)),
            Ok(Value::Null) => Ok(Some(String::new())),
            Ok(other) => Err(BrowserError::BadResponse {
                command: "alert text".to_owned(),
                detail: format!("not a string: {other}"),
            }),
            Err(e) if e.webdriver_code() == Some("no such alert") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Dismisses the open dialog.
    pub async fn dismiss_alert(&self) -> Result<()> {
        self.post("/alert/dismiss", json!({})).await.map(drop)
    }

    /// Takes a screenshot of the viewport and writes it as the next numbered artifact for
    /// `step`; returns its path.
    pub async fn screenshot(&self, step: &str) -> Result<PathBuf> {
        let value = self.get("/screenshot").await?;
        let encoded = as_string("screenshot", value)?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .map_err(|e| BrowserError::Screenshot(e.to_string()))?;
        if !png.starts_with(PNG_MAGIC) {
            return Err(BrowserError::Screenshot("not a PNG".to_owned()));
        }
        let path = self.artifacts.next_path(&self.label, step, "png");
        std::fs::write(&path, &png)?;
        Ok(path)
    }

    /// The browser console messages since the last call (Chromium's log, as JSON entries).
    pub async fn console_log(&self) -> Result<Value> {
        self.post("/se/log", json!({ "type": "browser" })).await
    }

    /// Polls `probe` every [`WAIT_POLL_INTERVAL`] until it returns `Some`, for at most
    /// `timeout`. Transient WebDriver errors (the page re-rendering or navigating) count as
    /// "not yet" and the last one is reported; other errors end the wait. On timeout a
    /// screenshot is taken and the error names `what`.
    pub async fn wait_for<T, F, Fut>(
        &self,
        what: &str,
        timeout: Duration,
        mut probe: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>>>,
    {
        self.wait_observing(what, timeout, || {
            let attempt = probe();
            async move { Ok(attempt.await?.ok_or_else(|| "not yet".to_owned())) }
        })
        .await
    }

    /// Like [`Browser::wait_for`], but the probe says what it saw when the condition does not
    /// hold yet (`Err(description)`); the last description goes into the timeout error.
    pub async fn wait_observing<T, F, Fut>(
        &self,
        what: &str,
        timeout: Duration,
        mut probe: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Result<T, String>>>,
    {
        let started = Instant::now();
        loop {
            let last_seen = match probe().await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(seen)) => seen,
                Err(e) if e.is_transient() => format!("error: {e}"),
                Err(e) => return Err(e),
            };
            if started.elapsed() >= timeout {
                let screenshot = match self.screenshot(&format!("timeout {what}")).await {
                    Ok(path) => path.display().to_string(),
                    Err(e) => format!("none ({e})"),
                };
                return Err(BrowserError::Timeout {
                    what: format!("{what} in {}", self.label),
                    waited: timeout,
                    last_seen,
                    screenshot,
                });
            }
            tokio::time::sleep(WAIT_POLL_INTERVAL).await;
        }
    }

    /// Waits until `script` (a function body, as in [`Browser::execute`]) returns a truthy
    /// value, and returns that value. A script may return a falsy value, or an object
    /// `{"waiting": <what it sees>}`, while the condition does not hold; the last one is
    /// reported on timeout.
    pub async fn wait_script(
        &self,
        what: &str,
        timeout: Duration,
        script: &str,
        args: Vec<Value>,
    ) -> Result<Value> {
        self.wait_observing(what, timeout, || {
            let args = args.clone();
            async move {
                let value = self.execute(script, args).await?;
                if let Some(seen) = value.get("waiting") {
                    return Ok(Err(bounded_text(&seen.to_string())));
                }
                if is_truthy(&value) {
                    Ok(Ok(value))
                } else {
                    Ok(Err(bounded_text(&format!("script returned {value}"))))
                }
            }
        })
        .await
    }

    /// Waits until an element matches `selector` and returns the first one.
    pub async fn wait_element(&self, selector: &str, timeout: Duration) -> Result<Element<'_>> {
        self.wait_for(
            &format!("an element matching `{selector}`"),
            timeout,
            || self.find(selector),
        )
        .await
    }

    /// Ends the session (Chromium quits and ChromeDriver reaps it), writes the console log as
    /// an artifact, then stops ChromeDriver.
    pub async fn close(mut self) -> Result<()> {
        if let Ok(log) = self.console_log().await {
            let path = self.artifacts.next_path(&self.label, "console", "json");
            let text = serde_json::to_string_pretty(&log).unwrap_or_default();
            std::fs::write(path, text)?;
        }
        let result = tokio::time::timeout(
            CLOSE_TIMEOUT,
            self.command(reqwest::Method::DELETE, "", None),
        )
        .await;
        self.closed = true;
        self.driver.kill();
        match result {
            Ok(outcome) => outcome.map(drop),
            Err(_) => Err(BrowserError::Timeout {
                what: format!("the session of {} to end", self.label),
                waited: CLOSE_TIMEOUT,
                last_seen: "no answer".to_owned(),
                screenshot: "none (closing)".to_owned(),
            }),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.closed {
            // A failed test: no time for a clean session end; the process group goes at once.
            self.driver.kill();
        }
    }
}

/// An element found in a [`Browser`]'s current page.
#[derive(Debug)]
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Element<'_> {
    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    /// Clicks the element (scrolled into view first, as WebDriver does).
    pub async fn click(&self) -> Result<()> {
        self.browser
            .post(&self.path("/click"), json!({}))
            .await
            .map(drop)
    }

    /// Types `text` into the element. WebDriver reads characters in U+E000..U+F8FF as special
    /// keys and a newline as Enter.
    pub async fn send_keys(&self, text: &str) -> Result<()> {
        self.browser
            .post(&self.path("/value"), json!({ "text": text }))
            .await
            .map(drop)
    }

    /// Empties an editable element.
    pub async fn clear(&self) -> Result<()> {
        self.browser
            .post(&self.path("/clear"), json!({}))
            .await
            .map(drop)
    }

    /// The rendered text (as the user sees it: whitespace collapsed, hidden text left out).
    pub async fn text(&self) -> Result<String> {
        let value = self.browser.get(&self.path("/text")).await?;
        as_string("element text", value)
    }

    /// An attribute, `None` when absent.
    pub async fn attribute(&self, name: &str) -> Result<Option<String>> {
        let value = self
            .browser
            .get(&self.path(&format!("/attribute/{name}")))
            .await?;
        match value {
            Value::Null => Ok(None),
            Value::String(text) => Ok(Some(text)),
            other => Ok(Some(other.to_string())),
        }
    }

    /// A DOM property (`value`, `checked`, `textContent`, ...).
    pub async fn property(&self, name: &str) -> Result<Value> {
        self.browser
            .get(&self.path(&format!("/property/{name}")))
            .await
    }

    /// Whether the element is displayed.
    pub async fn is_displayed(&self) -> Result<bool> {
        let value = self.browser.get(&self.path("/displayed")).await?;
        Ok(value.as_bool().unwrap_or(false))
    }

    /// The element as a script argument.
    pub fn as_argument(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }
}

/// At most [`MAX_SEEN_CHARS`] characters of `text`, for error messages.
fn bounded_text(text: &str) -> String {
    if text.chars().count() <= MAX_SEEN_CHARS {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(MAX_SEEN_CHARS).collect();
    out.push('…');
    out
}

/// JavaScript truthiness of a returned value.
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

fn as_string(command: &str, value: Value) -> Result<String> {
    match value {
        Value::String(text) => Ok(text),
        other => Err(BrowserError::BadResponse {
            command: command.to_owned(),
            detail: format!("expected a string, got {other}"),
        }),
    }
}

/// Starts ChromeDriver on a free port and waits until `/status` says ready.
async fn start_driver(
    http: &reqwest::Client,
    log_path: &Path,
    home: Option<&Path>,
) -> Result<DriverProcess> {
    use std::os::unix::process::CommandExt as _;

    let port = free_port()?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)?;
    let mut command = Command::new(chromedriver_path());
    if let Some(home) = home {
        command.env("HOME", home);
    }
    let child = command
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: Chromium and its helpers join it and die with it.
        .process_group(0)
        .spawn()
        .map_err(BrowserError::Spawn)?;
    let mut driver = DriverProcess {
        child,
        port,
        killed: false,
    };
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        if let Some(status) = driver.child.try_wait()? {
            return Err(BrowserError::DriverExited(format!(
                "{status} (port {port}; see {})",
                log_path.display()
            )));
        }
        if let Ok(value) = send(http, reqwest::Method::GET, &base, "/status", None).await
            && value.get("ready").and_then(Value::as_bool) == Some(true)
        {
            return Ok(driver);
        }
        if started.elapsed() >= DRIVER_START_TIMEOUT {
            driver.kill();
            return Err(BrowserError::DriverNotReady(DRIVER_START_TIMEOUT));
        }
        tokio::time::sleep(WAIT_POLL_INTERVAL).await;
    }
}

/// Sends one WebDriver command and unwraps its `value`, turning WebDriver error objects into
/// [`BrowserError::WebDriver`].
async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    base: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Value> {
    let command = format!("{method} {path}");
    let transport = |source| BrowserError::Transport {
        command: command.clone(),
        source,
    };
    let mut request = http.request(method.clone(), format!("{base}{path}"));
    if let Some(body) = body {
        request = request.json(body);
    }
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status();
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if bytes.len() + chunk.len() > MAX_DRIVER_RESPONSE_BYTES {
            return Err(BrowserError::BadResponse {
                command,
                detail: format!("response over {MAX_DRIVER_RESPONSE_BYTES} bytes"),
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    let mut parsed: Value =
        serde_json::from_slice(&bytes).map_err(|e| BrowserError::BadResponse {
            command: command.clone(),
            detail: format!("HTTP {status}, not JSON: {e}"),
        })?;
    let value = parsed
        .get_mut("value")
        .map(Value::take)
        .unwrap_or(Value::Null);
    if let Some(error) = value.get("error").and_then(Value::as_str)
        && !status.is_success()
    {
        let message = value
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default();
        // ChromeDriver's messages carry a stack of its own frames; the first line is the
        // explanation.
        let message = message.lines().next().unwrap_or_default().to_owned();
        return Err(BrowserError::WebDriver {
            command,
            error: error.to_owned(),
            message,
        });
    }
    if !status.is_success() {
        return Err(BrowserError::BadResponse {
            command,
            detail: format!("HTTP {status} without a WebDriver error"),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_parts_are_safe_and_bounded() {
        assert_eq!(
            file_part("Alice sees Bob's message!"),
            "alice-sees-bob-s-message"
        );
        assert_eq!(file_part("../../etc/passwd"), "etc-passwd");
        assert_eq!(file_part("???"), "step");
        assert_eq!(file_part("xss_corpus_is_inert"), "xss_corpus_is_inert");
        assert!(file_part(&"x".repeat(500)).len() <= MAX_STEP_NAME_CHARS);
    }

    #[test]
    fn artifacts_are_numbered_in_order() {
        let root = tempfile::tempdir().unwrap();
        let artifacts = Artifacts::create(root.path().join("t")).unwrap();
        let first = artifacts.next_path("alice", "created identity", "png");
        let second = artifacts.next_path("bob", "joined", "png");
        assert!(
            first.ends_with("01-alice-created-identity.png"),
            "{first:?}"
        );
        assert!(second.ends_with("02-bob-joined.png"), "{second:?}");
    }

    #[test]
    fn a_missing_browser_skips_unless_required() {
        let root = tempfile::tempdir().unwrap();
        let present = root.path().join("chromium");
        std::fs::write(&present, b"").unwrap();
        let missing = root.path().join("chromedriver");
        let binaries = [present.as_path(), missing.as_path()];
        let skipped = BrowserSetup::decide("t", &binaries, false, root.path()).unwrap();
        assert!(skipped.is_none());
        let refused = BrowserSetup::decide("t", &binaries, true, root.path()).unwrap_err();
        assert_eq!(refused.reason(), "browser_missing");
        assert!(refused.to_string().contains("chromedriver"), "{refused}");
        assert!(
            !root.path().join("t").exists(),
            "no artifacts for a skipped test"
        );

        let both = [present.as_path(), present.as_path()];
        let setup = BrowserSetup::decide("my_test", &both, true, root.path())
            .unwrap()
            .unwrap();
        assert_eq!(setup.artifacts.dir(), root.path().join("my_test"));
        assert!(setup.artifacts.dir().is_dir());
    }

    #[test]
    fn truthiness_follows_javascript() {
        for falsy in [json!(null), json!(false), json!(0), json!(""), json!(0.0)] {
            assert!(!is_truthy(&falsy), "{falsy}");
        }
        for truthy in [json!(true), json!(1), json!("0"), json!([]), json!({})] {
            assert!(is_truthy(&truthy), "{truthy}");
        }
    }
}
