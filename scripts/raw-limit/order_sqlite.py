"""One order as Baedal writes it, issued through Python's sqlite3 (SQLite's own C library) on
the same file with the same settings as the app (WAL, synchronous=NORMAL, busy_timeout 5 s,
foreign keys): the same statements as order.pgbench.sql. Threads, one connection each, at
the given concurrency for the given seconds; prints `orders N seconds S`.

    python3 order_sqlite.py DB_PATH CONCURRENCY SECONDS JSON_IDS
"""
import json, random, sqlite3, sys, threading, time

path, concurrency, seconds, ids = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), json.loads(sys.argv[4])
now = lambda: int(time.time() * 1000)
deadline = time.time() + seconds
done = [0] * concurrency


def work(n):
    db = sqlite3.connect(path, isolation_level=None, timeout=5.0, check_same_thread=False)
    for pragma in ("journal_mode = WAL", "busy_timeout = 5000", "synchronous = NORMAL", "foreign_keys = ON"):
        db.execute("PRAGMA " + pragma)
    while time.time() < deadline:
        key = "raw-%d-%d" % (n, random.getrandbits(60))
        cid = random.randint(ids["first_customer"], ids["last_customer"])
        t = now()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO checkouts (customer_id, idempotency_key, request_hash, state, created_at, updated_at, claim_token) "
                   "VALUES (?, ?, 'h', 'in_progress', ?, ?, 't') ON CONFLICT (customer_id, idempotency_key) DO NOTHING", (cid, key, t, t))
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        order_id = db.execute("INSERT INTO orders (customer_id, store_id, status, total_won, district, created_at, updated_at) "
                              "VALUES (?, ?, 'placed', ?, '마포구', ?, ?) RETURNING id", (cid, ids["store"], ids["total"], t, t)).fetchone()[0]
        db.execute("INSERT INTO order_lines (order_id, food_id, name, unit_price_won, quantity) VALUES (?, ?, 'x', ?, 1), (?, ?, 'y', ?, 1)",
                   (order_id, ids["food1"], ids["price1"], order_id, ids["food2"], ids["price2"]))
        db.execute("INSERT INTO payments (order_id, provider, provider_ref, amount_won, status, card_hint, approved_at) "
                   "VALUES (?, 'sandbox', ?, ?, 'approved', '4242-****-****-4242', ?)", (order_id, key, ids["total"], t))
        event_id = db.execute("INSERT INTO outbox (order_id, event_type, payload, created_at, available_at) "
                              "VALUES (?, 'OrderPlaced', '{\"type\":\"OrderPlaced\"}', ?, ?) RETURNING id", (order_id, t, t)).fetchone()[0]
        db.execute("UPDATE checkouts SET state = 'completed', order_id = ?, updated_at = ? WHERE customer_id = ? AND idempotency_key = ?",
                   (order_id, t, cid, key))
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE outbox SET locked_until = ?, locked_by = 'raw', attempts = attempts + 1 WHERE id = ?", (now() + 5000, event_id))
        db.execute("COMMIT")
        t = now()
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE outbox SET processed_at = ?, locked_until = NULL WHERE id = ? AND processed_at IS NULL", (t, event_id))
        db.execute("INSERT INTO order_views (order_id, customer_id, store_id, store_name, items, total_won, status, payment, timeline, last_event_id, updated_at) "
                   "VALUES (?, ?, ?, '마포 즉석떡볶이', 'x 외 1건', ?, 'placed', '결제 완료', '[]', ?, ?)",
                   (order_id, cid, ids["store"], ids["total"], event_id, t))
        db.execute("UPDATE foods SET stock = stock - 1 WHERE id = ? AND stock >= 1", (ids["food1"],))
        db.execute("UPDATE foods SET stock = stock - 1 WHERE id = ? AND stock >= 1", (ids["food2"],))
        db.execute("INSERT INTO store_queue (order_id, store_id, received_at) VALUES (?, ?, ?)", (order_id, ids["store"], t))
        db.execute("INSERT INTO notifications (event_id, channel, user_id, order_id, kind, title, body, state, available_at, created_at, sent_at) "
                   "VALUES (?, 'in_app', ?, ?, 'placed', '결제 완료', 'b', 'sent', 0, 0, 0), (?, 'in_app', ?, ?, 'new_order', '새 주문', 'b', 'sent', 0, 0, 0)",
                   (event_id, cid, order_id, event_id, ids["owner"], order_id))
        db.execute("COMMIT")
        done[n] += 1


started = time.time()
threads = [threading.Thread(target=work, args=(n,)) for n in range(concurrency)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("orders %d seconds %.3f" % (sum(done), time.time() - started))
