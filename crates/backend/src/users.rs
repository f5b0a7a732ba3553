//! A signed-in person as read from `users`: the columns `CurrentUser` is read from (it derives
//! its row mapping in the domain), shared by the account lookups (`accounts`) and the session
//! lookups (`sessions`), so neither needs the other for it.

/// The columns of `users` a `CurrentUser` is made of, for `SELECT {USER_COLUMNS} FROM users`.
pub(crate) const USER_COLUMNS: &str = "id, email, display_name, role, district";
