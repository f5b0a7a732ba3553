//! Test harness: the real server on an ephemeral port, each test with its own fresh database
//! (a new SQLite file, or a new PostgreSQL database on 127.0.0.1:5432), driven over HTTP.
//!
//! PostgreSQL: `BAEDAL_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! is the admin connection used to create and drop one database per test. When it cannot be
//! reached the PostgreSQL half fails under `CI=true` and is skipped loudly elsewhere.

#![allow(dead_code)]

pub mod alimtalk;
pub mod kakao_local;

use app::backend::db::Engine;
use reqwest::{header, redirect, Client, StatusCode};
use serde_json::Value;
use server::{config::Config, RunningServer};
use sqlx::{AnyConnection, Connection, Row};

pub const DEMO_PASSWORD: &str = "baedal1234";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

enum TestDb {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

pub struct TestApp {
    pub server: RunningServer,
    pub url: String,
    pub database_url: String,
    /// The sandbox payment provider this server charges through (a real HTTP service).
    pub sandbox_url: String,
    /// While true, the sandbox provider answers every call with 503.
    pub sandbox_outage: std::sync::Arc<std::sync::atomic::AtomicBool>,
    settings: Vec<(String, String)>,
    sandbox_stop: Option<tokio::sync::oneshot::Sender<()>>,
    db: TestDb,
}

/// How long the sandbox's slow card takes in tests.
pub const SANDBOX_SLOW: std::time::Duration = std::time::Duration::from_millis(1500);

/// The sandbox provider on an ephemeral port: its URL, its stop switch and its outage switch.
pub async fn start_sandbox() -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let outage = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let config = server::sandbox_pay::SandboxConfig {
        slow: SANDBOX_SLOW,
        latency: std::time::Duration::ZERO,
        outage: outage.clone(),
    };
    tokio::spawn(server::sandbox_pay::serve(listener, config, async {
        let _ = stopped.await;
    }));
    (url, stop, outage)
}

fn postgres_admin_url() -> String {
    std::env::var("BAEDAL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn with_database(admin_url: &str, name: &str) -> String {
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(admin_url);
    format!("{base}/{name}")
}

/// A fresh, empty database for one test, or `None` when PostgreSQL is unavailable outside CI.
async fn fresh_database(backend: Backend) -> Option<(TestDb, String)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("baedal.db").display()
            );
            Some((TestDb::Sqlite(dir), url))
        }
        Backend::Postgres => {
            sqlx::any::install_default_drivers();
            let admin_url = postgres_admin_url();
            let mut admin = match AnyConnection::connect(&admin_url).await {
                Ok(conn) => conn,
                Err(error) => {
                    if std::env::var("CI").as_deref() == Ok("true") {
                        panic!("PostgreSQL unreachable at {admin_url} with CI=true: {error}");
                    }
                    eprintln!(
                        "\n!!!!! SKIPPED (PostgreSQL half): cannot reach {admin_url}: {error}\n"
                    );
                    return None;
                }
            };
            let name = format!("baedal_test_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .expect("create test database");
            let _ = admin.close().await;
            let url = with_database(&admin_url, &name);
            Some((TestDb::Postgres { admin_url, name }, url))
        }
    }
}

/// A fresh database for a test that runs the `baedal` binary itself; dropped by `remove`.
pub struct ScratchDatabase {
    pub url: String,
    db: TestDb,
}

impl ScratchDatabase {
    pub async fn new(backend: Backend) -> Option<ScratchDatabase> {
        let (db, url) = fresh_database(backend).await?;
        Some(ScratchDatabase { url, db })
    }

    pub async fn remove(self) {
        drop_database(self.db).await;
    }
}

async fn drop_database(db: TestDb) {
    if let TestDb::Postgres { admin_url, name } = db {
        let mut admin = AnyConnection::connect(&admin_url)
            .await
            .expect("admin connection");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .expect("drop test database");
    }
}

impl TestApp {
    /// Starts the server on a fresh database (demo data seeded, as on a first start).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, &[]).await
    }

    /// Starts the server with extra settings (environment variable names and values).
    pub async fn spawn_with(backend: Backend, settings: &[(&str, &str)]) -> Option<TestApp> {
        // Server warnings and errors appear in a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .with_test_writer()
            .try_init();
        let (db, database_url) = fresh_database(backend).await?;
        let (sandbox_url, sandbox_stop, sandbox_outage) = start_sandbox().await;
        let settings: Vec<(String, String)> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let server = start(&database_url, &sandbox_url, &settings).await;
        let url = server.url();
        Some(TestApp {
            server,
            url,
            database_url,
            sandbox_url,
            sandbox_outage,
            settings,
            sandbox_stop: Some(sandbox_stop),
            db,
        })
    }

    /// Stops this server and starts another on the same database (a restart).
    pub async fn restart(mut self) -> TestApp {
        self.server.shutdown().await.expect("clean shutdown");
        self.server = start(&self.database_url, &self.sandbox_url, &self.settings).await;
        self.url = self.server.url();
        self
    }

    /// Another server instance on the same database and payment provider (as when several
    /// app instances share one PostgreSQL).
    pub async fn another_instance(&self, settings: &[(&str, &str)]) -> RunningServer {
        let settings: Vec<(String, String)> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        start(&self.database_url, &self.sandbox_url, &settings).await
    }

    /// Waits (up to 20 s) until the outbox worker has processed every pending event.
    pub async fn drained(&self) {
        for _ in 0..1000 {
            let pending: i64 = sqlx::query(
                "SELECT COUNT(*) FROM outbox WHERE processed_at IS NULL AND dead_at IS NULL",
            )
            .fetch_one(self.server.state.db.reader())
            .await
            .expect("count pending events")
            .try_get(0)
            .expect("count is an integer");
            if pending == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the outbox did not drain");
    }

    /// Calls a server function that must answer 200 (else the test fails, naming the call and
    /// the answer); its JSON.
    pub async fn ok(&self, client: &Client, function: &str, form: &[(&str, &str)]) -> Value {
        let (status, body) = self.call(client, function, form).await;
        assert_eq!(status, StatusCode::OK, "{function} {form:?}: {body}");
        body
    }

    /// A client signed in as `email` (a demo account unless said otherwise).
    pub async fn signed_in(&self, email: &str) -> Client {
        let client = self.client();
        self.sign_in(&client, email, DEMO_PASSWORD).await;
        client
    }

    /// (store id, food id) of the first dish of the demo store 마포 즉석떡볶이, read as `client`.
    pub async fn first_food(&self, client: &Client) -> (i64, i64) {
        let (_, stores) = self.call(client, "nearby_stores", &[]).await;
        let store_id = stores
            .as_array()
            .expect("store list")
            .iter()
            .find(|s| s["name"] == "마포 즉석떡볶이")
            .expect("the demo store")["id"]
            .as_i64()
            .expect("store id");
        let (_, menu) = self
            .call(
                client,
                "get_store_menu",
                &[("store_id", &store_id.to_string())],
            )
            .await;
        (store_id, menu["menu"][0]["id"].as_i64().expect("food id"))
    }

    /// Orders one unit of 마포 즉석떡볶이's first food as `customer` and waits until the worker
    /// has handled it; (store id, food id, order id).
    pub async fn order_first_food(&self, customer: &Client) -> (i64, i64, i64) {
        let (store_id, food_id) = self.first_food(customer).await;
        let body = serde_json::json!({
            "store_id": store_id,
            "lines": [{"food_id": food_id, "quantity": 1}],
            "idempotency_key": uuid::Uuid::new_v4().to_string(),
            "card_number": server::sandbox_pay::APPROVE_CARD,
        });
        let (status, order) = self.call_json(customer, "place_order", &body).await;
        assert_eq!(status, StatusCode::OK, "{order}");
        self.drained().await;
        (store_id, food_id, order["id"].as_i64().expect("order id"))
    }

    /// One of `customer`'s orders as the order page reads it (`get_order`), which must answer 200.
    pub async fn order(&self, customer: &Client, order_id: i64) -> Value {
        let (status, order) = self
            .call(
                customer,
                "get_order",
                &[("order_id", &order_id.to_string())],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{order}");
        order
    }

    /// How many of a food can still be cooked, straight from the database.
    pub async fn stock(&self, food_id: i64) -> i64 {
        sqlx::query("SELECT stock FROM foods WHERE id = $1")
            .bind(food_id)
            .fetch_one(self.server.state.db.reader())
            .await
            .expect("food exists")
            .try_get(0)
            .expect("stock is an integer")
    }

    /// Every charge the sandbox provider has recorded (its ledger).
    pub async fn charges(&self) -> Vec<server::sandbox_pay::Charge> {
        reqwest::get(format!("{}/v1/charges", self.sandbox_url))
            .await
            .expect("sandbox answers")
            .json()
            .await
            .expect("ledger JSON")
    }

    /// Calls a JSON server function (like `place_order`).
    pub async fn call_json(
        &self,
        client: &Client,
        function: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let request = client
            .post(format!("{}/api/{function}", self.url))
            .json(body);
        answer(request).await
    }

    pub fn engine(&self) -> Engine {
        self.server.state.db.engine()
    }

    /// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
    pub fn client(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .build()
            .expect("http client")
    }

    /// Calls a server function the way a form post from the page would.
    pub async fn call(
        &self,
        client: &Client,
        function: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let request = client
            .post(format!("{}/api/{function}", self.url))
            .form(form);
        answer(request).await
    }

    /// Signs in as a demo (or any) account on `client` and returns the user JSON.
    pub async fn sign_in(&self, client: &Client, email: &str, password: &str) -> Value {
        let (status, body) = self
            .call(
                client,
                "sign_in",
                &[("email", email), ("password", password)],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "sign in as {email}: {body}");
        body
    }

    /// A page as a browser asks for it: status, `Location` (for redirects) and HTML.
    pub async fn page(&self, client: &Client, path: &str) -> (StatusCode, Option<String>, String) {
        let response = client
            .get(format!("{}{path}", self.url))
            .header(header::ACCEPT, "text/html")
            .send()
            .await
            .expect("request reaches the server");
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        (status, location, response.text().await.expect("body"))
    }

    /// The payment voids queued by checkouts: (attempts, carried out) of each.
    pub async fn payment_voids(&self) -> Vec<(i64, bool)> {
        sqlx::query(
            "SELECT attempts, CASE WHEN processed_at IS NULL THEN 0 ELSE 1 END AS done FROM outbox
             WHERE event_type = 'PaymentVoidRequested' ORDER BY id",
        )
        .fetch_all(self.server.state.db.reader())
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.try_get("attempts").unwrap(),
                row.try_get::<i64, _>("done").unwrap() == 1,
            )
        })
        .collect()
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.server.state.db.reader())
            .await
            .expect("count rows")
            .try_get(0)
            .expect("count is an integer")
    }

    /// Row counts of every table a failed request must leave untouched.
    pub async fn snapshot(&self) -> Vec<(&'static str, i64)> {
        let mut counts = Vec::new();
        for table in ["users", "sessions", "stores", "foods"] {
            counts.push((table, self.count(table).await));
        }
        counts
    }

    pub async fn teardown(mut self) {
        self.server.shutdown().await.expect("clean shutdown");
        if let Some(stop) = self.sandbox_stop.take() {
            let _ = stop.send(());
        }
        drop_database(self.db).await;
    }
}

async fn start(
    database_url: &str,
    sandbox_url: &str,
    settings: &[(String, String)],
) -> RunningServer {
    let config = Config::from_lookup(|name| {
        if let Some((_, value)) = settings.iter().find(|(k, _)| k == name) {
            return Some(value.clone());
        }
        match name {
            "BAEDAL_ADDR" => Some("127.0.0.1:0".into()),
            "DATABASE_URL" => Some(database_url.to_string()),
            "BAEDAL_SITE_ROOT" => Some("../target/site".into()),
            "BAEDAL_SANDBOX_PAY_URL" => Some(sandbox_url.to_string()),
            // Tests sign up, sign in and order by the dozen from 127.0.0.1; the rate limits
            // are proven in security.rs, which sets small ones.
            "BAEDAL_LIMIT_SIGNIN_ACCOUNT"
            | "BAEDAL_LIMIT_SIGNIN_ADDRESS"
            | "BAEDAL_LIMIT_SIGNUP_ADDRESS"
            | "BAEDAL_LIMIT_CHECKOUT_ADDRESS" => Some("off".into()),
            _ => None,
        }
    })
    .expect("test configuration");
    server::start(config).await.expect("server starts")
}

/// Declares each listed `async fn name(backend: Backend)` as two tests, `name::sqlite` and
/// `name::postgres`, so every behaviour is proven on both engines. On a multi-threaded runtime with one
/// worker per core, as in the `baedal` binary.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread")]
                async fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread")]
                async fn postgres() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            }
        )*
    };
}

/// Sends a server-function request; the status and the JSON answer (or the text, if not JSON).
async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .expect("request reaches the server");
    let status = response.status();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// A page's live-update stream (`GET /live`, Server-Sent Events), read as the browser would.
pub struct LiveStream {
    body: LiveBody,
    buffer: String,
}

/// Where a stream's bytes come from: a connection of its own (reqwest, HTTP/1.1), or one stream
/// of a shared HTTP/2 connection.
enum LiveBody {
    Http1(reqwest::Response),
    Http2(hyper::body::Incoming),
}

impl LiveBody {
    /// The next piece of the body; `None` at its end (or on an error, which ends it too).
    async fn chunk(&mut self) -> Option<Vec<u8>> {
        use http_body_util::BodyExt;
        match self {
            LiveBody::Http1(response) => response.chunk().await.ok().flatten().map(|b| b.to_vec()),
            LiveBody::Http2(body) => loop {
                let frame = body.frame().await?.ok()?;
                if let Ok(data) = frame.into_data() {
                    return Some(data.to_vec());
                }
            },
        }
    }
}

/// An HTTP/2 connection to `url` (prior knowledge, as the server accepts on its one port), on
/// which several streams can be opened, as a browser multiplexes its tabs of one site.
pub async fn http2_connection(
    url: &str,
) -> hyper::client::conn::http2::SendRequest<http_body_util::Empty<hyper::body::Bytes>> {
    let address = url.trim_start_matches("http://");
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    let (sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(tcp),
    )
    .await
    .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    sender
}

/// The session token a fresh sign-in as `email` gets (its `Set-Cookie`).
pub async fn session_token(app: &TestApp, email: &str) -> String {
    let response = Client::new()
        .post(format!("{}/api/sign_in", app.url))
        .form(&[("email", email), ("password", DEMO_PASSWORD)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(response.status(), StatusCode::OK, "sign in as {email}");
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(app::backend::sessions::token_from_cookie_header)
        .expect("a session cookie")
        .to_string()
}

impl LiveStream {
    /// Opens the stream as `client` and waits for its first event, `ready`.
    pub async fn open(app: &TestApp, client: &Client) -> LiveStream {
        Self::open_at(&app.url, client).await
    }

    pub async fn open_at(url: &str, client: &Client) -> LiveStream {
        Self::open_path(url, client, "/live").await
    }

    /// Opens `path` (`/live?…`) at `url` as `client`; panics unless it answers 200.
    pub async fn open_path(url: &str, client: &Client, path: &str) -> LiveStream {
        match Self::try_open(url, client, path).await {
            Ok(stream) => stream,
            Err((status, body)) => panic!("GET {path}: {status} {body}"),
        }
    }

    /// Opens `path` at `url` as `client`: the stream (after its `ready`), or the refusal.
    pub async fn try_open(
        url: &str,
        client: &Client,
        path: &str,
    ) -> Result<LiveStream, (StatusCode, Value)> {
        let response = client
            .get(format!("{url}{path}"))
            .header(header::ACCEPT, "text/event-stream")
            .send()
            .await
            .expect("live stream opens");
        if response.status() != StatusCode::OK {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            return Err((
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            ));
        }
        Ok(LiveStream::started(LiveBody::Http1(response)).await)
    }

    /// Opens `/live` with session `token` as one stream of an HTTP/2 `connection`.
    pub async fn open_http2(
        connection: &mut hyper::client::conn::http2::SendRequest<
            http_body_util::Empty<hyper::body::Bytes>,
        >,
        url: &str,
        token: &str,
    ) -> LiveStream {
        let request = hyper::Request::get(format!("{url}/live"))
            .header(header::ACCEPT, "text/event-stream")
            .header(header::COOKIE, format!("baedal_session={token}"))
            .body(http_body_util::Empty::new())
            .expect("a request");
        connection
            .ready()
            .await
            .expect("the connection takes a stream");
        let response = connection
            .send_request(request)
            .await
            .expect("live stream opens");
        assert_eq!(response.status(), StatusCode::OK);
        LiveStream::started(LiveBody::Http2(response.into_body())).await
    }

    async fn started(body: LiveBody) -> LiveStream {
        let mut stream = LiveStream {
            body,
            buffer: String::new(),
        };
        let ready = stream
            .next(std::time::Duration::from_secs(10))
            .await
            .expect("the stream starts with `ready`");
        assert_eq!(ready["kind"], "ready");
        stream
    }

    /// The next event's data (JSON), or `None` if none came `within`.
    pub async fn next(&mut self, within: std::time::Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let data: Vec<&str> = block
                    .lines()
                    .filter_map(|line| line.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some(serde_json::from_str(&data.join("\n")).expect("event data is JSON"));
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.chunk())
                .await
                .ok()??;
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }

    /// Whether the server ended the stream within `within` (events before the end are skipped).
    pub async fn ended(&mut self, within: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.body.chunk()).await {
                Err(_) => return false,  // still open
                Ok(None) => return true, // closed
                Ok(Some(_)) => {}
            }
        }
    }

    /// Waits for an event about `order_id` with `status`, skipping others; panics after 15 s.
    pub async fn expect_order(&mut self, order_id: i64, status: &str) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        let mut seen = Vec::new();
        while let Some(event) = self
            .next(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            if event["kind"] == "order"
                && event["order_id"] == order_id
                && event["status"] == status
            {
                return;
            }
            seen.push(event);
        }
        panic!("no live update for order {order_id} → {status}; saw {seen:?}");
    }
}

/// A TCP proxy in front of PostgreSQL that a test can cut, as when the database server stops
/// hard: every connection through it is dropped at once and new ones are refused until it is
/// restored.
pub struct DbProxy {
    pub addr: std::net::SocketAddr,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cuts: tokio::sync::watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl DbProxy {
    pub async fn start(target: &str) -> DbProxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (cuts, cut_seen) = tokio::sync::watch::channel(0u64);
        let target = target.to_string();
        let accepting = up.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused as far as the app can tell
                }
                let target = target.clone();
                let mut cut = cut_seen.clone();
                cut.borrow_and_update(); // only cuts from now on end this connection
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        DbProxy {
            addr,
            up,
            cuts,
            task,
        }
    }

    /// The database "stops": every open connection is dropped, new ones fail.
    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// The database is back.
    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestApp {
    /// A server on a fresh PostgreSQL database reached through a [`DbProxy`] the test can cut.
    pub async fn spawn_behind_proxy(settings: &[(&str, &str)]) -> Option<(TestApp, DbProxy)> {
        let (db, direct_url) = fresh_database(Backend::Postgres).await?;
        let after_scheme = direct_url.split_once("://").map(|(_, rest)| rest).unwrap();
        let host_and_port = after_scheme
            .rsplit_once('@')
            .map(|(_, host)| host)
            .unwrap_or(after_scheme)
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let proxy = DbProxy::start(&host_and_port).await;
        let database_url = direct_url.replace(&host_and_port, &proxy.addr.to_string());
        let (sandbox_url, sandbox_stop, sandbox_outage) = start_sandbox().await;
        let settings: Vec<(String, String)> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let server = start(&database_url, &sandbox_url, &settings).await;
        let url = server.url();
        Some((
            TestApp {
                server,
                url,
                database_url,
                sandbox_url,
                sandbox_outage,
                settings,
                sandbox_stop: Some(sandbox_stop),
                db,
            },
            proxy,
        ))
    }
}
