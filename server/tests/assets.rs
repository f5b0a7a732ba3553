//! What a phone downloads: the browser assets of this build, compressed and cached for good,
//! and pages and answers compressed but never cached by anyone else. Runs against the site that
//! `scripts/build.sh` built into `target/site` (the README's test command builds it first).

mod common;

use common::{Backend, TestApp};
use reqwest::{header, StatusCode};
use std::io::Read;

const SITE: &str = "../target/site";

fn site_version() -> String {
    std::fs::read_to_string(format!("{SITE}/asset-version"))
        .unwrap_or_else(|_| {
            panic!("{SITE}/asset-version is missing: build the site first (scripts/build.sh)")
        })
        .trim()
        .to_string()
}

/// The loader of the lazily loaded chunks; its name is fixed by Leptos's `#[lazy]`.
const SPLIT_LOADER: &str = "__wasm_split.______________________.js";

/// The files of this build under `/pkg/<version>/`, without their compressed siblings.
fn build_files(version: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(format!("{SITE}/pkg/{version}"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| !name.ends_with(".br") && !name.ends_with(".gz"))
        .collect();
    files.sort();
    files
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .expect("valid brotli");
    out
}

fn header_of(response: &reqwest::Response, name: header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn assets_come_compressed_and_cached_for_good_pages_never_cached() {
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite always runs");
    let version = site_version();
    let client = app.client();

    // The page names this build's assets, and is itself compressed but not kept.
    let response = client
        .get(format!("{}/signin", app.url))
        .header(header::ACCEPT, "text/html")
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CACHE_CONTROL).as_deref(),
        Some("private, no-cache")
    );
    assert_eq!(
        header_of(&response, header::CONTENT_ENCODING).as_deref(),
        Some("gzip")
    );
    let page = String::from_utf8(gunzip(&response.bytes().await.unwrap())).unwrap();
    assert!(page.contains("로그인"), "{page}");
    for asset in ["baedal.js", "baedal_bg.wasm", "baedal.css"] {
        assert!(
            page.contains(&format!("/pkg/{version}/{asset}")),
            "the page links /pkg/{version}/{asset}"
        );
    }

    // Every file of the build: the main module, its JavaScript and stylesheet, and the lazily
    // loaded chunks with their loader and manifest (scripts/build.sh splits the wasm).
    let assets = build_files(&version);
    let chunks: Vec<&String> = assets
        .iter()
        .filter(|a| a.ends_with(".wasm") && *a != "baedal_bg.wasm")
        .collect();
    assert!(
        !chunks.is_empty(),
        "the wasm is split: chunks besides baedal_bg.wasm in {assets:?}"
    );
    for needed in [
        "baedal.js",
        "baedal_bg.wasm",
        "baedal.css",
        SPLIT_LOADER,
        "__wasm_split_manifest.json",
    ] {
        assert!(assets.iter().any(|a| a == needed), "{needed} in {assets:?}");
    }
    let manifest: std::collections::HashMap<String, Vec<String>> = serde_json::from_slice(
        &std::fs::read(format!("{SITE}/pkg/{version}/__wasm_split_manifest.json")).unwrap(),
    )
    .unwrap();
    for chunk in manifest.values().flatten() {
        assert!(
            assets.contains(&format!("{chunk}.wasm")),
            "the manifest's {chunk} is built"
        );
    }

    for asset in &assets {
        let on_disk = std::fs::read(format!("{SITE}/pkg/{version}/{asset}")).unwrap();
        for (encoding, decode) in [
            ("br", unbrotli as fn(&[u8]) -> Vec<u8>),
            ("gzip", gunzip),
            ("identity", |b: &[u8]| b.to_vec()),
        ] {
            let response = client
                .get(format!("{}/pkg/{version}/{asset}", app.url))
                .header(header::ACCEPT_ENCODING, encoding)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{asset} as {encoding}");
            let expected_encoding = (encoding != "identity").then_some(encoding);
            assert_eq!(
                header_of(&response, header::CONTENT_ENCODING).as_deref(),
                expected_encoding,
                "{asset} as {encoding}"
            );
            assert_eq!(
                header_of(&response, header::CACHE_CONTROL).as_deref(),
                Some("public, max-age=31536000, immutable"),
                "{asset} as {encoding}"
            );
            assert_eq!(
                header_of(&response, header::VARY).as_deref(),
                Some("accept-encoding"),
                "{asset} as {encoding}"
            );
            let sent = response.bytes().await.unwrap();
            // (A file of a few bytes may come out of gzip no smaller: its header.)
            if encoding != "identity" && on_disk.len() > 1000 {
                assert!(
                    sent.len() < on_disk.len(),
                    "{asset} as {encoding} is smaller"
                );
            }
            assert!(
                decode(&sent) == on_disk,
                "{asset} as {encoding} decodes to the file"
            );
        }
    }

    // The rider's service worker names the same build, and is asked for again every time.
    let response = client
        .get(format!("{}/rider-sw.js", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header_of(&response, header::CACHE_CONTROL).as_deref(),
        Some("no-cache")
    );
    let worker = response.text().await.unwrap();
    assert!(
        worker.contains(&format!("'/pkg/{version}'")),
        "the service worker is stamped with this build"
    );
    assert!(!worker.contains("__PKG__"));
    assert!(!worker.contains("__RIDER_CHUNKS__"));
    // It keeps what the rider's page loads lazily, so the rider app opens offline.
    let rider_chunks: Vec<&String> = manifest
        .iter()
        .filter(|(split, _)| split.contains("rider"))
        .flat_map(|(_, chunks)| chunks)
        .collect();
    assert!(
        !rider_chunks.is_empty(),
        "the rider's page is split off: {manifest:?}"
    );
    for chunk in rider_chunks {
        assert!(
            worker.contains(&format!("'/pkg/{version}/{chunk}.wasm'")),
            "the service worker keeps {chunk}"
        );
    }
    assert!(worker.contains(SPLIT_LOADER));

    // A file of another (or no) build is not found, and not cached.
    let response = client
        .get(format!("{}/pkg/0000000000000000/baedal.js", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_ne!(
        header_of(&response, header::CACHE_CONTROL).as_deref(),
        Some("public, max-age=31536000, immutable")
    );

    // Server-function answers are compressed too; the live stream never is.
    let customer = app.signed_in("customer@baedal.kr").await;
    let response = customer
        .post(format!("{}/api/nearby_stores", app.url))
        .header(header::ACCEPT, "application/json")
        .header(header::ACCEPT_ENCODING, "br")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CONTENT_ENCODING).as_deref(),
        Some("br")
    );
    let stores: serde_json::Value =
        serde_json::from_slice(&unbrotli(&response.bytes().await.unwrap())).unwrap();
    assert!(stores.to_string().contains("마포 즉석떡볶이"), "{stores}");
    let live = customer
        .get(format!("{}/live", app.url))
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    assert_eq!(header_of(&live, header::CONTENT_ENCODING), None);
    assert!(header_of(&live, header::CONTENT_TYPE)
        .unwrap()
        .starts_with("text/event-stream"));
    drop(live);
    app.teardown().await;
}
