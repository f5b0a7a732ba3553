//! Turning a road-name address into coordinates: Kakao Local's address search when a REST API
//! key is configured, else the centre of the district the address names.
//!
//! Distances drive three rules — which stores deliver to a customer (each store's radius), the
//! 배달팁 by distance band, and the rider's trip and fee — so an address is placed once, when it
//! is saved, and the coordinates are stored with it; nothing at checkout waits on a geocoder.
//!
//! Kakao Local (`GET /v2/local/search/address.json`, header `Authorization: KakaoAK {key}`)
//! answers `{"meta": {...}, "documents": [{"address_name", "x", "y", "road_address": {...},
//! "address": {...}}]}` with x the longitude and y the latitude, both strings; the region names
//! (`region_1depth_name` "서울", `region_2depth_name` "송파구") say which district it is in.
//! Baedal delivers in Seoul only, so an address elsewhere is refused like one not found.
//!
//! Without a key the fallback keeps the app usable on a laptop: the address must name a Seoul
//! district and is placed at that district's centre (`Located::approximate`). The server says
//! so at start-up, because distances are then district to district.

use domain::{AddressInput, District, FieldError, GeoPoint, Located};
use serde::Deserialize;
use std::time::Duration;

/// Where addresses are placed.
#[derive(Clone)]
pub enum Geocoder {
    KakaoLocal(KakaoLocal),
    /// No provider configured: the named district's centre.
    DistrictCentres,
}

/// A client of Kakao Local's address search.
#[derive(Clone)]
pub struct KakaoLocal {
    http: reqwest::Client,
    base_url: String,
    rest_api_key: String,
}

impl KakaoLocal {
    /// Kakao's own address, for production.
    pub const BASE_URL: &'static str = "https://dapi.kakao.com";

    pub fn new(base_url: &str, rest_api_key: &str, timeout: Duration) -> KakaoLocal {
        KakaoLocal {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("a reqwest client with a timeout"),
            base_url: base_url.trim_end_matches('/').to_string(),
            rest_api_key: rest_api_key.to_string(),
        }
    }
}

/// Why an address could not be placed.
#[derive(Debug, thiserror::Error)]
pub enum GeocodeError {
    /// Not an address we can deliver to (unknown, or outside Seoul): the field and why.
    #[error("address not found: {}", .0.message)]
    NotFound(FieldError),
    /// The provider did not answer usefully (timeout, 5xx, refused key): try again later.
    #[error("geocoder unavailable: {0}")]
    Unavailable(String),
}

#[derive(Deserialize)]
struct SearchResponse {
    documents: Vec<Document>,
}

#[derive(Deserialize)]
struct Document {
    x: String,
    y: String,
    road_address: Option<Region>,
    address: Option<Region>,
}

#[derive(Deserialize)]
struct Region {
    address_name: String,
    region_1depth_name: String,
    region_2depth_name: String,
}

impl Geocoder {
    /// A description for the start-up log line.
    pub fn describe(&self) -> String {
        match self {
            Geocoder::KakaoLocal(kakao) => format!("Kakao Local at {}", kakao.base_url),
            Geocoder::DistrictCentres => {
                "none configured: addresses are placed at their district's centre \
                 (set BAEDAL_KAKAO_LOCAL_KEY for real coordinates)"
                    .into()
            }
        }
    }

    /// Places `address`; `field` names the road-name field in errors.
    pub async fn locate(
        &self,
        field: &str,
        address: &AddressInput,
    ) -> Result<Located, GeocodeError> {
        match self {
            Geocoder::DistrictCentres => {
                let district = address.district_named().ok_or_else(|| {
                    GeocodeError::NotFound(FieldError::new(
                        field,
                        format!(
                            "주소에서 서울의 구를 찾을 수 없습니다: {} (예: 서울 송파구 올림픽로 300)",
                            address.road
                        ),
                    ))
                })?;
                Ok(Located {
                    road: address.road.clone(),
                    detail: address.detail.clone(),
                    district,
                    point: district.center(),
                    approximate: true,
                })
            }
            Geocoder::KakaoLocal(kakao) => kakao.locate(field, address).await,
        }
    }
}

impl KakaoLocal {
    async fn locate(&self, field: &str, address: &AddressInput) -> Result<Located, GeocodeError> {
        let response = self
            .http
            .get(format!("{}/v2/local/search/address.json", self.base_url))
            .header("Authorization", format!("KakaoAK {}", self.rest_api_key))
            .query(&[("query", address.road.as_str()), ("size", "1")])
            .send()
            .await
            .map_err(|error| GeocodeError::Unavailable(error.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(GeocodeError::Unavailable(format!(
                "Kakao Local answered {status}: {}",
                body.chars().take(200).collect::<String>()
            )));
        }
        let found: SearchResponse = response
            .json()
            .await
            .map_err(|error| GeocodeError::Unavailable(format!("unreadable answer: {error}")))?;
        let not_found = |why: String| GeocodeError::NotFound(FieldError::new(field, why));
        let Some(document) = found.documents.into_iter().next() else {
            return Err(not_found(format!(
                "주소를 찾을 수 없습니다: {} 도로명과 건물번호를 확인해 주세요.",
                address.road
            )));
        };
        let coordinate = |raw: &str| raw.trim().parse::<f64>().ok().filter(|v| v.is_finite());
        let (Some(lng), Some(lat)) = (coordinate(&document.x), coordinate(&document.y)) else {
            return Err(GeocodeError::Unavailable(format!(
                "coordinates not numbers: x={:?} y={:?}",
                document.x, document.y
            )));
        };
        let region = document
            .road_address
            .or(document.address)
            .ok_or_else(|| GeocodeError::Unavailable("a document without an address".into()))?;
        let district = region
            .region_1depth_name
            .starts_with("서울")
            .then(|| District::parse(field, &region.region_2depth_name).ok())
            .flatten()
            .ok_or_else(|| {
                not_found(format!(
                    "배달은 서울에서만 가능합니다: {}",
                    region.address_name
                ))
            })?;
        Ok(Located {
            road: region.address_name,
            detail: address.detail.clone(),
            district,
            point: GeoPoint { lat, lng },
            approximate: false,
        })
    }
}

/// What a person is told while the address search is unavailable.
pub const ADDRESS_SEARCH_UNAVAILABLE: &str =
    "주소 검색을 잠시 사용할 수 없습니다. 잠시 후 다시 시도해 주세요.";

impl From<GeocodeError> for crate::Error {
    fn from(error: GeocodeError) -> Self {
        match error {
            GeocodeError::NotFound(field) => field.into(),
            GeocodeError::Unavailable(reason) => {
                tracing::warn!(%reason, "address search unavailable");
                crate::Error::Unavailable {
                    message: ADDRESS_SEARCH_UNAVAILABLE.into(),
                }
            }
        }
    }
}
