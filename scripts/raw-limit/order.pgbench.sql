-- One order as Baedal writes it, issued by pgbench (PostgreSQL's own client): the checkout claim,
-- the order transaction (order, two lines, payment, OrderPlaced event, claim completed), the
-- worker's claim of the event, and the OrderPlaced saga's writes (event done, status view, stock
-- of both foods, the store's queue, two in-app notifications). bench-pipeline passes the ids
-- with -D. Reads the app does on the way are left out: this is the floor of the writes.
\set key random(1, 9000000000000000)
\set cid random(:first_customer, :last_customer)
BEGIN;
INSERT INTO checkouts (customer_id, idempotency_key, request_hash, state, created_at, updated_at, claim_token)
  VALUES (:cid, 'raw-' || :key, 'h', 'in_progress', (extract(epoch from clock_timestamp()) * 1000)::bigint, (extract(epoch from clock_timestamp()) * 1000)::bigint, 't')
  ON CONFLICT (customer_id, idempotency_key) DO NOTHING;
COMMIT;
BEGIN;
INSERT INTO orders (customer_id, store_id, status, total_won, district, created_at, updated_at)
  VALUES (:cid, :store, 'placed', :total, '마포구', (extract(epoch from clock_timestamp()) * 1000)::bigint, (extract(epoch from clock_timestamp()) * 1000)::bigint)
  RETURNING id AS order_id \gset
INSERT INTO order_lines (order_id, food_id, name, unit_price_won, quantity)
  VALUES (:order_id, :food1, 'x', :price1, 1), (:order_id, :food2, 'y', :price2, 1);
INSERT INTO payments (order_id, provider, provider_ref, amount_won, status, card_hint, approved_at)
  VALUES (:order_id, 'sandbox', 'raw-' || :key, :total, 'approved', '4242-****-****-4242', (extract(epoch from clock_timestamp()) * 1000)::bigint);
INSERT INTO outbox (order_id, event_type, payload, created_at, available_at)
  VALUES (:order_id, 'OrderPlaced', '{"type":"OrderPlaced"}', (extract(epoch from clock_timestamp()) * 1000)::bigint, (extract(epoch from clock_timestamp()) * 1000)::bigint)
  RETURNING id AS event_id \gset
UPDATE checkouts SET state = 'completed', order_id = :order_id, updated_at = (extract(epoch from clock_timestamp()) * 1000)::bigint
  WHERE customer_id = :cid AND idempotency_key = 'raw-' || :key;
COMMIT;
BEGIN;
UPDATE outbox SET locked_until = (extract(epoch from clock_timestamp()) * 1000)::bigint + 5000, locked_by = 'raw', attempts = attempts + 1
  WHERE id = :event_id;
COMMIT;
BEGIN;
UPDATE outbox SET processed_at = (extract(epoch from clock_timestamp()) * 1000)::bigint, locked_until = NULL
  WHERE id = :event_id AND processed_at IS NULL;
INSERT INTO order_views (order_id, customer_id, store_id, store_name, items, total_won, status, payment, timeline, last_event_id, updated_at)
  VALUES (:order_id, :cid, :store, '마포 즉석떡볶이', 'x 외 1건', :total, 'placed', '결제 완료', '[]', :event_id, (extract(epoch from clock_timestamp()) * 1000)::bigint);
UPDATE foods SET stock = stock - 1 WHERE id = :food1 AND stock >= 1;
UPDATE foods SET stock = stock - 1 WHERE id = :food2 AND stock >= 1;
INSERT INTO store_queue (order_id, store_id, received_at)
  VALUES (:order_id, :store, (extract(epoch from clock_timestamp()) * 1000)::bigint);
INSERT INTO notifications (event_id, channel, user_id, order_id, kind, title, body, state, available_at, created_at, sent_at)
  VALUES (:event_id, 'in_app', :cid, :order_id, 'placed', '결제 완료', 'b', 'sent', 0, 0, 0),
         (:event_id, 'in_app', :owner, :order_id, 'new_order', '새 주문', 'b', 'sent', 0, 0, 0);
COMMIT;
