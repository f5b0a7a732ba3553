//! What the benchmark binaries (`bench-checkout`, `bench-pipeline`) share: a scratch database
//! per engine, the real server started in-process as in production (release build, the
//! multi-threaded runtime, the outbox worker inside), signed-up customers with their own
//! cookie jars, and latency summaries. Not used by the app itself.

use app::backend::Db;
use serde_json::Value;
use sqlx::{AnyConnection, Connection, Row};
use std::time::Duration;

use crate::config::Config;
use crate::sandbox_pay::{self, SandboxConfig};
use crate::RunningServer;

/// A database that exists only for one benchmark run.
pub struct Scratch {
    pub url: String,
    drop_postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Scratch {
    pub async fn new(engine: &str) -> Scratch {
        match engine {
            "sqlite" => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("bench.db").display()
                );
                Scratch {
                    url,
                    drop_postgres: None,
                    _dir: Some(dir),
                }
            }
            "postgres" => {
                sqlx::any::install_default_drivers();
                let admin = postgres_admin_url();
                let name = format!("baedal_bench_{}", uuid::Uuid::new_v4().simple());
                let mut conn = AnyConnection::connect(&admin)
                    .await
                    .expect("PostgreSQL reachable");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                Scratch {
                    url: format!("{base}/{name}"),
                    drop_postgres: Some((admin, name)),
                    _dir: None,
                }
            }
            other => panic!("unknown engine {other}"),
        }
    }

    /// The SQLite file, for a native client working on the same database.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self._dir.as_ref().map(|dir| dir.path().join("bench.db"))
    }

    pub async fn remove(self) {
        if let Some((admin, name)) = self.drop_postgres {
            let mut conn = AnyConnection::connect(&admin).await.unwrap();
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}

pub fn postgres_admin_url() -> String {
    std::env::var("BAEDAL_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The server on `scratch` with the sandbox provider answering at once, every food stocked
/// without limit, and `customers` signed-up customers (one cookie jar each, address in 마포구).
pub struct Bench {
    pub server: RunningServer,
    pub url: String,
    pub clients: Vec<reqwest::Client>,
    pub customer_ids: Vec<i64>,
    pub store_id: i64,
    /// Two foods of 마포 즉석떡볶이: (id, price).
    pub foods: Vec<(i64, i64)>,
}

pub async fn start(scratch: &Scratch, customers: usize) -> Bench {
    start_with(scratch, customers, &[]).await
}

/// [`start`] with more settings (`BAEDAL_…` names and values) for the server.
pub async fn start_with(scratch: &Scratch, customers: usize, settings: &[(&str, String)]) -> Bench {
    let sandbox_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_url = format!("http://{}", sandbox_listener.local_addr().unwrap());
    tokio::spawn(sandbox_pay::serve(
        sandbox_listener,
        SandboxConfig {
            slow: Duration::from_secs(5),
            latency: Duration::ZERO,
            ..Default::default()
        },
        std::future::pending(),
    ));
    let config = Config::from_lookup(|name| match name {
        "BAEDAL_ADDR" => Some("127.0.0.1:0".into()),
        "DATABASE_URL" => Some(scratch.url.clone()),
        "BAEDAL_SANDBOX_PAY_URL" => Some(sandbox_url.clone()),
        // Every simulated customer comes from 127.0.0.1: the per-address limits would measure
        // themselves rather than checkout.
        "BAEDAL_LIMIT_CHECKOUT_ADDRESS" | "BAEDAL_LIMIT_SIGNUP_ADDRESS" => Some("off".into()),
        _ => settings
            .iter()
            .find(|(setting, _)| *setting == name)
            .map(|(_, value)| value.clone()),
    })
    .expect("configuration");
    let server = crate::start(config).await.expect("server starts");
    let url = server.url();
    let db = server.state.db.clone();
    {
        let mut tx = db.begin().await.unwrap();
        sqlx::query("UPDATE foods SET stock = 1000000000")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let mut clients = Vec::new();
    let mut customer_ids = Vec::new();
    for i in 0..customers {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let email = format!("bench{i}@example.com");
        let user: Value = client
            .post(format!("{url}/api/sign_up"))
            .form(&[
                ("role", "customer"),
                ("email", email.as_str()),
                ("password", "bench-password"),
                ("display_name", "벤치"),
                ("address", "서울 마포구 양화로 45"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        customer_ids.push(user["id"].as_i64().expect("signed up"));
        clients.push(client);
    }
    let (store_id, foods) = demo_menu(&clients[0], &url).await;
    Bench {
        server,
        url,
        clients,
        customer_ids,
        store_id,
        foods,
    }
}

/// The demo store 마포 즉석떡볶이 as `client` finds it (it must be nearby), and its first two
/// foods: (id, price).
pub async fn demo_menu(client: &reqwest::Client, url: &str) -> (i64, Vec<(i64, i64)>) {
    let read = |function: &'static str, form: Vec<(&'static str, String)>| async move {
        client
            .post(format!("{url}/api/{function}"))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{function}: {e}"))
            .json::<Value>()
            .await
            .unwrap_or_else(|e| panic!("{function}: {e}"))
    };
    let stores = read("nearby_stores", vec![]).await;
    let store_id = stores
        .as_array()
        .expect("a list of stores")
        .iter()
        .find(|s| s["name"] == "마포 즉석떡볶이")
        .expect("the demo store nearby")["id"]
        .as_i64()
        .expect("store id");
    let menu = read("get_store_menu", vec![("store_id", store_id.to_string())]).await;
    let foods = menu["menu"].as_array().expect("a menu")[..2]
        .iter()
        .map(|f| (f["id"].as_i64().unwrap(), f["price"].as_i64().unwrap()))
        .collect();
    (store_id, foods)
}

/// The JSON body of one checkout of both foods, with a new idempotency key.
pub fn checkout_body(store_id: i64, foods: &[(i64, i64)]) -> Value {
    serde_json::json!({
        "store_id": store_id,
        "lines": foods.iter().map(|(id, _)| serde_json::json!({"food_id": id, "quantity": 1})).collect::<Vec<_>>(),
        "idempotency_key": uuid::Uuid::new_v4().to_string(),
        "card_number": crate::sandbox_pay::APPROVE_CARD,
    })
}

/// Waits until the outbox worker (running in the server, as in production) has caught up, so
/// each measurement starts from an empty queue instead of inheriting the previous one's backlog.
pub async fn drained(db: &Db, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        let pending: i64 = sqlx::query(
            "SELECT COUNT(*) FROM outbox WHERE processed_at IS NULL AND dead_at IS NULL",
        )
        .fetch_one(db.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        if pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the outbox did not drain within {within:?}");
}

/// The `q` quantile (0–1) of sorted `values`, NaN when empty.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}
