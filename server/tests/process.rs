//! The `baedal` binary as an operator runs it: configuration errors name the variable, the URL
//! is printed, and SIGTERM stops it cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn a_bad_setting_stops_start_up_with_its_name() {
    let output = Command::new(env!("CARGO_BIN_EXE_baedal"))
        .env("BAEDAL_LOG_FORMAT", "xml")
        .output()
        .expect("run baedal");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("BAEDAL_LOG_FORMAT"), "{stderr}");
}

#[test]
fn prints_its_url_serves_and_stops_cleanly_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_baedal"))
        .env("BAEDAL_ADDR", "127.0.0.1:0")
        .env("BAEDAL_DATA_DIR", data.path())
        .env("BAEDAL_SITE_ROOT", "../target/site")
        .env("BAEDAL_LOG_FORMAT", "json")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start baedal");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = stdout.next().expect("baedal prints its URL").unwrap();
        if let Some(at) = line.find("running at ") {
            break line[at + "running at ".len()..].trim().to_string();
        }
    };
    assert!(
        data.path().join("baedal.db").exists(),
        "the default SQLite file is created"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ready = runtime.block_on(async {
        reqwest::get(format!("{url}/readyz"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert_eq!(ready, "ready (sqlite)");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "baedal did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logs).unwrap();
    let last: serde_json::Value = serde_json::from_str(logs.lines().last().unwrap()).unwrap();
    assert_eq!(last["message"], "stopped", "{logs}");
}

/// SIGTERM begins a drain: `/readyz` says 503 at once while pages, server functions and open
/// live streams are still served; when `BAEDAL_DRAIN_MS` has passed the live streams end (so
/// browsers reconnect elsewhere), new connections are refused, and the process exits cleanly.
#[test]
fn sigterm_drains_first_failing_readyz_then_ends_live_streams_and_stops() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_baedal"))
        .env("BAEDAL_ADDR", "127.0.0.1:0")
        .env("BAEDAL_DATA_DIR", data.path())
        .env("BAEDAL_SITE_ROOT", "../target/site")
        .env("BAEDAL_DRAIN_MS", "1500")
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start baedal");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = stdout.next().expect("baedal prints its URL").unwrap();
        if let Some(at) = line.find("running at ") {
            break line[at + "running at ".len()..].trim().to_string();
        }
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let get = |path: &str| client.get(format!("{url}{path}")).send();
        assert_eq!(get("/readyz").await.unwrap().status(), 200);
        let signed_in = client
            .post(format!("{url}/api/sign_in"))
            .header("accept", "application/json")
            .form(&[("email", "customer@baedal.kr"), ("password", "baedal1234")])
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), 200);
        let mut stream = get("/live").await.unwrap();
        assert_eq!(stream.status(), 200);
        assert!(
            stream.chunk().await.unwrap().is_some(),
            "the stream's `ready`"
        );

        let terminated = std::time::Instant::now();
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let ready = get("/readyz").await.unwrap();
        assert_eq!(ready.status(), 503);
        assert_eq!(ready.text().await.unwrap(), "not ready: draining");
        // Still serving everything else while draining.
        assert_eq!(get("/healthz").await.unwrap().status(), 200);
        let page = client
            .get(format!("{url}/"))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);

        // The stream stays open through the drain, then ends.
        let ended = loop {
            match tokio::time::timeout(Duration::from_secs(10), stream.chunk()).await {
                Ok(Ok(Some(_))) => continue, // keep-alive or a hint
                Ok(_) => break terminated.elapsed(),
                Err(_) => panic!("the live stream did not end within 10 s of the drain"),
            }
        };
        assert!(
            ended >= Duration::from_millis(1400),
            "the stream ended before the drain was over ({ended:?})"
        );
        // Then nothing is accepted any more.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let refused = reqwest::Client::new()
            .get(format!("{url}/healthz"))
            .send()
            .await;
        assert!(
            refused.is_err(),
            "still accepting after the drain: {refused:?}"
        );
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(std::time::Instant::now() < deadline, "baedal did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
}
