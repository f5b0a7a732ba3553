//! The owner's edits: opening and closing a store, stock (compare-and-set against what the
//! page showed), and dishes.

use super::owned;
use crate::{Db, Error};
use domain::{DeliveryTerms, FoodId, FoodInput, StoreId, UserId};

/// Why a store cannot open (409).
pub const NOTHING_TO_SELL: &str =
    "재고가 있는 메뉴가 없어 영업을 시작할 수 없습니다. 메뉴를 추가하고 재고를 입력해 주세요.";

/// Opens or closes the store: a closed store takes no orders. Opening needs something to sell
/// — a dish shown to customers with stock — else 409 and nothing changes.
pub async fn set_open(
    db: &Db,
    owner_id: UserId,
    store_id: StoreId,
    open: bool,
) -> Result<(), Error> {
    owned(db, owner_id, store_id).await?;
    let mut tx = db.begin().await?;
    let changed = sqlx::query(
        "UPDATE stores SET is_open = $1 WHERE id = $2
           AND ($1 = 0 OR EXISTS (SELECT 1 FROM foods f
                                  WHERE f.store_id = $2 AND f.is_hidden = 0 AND f.stock > 0))",
    )
    .bind(i64::from(open))
    .bind(store_id)
    .execute(&mut *tx)
    .await?;
    if changed.rows_affected() != 1 {
        return Err(Error::Conflict {
            message: NOTHING_TO_SELL.into(),
        });
    }
    tx.commit().await?;
    Ok(())
}

/// Sets how many of a food can still be cooked. With `expected` (what the owner's page showed)
/// the new number is written only if the stock is still that: orders take stock while the
/// owner types, and writing over them would sell what is no longer there. Without it the
/// number is set as given (an API caller's deliberate override).
pub async fn set_stock(
    db: &Db,
    owner_id: UserId,
    food_id: FoodId,
    stock: i64,
    expected: Option<i64>,
) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    let owned = "id = $2 AND store_id IN (SELECT id FROM stores WHERE owner_id = $3)";
    let updated = match expected {
        Some(expected) => {
            sqlx::query(&format!(
                "UPDATE foods SET stock = $1 WHERE {owned} AND stock = $4"
            ))
            .bind(stock)
            .bind(food_id)
            .bind(owner_id)
            .bind(expected)
            .execute(&mut *tx)
            .await?
        }
        None => {
            sqlx::query(&format!("UPDATE foods SET stock = $1 WHERE {owned}"))
                .bind(stock)
                .bind(food_id)
                .bind(owner_id)
                .execute(&mut *tx)
                .await?
        }
    };
    if updated.rows_affected() != 1 {
        let current: Option<i64> = sqlx::query_scalar(
            "SELECT stock FROM foods
             WHERE id = $1 AND store_id IN (SELECT id FROM stores WHERE owner_id = $2)",
        )
        .bind(food_id)
        .bind(owner_id)
        .fetch_optional(&mut *tx)
        .await?;
        return Err(match current {
            Some(current) => Error::Conflict {
                message: format!(
                    "그 사이 주문이 들어와 재고가 {current}개로 바뀌었습니다. 확인하고 다시 저장해 주세요."
                ),
            },
            None => Error::NotFound,
        });
    }
    tx.commit().await?;
    Ok(())
}

/// Adds a dish to one of the owner's stores (`food_id` None) with its first `stock`, or edits
/// one of its dishes (its stock is left alone: it is set with [`set_stock`], against the number
/// the owner saw); returns the dish's id.
pub async fn save_food(
    db: &Db,
    owner_id: UserId,
    store_id: StoreId,
    food_id: Option<FoodId>,
    food: &FoodInput,
    stock: i64,
) -> Result<FoodId, Error> {
    owned(db, owner_id, store_id).await?;
    let mut tx = db.begin().await?;
    let id = match food_id {
        None => sqlx::query_scalar(
            "INSERT INTO foods (store_id, name, description, price_won, stock, is_hidden, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(store_id)
        .bind(&food.name)
        .bind(&food.description)
        .bind(food.price.0)
        .bind(stock)
        .bind(i64::from(food.hidden))
        .bind(crate::now_ms())
        .fetch_one(&mut *tx)
        .await?,
        Some(id) => {
            let updated = sqlx::query(
                "UPDATE foods SET name = $1, description = $2, price_won = $3, is_hidden = $4
                 WHERE id = $5 AND store_id = $6",
            )
            .bind(&food.name)
            .bind(&food.description)
            .bind(food.price.0)
            .bind(i64::from(food.hidden))
            .bind(id)
            .bind(store_id)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Err(Error::NotFound);
            }
            id
        }
    };
    tx.commit().await?;
    Ok(id)
}

/// Sets the store's delivery terms (최소주문금액, 배달팁, radius). Orders already placed keep
/// the tip they were charged; the next checkout prices with these.
pub async fn save_terms(
    db: &Db,
    owner_id: UserId,
    store_id: StoreId,
    terms: DeliveryTerms,
) -> Result<(), Error> {
    owned(db, owner_id, store_id).await?;
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE stores SET min_order_won = $1, tip_won = $2, tip_per_km_won = $3, radius_m = $4
         WHERE id = $5",
    )
    .bind(terms.min_order)
    .bind(terms.tip)
    .bind(terms.tip_per_km)
    .bind(terms.radius_m)
    .bind(store_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
