//! 재주문: an earlier order's dishes again, at today's prices and within today's stock. Pure, so
//! every change the customer is told of (a new price, a sold-out or withdrawn dish, less left
//! than before, a closed store) is unit-tested here; the server reads the order and the menu,
//! and the page shows the plan before anything goes in the cart.

use super::{josa, FoodId, OrderDetail, StoreId, StoreMenu, Won};
use serde::{Deserialize, Serialize};

/// One dish to order again, as it is sold today.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReorderLine {
    pub food_id: FoodId,
    pub name: String,
    pub unit_price: Won,
    pub quantity: i64,
}

/// What ordering `before` again gives today, and what changed since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReorderPlan {
    pub store_id: StoreId,
    pub store_name: String,
    pub store_open: bool,
    pub lines: Vec<ReorderLine>,
    /// In the customer's words, one per change; empty when everything is as it was.
    pub changes: Vec<String>,
}

impl ReorderPlan {
    pub fn total(&self) -> Won {
        Won(self.lines.iter().map(|l| l.unit_price.0 * l.quantity).sum())
    }
}

/// `before`'s lines against the store's menu `now` (visible dishes with their stock).
pub fn plan_reorder(before: &OrderDetail, now: &StoreMenu) -> ReorderPlan {
    let mut lines = Vec::new();
    let mut changes = Vec::new();
    if !now.is_open {
        changes.push(format!(
            "{}{} 지금 주문을 받지 않습니다.",
            now.name,
            josa(&now.name, "은", "는")
        ));
    }
    for line in &before.lines {
        let name = &line.name;
        let Some(dish) = now.menu.iter().find(|d| d.id == line.food_id) else {
            changes.push(format!(
                "{name}{} 더 이상 판매하지 않습니다.",
                josa(name, "은", "는")
            ));
            continue;
        };
        if dish.stock == 0 {
            changes.push(format!("{name}{} 품절되었습니다.", josa(name, "은", "는")));
            continue;
        }
        let quantity = line.quantity.min(dish.stock);
        if quantity < line.quantity {
            changes.push(format!(
                "{name}{} {}개만 남아 {quantity}개만 담습니다.",
                josa(name, "은", "는"),
                dish.stock
            ));
        }
        if dish.price != line.unit_price {
            changes.push(format!(
                "{name} 가격이 {}에서 {}(으)로 바뀌었습니다.",
                line.unit_price, dish.price
            ));
        }
        lines.push(ReorderLine {
            food_id: dish.id,
            name: dish.name.clone(),
            unit_price: dish.price,
            quantity,
        });
    }
    ReorderPlan {
        store_id: now.id,
        store_name: now.name.clone(),
        store_open: now.is_open,
        lines,
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MenuItem, OrderId, OrderLineView, OrderStatus, PaymentView};

    fn line(id: i64, name: &str, price: i64, quantity: i64) -> OrderLineView {
        OrderLineView {
            food_id: FoodId(id),
            name: name.into(),
            unit_price: Won(price),
            quantity,
            subtotal: Won(price * quantity),
        }
    }

    fn dish(id: i64, name: &str, price: i64, stock: i64) -> MenuItem {
        MenuItem {
            id: FoodId(id),
            name: name.into(),
            description: String::new(),
            price: Won(price),
            stock,
            is_hidden: false,
        }
    }

    fn order(lines: Vec<OrderLineView>) -> OrderDetail {
        OrderDetail {
            id: OrderId(7),
            store_id: StoreId(1),
            store_name: "마포 즉석떡볶이".into(),
            status: OrderStatus::Completed,
            lines,
            total: Won(0),
            delivery_tip: Won(0),
            delivery_address: None,
            payment: PaymentView {
                provider: "sandbox".into(),
                card_hint: String::new(),
                status_label: String::new(),
            },
            created_at_ms: 0,
            timeline: Vec::new(),
            note: None,
            rider_name: None,
            store_note: None,
            rider_note: None,
            eta_ms: None,
        }
    }

    fn menu(open: bool, menu: Vec<MenuItem>) -> StoreMenu {
        StoreMenu {
            id: StoreId(1),
            name: "마포 즉석떡볶이".into(),
            district: "마포구".into(),
            address: String::new(),
            is_open: open,
            menu,
            terms: crate::DeliveryTerms::default(),
            delivery: None,
        }
    }

    #[test]
    fn the_same_dishes_at_the_same_prices_change_nothing() {
        let plan = plan_reorder(
            &order(vec![line(1, "떡볶이", 14_000, 2)]),
            &menu(true, vec![dish(1, "떡볶이", 14_000, 10)]),
        );
        assert!(plan.changes.is_empty());
        assert_eq!(plan.lines.len(), 1);
        assert_eq!(plan.total(), Won(28_000));
    }

    #[test]
    fn new_prices_sold_out_withdrawn_and_scarce_dishes_are_each_told() {
        let plan = plan_reorder(
            &order(vec![
                line(1, "떡볶이", 14_000, 2),
                line(2, "튀김", 6_000, 1),
                line(3, "순대", 5_000, 1),
                line(4, "김밥", 4_000, 3),
            ]),
            &menu(
                false,
                vec![
                    dish(1, "떡볶이", 15_000, 10),
                    dish(2, "튀김", 6_000, 0),
                    dish(4, "김밥", 4_000, 2),
                ],
            ),
        );
        assert_eq!(
            plan.changes,
            vec![
                "마포 즉석떡볶이는 지금 주문을 받지 않습니다.",
                "떡볶이 가격이 14,000원에서 15,000원(으)로 바뀌었습니다.",
                "튀김은 품절되었습니다.",
                "순대는 더 이상 판매하지 않습니다.",
                "김밥은 2개만 남아 2개만 담습니다.",
            ]
        );
        let kept: Vec<(i64, i64, i64)> = plan
            .lines
            .iter()
            .map(|l| (l.food_id.get(), l.unit_price.0, l.quantity))
            .collect();
        assert_eq!(kept, vec![(1, 15_000, 2), (4, 4_000, 2)]);
        assert_eq!(plan.total(), Won(38_000));
        assert!(!plan.store_open);
    }
}
