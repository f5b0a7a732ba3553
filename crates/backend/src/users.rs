//! A signed-in person as read from `users`: one row mapping, shared by the account lookups
//! (`accounts`) and the session lookups (`sessions`), so neither needs the other for it.

use domain::{CurrentUser, Role};
use sqlx::any::AnyRow;
use sqlx::Row;

pub(crate) fn user_from_row(row: &AnyRow) -> Result<CurrentUser, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(CurrentUser {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse("role", &role).map_err(|e| sqlx::Error::Decode(e.message.into()))?,
        district: row.try_get("district")?,
    })
}
