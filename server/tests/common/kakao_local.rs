//! A fake of Kakao Local's address search (`GET /v2/local/search/address.json`) as a real HTTP
//! server on an ephemeral port, for tests: it requires `Authorization: KakaoAK {key}` (else 401
//! with Kakao's error body), reads `query`, and answers in the documented shape — `meta` and
//! `documents` with `x` (longitude) and `y` (latitude) as strings, `address_type`, and the
//! `road_address` / `address` objects with their region names — from a small gazetteer of real
//! places (coordinates rounded). It can be told to be down (503).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

pub const REST_API_KEY: &str = "test-kakao-rest-key";

/// (road-name address as Kakao writes it, 시/도, 구, lng, lat).
const PLACES: &[(&str, &str, &str, f64, f64)] = &[
    (
        "서울 송파구 올림픽로 300",
        "서울",
        "송파구",
        127.1026,
        37.5126,
    ),
    (
        "서울 송파구 올림픽로 240",
        "서울",
        "송파구",
        127.0982,
        37.5111,
    ),
    (
        "서울 송파구 중대로 135",
        "서울",
        "송파구",
        127.1190,
        37.4977,
    ),
    (
        "서울 강서구 공항대로 247",
        "서울",
        "강서구",
        126.8380,
        37.5586,
    ),
    ("서울 마포구 양화로 45", "서울", "마포구", 126.9175, 37.5518),
    (
        "서울 마포구 와우산로 45",
        "서울",
        "마포구",
        126.9222,
        37.5493,
    ),
    (
        "부산 해운대구 해운대해변로 264",
        "부산",
        "해운대구",
        129.1604,
        35.1587,
    ),
];

#[derive(Default)]
struct Inner {
    requests: AtomicUsize,
    down: AtomicBool,
}

#[derive(Clone)]
pub struct FakeKakaoLocal {
    pub url: String,
    inner: Arc<Inner>,
}

impl FakeKakaoLocal {
    pub async fn start() -> FakeKakaoLocal {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/v2/local/search/address.json", get(search))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeKakaoLocal { url, inner }
    }

    /// The settings that point a server at this fake.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("BAEDAL_KAKAO_LOCAL_URL", self.url.clone()),
            ("BAEDAL_KAKAO_LOCAL_KEY", REST_API_KEY.into()),
            ("BAEDAL_GEOCODER_TIMEOUT_MS", "2000".into()),
        ]
    }

    pub fn requests(&self) -> usize {
        self.inner.requests.load(Ordering::SeqCst)
    }

    pub fn set_down(&self, down: bool) {
        self.inner.down.store(down, Ordering::SeqCst);
    }
}

/// "서울특별시 송파구  올림픽로 300" and "서울 송파구 올림픽로 300" are the same query.
fn normalise(query: &str) -> String {
    query
        .split_whitespace()
        .map(|word| match word {
            "서울특별시" | "서울시" => "서울",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

async fn search(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    inner.requests.fetch_add(1, Ordering::SeqCst);
    if inner.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let authorised = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("KakaoAK {REST_API_KEY}"));
    if !authorised {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"errorType": "AccessDeniedError", "message": "cannot find appKey"})),
        )
            .into_response();
    }
    let Some(query) = params.get("query").filter(|q| !q.trim().is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errorType": "MissingParameter", "message": "query parameter required"})),
        )
            .into_response();
    };
    let query = normalise(query);
    let documents: Vec<Value> = PLACES
        .iter()
        .filter(|(road, ..)| *road == query)
        .map(|(road, sido, gu, lng, lat)| {
            let (x, y) = (lng.to_string(), lat.to_string());
            json!({
                "address_name": road,
                "address_type": "ROAD_ADDR",
                "x": x,
                "y": y,
                "address": {
                    "address_name": format!("{sido} {gu} 어느동 1-1"),
                    "region_1depth_name": sido,
                    "region_2depth_name": gu,
                    "region_3depth_name": "어느동",
                    "x": x,
                    "y": y,
                },
                "road_address": {
                    "address_name": road,
                    "region_1depth_name": sido,
                    "region_2depth_name": gu,
                    "region_3depth_name": "어느동",
                    "road_name": road.split_whitespace().nth(2).unwrap_or_default(),
                    "underground_yn": "N",
                    "main_building_no": road.split_whitespace().last().unwrap_or_default(),
                    "sub_building_no": "",
                    "building_name": "",
                    "zone_no": "05551",
                    "x": x,
                    "y": y,
                },
            })
        })
        .collect();
    Json(json!({
        "meta": {"total_count": documents.len(), "pageable_count": documents.len(), "is_end": true},
        "documents": documents,
    }))
    .into_response()
}
