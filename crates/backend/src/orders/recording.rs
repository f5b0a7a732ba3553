//! Writing a paid order: its row, lines, payment record, `OrderPlaced` event and the settled
//! checkout claim, all or nothing — one transaction per order, or on SQLite many orders' in one
//! (group commit).
//!
//! Why group commit: SQLite takes one write transaction at a time, and sqlx runs the connection
//! on a thread of its own, so every statement is a round trip that the writer sits through idle
//! while every other write queues behind it. An order on its own is four of them (BEGIN, its
//! insert, the rest as one script, COMMIT), and under load that waiting — not SQLite's work —
//! is what limits the orders per second (docs/benchmarks.md, "The pipeline"). On a busy evening
//! many checkouts come back from the card provider at about the same moment; the [`Recorder`]
//! writes every order waiting at that moment in ONE transaction of four round trips, one
//! multi-row statement per table, so the writer's time per order falls as the load rises.
//!
//! Each order stays all-or-nothing on its own. If a group cannot be written (an order's claim
//! was given up meanwhile, a constraint fails, the disk is full), nothing of it was, and its
//! orders are written again one transaction each, so one order's failure stays its own. Ids are
//! given inside the transaction, counting on from the table's highest: the writer is ours until
//! COMMIT, and another process writing in between makes SQLite refuse our stale snapshot rather
//! than reuse an id.
//!
//! PostgreSQL takes concurrent writers, so there each checkout writes its own transaction
//! ([`write_one`]) and several commit at the same time.

use crate::db::{rows, Batch, Db};
use crate::metrics;
use crate::outbox::{self, Event, PlacedLine};
use domain::{FoodId, OrderId, OrderStatus, StoreId, UserId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// At most this many orders in one transaction, and at most [`MAX_GROUP_LINES`] lines: every
/// value of a group is a bound parameter, and SQLite takes at most 32,766 in one statement
/// (12 per order in the orders' insert, 5 per line in the lines').
const MAX_GROUP: usize = 256;
const MAX_GROUP_LINES: usize = 4_096;

/// A paid order, as checkout priced and charged it, ready to be written.
pub(super) struct NewOrder {
    pub customer_id: UserId,
    pub store_id: StoreId,
    pub total_won: i64,
    pub tip_won: i64,
    pub district: String,
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    pub store_note: Option<String>,
    pub rider_note: Option<String>,
    /// (food, its name, unit price, quantity).
    pub lines: Vec<(FoodId, String, i64, i64)>,
    pub provider: &'static str,
    pub provider_ref: String,
    pub card_hint: String,
    /// The checkout claim this order settles: its key and the token that proves it is ours.
    pub idempotency_key: String,
    pub claim_token: String,
    pub now: i64,
}

impl NewOrder {
    fn placed(&self, order_id: OrderId) -> Event {
        Event::OrderPlaced {
            order_id,
            customer_id: self.customer_id,
            store_id: self.store_id,
            total_won: self.total_won,
            lines: self
                .lines
                .iter()
                .map(|(food_id, _, _, quantity)| PlacedLine {
                    food_id: *food_id,
                    quantity: *quantity,
                })
                .collect(),
        }
    }
}

/// The claim was settled by someone else (given up after too long, or taken over): the order
/// must not exist.
fn claim_lost() -> sqlx::Error {
    sqlx::Error::Protocol("the checkout claim was settled elsewhere".into())
}

/// Where orders are written: the database, and (in test builds) the switch that makes their
/// commit fail.
#[derive(Clone)]
pub(super) struct Target {
    db: Db,
    #[cfg(feature = "fault-injection")]
    faults: Arc<crate::Faults>,
}

impl Target {
    pub(super) fn of(state: &crate::AppState) -> Target {
        Target {
            db: state.db.clone(),
            #[cfg(feature = "fault-injection")]
            faults: state.faults.clone(),
        }
    }

    #[cfg(test)]
    fn of_db(db: Db) -> Target {
        Target {
            db,
            #[cfg(feature = "fault-injection")]
            faults: Arc::default(),
        }
    }

    /// Called just before COMMIT: fails when a test asked the order's commit to fail.
    fn injected_commit_failure(&self) -> Result<(), sqlx::Error> {
        #[cfg(feature = "fault-injection")]
        if self.faults.fail_order_commit() {
            return Err(sqlx::Error::Protocol(
                "injected fault: order commit fails".into(),
            ));
        }
        Ok(())
    }
}

/// One order in a transaction of its own.
pub(super) async fn write_one(target: &Target, order: &NewOrder) -> Result<OrderId, sqlx::Error> {
    let mut tx = target.db.begin().await?;
    let order_id: OrderId = sqlx::query_scalar(
        "INSERT INTO orders (customer_id, store_id, status, total_won, district, created_at, updated_at,
                             store_note, rider_note, delivery_tip_won, delivery_address,
                             delivery_lat, delivery_lng)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(order.customer_id)
    .bind(order.store_id)
    .bind(OrderStatus::Placed)
    .bind(order.total_won)
    .bind(&order.district)
    .bind(order.now)
    .bind(order.store_note.clone())
    .bind(order.rider_note.clone())
    .bind(order.tip_won)
    .bind(&order.address)
    .bind(order.lat)
    .bind(order.lng)
    .fetch_one(&mut *tx)
    .await?;
    // The rest in one round trip on SQLite's single writer (`db::Batch`).
    let mut batch = Batch::new();
    push_after_orders(&mut batch, &[order], &[order_id]);
    if batch.run(&mut tx).await?.len() != 1 {
        return Err(claim_lost());
    }
    target.injected_commit_failure()?;
    tx.commit().await?;
    Ok(order_id)
}

/// Writes the orders given to it on SQLite's writer, all those waiting in one transaction.
/// Cloned with the `AppState`; its task starts with the first order and ends at [`close`].
///
/// [`close`]: Recorder::close
#[derive(Clone, Default)]
pub struct Recorder {
    task: Arc<Mutex<Task>>,
    counts: Arc<Counts>,
}

#[derive(Default)]
enum Task {
    #[default]
    NotStarted,
    Running {
        queue: mpsc::UnboundedSender<Waiting>,
        task: tokio::task::JoinHandle<()>,
    },
    Closed,
}

/// What a recorder has done since it started.
#[derive(Default, Debug)]
pub struct Counts {
    /// Transactions committed.
    pub commits: AtomicU64,
    /// Orders they wrote.
    pub orders: AtomicU64,
    /// Groups that could not be written whole (their orders were then written one by one).
    pub groups_split: AtomicU64,
}

struct Waiting {
    order: NewOrder,
    written: oneshot::Sender<Result<OrderId, sqlx::Error>>,
}

impl Recorder {
    /// Writes `order` with whichever others are waiting; its id once committed. Dropping the
    /// future does not withdraw the order: once handed over it is written (it was paid for).
    /// Without a recorder (closed, or its task gone) the order is written on its own.
    pub(super) async fn record(
        &self,
        target: &Target,
        order: NewOrder,
    ) -> Result<OrderId, sqlx::Error> {
        let queue = {
            let mut task = self.task.lock().expect("recorder lock");
            if matches!(*task, Task::NotStarted) {
                describe_metrics();
                let (queue, waiting) = mpsc::unbounded_channel();
                let handle =
                    tokio::spawn(write_groups(target.clone(), waiting, self.counts.clone()));
                *task = Task::Running {
                    queue,
                    task: handle,
                };
            }
            match &*task {
                Task::Running { queue, .. } => Some(queue.clone()),
                _ => None,
            }
        };
        let (written, answer) = oneshot::channel();
        let waiting = Waiting { order, written };
        let handed_over = match queue {
            Some(queue) => queue.send(waiting),
            None => Err(mpsc::error::SendError(waiting)),
        };
        match handed_over {
            Ok(()) => answer.await.map_err(|_| sqlx::Error::WorkerCrashed)?,
            Err(mpsc::error::SendError(waiting)) => write_one(target, &waiting.order).await,
        }
    }

    /// Writes the orders already handed over, then stops: before the database is closed at
    /// shutdown, so that no paid order is left unwritten in memory.
    pub async fn close(&self) {
        let task = std::mem::replace(&mut *self.task.lock().expect("recorder lock"), Task::Closed);
        if let Task::Running { queue, task } = task {
            drop(queue);
            let _ = task.await;
        }
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }
}

fn describe_metrics() {
    metrics::describe(
        "baedal_order_group_commits_total",
        "counter",
        "Transactions that wrote paid orders on SQLite (group commit).",
    );
    metrics::describe(
        "baedal_orders_group_committed_total",
        "counter",
        "Paid orders those transactions wrote (divided by the commits: the mean group).",
    );
}

impl Counts {
    fn committed(&self, orders: usize) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.orders.fetch_add(orders as u64, Ordering::Relaxed);
        metrics::counter_add("baedal_order_group_commits_total", &[], 1.0);
        metrics::counter_add("baedal_orders_group_committed_total", &[], orders as f64);
    }
}

/// How many of `waiting`, from the first, make one group: at most [`MAX_GROUP_LINES`] lines
/// in all (each line is five bound values of one statement), and at least one order.
fn fitting(waiting: &[Waiting]) -> usize {
    let mut lines = 0;
    let fit = waiting
        .iter()
        .take_while(|w| {
            lines += w.order.lines.len();
            lines <= MAX_GROUP_LINES
        })
        .count();
    fit.max(1)
}

async fn write_groups(
    target: Target,
    mut waiting: mpsc::UnboundedReceiver<Waiting>,
    counts: Arc<Counts>,
) {
    let mut received = Vec::with_capacity(MAX_GROUP);
    while waiting.recv_many(&mut received, MAX_GROUP).await > 0 {
        while !received.is_empty() {
            let group: Vec<Waiting> = received.drain(..fitting(&received)).collect();
            write_and_answer(&target, group, &counts).await;
        }
    }
}

async fn write_and_answer(target: &Target, mut group: Vec<Waiting>, counts: &Counts) {
    let orders: Vec<&NewOrder> = group.iter().map(|w| &w.order).collect();
    match write_caught(target, &orders).await {
        Ok(ids) => {
            counts.committed(ids.len());
            for (order, id) in group.drain(..).zip(ids) {
                let _ = order.written.send(Ok(id));
            }
        }
        Err(error) if group.len() == 1 => {
            let order = group.pop().expect("one order");
            let _ = order.written.send(Err(error));
        }
        Err(error) => {
            counts.groups_split.fetch_add(1, Ordering::Relaxed);
            tracing::info!(%error, orders = group.len(), "a group of orders failed; writing them one by one");
            for order in group {
                let id = write_caught(target, &[&order.order])
                    .await
                    .map(|ids| ids[0]);
                if id.is_ok() {
                    counts.committed(1);
                }
                let _ = order.written.send(id);
            }
        }
    }
}

/// [`write_group`], a panic in it answered as an error: every later checkout depends on this
/// task staying alive.
async fn write_caught(target: &Target, orders: &[&NewOrder]) -> Result<Vec<OrderId>, sqlx::Error> {
    use futures::FutureExt;
    std::panic::AssertUnwindSafe(write_group(target, orders))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(sqlx::Error::WorkerCrashed))
}

/// `orders` in one transaction: one multi-row statement per table. Their ids, in order.
async fn write_group(target: &Target, orders: &[&NewOrder]) -> Result<Vec<OrderId>, sqlx::Error> {
    // IMMEDIATE: the id is read before anything is written, and a transaction holding a read
    // snapshot would not wait for the write lock held by another process (the `worker`
    // process, an operator's command) but fail at once.
    let mut tx = target.db.begin_immediate().await?;
    // AUTOINCREMENT never hands out an id again, also one whose row is gone: count on from
    // the highest ever given.
    let first: i64 = sqlx::query_scalar(
        "SELECT MAX(COALESCE((SELECT MAX(id) FROM orders), 0),
                    COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'orders'), 0)) + 1",
    )
    .fetch_one(&mut *tx)
    .await?;
    let ids: Vec<OrderId> = (0..orders.len() as i64)
        .map(|i| OrderId(first + i))
        .collect();
    let batch = group_statements(orders, &ids);
    let settled = batch.run(&mut tx).await?;
    if settled.len() != orders.len() {
        return Err(claim_lost());
    }
    target.injected_commit_failure()?;
    tx.commit().await?;
    Ok(ids)
}

/// The statements writing `orders` with the ids `ids`; the last returns one row per claim it
/// settled.
fn group_statements(orders: &[&NewOrder], ids: &[OrderId]) -> Batch {
    let mut batch = Batch::new();
    // A group's SQL is made for its numbers of orders and lines: not worth keeping prepared,
    // except for the single orders of a quiet hour.
    batch.keep_prepared(orders.len() == 1);
    let sql = format!(
        "INSERT INTO orders (id, customer_id, store_id, status, total_won, district, created_at,
                             updated_at, store_note, rider_note, delivery_tip_won,
                             delivery_address, delivery_lat, delivery_lng)
         VALUES {}",
        rows(
            "($1, $2, $3, 'placed', $4, $5, $6, $6, $7, $8, $9, $10, $11, $12)",
            orders.len()
        )
    );
    let mut args = Vec::with_capacity(orders.len() * 12);
    for (order, id) in orders.iter().zip(ids) {
        args.extend([
            id.0.into(),
            order.customer_id.0.into(),
            order.store_id.0.into(),
            order.total_won.into(),
            order.district.as_str().into(),
            order.now.into(),
            order.store_note.clone().into(),
            order.rider_note.clone().into(),
            order.tip_won.into(),
            order.address.as_str().into(),
            order.lat.into(),
            order.lng.into(),
        ]);
    }
    batch.push(sql, args);
    push_after_orders(&mut batch, orders, ids);
    batch
}

/// What follows the orders' own rows, for orders already given `ids`: their lines, payments
/// and `OrderPlaced` events, and last the claims settled, one row returned per claim settled.
fn push_after_orders(batch: &mut Batch, orders: &[&NewOrder], ids: &[OrderId]) {
    let lines: usize = orders.iter().map(|o| o.lines.len()).sum();
    let mut args = Vec::with_capacity(lines * 5);
    for (order, id) in orders.iter().zip(ids) {
        for (food_id, name, unit_price, quantity) in &order.lines {
            args.extend([
                id.0.into(),
                food_id.0.into(),
                name.as_str().into(),
                (*unit_price).into(),
                (*quantity).into(),
            ]);
        }
    }
    batch.push(
        format!(
            "INSERT INTO order_lines (order_id, food_id, name, unit_price_won, quantity) VALUES {}",
            rows("($1, $2, $3, $4, $5)", lines)
        ),
        args,
    );

    let mut args = Vec::with_capacity(orders.len() * 6);
    for (order, id) in orders.iter().zip(ids) {
        args.extend([
            id.0.into(),
            order.provider.into(),
            order.provider_ref.as_str().into(),
            order.total_won.into(),
            order.card_hint.as_str().into(),
            order.now.into(),
        ]);
    }
    batch.push(
        format!(
            "INSERT INTO payments (order_id, provider, provider_ref, amount_won, status, card_hint,
                                   approved_at)
             VALUES {}",
            rows("($1, $2, $3, $4, 'approved', $5, $6)", orders.len())
        ),
        args,
    );

    let events: Vec<Event> = orders
        .iter()
        .zip(ids)
        .map(|(order, id)| order.placed(*id))
        .collect();
    let created_at: Vec<i64> = orders.iter().map(|o| o.now).collect();
    outbox::enqueue_many_in(batch, &events, &created_at);

    let mut args = Vec::with_capacity(orders.len() * 5);
    for (order, id) in orders.iter().zip(ids) {
        args.extend([
            id.0.into(),
            order.now.into(),
            order.customer_id.0.into(),
            order.idempotency_key.as_str().into(),
            order.claim_token.as_str().into(),
        ]);
    }
    batch.push(
        format!(
            "UPDATE checkouts SET state = 'completed', order_id = v.column1, updated_at = v.column2
             FROM (VALUES {}) AS v
             WHERE checkouts.customer_id = v.column3 AND checkouts.idempotency_key = v.column4
               AND checkouts.state = 'in_progress' AND checkouts.claim_token = v.column5
             RETURNING order_id",
            rows("($1, $2, $3, $4, $5)", orders.len())
        ),
        args,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    /// A migrated SQLite file with a customer, a store and a food, and in-progress checkout
    /// claims `k1`…`kn` with the tokens `t1`…`tn`.
    async fn database(claims: usize) -> (Db, std::path::PathBuf) {
        let path =
            std::env::temp_dir().join(format!("baedal-recording-{}.db", rand::random::<u64>()));
        let db = Db::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .expect("open");
        db.migrate().await.expect("migrate");
        let mut tx = db.begin().await.unwrap();
        for statement in [
            "INSERT INTO users (id, email, password_hash, display_name, role, created_at)
             VALUES (1, 'c@x.kr', '-', '손님', 'customer', 0), (2, 'o@x.kr', '-', '사장', 'owner', 0)",
            "INSERT INTO stores (id, owner_id, name, district, address, lat, lng, created_at)
             VALUES (1, 2, '가게', '마포구', '서울 마포구 양화로 45', 37.55, 126.92, 0)",
            "INSERT INTO foods (id, store_id, name, price_won, stock, created_at)
             VALUES (1, 1, '떡볶이', 5000, 100, 0), (2, 1, '순대', 4000, 100, 0)",
        ] {
            sqlx::query(statement).execute(&mut *tx).await.unwrap();
        }
        for n in 1..=claims {
            sqlx::query(
                "INSERT INTO checkouts (customer_id, idempotency_key, request_hash, state,
                                        created_at, updated_at, claim_token)
                 VALUES (1, $1, '-', 'in_progress', 0, 0, $2)",
            )
            .bind(format!("k{n}"))
            .bind(format!("t{n}"))
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        (db, path)
    }

    fn order(n: i64, lines: &[(i64, i64)]) -> NewOrder {
        NewOrder {
            customer_id: UserId(1),
            store_id: StoreId(1),
            total_won: 1000 * n,
            tip_won: n,
            district: "마포구".into(),
            address: format!("주소 {n}"),
            lat: 37.5 + n as f64 / 1000.0,
            lng: 126.9,
            store_note: (n % 2 == 0).then(|| format!("메모 {n}")),
            rider_note: None,
            lines: lines
                .iter()
                .map(|(food, quantity)| (FoodId(*food), format!("음식 {food}"), 100, *quantity))
                .collect(),
            provider: "sandbox",
            provider_ref: format!("ref-{n}"),
            card_hint: "4242".into(),
            idempotency_key: format!("k{n}"),
            claim_token: format!("t{n}"),
            now: 1_000 + n,
        }
    }

    /// Every order: (id, total, address, lines as `food x quantity`).
    async fn written(db: &Db) -> Vec<(i64, i64, String, String)> {
        sqlx::query(
            "SELECT o.id, o.total_won, o.delivery_address,
                    (SELECT group_concat(food_id || 'x' || quantity, ',') FROM order_lines l
                     WHERE l.order_id = o.id) AS lines
             FROM orders o ORDER BY o.id",
        )
        .fetch_all(db.reader())
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.get::<i64, _>(0),
                row.get::<i64, _>(1),
                row.get::<String, _>(2),
                row.get::<String, _>(3),
            )
        })
        .collect()
    }

    async fn count(db: &Db, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(db.reader())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn orders_waiting_together_are_written_together_each_whole() {
        let (db, path) = database(4).await;
        let target = Target::of_db(db.clone());
        let recorder = Recorder::default();
        // One task: the three are handed over before the recorder first runs, so they make
        // one group.
        let (a, b, c) = tokio::join!(
            recorder.record(&target, order(1, &[(1, 2), (2, 1)])),
            recorder.record(&target, order(2, &[(2, 3)])),
            recorder.record(&target, order(3, &[(1, 1)])),
        );
        let ids = [a.unwrap().0, b.unwrap().0, c.unwrap().0];
        assert_eq!(ids, [1, 2, 3]);
        let counts = recorder.counts();
        assert_eq!(counts.commits.load(Ordering::Relaxed), 1, "one transaction");
        assert_eq!(counts.orders.load(Ordering::Relaxed), 3);
        assert_eq!(
            written(&db).await,
            vec![
                (1, 1000, "주소 1".into(), "1x2,2x1".into()),
                (2, 2000, "주소 2".into(), "2x3".into()),
                (3, 3000, "주소 3".into(), "1x1".into()),
            ]
        );
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM payments WHERE provider_ref = 'ref-' || order_id AND amount_won = order_id * 1000").await,
            3
        );
        let events: Vec<(i64, String)> = sqlx::query_as(
            "SELECT order_id, payload FROM outbox WHERE event_type = 'OrderPlaced' ORDER BY id",
        )
        .fetch_all(db.reader())
        .await
        .unwrap();
        assert_eq!(events.len(), 3);
        for ((order_id, payload), id) in events.iter().zip(ids) {
            let event: Event = serde_json::from_str(payload).unwrap();
            assert_eq!((*order_id, event.order_id().0), (id, id));
        }
        assert_eq!(
            count(&db, "SELECT COUNT(*) FROM checkouts WHERE state = 'completed' AND order_id = CAST(substr(idempotency_key, 2) AS INTEGER)").await,
            3
        );
        // Ids go on from the highest ever given, also past orders that are gone.
        sqlx::query("UPDATE sqlite_sequence SET seq = 10 WHERE name = 'orders'")
            .execute(db.writer())
            .await
            .unwrap();
        let next = recorder.record(&target, order(4, &[(2, 1)])).await.unwrap();
        assert_eq!(next, OrderId(11));
        db.close().await;
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn an_order_whose_claim_was_lost_fails_alone_and_the_rest_of_its_group_is_written() {
        let (db, path) = database(3).await;
        // The second checkout's claim was given up (its payment is being voided) while it
        // was charging.
        sqlx::query("DELETE FROM checkouts WHERE idempotency_key = 'k2'")
            .execute(db.writer())
            .await
            .unwrap();
        let target = Target::of_db(db.clone());
        let recorder = Recorder::default();
        let (a, b, c) = tokio::join!(
            recorder.record(&target, order(1, &[(1, 1)])),
            recorder.record(&target, order(2, &[(2, 1)])),
            recorder.record(&target, order(3, &[(1, 1)])),
        );
        assert!(a.is_ok() && c.is_ok(), "{a:?} {c:?}");
        let lost = b.expect_err("its claim is gone");
        assert!(lost.to_string().contains("settled elsewhere"), "{lost}");
        let kept: Vec<String> = written(&db).await.into_iter().map(|o| o.2).collect();
        assert_eq!(kept, ["주소 1", "주소 3"]);
        let counts = recorder.counts();
        assert_eq!(counts.groups_split.load(Ordering::Relaxed), 1, "{counts:?}");
        assert_eq!(counts.commits.load(Ordering::Relaxed), 2, "{counts:?}");
        for table in ["order_lines", "payments", "outbox"] {
            assert_eq!(
                count(&db, &format!("SELECT COUNT(*) FROM {table}")).await,
                2,
                "{table}"
            );
        }
        db.close().await;
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test]
    async fn orders_handed_over_are_written_before_the_recorder_closes() {
        let (db, path) = database(3).await;
        let target = Target::of_db(db.clone());
        let recorder = Recorder::default();
        let mut checkouts = Vec::new();
        for n in 1..=3 {
            let (recorder, target) = (recorder.clone(), target.clone());
            // Their requests go away once the order is handed over.
            checkouts.push(tokio::spawn(async move {
                let _ = recorder.record(&target, order(n, &[(1, 1)])).await;
            }));
        }
        // One turn: the three hand their orders over (the test's task runs again before the
        // recorder's, which they started).
        tokio::task::yield_now().await;
        for checkout in checkouts {
            checkout.abort();
        }
        recorder.close().await;
        assert_eq!(count(&db, "SELECT COUNT(*) FROM orders").await, 3);
        // Closed: an order still comes in (a request in flight at shutdown) is written alone.
        let (db2, path2) = database(1).await;
        let id = recorder
            .record(&Target::of_db(db2.clone()), order(1, &[(1, 1)]))
            .await
            .unwrap();
        assert_eq!(id, OrderId(1));
        assert_eq!(
            recorder.counts().commits.load(Ordering::Relaxed),
            1,
            "not by the recorder"
        );
        db.close().await;
        db2.close().await;
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&path2);
    }

    #[test]
    fn a_group_holds_at_most_its_lines_and_at_least_one_order() {
        let waiting = |lines: &[usize]| -> Vec<Waiting> {
            lines
                .iter()
                .map(|&n| Waiting {
                    order: order(1, &vec![(1, 1); n]),
                    written: oneshot::channel().0,
                })
                .collect()
        };
        assert_eq!(fitting(&waiting(&[1, 2, 3])), 3);
        assert_eq!(fitting(&waiting(&[4_000, 96, 1])), 2);
        assert_eq!(fitting(&waiting(&[5_000, 1])), 1);
    }
}
