//! The customer's cart: one store's foods, 1–99 of each, kept in the browser's localStorage so
//! it survives reloads. Prices here are only for display; the server prices every checkout
//! from its own menu.

use crate::domain::{CartLineInput, FoodId, Quantity, StoreId, Won};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

const STORAGE_KEY: &str = "baedal.cart.v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartItem {
    pub food_id: FoodId,
    pub name: String,
    pub price: Won,
    pub quantity: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CartState {
    pub store_id: Option<StoreId>,
    pub store_name: String,
    pub items: Vec<CartItem>,
}

impl CartState {
    pub fn count(&self) -> i64 {
        self.items.iter().map(|i| i.quantity).sum()
    }

    pub fn total(&self) -> Won {
        Won(self.items.iter().map(|i| i.price.0 * i.quantity).sum())
    }

    pub fn lines(&self) -> Vec<CartLineInput> {
        self.items
            .iter()
            .map(|i| CartLineInput {
                food_id: i.food_id,
                quantity: i.quantity,
            })
            .collect()
    }

    /// Adds one of a food; false if the cart holds another store's foods (ask first).
    pub fn add(
        &mut self,
        store_id: StoreId,
        store_name: &str,
        food_id: FoodId,
        name: &str,
        price: Won,
    ) -> bool {
        if self.store_id.is_some_and(|id| id != store_id) && !self.items.is_empty() {
            return false;
        }
        self.store_id = Some(store_id);
        self.store_name = store_name.to_string();
        match self.items.iter_mut().find(|i| i.food_id == food_id) {
            Some(item) => item.quantity = (item.quantity + 1).min(Quantity::MAX),
            None => self.items.push(CartItem {
                food_id,
                name: name.to_string(),
                price,
                quantity: 1,
            }),
        }
        true
    }

    /// Replaces the cart with `items` of one store (재주문), quantities kept within 1–99.
    pub fn refill(&mut self, store_id: StoreId, store_name: &str, items: Vec<CartItem>) {
        self.store_id = Some(store_id);
        self.store_name = store_name.to_string();
        self.items = items
            .into_iter()
            .map(|item| CartItem {
                quantity: item.quantity.clamp(1, Quantity::MAX),
                ..item
            })
            .collect();
    }

    /// Sets a line's quantity, kept within 1–99; 0 removes the line.
    pub fn set_quantity(&mut self, food_id: FoodId, quantity: i64) {
        if quantity <= 0 {
            self.items.retain(|i| i.food_id != food_id);
        } else if let Some(item) = self.items.iter_mut().find(|i| i.food_id == food_id) {
            item.quantity = quantity.min(Quantity::MAX);
        }
        if self.items.is_empty() {
            *self = CartState::default();
        }
    }
}

/// The cart shared by the customer's pages.
#[derive(Clone, Copy)]
pub struct Cart(pub RwSignal<CartState>);

impl Cart {
    /// Creates the cart; in the browser it is loaded from and saved to localStorage.
    pub fn provide() -> Cart {
        let cart = Cart(RwSignal::new(CartState::default()));
        provide_context(cart);
        Effect::new(move |loaded: Option<bool>| {
            #[cfg(feature = "hydrate")]
            {
                // The saved cart appears once the page is hydrated (before, the page would no
                // longer match the server's HTML); until then nothing is loaded or saved.
                if !super::hydrated() {
                    return false;
                }
                let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
                if let Some(storage) = storage {
                    if loaded != Some(true) {
                        if let Some(saved) = storage
                            .get_item(STORAGE_KEY)
                            .ok()
                            .flatten()
                            .and_then(|json| crate::codec::from_json::<CartState>(&json).ok())
                        {
                            cart.0.set(saved);
                        }
                    } else {
                        let json = serde_json::to_string(&cart.0.get()).unwrap_or_default();
                        let _ = storage.set_item(STORAGE_KEY, &json);
                    }
                }
            }
            cart.0.track();
            let _ = (loaded, STORAGE_KEY);
            true
        });
        cart
    }
}

pub fn use_cart() -> Cart {
    expect_context::<Cart>()
}

/// Asks the person to confirm (a browser dialog); on the server nothing is asked.
pub fn confirm(message: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.confirm_with_message(message).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = message;
        false
    }
}

/// A new idempotency key for one checkout submission: 128 random bits, hex.
pub fn new_idempotency_key() -> String {
    #[cfg(feature = "hydrate")]
    {
        let mut bytes = [0u8; 16];
        if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
            let _ = crypto.get_random_values_with_u8_array(&mut bytes);
        }
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_store_per_cart_and_quantities_stay_within_1_to_99() {
        let mut cart = CartState::default();
        assert!(cart.add(StoreId(1), "마포", FoodId(10), "떡볶이", Won(14_000)));
        assert!(cart.add(StoreId(1), "마포", FoodId(10), "떡볶이", Won(14_000)));
        assert!(cart.add(StoreId(1), "마포", FoodId(11), "튀김", Won(6_000)));
        assert_eq!(cart.count(), 3);
        assert_eq!(cart.total(), Won(34_000));
        assert!(
            !cart.add(StoreId(2), "강남", FoodId(20), "치킨", Won(19_000)),
            "another store asks first"
        );
        cart.set_quantity(FoodId(10), 500);
        assert_eq!(cart.items[0].quantity, 99);
        cart.set_quantity(FoodId(10), 0);
        cart.set_quantity(FoodId(11), 0);
        assert_eq!(cart, CartState::default());
        assert!(cart.add(StoreId(2), "강남", FoodId(20), "치킨", Won(19_000)));
    }
}
