//! Row ids as types of their own, so an order's id can never be passed where a store's is
//! expected. On the wire (JSON, forms, URLs) and in the database they are plain integers:
//! serde and sqlx see through them (`transparent`), so nothing stored or sent changes.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                $name(id)
            }
        }

        /// From a path segment such as the `7` of `/orders/7`.
        impl FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                raw.parse().map($name)
            }
        }
    )*};
}

ids! {
    /// A person's account, whatever their role.
    UserId;
    /// A store (one owner may have several).
    StoreId;
    /// A dish on a store's menu.
    FoodId;
    /// An order, from checkout to 배송확인.
    OrderId;
    /// One entry of a person's notification feed.
    NotificationId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_integers_on_the_wire_and_in_urls() {
        assert_eq!(serde_json::to_string(&OrderId(7)).unwrap(), "7");
        assert_eq!(serde_json::from_str::<StoreId>("12").unwrap(), StoreId(12));
        assert_eq!("42".parse::<FoodId>().unwrap(), FoodId(42));
        assert!("4x".parse::<UserId>().is_err());
        assert_eq!(format!("/orders/{}", OrderId(3)), "/orders/3");
    }
}
