//! The server side of the server functions (feature `ssr`): the door between HTTP and the
//! backend. Who is calling (`http::require`), the status and headers of an answer, the
//! session middleware that runs before any page, and the live-update stream (`live`). Backend
//! errors become `AppError` here, and nowhere deeper. The door uses `error` and `access`, never
//! the other way round, and knows nothing of the pages or of the server functions' arguments
//! (naming the argument behind a decoding failure is `api::arguments`, beside the functions).

pub mod http;
pub mod live;
