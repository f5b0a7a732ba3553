//! The bad-input catalog, on both engines: hundreds of wrong requests against every server
//! function — wrong types, missing and extra arguments, boundaries and overflow, control
//! characters and NUL, invalid UTF-8, oversized bodies, wrong body types, cross-site origins,
//! every role against every function, other people's ids. Each case asserts its status, the
//! field its error names (400 and 422), and that a checksum of every business table (each row
//! of each table but `sessions`) is unchanged after it. The cases are tables, made by loops.

mod common;

use common::{Backend, TestApp, DEMO_PASSWORD};
use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};
use sqlx::{Column, Row};
use std::collections::BTreeMap;

on_both_backends!(bad_input_changes_nothing);

/// Every table whose rows a refused request must leave as they were (all but `sessions`,
/// which sign-in writes and whose `last_seen_at` records use).
const BUSINESS_TABLES: &[&str] = &[
    "users",
    "stores",
    "foods",
    "app_meta",
    "orders",
    "order_lines",
    "payments",
    "checkouts",
    "outbox",
    "store_queue",
    "order_views",
    "notifications",
];

/// Row count and a hash of every row (every column, whatever its type) of each business table.
async fn checksum(app: &TestApp) -> Vec<(&'static str, usize, u64)> {
    use std::hash::{Hash, Hasher};
    let mut sums = Vec::new();
    for table in BUSINESS_TABLES {
        let rows = sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(app.server.state.db.reader())
            .await
            .unwrap_or_else(|e| panic!("read {table}: {e}"));
        let mut lines: Vec<String> = rows
            .iter()
            .map(|row| {
                (0..row.columns().len())
                    .map(|i| {
                        let name = row.columns()[i].name().to_string();
                        let value = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                            format!("{v:?}")
                        } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                            format!("{v:?}")
                        } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                            format!("{v:?}")
                        } else if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
                            format!("{v:?}")
                        } else {
                            panic!("{table}.{name}: a column of a type the checksum cannot read")
                        };
                        format!("{name}={value}")
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        lines.sort();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        lines.hash(&mut hasher);
        sums.push((*table, lines.len(), hasher.finish()));
    }
    sums
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Anonymous,
    /// A well-formed session cookie no session has.
    Forged,
    Customer,
    Customer2,
    Owner,
    Owner2,
    Rider,
    Rider2,
}

#[derive(Debug, Clone)]
enum Body {
    /// `application/x-www-form-urlencoded`, sent byte for byte.
    Form(Vec<u8>),
    Json(String),
    /// Any bytes with any `Content-Type` (`None`: no such header).
    Raw(Option<&'static str>, Vec<u8>),
}

#[derive(Debug, Clone)]
struct Case {
    category: &'static str,
    who: Who,
    function: &'static str,
    body: Body,
    headers: Vec<(&'static str, String)>,
    status: u16,
    /// The field the error must name (400 and 422).
    field: Option<String>,
}

fn form(body: impl Into<String>) -> Body {
    Body::Form(body.into().into_bytes())
}

/// Percent-encodes a form value (everything but unreserved ASCII).
fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A form body from pairs whose values are encoded here.
fn pairs(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The ids the cases aim at.
struct Fixture {
    /// The owner's store, one of its foods, and the owner2's store.
    store: i64,
    food: i64,
    store2: i64,
    food2: i64,
    /// A second dish of the owner's store.
    dish2: i64,
    /// The customer's order, just placed (owner's store).
    order: i64,
    /// Another order of the customer, cooked and claimed by the rider.
    claimed: i64,
}

/// Which role each protected function needs (`None`: any signed-in person).
const PROTECTED: &[(&str, Option<Who>)] = &[
    ("set_delivery_address", Some(Who::Customer)),
    ("reorder", Some(Who::Customer)),
    ("checkout_options", Some(Who::Customer)),
    ("place_order", Some(Who::Customer)),
    ("my_orders", Some(Who::Customer)),
    ("get_order", Some(Who::Customer)),
    ("cancel_order", Some(Who::Customer)),
    ("confirm_delivery", Some(Who::Customer)),
    ("kakao_settings", Some(Who::Customer)),
    ("save_kakao_settings", Some(Who::Customer)),
    ("my_stores", Some(Who::Owner)),
    ("store_orders", Some(Who::Owner)),
    ("order_action", Some(Who::Owner)),
    ("set_store_open", Some(Who::Owner)),
    ("set_food_stock", Some(Who::Owner)),
    ("owner_board", Some(Who::Owner)),
    ("save_food", Some(Who::Owner)),
    ("save_delivery_terms", Some(Who::Owner)),
    ("get_store_dashboard", Some(Who::Owner)),
    ("rider_profile", Some(Who::Rider)),
    ("rider_board", Some(Who::Rider)),
    ("rider_action", Some(Who::Rider)),
    ("my_notifications", None),
    ("unread_notifications", None),
    ("mark_notifications_read", None),
];

/// The functions open to anyone: the account's doors, and browsing the stores (a visitor
/// looks around before signing in).
const PUBLIC: &[&str] = &[
    "sign_up",
    "sign_in",
    "sign_out",
    "who_am_i",
    "nearby_stores",
    "get_store_menu",
];

fn checkout_json(f: &Fixture) -> Value {
    json!({
        "store_id": f.store,
        "lines": [{"food_id": f.food, "quantity": 1}],
        "idempotency_key": "0b7e7c1e-4c8e-4a57-9a53-5f0c0c0c0c0c",
        "card_number": server::sandbox_pay::APPROVE_CARD,
    })
}

/// A body each function would accept from its own role (so a refusal is about the one thing
/// the case gets wrong), and that role.
fn valid(function: &str, f: &Fixture) -> (Who, Body) {
    let (s, fd, o, c) = (f.store, f.food, f.order, f.claimed);
    match function {
        "sign_up" => (
            Who::Anonymous,
            form(pairs(&[
                ("role", "customer"),
                ("email", "new-customer@example.com"),
                ("password", "correct horse"),
                ("display_name", "새 손님"),
                ("address", "서울 마포구 양화로 45"),
            ])),
        ),
        "sign_in" => (
            Who::Anonymous,
            form(pairs(&[
                ("email", "customer@baedal.kr"),
                ("password", DEMO_PASSWORD),
            ])),
        ),
        "sign_out" | "who_am_i" => (Who::Customer, form("")),
        "set_delivery_address" => (
            Who::Customer,
            form(pairs(&[("address", "서울 강남구 테헤란로 152")])),
        ),
        "nearby_stores" => (Who::Anonymous, form(pairs(&[("area", "송파구")]))),
        "get_store_menu" => (Who::Anonymous, form(format!("store_id={s}"))),
        "place_order" => (Who::Customer, Body::Json(checkout_json(f).to_string())),
        "get_order" | "reorder" | "cancel_order" | "confirm_delivery" => {
            (Who::Customer, form(format!("order_id={o}")))
        }
        "save_kakao_settings" => (Who::Customer, form("phone=010-1234-5678&enabled=true")),
        "store_orders" | "get_store_dashboard" => (Who::Owner, form(format!("store_id={s}"))),
        "order_action" => (
            Who::Owner,
            form(format!("order_id={o}&action=accept&cook_minutes=20")),
        ),
        "set_store_open" => (Who::Owner, form(format!("store_id={s}&open=false"))),
        "set_food_stock" => (Who::Owner, form(format!("food_id={fd}&stock=5"))),
        "save_food" => (
            Who::Owner,
            form(format!("store_id={s}&name=abc&price=1000")),
        ),
        "save_delivery_terms" => (
            Who::Owner,
            form(format!(
                "store_id={s}&min_order=0&tip=0&tip_per_km=0&radius_km=5"
            )),
        ),
        "rider_action" => (Who::Rider, form(format!("order_id={c}&action=pick_up"))),
        "mark_notifications_read" => (Who::Customer, form(format!("up_to_id={}", i64::MAX))),
        _ => {
            let who = PROTECTED
                .iter()
                .find(|(name, _)| *name == function)
                .and_then(|(_, who)| *who)
                .unwrap_or(Who::Customer);
            (who, form(""))
        }
    }
}

fn all_functions() -> Vec<&'static str> {
    PUBLIC
        .iter()
        .copied()
        .chain(PROTECTED.iter().map(|(name, _)| *name))
        .collect()
}

/// The numeric and true/false arguments of each form function, with the rest of a valid call
/// (`{}` marks where the argument goes).
fn typed_arguments(f: &Fixture) -> Vec<(Who, &'static str, &'static str, bool, String)> {
    let (s, fd, o, c) = (f.store, f.food, f.order, f.claimed);
    vec![
        (
            Who::Anonymous,
            "get_store_menu",
            "store_id",
            false,
            "store_id={}".into(),
        ),
        (
            Who::Customer,
            "get_order",
            "order_id",
            false,
            "order_id={}".into(),
        ),
        (
            Who::Customer,
            "reorder",
            "order_id",
            false,
            "order_id={}".into(),
        ),
        (
            Who::Customer,
            "cancel_order",
            "order_id",
            false,
            "order_id={}".into(),
        ),
        (
            Who::Customer,
            "confirm_delivery",
            "order_id",
            false,
            "order_id={}".into(),
        ),
        (
            Who::Customer,
            "save_kakao_settings",
            "enabled",
            true,
            "phone=&enabled={}".into(),
        ),
        (
            Who::Customer,
            "mark_notifications_read",
            "up_to_id",
            false,
            "up_to_id={}".into(),
        ),
        (
            Who::Rider,
            "rider_action",
            "order_id",
            false,
            "order_id={}&action=pick_up".into(),
        ),
        (
            Who::Owner,
            "store_orders",
            "store_id",
            false,
            "store_id={}".into(),
        ),
        (
            Who::Owner,
            "order_action",
            "order_id",
            false,
            "order_id={}&action=accept&cook_minutes=20".into(),
        ),
        (
            Who::Owner,
            "set_store_open",
            "store_id",
            false,
            "store_id={}&open=false".into(),
        ),
        (
            Who::Owner,
            "set_store_open",
            "open",
            true,
            format!("store_id={s}&open={{}}"),
        ),
        (
            Who::Owner,
            "set_food_stock",
            "food_id",
            false,
            "food_id={}&stock=5".into(),
        ),
        (
            Who::Owner,
            "save_food",
            "store_id",
            false,
            "store_id={}&name=abc&price=1000".into(),
        ),
        (
            Who::Owner,
            "save_food",
            "food_id",
            false,
            format!("store_id={s}&food_id={{}}&name=abc&price=1000"),
        ),
        (
            Who::Owner,
            "save_food",
            "hidden",
            true,
            format!("store_id={s}&name=abc&price=1000&hidden={{}}"),
        ),
        (
            Who::Owner,
            "get_store_dashboard",
            "store_id",
            false,
            "store_id={}".into(),
        ),
        (
            Who::Owner,
            "save_delivery_terms",
            "store_id",
            false,
            "store_id={}&min_order=0&tip=0&tip_per_km=0&radius_km=5".into(),
        ),
        (
            Who::Rider,
            "rider_action",
            "order_id",
            false,
            format!("order_id={{}}&action=deliver&x={c}{fd}{o}"),
        ),
    ]
}

fn case(
    category: &'static str,
    who: Who,
    function: &'static str,
    body: Body,
    status: u16,
    field: Option<&str>,
) -> Case {
    Case {
        category,
        who,
        function,
        body,
        headers: Vec::new(),
        status,
        field: field.map(str::to_string),
    }
}

fn catalog(f: &Fixture) -> Vec<Case> {
    let mut cases = Vec::new();
    macro_rules! add {
        ($category:expr, $who:expr, $function:expr, $body:expr, $status:expr, $field:expr $(,)?) => {
            cases.push(case($category, $who, $function, $body, $status, $field))
        };
    }

    // Wrong types: 400 naming the argument.
    let not_integers = [
        "abc", "1.5", "", "0x10", "1e3", " 1", "+-1", "NaN", "true", "%FF", "1%00", "١٢",
    ];
    let not_booleans = ["yes", "2", "TRUE", "", "1.0", "%00", "null"];
    for (who, function, argument, boolean, template) in typed_arguments(f) {
        let values: &[&str] = if boolean {
            &not_booleans
        } else {
            &not_integers
        };
        for value in values {
            let body = template.replace("{}", value);
            add!("wrong type", who, function, form(body), 400, Some(argument));
        }
    }
    // Overflow: 400 naming the argument; boundaries that decode: not found (no such id).
    for (who, function, argument, boolean, template) in typed_arguments(f) {
        if boolean {
            continue;
        }
        for value in [
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999999",
        ] {
            let body = template.replace("{}", value);
            add!("overflow", who, function, form(body), 400, Some(argument));
        }
    }
    let max = i64::MAX.to_string();
    let min = i64::MIN.to_string();
    for id in [max.as_str(), min.as_str(), "0", "-1"] {
        for (who, function, body) in [
            (Who::Anonymous, "get_store_menu", format!("store_id={id}")),
            (Who::Customer, "get_order", format!("order_id={id}")),
            (Who::Customer, "reorder", format!("order_id={id}")),
            (Who::Customer, "cancel_order", format!("order_id={id}")),
            (Who::Customer, "confirm_delivery", format!("order_id={id}")),
            (Who::Owner, "store_orders", format!("store_id={id}")),
            (
                Who::Owner,
                "order_action",
                format!("order_id={id}&action=accept&cook_minutes=20"),
            ),
            (
                Who::Owner,
                "set_store_open",
                format!("store_id={id}&open=false"),
            ),
            (
                Who::Owner,
                "set_food_stock",
                format!("food_id={id}&stock=5"),
            ),
            (Who::Owner, "get_store_dashboard", format!("store_id={id}")),
            (
                Who::Owner,
                "save_food",
                format!("store_id={id}&name=abc&price=1000"),
            ),
            (
                Who::Rider,
                "rider_action",
                format!("order_id={id}&action=claim"),
            ),
        ] {
            add!("boundary id", who, function, form(body), 404, None);
        }
    }
    let fd = f.food;
    for stock in ["-1", "100001", max.as_str(), min.as_str(), "abc", "1.5", ""] {
        let body = format!("food_id={fd}&stock={}", enc(stock));
        add!(
            "boundary value",
            Who::Owner,
            "set_food_stock",
            form(body),
            422,
            Some("stock"),
        );
    }
    for expected in ["-1", "100001", "x"] {
        let body = format!("food_id={fd}&stock=5&expected={expected}");
        add!(
            "boundary value",
            Who::Owner,
            "set_food_stock",
            form(body),
            422,
            Some("expected"),
        );
    }
    // The cooking time an acceptance promises: whole minutes, 10 to 60, and not left out.
    let o = f.order;
    for minutes in [
        "0",
        "9",
        "61",
        "-20",
        "20.5",
        "abc",
        "",
        max.as_str(),
        "1e1",
    ] {
        let body = format!("order_id={o}&action=accept&cook_minutes={}", enc(minutes));
        add!(
            "boundary value",
            Who::Owner,
            "order_action",
            form(body),
            422,
            Some("cook_minutes"),
        );
    }
    add!(
        "boundary value",
        Who::Owner,
        "order_action",
        form(format!("order_id={o}&action=accept")),
        422,
        Some("cook_minutes"),
    );
    let s = f.store;
    for price in ["0", "-5", "1000001", max.as_str(), "", "1.5", "abc"] {
        let body = format!("store_id={s}&name=abc&price={}", enc(price));
        add!(
            "boundary value",
            Who::Owner,
            "save_food",
            form(body),
            422,
            Some("price"),
        );
    }
    for (field, terms) in [
        ("min_order", "min_order=-1&tip=0&tip_per_km=0&radius_km=5"),
        (
            "min_order",
            "min_order=100001&tip=0&tip_per_km=0&radius_km=5",
        ),
        ("min_order", "min_order=1.5&tip=0&tip_per_km=0&radius_km=5"),
        ("min_order", "tip=0&tip_per_km=0&radius_km=5"),
        ("tip", "min_order=0&tip=20001&tip_per_km=0&radius_km=5"),
        ("tip", "min_order=0&tip=abc&tip_per_km=0&radius_km=5"),
        (
            "tip_per_km",
            "min_order=0&tip=0&tip_per_km=5001&radius_km=5",
        ),
        ("radius_km", "min_order=0&tip=0&tip_per_km=0&radius_km=0.4"),
        ("radius_km", "min_order=0&tip=0&tip_per_km=0&radius_km=10.1"),
        ("radius_km", "min_order=0&tip=0&tip_per_km=0&radius_km=NaN"),
        ("radius_km", "min_order=0&tip=0&tip_per_km=0&radius_km=inf"),
        ("radius_km", "min_order=0&tip=0&tip_per_km=0"),
    ] {
        add!(
            "boundary value",
            Who::Owner,
            "save_delivery_terms",
            form(format!("store_id={s}&{terms}")),
            422,
            Some(field),
        );
    }
    for (field, address) in [
        ("address", String::new()),
        ("address", enc(&"가".repeat(121))),
        ("address", enc("부산 해운대구 해운대로 1")),
        ("address", enc("올림픽로 300")),
    ] {
        add!(
            "boundary value",
            Who::Customer,
            "set_delivery_address",
            form(format!("address={address}")),
            422,
            Some(field),
        );
    }
    add!(
        "boundary value",
        Who::Customer,
        "set_delivery_address",
        form(format!(
            "address={}&address_detail={}",
            enc("서울 송파구 올림픽로 300"),
            enc(&"나".repeat(61))
        )),
        422,
        Some("address_detail"),
    );
    let long_name = "가".repeat(41);
    let huge = "x".repeat(30_000);
    for (field, body) in [
        ("name", format!("store_id={s}&price=1000&name=")),
        (
            "name",
            format!("store_id={s}&price=1000&name={}", enc(&long_name)),
        ),
        ("name", format!("store_id={s}&price=1000&name={huge}")),
        (
            "description",
            format!("store_id={s}&price=1000&name=abc&description={huge}"),
        ),
    ] {
        add!(
            "boundary value",
            Who::Owner,
            "save_food",
            form(body),
            422,
            Some(field),
        );
    }
    for (field, quantity) in [
        ("lines[0].quantity", json!(0)),
        ("lines[0].quantity", json!(-1)),
        ("lines[0].quantity", json!(100)),
        ("lines[0].quantity", json!(i64::MAX)),
        ("lines[0].quantity", json!(1.5)),
        ("lines[0].quantity", json!("1")),
        ("lines[0].quantity", json!(null)),
        ("lines[0].quantity", json!(1e300)),
    ] {
        let mut body = checkout_json(f);
        body["lines"][0]["quantity"] = quantity;
        add!(
            "boundary value",
            Who::Customer,
            "place_order",
            Body::Json(body.to_string()),
            422,
            Some(field),
        );
    }
    for (field, key, value) in [
        ("store_id", "store_id", json!("1")),
        ("store_id", "store_id", json!(1.5)),
        ("store_id", "store_id", json!(null)),
        ("lines", "lines", json!([])),
        ("lines", "lines", json!("x")),
        (
            "lines",
            "lines",
            json!((0..51)
                .map(|i| json!({"food_id": i + 1, "quantity": 1}))
                .collect::<Vec<_>>()),
        ),
        ("idempotency_key", "idempotency_key", json!("")),
        ("idempotency_key", "idempotency_key", json!(huge.clone())),
        ("card_number", "card_number", json!("1234")),
        ("card_number", "card_number", json!(4242)),
    ] {
        let mut body = checkout_json(f);
        body[key] = value;
        add!(
            "boundary value",
            Who::Customer,
            "place_order",
            Body::Json(body.to_string()),
            422,
            Some(field),
        );
    }
    let mut twice = checkout_json(f);
    twice["lines"] =
        json!([{"food_id": f.food, "quantity": 1}, {"food_id": f.food, "quantity": 1}]);
    add!(
        "boundary value",
        Who::Customer,
        "place_order",
        Body::Json(twice.to_string()),
        422,
        Some("lines[1].food_id"),
    );
    for quantity in [0, 100] {
        let mut body = checkout_json(f);
        body["lines"] =
            json!([{"food_id": f.food, "quantity": 1}, {"food_id": f.dish2, "quantity": quantity}]);
        add!(
            "boundary value",
            Who::Customer,
            "place_order",
            Body::Json(body.to_string()),
            422,
            Some("lines[1].quantity"),
        );
    }
    // JSON that is not an object of arguments, or not JSON.
    for body in [
        "{not json",
        "",
        "[]",
        "\"x\"",
        "null",
        "{\"store_id\":1,",
        "\u{feff}{}",
    ] {
        add!(
            "wrong type",
            Who::Customer,
            "place_order",
            Body::Json(body.into()),
            400,
            None,
        );
    }

    // Missing arguments: 400 naming the one missing.
    let (s, fd, o, c) = (f.store, f.food, f.order, f.claimed);
    let missing: Vec<(Who, &str, &str, String)> = vec![
        (
            Who::Anonymous,
            "sign_in",
            "email",
            pairs(&[("password", DEMO_PASSWORD)]),
        ),
        (
            Who::Anonymous,
            "sign_in",
            "password",
            pairs(&[("email", "customer@baedal.kr")]),
        ),
        (
            Who::Anonymous,
            "sign_up",
            "role",
            pairs(&[
                ("email", "m@example.com"),
                ("password", "correct horse"),
                ("display_name", "손님"),
            ]),
        ),
        (
            Who::Anonymous,
            "sign_up",
            "email",
            pairs(&[
                ("role", "customer"),
                ("password", "correct horse"),
                ("display_name", "손님"),
            ]),
        ),
        (
            Who::Anonymous,
            "sign_up",
            "password",
            pairs(&[
                ("role", "customer"),
                ("email", "m@example.com"),
                ("display_name", "손님"),
            ]),
        ),
        (
            Who::Anonymous,
            "sign_up",
            "display_name",
            pairs(&[
                ("role", "customer"),
                ("email", "m@example.com"),
                ("password", "correct horse"),
            ]),
        ),
        (
            Who::Customer,
            "set_delivery_address",
            "address",
            String::new(),
        ),
        (Who::Anonymous, "get_store_menu", "store_id", String::new()),
        (Who::Customer, "get_order", "order_id", String::new()),
        (Who::Customer, "reorder", "order_id", String::new()),
        (Who::Customer, "cancel_order", "order_id", "reason=x".into()),
        (Who::Customer, "confirm_delivery", "order_id", String::new()),
        (
            Who::Rider,
            "rider_action",
            "order_id",
            "action=claim".into(),
        ),
        (
            Who::Rider,
            "rider_action",
            "action",
            format!("order_id={c}"),
        ),
        (Who::Owner, "store_orders", "store_id", String::new()),
        (
            Who::Owner,
            "order_action",
            "order_id",
            "action=accept&cook_minutes=20".into(),
        ),
        (
            Who::Owner,
            "order_action",
            "action",
            format!("order_id={o}"),
        ),
        (
            Who::Owner,
            "set_store_open",
            "store_id",
            "open=false".into(),
        ),
        (
            Who::Owner,
            "set_store_open",
            "open",
            format!("store_id={s}"),
        ),
        (Who::Owner, "set_food_stock", "food_id", "stock=5".into()),
        (
            Who::Owner,
            "set_food_stock",
            "stock",
            format!("food_id={fd}"),
        ),
        (
            Who::Owner,
            "save_food",
            "store_id",
            "name=abc&price=1000".into(),
        ),
        (
            Who::Owner,
            "save_food",
            "name",
            format!("store_id={s}&price=1000"),
        ),
        (
            Who::Owner,
            "save_food",
            "price",
            format!("store_id={s}&name=abc"),
        ),
        (Who::Owner, "get_store_dashboard", "store_id", String::new()),
        (
            Who::Customer,
            "mark_notifications_read",
            "up_to_id",
            String::new(),
        ),
        (
            Who::Owner,
            "set_store_open",
            "store_id",
            format!("store_id_={s}&open=false"),
        ),
        (
            Who::Owner,
            "set_store_open",
            "store_id",
            format!("Store_Id={s}&open=false"),
        ),
    ];
    for (who, function, field, body) in missing {
        add!(
            "missing argument",
            who,
            function,
            form(body),
            400,
            Some(field),
        );
    }

    // Extra and repeated arguments: ignored by reads, never a way in; with a missing one, the
    // missing one is named.
    for (who, function) in [
        (Who::Customer, "who_am_i"),
        (Who::Customer, "my_orders"),
        (Who::Customer, "nearby_stores"),
        (Who::Owner, "my_stores"),
        (Who::Owner, "owner_board"),
        (Who::Rider, "rider_profile"),
        (Who::Customer, "unread_notifications"),
    ] {
        let body = "role=owner&user_id=1&is_admin=true&__proto__=x&a[b][c][d][e][f][g]=1";
        add!("extra argument", who, function, form(body), 200, None);
    }
    for (who, function, field, body) in [
        (
            Who::Owner,
            "set_store_open",
            "open",
            format!("store_id={s}&owner_id=1&is_open=0"),
        ),
        (
            Who::Owner,
            "set_food_stock",
            "stock",
            format!("food_id={fd}&store_id={s}&price=1"),
        ),
        (
            Who::Customer,
            "get_order",
            "order_id",
            format!("customer_id=1&id={o}"),
        ),
        (
            Who::Rider,
            "rider_action",
            "action",
            format!("order_id={c}&rider_id=1"),
        ),
    ] {
        add!(
            "extra argument",
            who,
            function,
            form(body),
            400,
            Some(field),
        );
    }
    for (who, function, field, body) in [
        (
            Who::Owner,
            "set_store_open",
            "store_id",
            format!("store_id={s}&store_id={}&open=false", f.store2),
        ),
        (
            Who::Owner,
            "set_food_stock",
            "food_id",
            format!("food_id={fd}&food_id={}&stock=5", f.food2),
        ),
        (
            Who::Customer,
            "get_order",
            "order_id",
            format!("order_id[]={o}"),
        ),
        (
            Who::Owner,
            "set_store_open",
            "store_id",
            format!("store_id[x]={s}&open=false"),
        ),
    ] {
        add!(
            "repeated argument",
            who,
            function,
            form(body),
            400,
            Some(field),
        );
    }
    add!(
        "extra argument",
        Who::Anonymous,
        "nearby_stores",
        form(format!(
            "area={}&role=customer&district=x&user_id=1",
            enc("송파구")
        )),
        200,
        None,
    );
    // The delivery area a visitor browses from: a Seoul 구 or nothing (then the remembered
    // one, and without one the visitor is asked to choose): 422 naming `area` otherwise.
    for area in [
        "",
        "%20",
        "%ED%95%B4%EC%9A%B4%EB%8C%80%EA%B5%AC",
        "Seoul",
        "1",
    ] {
        add!(
            "boundary value",
            Who::Anonymous,
            "nearby_stores",
            form(format!("area={area}")),
            422,
            Some("area"),
        );
    }
    add!(
        "repeated argument",
        Who::Anonymous,
        "nearby_stores",
        form(format!("area={0}&area={0}", enc("송파구"))),
        400,
        Some("area"),
    );
    add!(
        "wrong type",
        Who::Anonymous,
        "nearby_stores",
        form(format!("area[x]={}", enc("송파구"))),
        400,
        Some("area"),
    );
    let mut extra = checkout_json(f);
    extra["total"] = json!(1);
    extra["lines"] = json!([{"food_id": f.food, "quantity": 0, "price": 1}]);
    add!(
        "extra argument",
        Who::Customer,
        "place_order",
        Body::Json(extra.to_string()),
        422,
        Some("lines[0].quantity"),
    );

    // Control characters, NUL and invalid UTF-8 in free text: 422 naming the field.
    let bad_text = [
        "a%00b",
        "%00",
        "a%01",
        "a%07",
        "a%08b",
        "a%0Bb",
        "a%0Cb",
        "a%0Db",
        "a%1B%5B31m",
        "a%7F",
        "a%C2%80",
        "a%C2%9F",
        "%FF%FE",
        "a%C3%28",
        "%ED%A0%80",
        "%F4%90%80%80",
        "%C0%AF",
    ];
    for value in bad_text {
        add!(
            "control or invalid UTF-8",
            Who::Owner,
            "save_food",
            form(format!("store_id={s}&price=1000&name={value}")),
            422,
            Some("name"),
        );
        add!(
            "control or invalid UTF-8",
            Who::Owner,
            "save_food",
            form(format!(
                "store_id={s}&price=1000&name=abc&description={value}"
            )),
            422,
            Some("description"),
        );
        add!("control or invalid UTF-8", Who::Anonymous, "sign_up", form(format!("role=customer&email=ctl%40example.com&password=correct+horse&address=%EC%84%9C%EC%9A%B8+%EB%A7%88%ED%8F%AC%EA%B5%AC+%EC%96%91%ED%99%94%EB%A1%9C+45&display_name={value}")), 422, Some("display_name"));
    }
    for value in ["a%00", "%FF", "a%0Ab", "a%1Bb"] {
        add!("control or invalid UTF-8", Who::Anonymous, "sign_up", form(format!("role=owner&email=own%40example.com&password=correct+horse&display_name=abc&store_name=abc&store_address={value}")), 422, Some("store_address"));
        add!("control or invalid UTF-8", Who::Anonymous, "sign_up", form(format!("role=owner&email=own%40example.com&password=correct+horse&display_name=abc&store_address=abc&store_name={value}")), 422, Some("store_name"));
        add!(
            "control or invalid UTF-8",
            Who::Customer,
            "set_delivery_address",
            form(format!("address={value}")),
            422,
            Some("address"),
        );
        add!(
            "control or invalid UTF-8",
            Who::Customer,
            "set_delivery_address",
            form(format!(
                "address={}&address_detail=1{value}",
                enc("서울 송파구 올림픽로 300")
            )),
            422,
            Some("address_detail"),
        );
        add!(
            "control or invalid UTF-8",
            Who::Anonymous,
            "nearby_stores",
            form(format!("area=%EC%86%A1%ED%8C%8C%EA%B5%AC{value}")),
            422,
            Some("area"),
        );
        add!(
            "control or invalid UTF-8",
            Who::Customer,
            "save_kakao_settings",
            form(format!("enabled=true&phone=010{value}")),
            422,
            Some("phone"),
        );
        add!(
            "control or invalid UTF-8",
            Who::Owner,
            "order_action",
            form(format!("order_id={o}&action=reject&reason={value}")),
            422,
            Some("reason"),
        );
        add!(
            "control or invalid UTF-8",
            Who::Owner,
            "order_action",
            form(format!("order_id={o}&action=accept{value}&cook_minutes=20")),
            422,
            Some("action"),
        );
        add!(
            "control or invalid UTF-8",
            Who::Owner,
            "order_action",
            form(format!("order_id={o}&action=accept&cook_minutes=20{value}")),
            422,
            Some("cook_minutes"),
        );
        add!(
            "control or invalid UTF-8",
            Who::Anonymous,
            "sign_in",
            form(format!("password=x&email=a{value}%40example.com")),
            422,
            Some("email"),
        );
    }
    // Raw bytes that are not UTF-8 at all (no percent-encoding): the pair is named.
    for (who, function, field, body) in [
        (
            Who::Owner,
            "save_food",
            "name",
            [
                format!("store_id={s}&price=1000&name=").into_bytes(),
                vec![0xff, 0xfe],
            ]
            .concat(),
        ),
        (
            Who::Owner,
            "save_food",
            "description",
            [
                format!("store_id={s}&price=1000&name=abc&description=").into_bytes(),
                vec![0xc3, 0x28],
            ]
            .concat(),
        ),
        (
            Who::Anonymous,
            "sign_in",
            "email",
            [b"email=".to_vec(), vec![0x80], b"&password=x".to_vec()].concat(),
        ),
        (
            Who::Customer,
            "set_delivery_address",
            "address",
            [b"address=".to_vec(), vec![0xed, 0xa0, 0x80]].concat(),
        ),
        (
            Who::Anonymous,
            "nearby_stores",
            "area",
            [b"area=".to_vec(), vec![0xff, 0xfe]].concat(),
        ),
    ] {
        add!(
            "control or invalid UTF-8",
            who,
            function,
            Body::Form(body),
            400,
            Some(field),
        );
    }
    let mut json_text = checkout_json(f);
    json_text["card_number"] = json!("4242\u{0}4242");
    add!(
        "control or invalid UTF-8",
        Who::Customer,
        "place_order",
        Body::Json(json_text.to_string()),
        422,
        Some("card_number"),
    );
    let mut json_key = checkout_json(f);
    json_key["idempotency_key"] = json!("key\u{1b}[31m");
    add!(
        "control or invalid UTF-8",
        Who::Customer,
        "place_order",
        Body::Json(json_key.to_string()),
        422,
        Some("idempotency_key"),
    );

    // The notes at checkout (요청사항): optional text of at most 100 characters, no control
    // characters; anything else is 422 naming the note.
    for (category, key, value) in [
        ("wrong type", "store_note", json!(1)),
        ("wrong type", "rider_note", json!(true)),
        ("wrong type", "store_note", json!(["덜 맵게"])),
        ("wrong type", "rider_note", json!({"text": "문 앞"})),
        ("boundary value", "store_note", json!("맵".repeat(101))),
        ("boundary value", "rider_note", json!("a".repeat(101))),
        (
            "control or invalid UTF-8",
            "store_note",
            json!("덜\u{0}맵게"),
        ),
        (
            "control or invalid UTF-8",
            "rider_note",
            json!("벨\u{1b}[31m"),
        ),
        (
            "control or invalid UTF-8",
            "store_note",
            json!("가\u{FFFD}나"),
        ),
        ("control or invalid UTF-8", "rider_note", json!("문\n앞")),
    ] {
        let mut body = checkout_json(f);
        body[key] = value;
        add!(
            category,
            Who::Customer,
            "place_order",
            Body::Json(body.to_string()),
            422,
            Some(key),
        );
    }

    // Every function: too large a body (413), the wrong body type (415), cross-site (403).
    for function in all_functions() {
        let (who, body) = valid(function, f);
        let (declared, other) = match &body {
            Body::Json(_) => ("application/json", "application/x-www-form-urlencoded"),
            _ => ("application/x-www-form-urlencoded", "application/json"),
        };
        let bytes = match &body {
            Body::Json(text) => text.clone().into_bytes(),
            Body::Form(bytes) | Body::Raw(_, bytes) => bytes.clone(),
        };
        let mut padded = bytes.clone();
        padded.extend(std::iter::repeat_n(b' ', 70 * 1024));
        add!(
            "oversized body",
            who,
            function,
            Body::Raw(Some(declared), padded),
            413,
            None,
        );
        for content_type in [
            Some("text/plain"),
            Some(other),
            Some("multipart/form-data; boundary=x"),
            None,
        ] {
            let mut body = bytes.clone();
            if body.is_empty() {
                body = b"x=1".to_vec();
            }
            add!(
                "wrong content type",
                who,
                function,
                Body::Raw(content_type, body),
                415,
                None,
            );
        }
        for headers in [
            vec![("origin", "https://evil.example".to_string())],
            vec![("sec-fetch-site", "cross-site".to_string())],
            vec![("origin", "null".to_string())],
        ] {
            cases.push(Case {
                category: "cross-site",
                who,
                function,
                body: body.clone(),
                headers,
                status: 403,
                field: None,
            });
        }
    }

    // Every role against every protected function (401 signed out or forged, 403 wrong role).
    let roles = [
        Who::Anonymous,
        Who::Forged,
        Who::Customer,
        Who::Owner,
        Who::Rider,
    ];
    for (function, needs) in PROTECTED {
        let (_, body) = valid(function, f);
        for who in roles {
            let status = match (who, needs) {
                (Who::Anonymous | Who::Forged, _) => 401,
                (_, None) => continue,
                (who, Some(needed)) if who == *needed => continue,
                _ => 403,
            };
            cases.push(Case {
                category: "role",
                who,
                function,
                body: body.clone(),
                headers: Vec::new(),
                status,
                field: None,
            });
        }
    }
    let wrong_password = pairs(&[
        ("email", "customer@baedal.kr"),
        ("password", "wrong password"),
    ]);
    cases.push(Case {
        category: "role",
        who: Who::Anonymous,
        function: "sign_in",
        body: form(wrong_password),
        headers: Vec::new(),
        status: 401,
        field: None,
    });

    // Other people's things: 404, exactly as if they did not exist.
    let (s, fd, o, c) = (f.store, f.food, f.order, f.claimed);
    let others: Vec<(Who, &str, String)> = vec![
        (Who::Customer2, "get_order", format!("order_id={o}")),
        (Who::Customer2, "reorder", format!("order_id={o}")),
        (Who::Customer2, "cancel_order", format!("order_id={o}")),
        (Who::Customer2, "confirm_delivery", format!("order_id={o}")),
        (Who::Customer2, "get_order", format!("order_id={c}")),
        (Who::Customer2, "cancel_order", format!("order_id={c}")),
        (Who::Customer2, "confirm_delivery", format!("order_id={c}")),
        (Who::Owner2, "store_orders", format!("store_id={s}")),
        (Who::Owner2, "get_store_dashboard", format!("store_id={s}")),
        (
            Who::Owner2,
            "set_store_open",
            format!("store_id={s}&open=false"),
        ),
        (
            Who::Owner2,
            "set_food_stock",
            format!("food_id={fd}&stock=0"),
        ),
        (
            Who::Owner2,
            "save_food",
            format!("store_id={s}&name=abc&price=1000"),
        ),
        (
            Who::Owner2,
            "save_food",
            format!("store_id={}&food_id={fd}&name=abc&price=1000", f.store2),
        ),
        (
            Who::Owner2,
            "order_action",
            format!("order_id={o}&action=accept&cook_minutes=20"),
        ),
        (
            Who::Owner2,
            "order_action",
            format!(
                "order_id={o}&action=reject&reason={}",
                enc(app::domain::REJECT_REASONS[0])
            ),
        ),
        (
            Who::Owner2,
            "order_action",
            format!("order_id={c}&action=start_cooking"),
        ),
        (
            Who::Owner2,
            "order_action",
            format!("order_id={c}&action=finish_cooking"),
        ),
        (
            Who::Owner,
            "set_food_stock",
            format!("food_id={}&stock=0", f.food2),
        ),
        (
            Who::Owner,
            "set_store_open",
            format!("store_id={}&open=false", f.store2),
        ),
        (Who::Owner, "store_orders", format!("store_id={}", f.store2)),
        (
            Who::Owner,
            "save_food",
            format!("store_id={s}&food_id={}&name=abc&price=1000", f.food2),
        ),
        (
            Who::Rider2,
            "rider_action",
            format!("order_id={c}&action=pick_up"),
        ),
        (
            Who::Rider2,
            "rider_action",
            format!("order_id={c}&action=deliver"),
        ),
    ];
    for (who, function, body) in others {
        // Another rider's delivery is refused as not theirs (403, as in riders.rs): riders
        // see cooked orders on their board, so its existence is no secret.
        let status = if who == Who::Rider2 { 403 } else { 404 };
        add!(
            "other people's ids",
            who,
            function,
            form(body),
            status,
            None
        );
    }
    cases
}

async fn send(app: &TestApp, clients: &BTreeMap<Who, Client>, case: &Case) -> (StatusCode, Value) {
    let client = &clients[&case.who];
    let mut request = client
        .post(format!("{}/api/{}", app.url, case.function))
        .header(header::ACCEPT, "application/json");
    request = match &case.body {
        Body::Form(bytes) => request
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(bytes.clone()),
        Body::Json(text) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(text.clone()),
        Body::Raw(content_type, bytes) => {
            if let Some(content_type) = content_type {
                request = request.header(header::CONTENT_TYPE, *content_type);
            }
            request.body(bytes.clone())
        }
    };
    if case.who == Who::Forged {
        request = request.header(
            header::COOKIE,
            format!("baedal_session={}", "ab".repeat(32)),
        );
    }
    for (name, value) in &case.headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("request reaches the server");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn names_field(body: &Value, field: &str) -> bool {
    body["fields"]
        .as_array()
        .is_some_and(|fields| fields.iter().any(|f| f["field"] == field))
}

async fn bad_input_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let mut clients = BTreeMap::new();
    clients.insert(Who::Anonymous, app.client());
    clients.insert(Who::Forged, app.client());
    for (who, email) in [
        (Who::Customer, "customer@baedal.kr"),
        (Who::Customer2, "customer2@baedal.kr"),
        (Who::Owner, "owner@baedal.kr"),
        (Who::Owner2, "owner2@baedal.kr"),
        (Who::Rider, "rider@baedal.kr"),
        (Who::Rider2, "rider2@baedal.kr"),
    ] {
        clients.insert(who, app.signed_in(email).await);
    }
    // The things the cases aim at: an order just placed, another cooked and claimed by the
    // rider, the owners' stores and foods.
    let (store, food, order) = app.order_first_food(&clients[&Who::Customer]).await;
    let (_, _, claimed) = app.order_first_food(&clients[&Who::Customer]).await;
    let owner = &clients[&Who::Owner];
    for action in ["accept", "start_cooking", "finish_cooking"] {
        let (status, body) = app
            .call(
                owner,
                "order_action",
                &[
                    ("order_id", &claimed.to_string()),
                    ("action", action),
                    ("cook_minutes", "20"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }
    let (status, body) = app
        .call(
            &clients[&Who::Rider],
            "rider_action",
            &[("order_id", &claimed.to_string()), ("action", "claim")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "claim: {body}");
    let (_, stores2) = app.call(&clients[&Who::Owner2], "my_stores", &[]).await;
    let store2 = stores2[0]["id"].as_i64().expect("owner2's store");
    let food2 = stores2[0]["menu"][0]["id"]
        .as_i64()
        .or_else(|| stores2[0]["foods"][0]["id"].as_i64())
        .unwrap_or_else(|| panic!("owner2's food: {stores2}"));
    let (_, menu) = app
        .call(
            &clients[&Who::Customer],
            "get_store_menu",
            &[("store_id", &store.to_string())],
        )
        .await;
    let other_food = menu["menu"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_i64())
        .find(|id| *id != food)
        .expect("a second dish");
    app.drained().await;
    let fixture = Fixture {
        store,
        food,
        store2,
        food2,
        dish2: other_food,
        order,
        claimed,
    };

    let cases = catalog(&fixture);
    let mut before = checksum(&app).await;
    let mut failures = Vec::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        *counts.entry(case.category).or_default() += 1;
        let (status, body) = send(&app, &clients, case).await;
        let shown = || {
            let body = body.to_string();
            let body: String = body.chars().take(300).collect();
            format!(
                "#{i} [{}] {:?} {} → {status} {body}",
                case.category, case.who, case.function
            )
        };
        if status.as_u16() != case.status {
            failures.push(format!("{}: expected {}", shown(), case.status));
        } else if let Some(field) = &case.field {
            if !names_field(&body, field) {
                failures.push(format!("{}: expected the field {field}", shown()));
            }
        } else if (400..500).contains(&case.status)
            && case.status != 413
            && !body["error"].is_string()
        {
            failures.push(format!("{}: expected an error as JSON", shown()));
        }
        let after = checksum(&app).await;
        if after != before {
            let changed: Vec<_> = before
                .iter()
                .zip(&after)
                .filter(|(a, b)| a != b)
                .map(|(a, _)| a.0)
                .collect();
            failures.push(format!("{}: changed {changed:?}", shown()));
            before = after;
        }
    }
    // Everyone is still signed in: no bad request ended a session.
    for (who, client) in &clients {
        if matches!(who, Who::Anonymous | Who::Forged) {
            continue;
        }
        let (_, me) = app.call(client, "who_am_i", &[]).await;
        assert!(me["email"].is_string(), "{who:?} was signed out");
    }
    let total = cases.len();
    eprintln!("bad-input catalog ({backend:?}): {total} cases");
    for (category, count) in &counts {
        eprintln!("  {category:<26} {count}");
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total >= 300, "only {total} cases");
    // Every server function is in the catalog.
    for function in all_functions() {
        assert!(cases.iter().any(|c| c.function == function), "{function}");
    }
    assert_eq!(all_functions().len(), app::api::ARGUMENTS.len());
    app.teardown().await;
}
