//! Authentication building blocks: password hashing, tokens, the signing secret and a short
//! user cache. Leaf modules: the request extractor that uses them is `crate::caller`.

mod jwt;
mod password;
pub mod secret;
mod user_cache;
mod verified_tokens;

pub use jwt::JwtKeys;
pub use password::Passwords;
pub use user_cache::{UserCache, UserTicket};
pub use verified_tokens::Verified;
