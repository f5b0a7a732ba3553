//! The checkout as the browser sends it and as it is parsed: cart lines, quantities, the
//! idempotency key, the card or payment token, the notes; every problem collected per field.

use super::{josa, FieldError, FieldErrors};
use serde::{Deserialize, Serialize};

/// How many of one food in one order: 1 to 99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Quantity(u8);

impl Quantity {
    pub const MAX: i64 = 99;

    pub fn parse(field: &str, raw: i64) -> Result<Self, FieldError> {
        if (1..=Self::MAX).contains(&raw) {
            Ok(Quantity(raw as u8))
        } else {
            Err(FieldError::new(
                field,
                "수량은 1개부터 99개까지 주문할 수 있습니다.",
            ))
        }
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

/// The key the browser makes for one cart submission; repeats of it are the same checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let valid = (16..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(IdempotencyKey(raw.to_string()))
        } else {
            Err(FieldError::new(
                field,
                "결제 요청 키는 영문·숫자·-·_ 16~64자여야 합니다.",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A sandbox card number (digits only) or a provider's payment token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentToken(String);

impl PaymentToken {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let compact: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if compact.is_empty() {
            return Err(FieldError::new(field, "카드 번호를 입력해 주세요."));
        }
        let card_like = compact.bytes().all(|b| b.is_ascii_digit());
        let valid = if card_like {
            (12..=19).contains(&compact.len())
        } else {
            compact.len() <= 200 && compact.bytes().all(|b| b.is_ascii_graphic())
        };
        if valid {
            Ok(PaymentToken(compact))
        } else {
            Err(FieldError::new(
                field,
                "카드 번호는 숫자 12~19자리여야 합니다.",
            ))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// One cart line as the browser sends it. Prices are never taken from the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLineInput {
    pub food_id: super::FoodId,
    pub quantity: i64,
}

/// What the checkout page needs to know about paying.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CheckoutOptions {
    /// The sandbox provider takes the payments, so its test cards (and only they) work: the
    /// page lists them and starts with the approved one. With a real provider (Toss) the card
    /// field starts empty and no test card is mentioned.
    pub sandbox: bool,
}

/// The checkout as the browser sends it (JSON). Fields are taken loosely (any JSON value,
/// possibly missing) so that a wrong type or a missing field becomes a field error naming it,
/// like every other bad input, instead of an anonymous decoding failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckoutInput {
    #[serde(default)]
    pub store_id: serde_json::Value,
    #[serde(default)]
    pub lines: serde_json::Value,
    #[serde(default)]
    pub idempotency_key: serde_json::Value,
    #[serde(default)]
    pub card_number: serde_json::Value,
    /// 가게 요청사항 (for the store, e.g. "덜 맵게 해 주세요"); missing, null or blank: none.
    #[serde(default)]
    pub store_note: serde_json::Value,
    /// 배달 요청사항 (for the rider who carries it); missing, null or blank: none.
    #[serde(default)]
    pub rider_note: serde_json::Value,
}

impl CheckoutInput {
    pub fn new(
        store_id: super::StoreId,
        lines: &[CartLineInput],
        idempotency_key: &str,
        card_number: &str,
    ) -> Self {
        CheckoutInput {
            store_id: store_id.get().into(),
            lines: serde_json::to_value(lines).expect("lines serialise"),
            idempotency_key: idempotency_key.into(),
            card_number: card_number.into(),
            store_note: serde_json::Value::Null,
            rider_note: serde_json::Value::Null,
        }
    }

    /// The same checkout with the customer's notes to the store and to the rider (as typed;
    /// parsing trims them, and blank means none).
    pub fn with_notes(self, store_note: &str, rider_note: &str) -> Self {
        CheckoutInput {
            store_note: store_note.into(),
            rider_note: rider_note.into(),
            ..self
        }
    }
}

fn integer(field: &str, value: &serde_json::Value, what: &str) -> Result<i64, FieldError> {
    match value {
        serde_json::Value::Null => Err(FieldError::new(
            field,
            format!("{what}{} 없습니다.", josa(what, "이", "가")),
        )),
        value => value.as_i64().ok_or_else(|| {
            FieldError::new(
                field,
                format!("{what}{} 정수여야 합니다.", josa(what, "은", "는")),
            )
        }),
    }
}

fn text<'a>(field: &str, value: &'a serde_json::Value, what: &str) -> Result<&'a str, FieldError> {
    match value {
        serde_json::Value::Null => Err(FieldError::new(
            field,
            format!("{what}{} 없습니다.", josa(what, "이", "가")),
        )),
        value => value.as_str().ok_or_else(|| {
            FieldError::new(
                field,
                format!("{what}{} 문자열이어야 합니다.", josa(what, "은", "는")),
            )
        }),
    }
}

/// An optional note: missing or null is none, anything but a string names the field, and the
/// text is free text (trimmed, at most `CheckoutInput::MAX_NOTE_CHARS` characters, no control
/// characters or U+FFFD); blank is none.
fn note(field: &str, value: &serde_json::Value, what: &str) -> Result<Option<String>, FieldError> {
    if value.is_null() {
        return Ok(None);
    }
    let raw = text(field, value, what)?;
    let text = super::free_text(field, raw, what, CheckoutInput::MAX_NOTE_CHARS, false)?;
    Ok((!text.is_empty()).then_some(text))
}

/// A checkout whose shape is valid (whether its foods exist is the database's to say).
#[derive(Debug, Clone)]
pub struct Checkout {
    pub store_id: super::StoreId,
    pub lines: Vec<(super::FoodId, Quantity)>,
    pub idempotency_key: IdempotencyKey,
    pub payment_token: PaymentToken,
    /// 가게 요청사항: shown to the order's store (and to the customer).
    pub store_note: Option<String>,
    /// 배달 요청사항: shown to the rider who claimed the delivery (and to the customer).
    pub rider_note: Option<String>,
}

impl CheckoutInput {
    pub const MAX_LINES: usize = 50;
    /// The longest note to the store or to the rider, in characters.
    pub const MAX_NOTE_CHARS: usize = 100;

    pub fn parse(&self) -> Result<Checkout, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let store_id = errors.check(integer("store_id", &self.store_id, "가게 번호"));
        let raw_lines: &[serde_json::Value] = match &self.lines {
            serde_json::Value::Array(lines) => lines,
            serde_json::Value::Null => &[],
            _ => {
                errors.push(FieldError::new(
                    "lines",
                    "주문 메뉴 목록이 배열이 아닙니다.",
                ));
                &[]
            }
        };
        if raw_lines.is_empty() && self.lines.is_array() || self.lines.is_null() {
            errors.push(FieldError::new("lines", "장바구니가 비어 있습니다."));
        }
        if raw_lines.len() > Self::MAX_LINES {
            errors.push(FieldError::new(
                "lines",
                "한 번에 50가지 메뉴까지 주문할 수 있습니다.",
            ));
        }
        let mut lines: Vec<(super::FoodId, Quantity)> = Vec::with_capacity(raw_lines.len());
        let mut seen = Vec::with_capacity(raw_lines.len());
        for (i, line) in raw_lines.iter().enumerate() {
            let food_field = format!("lines[{i}].food_id");
            let quantity_field = format!("lines[{i}].quantity");
            let null = serde_json::Value::Null;
            let food_id = errors.check(integer(
                &food_field,
                line.get("food_id").unwrap_or(&null),
                "메뉴 번호",
            ));
            let quantity = errors.check(
                integer(
                    &quantity_field,
                    line.get("quantity").unwrap_or(&null),
                    "수량",
                )
                .and_then(|q| Quantity::parse(&quantity_field, q)),
            );
            if let Some(food_id) = food_id.map(super::FoodId) {
                if seen.contains(&food_id) {
                    errors.push(FieldError::new(
                        &food_field,
                        "같은 메뉴가 두 번 담겼습니다.",
                    ));
                }
                seen.push(food_id);
                if let Some(quantity) = quantity {
                    lines.push((food_id, quantity));
                }
            }
        }
        let key = errors.check(
            text("idempotency_key", &self.idempotency_key, "결제 요청 키")
                .and_then(|raw| IdempotencyKey::parse("idempotency_key", raw)),
        );
        let token = errors.check(
            text("card_number", &self.card_number, "카드 번호")
                .and_then(|raw| PaymentToken::parse("card_number", raw)),
        );
        let store_note = errors.check(note("store_note", &self.store_note, "가게 요청사항"));
        let rider_note = errors.check(note("rider_note", &self.rider_note, "배달 요청사항"));
        errors.into_result()?;
        Ok(Checkout {
            store_id: super::StoreId(store_id.expect("checked")),
            lines,
            idempotency_key: key.expect("checked"),
            payment_token: token.expect("checked"),
            store_note: store_note.expect("checked"),
            rider_note: rider_note.expect("checked"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FoodId, StoreId};

    fn lines() -> Vec<CartLineInput> {
        vec![
            CartLineInput {
                food_id: FoodId(1),
                quantity: 2,
            },
            CartLineInput {
                food_id: FoodId(2),
                quantity: 99,
            },
        ]
    }

    fn input() -> CheckoutInput {
        CheckoutInput::new(
            StoreId(1),
            &lines(),
            "0f8b7c9e-5d4a-4b3c-9a2e-1f0d9c8b7a6e",
            "4242 4242 4242 4242",
        )
    }

    #[test]
    fn a_valid_checkout_parses() {
        let checkout = input().parse().unwrap();
        assert_eq!(checkout.lines.len(), 2);
        assert_eq!(checkout.payment_token.expose(), "4242424242424242");
    }

    #[test]
    fn quantities_outside_1_to_99_name_their_line() {
        for bad in [0, -1, 100] {
            let mut lines = lines();
            lines[1].quantity = bad;
            let form = CheckoutInput::new(
                StoreId(1),
                &lines,
                "0f8b7c9e-5d4a-4b3c-9a2e-1f0d9c8b7a6e",
                "4242",
            );
            let errors = form.parse().unwrap_err();
            assert_eq!(errors[0].field, "lines[1].quantity", "{bad}");
        }
    }

    #[test]
    fn empty_carts_repeated_foods_bad_keys_and_cards_are_refused() {
        let form = CheckoutInput::new(StoreId(1), &[], "short", "12");
        let fields: Vec<_> = form
            .parse()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["lines", "idempotency_key", "card_number"]);

        let mut repeated = lines();
        repeated[1].food_id = FoodId(1);
        let form = CheckoutInput::new(
            StoreId(1),
            &repeated,
            "0f8b7c9e-5d4a-4b3c-9a2e-1f0d9c8b7a6e",
            "4242424242424242",
        );
        assert_eq!(form.parse().unwrap_err()[0].field, "lines[1].food_id");
    }

    #[test]
    fn wrong_types_and_missing_fields_are_field_errors() {
        let form: CheckoutInput = serde_json::from_value(serde_json::json!({
            "store_id": "마포",
            "lines": [{"food_id": "x", "quantity": 1.5}, {"quantity": 1}],
        }))
        .unwrap();
        let fields: Vec<_> = form
            .parse()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "store_id",
                "lines[0].food_id",
                "lines[0].quantity",
                "lines[1].food_id",
                "idempotency_key",
                "card_number"
            ]
        );
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn notes_are_optional_trimmed_and_blank_is_none() {
        let checkout = input().parse().unwrap();
        assert_eq!((checkout.store_note, checkout.rider_note), (None, None));
        let checkout = input()
            .with_notes(
                "  덜 맵게 해 주세요 ",
                "\u{3000}문 앞에 두고 벨 누르지 말아 주세요\n",
            )
            .parse()
            .unwrap();
        assert_eq!(checkout.store_note.as_deref(), Some("덜 맵게 해 주세요"));
        assert_eq!(
            checkout.rider_note.as_deref(),
            Some("문 앞에 두고 벨 누르지 말아 주세요")
        );
        let checkout = input().with_notes("   ", "").parse().unwrap();
        assert_eq!((checkout.store_note, checkout.rider_note), (None, None));
    }

    #[test]
    fn notes_hold_at_most_100_characters_not_bytes() {
        // 100 Korean syllables are 300 bytes and fit; the 101st character does not, wherever
        // the spaces around it are.
        let hundred = "맵".repeat(100);
        let checkout = input()
            .with_notes(&hundred, &format!("  {hundred}  "))
            .parse()
            .unwrap();
        assert_eq!(checkout.store_note.unwrap().chars().count(), 100);
        assert_eq!(checkout.rider_note.unwrap().chars().count(), 100);
        let long = "맵".repeat(101);
        let errors = input().with_notes(&long, &hundred).parse().unwrap_err();
        assert_eq!(
            errors,
            [FieldError::new(
                "store_note",
                "가게 요청사항은 100자 이하로 입력해 주세요. (현재 101자)"
            )]
        );
        let errors = input()
            .with_notes("", &"a".repeat(101))
            .parse()
            .unwrap_err();
        assert_eq!(fields(errors), ["rider_note"]);
    }

    #[test]
    fn notes_with_control_characters_or_lost_bytes_name_their_field() {
        for bad in [
            "덜\u{0}맵게",
            "덜\n맵게",
            "벨\t누르지 마세요",
            "\u{1b}[31m빨강",
            "가\u{FFFD}나",
            "a\u{85}b",
            "지우기\u{7f}",
        ] {
            let errors = input().with_notes(bad, "").parse().unwrap_err();
            assert_eq!(
                errors,
                [FieldError::new(
                    "store_note",
                    "가게 요청사항에 사용할 수 없는 글자가 있습니다."
                )],
                "{bad:?}"
            );
            let errors = input().with_notes("", bad).parse().unwrap_err();
            assert_eq!(fields(errors), ["rider_note"], "{bad:?}");
        }
    }

    #[test]
    fn notes_of_another_type_name_their_field_and_missing_is_none() {
        let mut body = serde_json::to_value(input()).unwrap();
        body.as_object_mut().unwrap().remove("store_note");
        body.as_object_mut().unwrap().remove("rider_note");
        let form: CheckoutInput = serde_json::from_value(body.clone()).unwrap();
        let checkout = form.parse().unwrap();
        assert_eq!((checkout.store_note, checkout.rider_note), (None, None));

        body["store_note"] = serde_json::json!(3);
        body["rider_note"] = serde_json::json!(["문 앞"]);
        let form: CheckoutInput = serde_json::from_value(body.clone()).unwrap();
        let errors = form.parse().unwrap_err();
        assert_eq!(
            errors[0],
            FieldError::new("store_note", "가게 요청사항은 문자열이어야 합니다.")
        );
        assert_eq!(fields(errors), ["store_note", "rider_note"]);

        body["store_note"] = serde_json::json!(null);
        body["rider_note"] = serde_json::json!({"text": "문 앞"});
        let form: CheckoutInput = serde_json::from_value(body).unwrap();
        assert_eq!(fields(form.parse().unwrap_err()), ["rider_note"]);
    }
}
