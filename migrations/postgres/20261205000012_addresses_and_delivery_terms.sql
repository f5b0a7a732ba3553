-- Real addresses and what delivery costs (issue 18).
--
-- Customers and stores have a road-name address (도로명) with a 상세주소, geocoded to the lat/lng
-- columns that already exist (district centres before this). A store sets its delivery terms:
-- 최소주문금액, 배달팁 (a base and an amount per started kilometre beyond the first) and how far it
-- delivers. An order keeps where it goes and the tip it was charged, so the rider's trip and fee
-- and the customer's receipt never change when an address or the terms change later.

ALTER TABLE users ADD COLUMN address TEXT;
ALTER TABLE users ADD COLUMN address_detail TEXT;

ALTER TABLE stores ADD COLUMN address_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE stores ADD COLUMN min_order_won BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stores ADD COLUMN tip_won BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stores ADD COLUMN tip_per_km_won BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stores ADD COLUMN radius_m BIGINT NOT NULL DEFAULT 3000;

ALTER TABLE orders ADD COLUMN delivery_address TEXT;
ALTER TABLE orders ADD COLUMN delivery_lat DOUBLE PRECISION;
ALTER TABLE orders ADD COLUMN delivery_lng DOUBLE PRECISION;
ALTER TABLE orders ADD COLUMN delivery_tip_won BIGINT NOT NULL DEFAULT 0;
