//! `gan-lab serve` end to end: headless Chromium, driven over the DevTools
//! protocol, watches the page of a run while it trains (the step count and a
//! curve grow without a reload), works the curves' controls on the served
//! and the static page, and sees no console error and no request to another
//! host; and bad input fails before the port is bound.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::WebSocket;
use tungstenite::stream::MaybeTlsStream;

use gan_lab::report::{self, Selection};
use gan_lab::store::tracker::Tracker;

use crate::common::*;

/// Headless Chromium with a DevTools connection to its one page.
struct Browser {
    child: Child,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Console messages, exceptions and log entries of level error/warning.
    problems: Vec<String>,
    /// Every URL the page requested.
    requests: Vec<String>,
}

impl Browser {
    fn launch(profile: &Path) -> Browser {
        let mut child = std::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-port=0",
                "--window-size=1400,2000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("chromium must be installed (Debian package `chromium`; .ci/run installs it)");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let port = loop {
            line.clear();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "chromium ended without a DevTools address"
            );
            if let Some(rest) = line
                .trim()
                .strip_prefix("DevTools listening on ws://127.0.0.1:")
            {
                break rest[..rest.find('/').unwrap()].to_string();
            }
        };
        // Keep reading its stderr so that it never blocks on a full pipe.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        });
        let list: Value = serde_json::from_str(
            &ureq::get(format!("http://127.0.0.1:{port}/json/list"))
                .call()
                .unwrap()
                .body_mut()
                .read_to_string()
                .unwrap(),
        )
        .unwrap();
        let page = list
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .expect("a page target");
        let (ws, _) = tungstenite::connect(page["webSocketDebuggerUrl"].as_str().unwrap()).unwrap();
        let mut browser = Browser {
            child,
            ws,
            next_id: 0,
            problems: Vec::new(),
            requests: Vec::new(),
        };
        for domain in ["Runtime", "Network", "Log", "Page"] {
            browser.call(&format!("{domain}.enable"), json!({}));
        }
        browser
    }

    /// Sends a command and returns its result, noting the events read on
    /// the way.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({"id": id, "method": method, "params": params});
        self.ws
            .send(tungstenite::Message::text(message.to_string()))
            .unwrap();
        loop {
            let text = match self.ws.read().unwrap() {
                tungstenite::Message::Text(t) => t.to_string(),
                _ => continue,
            };
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            self.note(&v);
        }
    }

    fn note(&mut self, event: &Value) {
        let p = &event["params"];
        match event["method"].as_str().unwrap_or("") {
            "Runtime.consoleAPICalled" => self
                .problems
                .push(format!("console.{}: {}", p["type"], p["args"])),
            "Runtime.exceptionThrown" => self
                .problems
                .push(format!("exception: {}", p["exceptionDetails"])),
            "Log.entryAdded"
                if p["entry"]["level"] != "verbose" && p["entry"]["level"] != "info" =>
            {
                self.problems.push(format!("log: {}", p["entry"]))
            }
            "Network.requestWillBeSent" => self
                .requests
                .push(p["request"]["url"].as_str().unwrap_or("").to_string()),
            _ => {}
        }
    }

    /// The value of a JavaScript expression.
    fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(r.get("exceptionDetails").is_none(), "{expression}: {r}");
        r["result"]["value"].clone()
    }

    fn open(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
        self.wait_for(
            "document.readyState === 'complete' && document.body.dataset.reportScript === 'ran'",
        );
    }

    /// Polls `condition` until it is true (a minute at most).
    fn wait_for(&mut self, condition: &str) {
        let start = Instant::now();
        while self.eval(condition) != json!(true) {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "still not true after a minute: {condition}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// No console errors, and every request went to `origin` (or was a
    /// data URI).
    fn assert_clean(&mut self, origin: &str) {
        // Read the events still queued.
        self.eval("1");
        assert!(self.problems.is_empty(), "{:#?}", self.problems);
        for url in &self.requests {
            assert!(
                url.starts_with(origin) || url.starts_with("data:"),
                "a request outside {origin}: {url}"
            );
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `gan-lab serve --port 0 ARGS` in the lab; returns the server and its
/// address, read from its first line.
fn serve(lab: &Lab, args: &[&str]) -> (Child, String, BufReader<ChildStdout>) {
    let mut child = lab
        .process(&[&["serve", "--port", "0"], args].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (child, url, stdout)
}

/// Stops the server as Ctrl-C does; it must end cleanly.
fn stop(mut server: Child) {
    // SAFETY: signals a child process this test started.
    unsafe { libc::kill(server.id() as i32, libc::SIGINT) };
    let status = server.wait().unwrap();
    let mut stderr = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
}

#[test]
fn the_served_page_follows_a_training_run_without_reloading() {
    let lab = Lab::with_fake_data(200);
    let spec = tiny_spec(lab.path(), "live", "Dcgan", "NonSaturating", 300);
    let mut run = lab
        .process(&["run", spec.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for its first recorded steps, then hold the training still while
    // the page opens, so that whatever the machine's speed there is
    // training left to watch.
    let start = Instant::now();
    loop {
        let logged = Tracker::open_read_only(&lab.db())
            .ok()
            .and_then(|t| t.list_runs(&Default::default()).ok())
            .and_then(|runs| runs.into_iter().next())
            .is_some_and(|r| r.steps_done > 0);
        if logged {
            break;
        }
        assert!(run.try_wait().unwrap().is_none(), "the run ended early");
        assert!(start.elapsed() < Duration::from_secs(120), "no step logged");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: signals a child process this test started.
    unsafe { libc::kill(run.id() as i32, libc::SIGSTOP) };

    let (server, url, _out) = serve(&lab, &[]);
    let origin = url.trim_end_matches('/').to_string();
    let mut browser = Browser::launch(&lab.path().join("chromium-profile"));
    browser.open(&url);
    browser.eval("window.sameDocument = true");
    let steps = "parseInt(document.querySelector('.run-steps .value').textContent, 10)";
    let points = "parseInt(document.querySelector('[data-chart=\"loss_d\"] path.raw').getAttribute('data-points'), 10)";
    let first_steps = browser.eval(steps).as_i64().unwrap();
    let first_points = browser.eval(points).as_i64().unwrap();
    assert!(first_steps > 0 && first_steps < 300, "{first_steps}");
    assert!(first_points > 0, "{first_points}");
    assert_eq!(
        browser.eval("document.querySelector('.run-status .live-badge') !== null"),
        json!(true),
        "the training run is marked live"
    );

    // SAFETY: as above.
    unsafe { libc::kill(run.id() as i32, libc::SIGCONT) };
    browser.wait_for(&format!(
        "{steps} > {first_steps} && {points} > {first_points}"
    ));
    assert_eq!(
        browser.eval("window.sameDocument"),
        json!(true),
        "the page reloaded"
    );
    assert!(run.wait().unwrap().success());
    // The finished run: its status and final step count, no longer live.
    browser.wait_for(&format!(
        "document.querySelector('.run-status .value').textContent === 'finished' && {steps} === 300 \
         && document.querySelector('.run-status .live-badge') === null"
    ));
    assert_eq!(browser.eval("window.sameDocument"), json!(true));
    assert!(
        browser
            .eval("parseInt(document.body.dataset.updates, 10)")
            .as_i64()
            .unwrap()
            >= 2
    );
    browser.assert_clean(&origin);
    assert!(
        browser.requests.iter().any(|u| u.contains("/api/data")),
        "{:?}",
        browser.requests
    );
    stop(server);
}

#[test]
fn smoothing_log_scale_axis_and_pointer_on_the_served_and_static_page() {
    let lab = Lab::with_fake_data(200);
    let spec = tiny_spec(lab.path(), "smooth", "Mlp", "NonSaturating", 60);
    lab.ok(&["run", spec.to_str().unwrap()]);
    let page =
        report::render(&lab.db(), &Selection::default(), &lab.path().join("report")).unwrap();
    let (server, url, _out) = serve(&lab, &["--runs", "smooth"]);
    let mut browser = Browser::launch(&lab.path().join("chromium-profile"));
    for (address, origin) in [
        (url.clone(), url.trim_end_matches('/').to_string()),
        (format!("file://{}", page.display()), "file://".to_string()),
    ] {
        browser.requests.clear();
        browser.open(&address);
        let line =
            "document.querySelector('[data-chart=\"loss_g\"] path.smoothed').getAttribute('d')";
        let smoothed = browser.eval(line);
        let set = |b: &mut Browser, v: &str| {
            b.eval(&format!(
                "(function () {{ var s = document.getElementById('smoothing'); s.value = '{v}'; \
                 s.dispatchEvent(new Event('input')); return s.value; }})()"
            ))
        };
        set(&mut browser, "0.95");
        let smoother = browser.eval(line);
        assert!(smoothed.is_string() && smoother.is_string());
        assert_ne!(smoothed, smoother, "the smoothing control changes the line");
        set(&mut browser, "0");
        assert_eq!(
            browser.eval("document.querySelectorAll('path.smoothed').length"),
            json!(0),
            "no smoothing: the raw lines alone"
        );
        // Integer step ticks; then the wall-clock axis.
        let ticks = "Array.from(document.querySelectorAll('[data-chart=\"loss_g\"] text.x-tick')).map(function (t) { return t.textContent; })";
        let steps = browser.eval(ticks);
        assert!(
            steps
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t.as_str().unwrap().parse::<u64>().is_ok()),
            "{steps}"
        );
        browser.eval(
            "(function () { var x = document.getElementById('x-axis'); x.value = 'time'; x.dispatchEvent(new Event('change')); })()",
        );
        let times = browser.eval(ticks);
        assert!(
            times
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t.as_str().unwrap().ends_with('s')),
            "{times}"
        );
        // A log scale for a chart of positive values.
        let log_box = "document.querySelector('[data-chart=\"img_per_s\"] input.log-scale')";
        let before = browser.eval(
            "document.querySelector('[data-chart=\"img_per_s\"] path.raw').getAttribute('d')",
        );
        browser.eval(&format!("{log_box}.click()"));
        let after = browser.eval(
            "document.querySelector('[data-chart=\"img_per_s\"] path.raw').getAttribute('d')",
        );
        assert_ne!(before, after, "the log scale redraws the line");
        // The values under the pointer.
        browser.eval(
            "(function () { var s = document.querySelector('[data-chart=\"loss_g\"] svg'); var r = s.getBoundingClientRect(); \
             s.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + r.width / 2, clientY: r.top + 50, bubbles: true})); })()",
        );
        let tip =
            browser.eval("document.querySelector('[data-chart=\"loss_g\"] .tip').textContent");
        assert!(tip.as_str().unwrap().contains("smooth: "), "{tip}");
        assert!(tip.as_str().unwrap().contains(" at step "), "{tip}");
        // The samples slider shows one grid at a time.
        assert_eq!(
            browser.eval("document.querySelectorAll('.sample-run img:not([hidden])').length"),
            json!(1)
        );
        browser.eval(
            "(function () { var s = document.getElementById('samples-step'); s.value = '0'; s.dispatchEvent(new Event('input')); })()",
        );
        assert_eq!(
            browser.eval("document.querySelector('.sample-run img:not([hidden])').dataset.step"),
            json!("30")
        );
        browser.assert_clean(&origin);
    }
    stop(server);
}

/// What `gan-lab serve ARGS` says when it refuses to start: exit 2, a clear
/// message, and no address printed (nothing was bound).
fn refused(lab: &Lab, args: &[&str]) -> String {
    let assert = lab.cmd(&[&["serve"], args].concat()).assert().code(2);
    assert!(stdout(&assert).is_empty(), "{}", stdout(&assert));
    stderr(&assert)
}

#[test]
fn bad_input_fails_before_the_port_is_bound() {
    let lab = Lab::with_fake_data(200);
    // A port in use, which every refusal but the last is checked before.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();

    let err = refused(&lab, &["--port", &port]);
    assert!(err.contains("no tracking database at"), "{err}");
    assert!(err.contains("gan-lab run"), "{err}");

    let spec = tiny_spec(lab.path(), "one", "Mlp", "NonSaturating", 4);
    lab.ok(&["run", spec.to_str().unwrap()]);
    let err = refused(&lab, &["--port", &port, "--runs", "ffffffffffff"]);
    assert!(err.contains("ffffffffffff"), "{err}");
    let err = refused(&lab, &["--port", &port, "--experiment", "nope"]);
    assert!(err.contains("no runs match experiment 'nope'"), "{err}");
    let err = refused(&lab, &["--port", &port, "--colour", "red"]);
    assert!(err.contains("--colour"), "{err}");

    let err = refused(&lab, &["--port", &port]);
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(err.contains("--port"), "{err}");
    drop(taken);

    // On a running server: an unknown filter, or one that matches nothing,
    // is a plain-text answer, not a page.
    let (server, url, _out) = serve(&lab, &[]);
    let get = |path: &str| {
        let mut r = ureq::get(format!("{url}{path}"))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    let (status, body) = get("?expriment=x");
    assert_eq!(status, 400);
    assert!(body.contains("unknown filter `expriment`"), "{body}");
    let (status, body) = get("api/data?experiment=%3Cb%3Enope");
    assert_eq!(status, 404);
    assert!(
        body.contains("no runs match experiment '<b>nope'"),
        "{body}"
    );
    let (status, body) = get("?runs=ffffffffffff");
    assert_eq!(status, 400, "{body}");
    let (status, body) = get("api/data");
    assert_eq!(status, 200);
    let data: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(data["runs"][0]["status"], "finished");
    let (status, _) = get("nothing/here");
    assert_eq!(status, 404);
    stop(server);
}
