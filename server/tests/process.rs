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
