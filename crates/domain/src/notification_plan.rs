//! Who hears what of an order event: `plan` is pure (the same event and facts always plan the
//! same messages), so every status's wording, recipients and 알림톡 template are unit-tested
//! here without a database.
//!
//! Nobody is told of their own action: a customer who cancels or taps 배송확인 sees the result
//! on the page they tapped, so only the others concerned hear of it (the owner of a cancelled
//! order). The refund that follows a cancel is money, and is told (환불 완료).

use crate::events::Event;
use crate::{OrderId, UserId, Won};
use std::collections::BTreeMap;

/// What one event says to one person.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub user_id: UserId,
    pub kind: &'static str,
    pub title: String,
    pub body: String,
    /// The 알림톡 template and its variables, for customers.
    pub kakao: Option<Template>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub code: &'static str,
    pub params: BTreeMap<&'static str, String>,
}

/// What `plan` needs to know about the order besides the event.
#[derive(Debug, Clone)]
pub struct OrderFacts {
    pub order_id: OrderId,
    pub customer_id: UserId,
    pub owner_id: UserId,
    pub store_name: String,
    pub total: Won,
    pub items: String,
    pub district: String,
    /// The order reached the store's queue (stock taken): the owner has it on the board.
    pub queued: bool,
    /// Riders near the customer, told of a new delivery when the food is cooked.
    pub nearby_riders: Vec<UserId>,
    /// The cooking time the owner promised when accepting, in minutes.
    pub cook_minutes: Option<i64>,
}

/// Who hears what of `event`. Pure: the same event and facts always plan the same messages.
pub fn plan(event: &Event, facts: &OrderFacts) -> Vec<Planned> {
    let id = facts.order_id;
    let store = facts.store_name.as_str();
    let base = |extra: &[(&'static str, String)]| {
        let mut params =
            BTreeMap::from([("주문번호", id.to_string()), ("가게명", store.to_string())]);
        params.extend(extra.iter().cloned());
        params
    };
    let customer = |kind, title: &str, body: String, code, params| Planned {
        user_id: facts.customer_id,
        kind,
        title: title.to_string(),
        body,
        kakao: Some(Template { code, params }),
    };
    let owner = |kind, title: String, body: String| Planned {
        user_id: facts.owner_id,
        kind,
        title,
        body,
        kakao: None,
    };
    let mut planned = Vec::new();
    match event {
        Event::OrderPlaced { .. } => {
            planned.push(customer(
                "order_placed",
                "주문 접수",
                format!(
                    "{store}의 #{id} 주문이 접수되었습니다. 결제 금액 {}",
                    facts.total
                ),
                "BD_ORDER_PLACED",
                base(&[("결제금액", facts.total.to_string())]),
            ));
            if facts.queued {
                planned.push(owner(
                    "new_order",
                    format!("새 주문 #{id}"),
                    format!(
                        "{} · {} · 배달지 {}",
                        facts.items, facts.total, facts.district
                    ),
                ));
            }
        }
        Event::OrderAccepted { .. } => planned.push(customer(
            "order_accepted",
            "주문 수락",
            match facts.cook_minutes {
                Some(minutes) => format!(
                    "{store}에서 #{id} 주문을 수락했습니다. 예상 조리 시간은 {minutes}분입니다."
                ),
                None => format!("{store}에서 #{id} 주문을 수락했습니다."),
            },
            "BD_ORDER_ACCEPTED",
            base(&[]),
        )),
        Event::OrderRejected { reason, .. } => planned.push(customer(
            "order_rejected",
            "주문 거절",
            format!("{store}에서 #{id} 주문을 받지 못했습니다: {reason} 결제는 환불됩니다."),
            "BD_ORDER_REJECTED",
            base(&[("사유", reason.clone())]),
        )),
        Event::CookingStarted { .. } => planned.push(customer(
            "cooking_started",
            "요리 중",
            format!("{store}에서 #{id} 주문의 요리를 시작했습니다."),
            "BD_COOKING_STARTED",
            base(&[]),
        )),
        Event::CookingFinished { .. } => {
            planned.push(customer(
                "cooking_finished",
                "요리 완료",
                format!("#{id} 주문의 요리가 끝났습니다. 곧 라이더가 픽업합니다."),
                "BD_COOKING_FINISHED",
                base(&[]),
            ));
            for rider in &facts.nearby_riders {
                planned.push(Planned {
                    user_id: *rider,
                    kind: "delivery_nearby",
                    title: "새 배달".into(),
                    body: format!("{store} → {} · 주문 #{id}", facts.district),
                    kakao: None,
                });
            }
        }
        Event::RiderAssigned { rider_name, .. } => planned.push(customer(
            "rider_assigned",
            "라이더 배정",
            format!("{rider_name} 라이더가 #{id} 주문을 배달합니다."),
            "BD_RIDER_ASSIGNED",
            base(&[("라이더", rider_name.clone())]),
        )),
        Event::OrderPickedUp { .. } => planned.push(customer(
            "picked_up",
            "배달 중",
            format!("라이더가 {store}에서 #{id} 주문을 픽업해 배달 중입니다."),
            "BD_PICKED_UP",
            base(&[]),
        )),
        Event::OrderDelivered { .. } => planned.push(customer(
            "delivered",
            "배달 완료",
            format!("#{id} 주문이 도착했습니다. 받으셨다면 배송확인을 눌러 주세요."),
            "BD_DELIVERED",
            base(&[]),
        )),
        // The customer's own 배송확인 tells them nothing; the system's, after a while, does.
        Event::OrderCompleted { by_customer, .. } => {
            if !by_customer {
                planned.push(customer(
                    "completed",
                    "배송 확인 완료",
                    format!("#{id} 주문이 완료되었습니다. 이용해 주셔서 감사합니다."),
                    "BD_COMPLETED",
                    base(&[]),
                ));
            }
        }
        // Only the customer cancels (before cooking): the owner hears of it, the customer of
        // the refund (`RefundRequested`).
        Event::OrderCancelled { .. } => {
            if facts.queued {
                planned.push(owner(
                    "order_cancelled",
                    format!("주문 취소 #{id}"),
                    format!("고객이 주문을 취소했습니다: {}", facts.items),
                ));
            }
        }
        // No order, so nobody to tell: the customer was answered at checkout.
        Event::PaymentVoidRequested { .. } => {}
        Event::RefundRequested { .. } => planned.push(customer(
            "refunded",
            "환불 완료",
            format!("#{id} 주문의 결제 금액 {}이 환불되었습니다.", facts.total),
            "BD_REFUNDED",
            base(&[("환불금액", facts.total.to_string())]),
        )),
    }
    planned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreId;

    fn facts() -> OrderFacts {
        OrderFacts {
            order_id: OrderId(42),
            customer_id: UserId(1),
            owner_id: UserId(2),
            store_name: "마포 즉석떡볶이".into(),
            total: Won(20_000),
            items: "모둠튀김 외 1건".into(),
            district: "마포구".into(),
            queued: true,
            nearby_riders: vec![UserId(7), UserId(8)],
            cook_minutes: Some(20),
        }
    }

    #[test]
    fn the_acceptance_tells_the_promised_cooking_time() {
        let accepted = Event::OrderAccepted {
            order_id: OrderId(42),
        };
        assert_eq!(
            plan(&accepted, &facts())[0].body,
            "마포 즉석떡볶이에서 #42 주문을 수락했습니다. 예상 조리 시간은 20분입니다."
        );
        let unpromised = OrderFacts {
            cook_minutes: None,
            ..facts()
        };
        assert_eq!(
            plan(&accepted, &unpromised)[0].body,
            "마포 즉석떡볶이에서 #42 주문을 수락했습니다."
        );
    }

    fn params(pairs: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn every_status_has_its_template_with_the_right_variables() {
        let common = [("주문번호", "42"), ("가게명", "마포 즉석떡볶이")];
        let with = |extra: &[(&'static str, &str)]| {
            let mut all = common.to_vec();
            all.extend_from_slice(extra);
            params(&all)
        };
        let cases: Vec<(Event, &str, BTreeMap<&'static str, String>)> = vec![
            (
                Event::OrderPlaced {
                    order_id: OrderId(42),
                    customer_id: UserId(1),
                    store_id: StoreId(3),
                    total_won: 20_000,
                    lines: vec![],
                },
                "BD_ORDER_PLACED",
                with(&[("결제금액", "20,000원")]),
            ),
            (
                Event::OrderAccepted {
                    order_id: OrderId(42),
                },
                "BD_ORDER_ACCEPTED",
                with(&[]),
            ),
            (
                Event::OrderRejected {
                    order_id: OrderId(42),
                    reason: "재료 소진".into(),
                },
                "BD_ORDER_REJECTED",
                with(&[("사유", "재료 소진")]),
            ),
            (
                Event::CookingStarted {
                    order_id: OrderId(42),
                },
                "BD_COOKING_STARTED",
                with(&[]),
            ),
            (
                Event::CookingFinished {
                    order_id: OrderId(42),
                },
                "BD_COOKING_FINISHED",
                with(&[]),
            ),
            (
                Event::RiderAssigned {
                    order_id: OrderId(42),
                    rider_id: UserId(7),
                    rider_name: "박배달".into(),
                },
                "BD_RIDER_ASSIGNED",
                with(&[("라이더", "박배달")]),
            ),
            (
                Event::OrderPickedUp {
                    order_id: OrderId(42),
                },
                "BD_PICKED_UP",
                with(&[]),
            ),
            (
                Event::OrderDelivered {
                    order_id: OrderId(42),
                },
                "BD_DELIVERED",
                with(&[]),
            ),
            (
                Event::OrderCompleted {
                    order_id: OrderId(42),
                    by_customer: false,
                },
                "BD_COMPLETED",
                with(&[]),
            ),
            (
                Event::RefundRequested {
                    order_id: OrderId(42),
                    reason: "취소".into(),
                },
                "BD_REFUNDED",
                with(&[("환불금액", "20,000원")]),
            ),
        ];
        for (event, code, expected) in cases {
            let planned = plan(&event, &facts());
            let to_customer: Vec<_> = planned.iter().filter(|p| p.user_id == UserId(1)).collect();
            assert_eq!(to_customer.len(), 1, "{event:?}");
            let template = to_customer[0].kakao.as_ref().expect("customers get 알림톡");
            assert_eq!(template.code, code);
            assert_eq!(template.params, expected, "{code}");
            assert!(
                to_customer[0].body.contains("#42"),
                "{}",
                to_customer[0].body
            );
        }
    }

    #[test]
    fn template_codes_fit_the_providers_twenty_characters() {
        let events = [
            Event::OrderPlaced {
                order_id: OrderId(42),
                customer_id: UserId(1),
                store_id: StoreId(3),
                total_won: 1,
                lines: vec![],
            },
            Event::OrderAccepted {
                order_id: OrderId(42),
            },
            Event::OrderRejected {
                order_id: OrderId(42),
                reason: String::new(),
            },
            Event::CookingStarted {
                order_id: OrderId(42),
            },
            Event::CookingFinished {
                order_id: OrderId(42),
            },
            Event::RiderAssigned {
                order_id: OrderId(42),
                rider_id: UserId(7),
                rider_name: String::new(),
            },
            Event::OrderPickedUp {
                order_id: OrderId(42),
            },
            Event::OrderDelivered {
                order_id: OrderId(42),
            },
            Event::OrderCompleted {
                order_id: OrderId(42),
                by_customer: false,
            },
            Event::OrderCancelled {
                order_id: OrderId(42),
            },
            Event::RefundRequested {
                order_id: OrderId(42),
                reason: String::new(),
            },
        ];
        for event in events {
            for planned in plan(&event, &facts()) {
                if let Some(template) = planned.kakao {
                    assert!(template.code.len() <= 20, "{}", template.code);
                }
            }
        }
    }

    #[test]
    fn owners_hear_of_new_and_cancelled_orders_and_riders_of_cooked_ones() {
        let placed = Event::OrderPlaced {
            order_id: OrderId(42),
            customer_id: UserId(1),
            store_id: StoreId(3),
            total_won: 20_000,
            lines: vec![],
        };
        let to = |event: &Event, facts: &OrderFacts| -> Vec<(UserId, &'static str)> {
            plan(event, facts)
                .iter()
                .map(|p| (p.user_id, p.kind))
                .collect()
        };
        assert_eq!(
            to(&placed, &facts()),
            [(UserId(1), "order_placed"), (UserId(2), "new_order")]
        );
        let unqueued = OrderFacts {
            queued: false,
            ..facts()
        };
        assert_eq!(
            to(&placed, &unqueued),
            [(UserId(1), "order_placed")],
            "out of stock: not on the board"
        );
        assert_eq!(
            to(
                &Event::OrderCancelled {
                    order_id: OrderId(42)
                },
                &facts()
            ),
            [(UserId(2), "order_cancelled")],
            "the owner hears of the customer's cancel"
        );
        assert_eq!(
            to(
                &Event::OrderCancelled {
                    order_id: OrderId(42)
                },
                &unqueued
            ),
            Vec::<(UserId, &str)>::new(),
            "an order the store never had: nobody to tell"
        );
        assert_eq!(
            to(
                &Event::CookingFinished {
                    order_id: OrderId(42)
                },
                &facts()
            ),
            [
                (UserId(1), "cooking_finished"),
                (UserId(7), "delivery_nearby"),
                (UserId(8), "delivery_nearby")
            ]
        );
        assert!(plan(
            &Event::OrderAccepted {
                order_id: OrderId(42)
            },
            &facts()
        )
        .iter()
        .all(|p| p.user_id == UserId(1)));
        for p in plan(
            &Event::CookingFinished {
                order_id: OrderId(42),
            },
            &facts(),
        ) {
            assert_eq!(
                p.kakao.is_some(),
                p.user_id == UserId(1),
                "only customers get 알림톡"
            );
        }
    }

    #[test]
    fn customers_are_not_told_of_their_own_actions_but_of_everything_else() {
        let to_customer = |event: Event| -> Vec<&'static str> {
            plan(&event, &facts())
                .iter()
                .filter(|p| p.user_id == UserId(1))
                .map(|p| p.kind)
                .collect()
        };
        let id = OrderId(42);
        // Their own: cancelling, and tapping 배송확인.
        assert!(to_customer(Event::OrderCancelled { order_id: id }).is_empty());
        assert!(to_customer(Event::OrderCompleted {
            order_id: id,
            by_customer: true
        })
        .is_empty());
        // Others': the store, the rider, the system, and the money.
        assert_eq!(
            to_customer(Event::OrderCompleted {
                order_id: id,
                by_customer: false
            }),
            ["completed"],
            "completed by the system after a while"
        );
        assert_eq!(
            to_customer(Event::RefundRequested {
                order_id: id,
                reason: "고객이 주문을 취소했습니다.".into()
            }),
            ["refunded"],
            "the refund after their cancel is money: told"
        );
        for (event, kind) in [
            (Event::OrderAccepted { order_id: id }, "order_accepted"),
            (
                Event::OrderRejected {
                    order_id: id,
                    reason: "재료 소진".into(),
                },
                "order_rejected",
            ),
            (Event::CookingStarted { order_id: id }, "cooking_started"),
            (Event::CookingFinished { order_id: id }, "cooking_finished"),
            (
                Event::RiderAssigned {
                    order_id: id,
                    rider_id: UserId(7),
                    rider_name: "박배달".into(),
                },
                "rider_assigned",
            ),
            (Event::OrderPickedUp { order_id: id }, "picked_up"),
            (Event::OrderDelivered { order_id: id }, "delivered"),
        ] {
            assert_eq!(to_customer(event), [kind]);
        }
    }

    #[test]
    fn a_completion_stored_before_it_said_who_acted_still_tells_the_customer() {
        let old: Event =
            serde_json::from_str(r#"{"type":"OrderCompleted","order_id":42}"#).unwrap();
        assert_eq!(
            old,
            Event::OrderCompleted {
                order_id: OrderId(42),
                by_customer: false
            }
        );
        assert_eq!(plan(&old, &facts()).len(), 1);
        let new = Event::OrderCompleted {
            order_id: OrderId(42),
            by_customer: true,
        };
        let round: Event = serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
        assert_eq!(round, new);
    }
}
