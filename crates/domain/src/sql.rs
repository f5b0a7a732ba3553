//! How the domain's enums cross the database boundary (server only: the `sqlx` feature, which
//! the backend turns on and the browser's build never does).
//!
//! Statuses and roles are stored as their snake_case names in TEXT columns on both engines, so
//! a row reads straight into `OrderStatus` or `Role`: an unknown name is a decode error naming
//! the value, never a string compared somewhere further in.

use crate::{OrderStatus, Role};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

macro_rules! text_enum {
    ($name:ident, $what:literal, $parse:expr) => {
        impl<DB: Database> Type<DB> for $name
        where
            str: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let raw = <&'r str as Decode<'r, DB>>::decode(value)?;
                let parse: fn(&str) -> Option<$name> = $parse;
                parse(raw).ok_or_else(|| format!(concat!("unknown ", $what, " {:?}"), raw).into())
            }
        }

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            &'q str: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut DB::ArgumentBuffer<'q>,
            ) -> Result<IsNull, BoxDynError> {
                <&'q str as Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }
    };
}

text_enum!(OrderStatus, "order status", OrderStatus::parse);
text_enum!(Role, "role", |raw| Role::parse("role", raw).ok());
