//! The server side of the server functions (feature `ssr`): the door between HTTP and the
//! backend. Who is calling (`http::require`), the status and headers of an answer, the
//! session middleware that runs before any page, naming the argument behind a decoding
//! failure (`arguments`, where the framework's own errors become `AppError` on the server),
//! and the live-update stream (`live`). Backend errors become `AppError` here, and nowhere
//! deeper. The door uses `error`, never the other way round.

pub mod arguments;
pub mod http;
pub mod live;
