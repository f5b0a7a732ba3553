//! Demo data for a first start: stores in several Seoul districts with menus and stock, and
//! demo accounts for every role (listed in the README). Runs once per database: a marker row
//! written in the same transaction makes it safe when several instances start together.

use super::{accounts, now_ms, passwords, AppState};
use domain::{
    AddressInput, DeliveryTerms, District, Email, GeoPoint, Located, NewAccount, Password,
    PhoneNumber, RoleDetails, Won,
};
use sqlx::{Any, Transaction};

pub const DEMO_PASSWORD: &str = "baedal1234";

struct DemoStore {
    owner: &'static str,
    name: &'static str,
    place: DemoPlace,
    /// 최소주문금액, 배달팁, 1km마다 추가 배달팁, 배달 가능 거리 (m).
    terms: (i64, i64, i64, i64),
    open: bool,
    menu: &'static [(&'static str, &'static str, i64, i64)],
}

const STORES: &[DemoStore] = &[
    DemoStore {
        owner: "owner@baedal.kr",
        name: "마포 즉석떡볶이",
        place: DemoPlace {
            road: "서울 마포구 와우산로 45",
            detail: "1층",
            district: "마포구",
            lat: 37.5493,
            lng: 126.9222,
        },
        terms: (0, 0, 0, 5_000),
        open: true,
        menu: &[
            (
                "즉석떡볶이 (2인)",
                "쌀떡, 어묵, 라면사리, 삶은 달걀",
                14_000,
                30,
            ),
            ("모둠튀김", "김말이, 야채튀김, 오징어튀김", 6_000, 20),
            ("순대", "찰순대와 내장", 5_000, 15),
            ("볶음밥", "떡볶이 양념에 볶아 드려요", 3_000, 0),
        ],
    },
    DemoStore {
        owner: "owner@baedal.kr",
        name: "강남 바삭치킨",
        place: DemoPlace {
            road: "서울 강남구 테헤란로 123",
            detail: "",
            district: "강남구",
            lat: 37.4999,
            lng: 127.0310,
        },
        terms: (15_000, 3_000, 500, 4_000),
        open: true,
        menu: &[
            ("후라이드치킨", "두 번 튀겨 바삭한 한 마리", 19_000, 25),
            ("양념치킨", "달콤매콤 수제 양념", 20_000, 25),
            ("반반치킨", "후라이드 반, 양념 반", 20_000, 10),
            ("치즈볼 (5개)", "모차렐라 치즈볼", 5_000, 40),
        ],
    },
    DemoStore {
        owner: "owner@baedal.kr",
        name: "종로 할매국밥",
        place: DemoPlace {
            road: "서울 종로구 종로 77",
            detail: "",
            district: "종로구",
            lat: 37.5704,
            lng: 126.9895,
        },
        terms: (9_000, 2_000, 0, 8_000),
        open: true,
        menu: &[
            ("돼지국밥", "사골 육수에 수육 듬뿍", 9_000, 50),
            ("순대국밥", "직접 만든 순대", 9_000, 40),
            ("수육 (소)", "부추무침과 함께", 18_000, 8),
        ],
    },
    DemoStore {
        owner: "owner2@baedal.kr",
        name: "송파 화덕피자",
        place: DemoPlace {
            road: "서울 송파구 올림픽로 300",
            detail: "B1",
            district: "송파구",
            lat: 37.5126,
            lng: 127.1026,
        },
        terms: (17_000, 2_500, 500, 5_000),
        open: true,
        menu: &[
            ("마르게리타", "토마토, 모차렐라, 바질", 17_000, 12),
            ("페퍼로니", "페퍼로니 듬뿍", 19_000, 12),
            ("고르곤졸라", "꿀을 곁들인 치즈 피자", 18_000, 6),
        ],
    },
    DemoStore {
        owner: "owner2@baedal.kr",
        name: "용산 김밥나라",
        place: DemoPlace {
            road: "서울 용산구 한강대로 100",
            detail: "",
            district: "용산구",
            lat: 37.5298,
            lng: 126.9706,
        },
        terms: (0, 1_000, 0, 3_000),
        open: false,
        menu: &[
            ("참치김밥", "참치마요 듬뿍", 4_500, 30),
            ("라볶이", "라면 + 떡볶이", 6_500, 20),
        ],
    },
];

/// A demo address with its coordinates (real places, rounded), so demo distances are real
/// without a geocoder.
struct DemoPlace {
    road: &'static str,
    detail: &'static str,
    district: &'static str,
    lat: f64,
    lng: f64,
}

impl DemoPlace {
    fn located(&self) -> Located {
        Located {
            road: self.road.into(),
            detail: self.detail.into(),
            district: district(self.district),
            point: GeoPoint {
                lat: self.lat,
                lng: self.lng,
            },
            approximate: false,
        }
    }

    fn input(&self) -> AddressInput {
        AddressInput {
            road: self.road.into(),
            detail: self.detail.into(),
        }
    }
}

const CUSTOMER_HOME: DemoPlace = DemoPlace {
    road: "서울 마포구 양화로 45",
    detail: "101동 1203호",
    district: "마포구",
    lat: 37.5518,
    lng: 126.9175,
};

const CUSTOMER2_HOME: DemoPlace = DemoPlace {
    road: "서울 강남구 테헤란로 152",
    detail: "12층",
    district: "강남구",
    lat: 37.5002,
    lng: 127.0364,
};

struct DemoAccount {
    email: &'static str,
    name: &'static str,
    phone: &'static str,
    details: fn() -> RoleDetails,
}

fn district(name: &str) -> District {
    District::parse("district", name).expect("demo districts are real")
}

const ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        email: "customer@baedal.kr",
        name: "홍길동",
        phone: "010-1234-5678",
        details: || RoleDetails::Customer {
            address: CUSTOMER_HOME.input(),
        },
    },
    DemoAccount {
        email: "customer2@baedal.kr",
        name: "김영희",
        phone: "010-2345-6789",
        details: || RoleDetails::Customer {
            address: CUSTOMER2_HOME.input(),
        },
    },
    DemoAccount {
        email: "owner@baedal.kr",
        name: "김사장",
        phone: "010-3456-7890",
        details: || RoleDetails::Owner {
            store_name: String::new(),
            store_address: AddressInput {
                road: String::new(),
                detail: String::new(),
            },
        },
    },
    DemoAccount {
        email: "owner2@baedal.kr",
        name: "이사장",
        phone: "010-4567-8901",
        details: || RoleDetails::Owner {
            store_name: String::new(),
            store_address: AddressInput {
                road: String::new(),
                detail: String::new(),
            },
        },
    },
    DemoAccount {
        email: "rider@baedal.kr",
        name: "박배달",
        phone: "010-5678-9012",
        details: || RoleDetails::Rider {
            district: district("마포구"),
        },
    },
    DemoAccount {
        email: "rider2@baedal.kr",
        name: "최라이더",
        phone: "010-6789-0123",
        details: || RoleDetails::Rider {
            district: district("강남구"),
        },
    },
];

/// Seeds the demo data if this database has never been seeded and has no accounts yet.
/// Returns whether it seeded.
pub async fn seed_demo_data(state: &AppState) -> Result<bool, crate::Error> {
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(state.db.reader())
        .await?;
    if users > 0 {
        return Ok(false);
    }
    // One hash for all demo accounts: they share the documented password anyway.
    let password = Password::parse_new("password", DEMO_PASSWORD).expect("demo password is valid");
    let password_hash = passwords::hash(&password).await;

    let mut tx = state.db.begin().await?;
    if !claim_marker(&mut tx).await? {
        return Ok(false);
    }
    let mut owner_ids = Vec::new();
    for demo in ACCOUNTS {
        let account = NewAccount {
            email: Email::parse("email", demo.email).expect("demo e-mails are valid"),
            password: password.clone(),
            display_name: demo.name.to_string(),
            phone: Some(PhoneNumber::parse("phone", demo.phone).expect("demo phones are valid")),
            details: (demo.details)(),
        };
        let user = insert_demo_account(&mut tx, &account, &password_hash).await?;
        owner_ids.push((demo.email, user));
    }
    for store in STORES {
        let owner_id = owner_ids
            .iter()
            .find(|(email, _)| *email == store.owner)
            .map(|(_, id)| *id)
            .expect("demo stores belong to demo owners");
        let (min_order, tip, tip_per_km, radius_m) = store.terms;
        let terms = DeliveryTerms {
            min_order: Won(min_order),
            tip: Won(tip),
            tip_per_km: Won(tip_per_km),
            radius_m,
        };
        let store_id = accounts::insert_store(
            &mut tx,
            owner_id,
            store.name,
            &store.place.located(),
            terms,
            store.open,
        )
        .await?;
        for (name, description, price, stock) in store.menu {
            sqlx::query(
                "INSERT INTO foods (store_id, name, description, price_won, stock, is_hidden, created_at)
                 VALUES ($1, $2, $3, $4, $5, 0, $6)",
            )
            .bind(store_id)
            .bind(*name)
            .bind(*description)
            .bind(*price)
            .bind(*stock)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

async fn claim_marker(tx: &mut Transaction<'static, Any>) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query(
        "INSERT INTO app_meta (key, value) VALUES ('demo_seeded', $1)
         ON CONFLICT (key) DO NOTHING RETURNING key",
    )
    .bind(now_ms().to_string())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(claimed.is_some())
}

/// Demo owners get their stores from `STORES`, not from the sign-up form's first store.
async fn insert_demo_account(
    tx: &mut Transaction<'static, Any>,
    account: &NewAccount,
    password_hash: &str,
) -> Result<domain::UserId, crate::Error> {
    match &account.details {
        RoleDetails::Owner { .. } => {
            let id = sqlx::query_scalar(
                "INSERT INTO users (email, password_hash, display_name, role, phone, created_at)
                 VALUES ($1, $2, $3, 'owner', $4, $5) RETURNING id",
            )
            .bind(account.email.as_str())
            .bind(password_hash)
            .bind(&account.display_name)
            .bind(account.phone.as_ref().map(|p| p.as_str().to_string()))
            .bind(now_ms())
            .fetch_one(&mut **tx)
            .await?;
            Ok(id)
        }
        RoleDetails::Customer { address } => {
            let home = [&CUSTOMER_HOME, &CUSTOMER2_HOME]
                .into_iter()
                .find(|home| home.road == address.road)
                .expect("demo customers live at demo addresses");
            let located = home.located();
            Ok(accounts::create(tx, account, password_hash, Some(&located))
                .await?
                .id)
        }
        RoleDetails::Rider { .. } => {
            Ok(accounts::create(tx, account, password_hash, None).await?.id)
        }
    }
}
