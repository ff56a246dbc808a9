//! The live feed behind `GET /prices/ws`: prices by symbol, and a signed-in user's own alert
//! fires and delivery outcomes.
//!
//! A client that sends nothing gets exactly API.md's protocol: a snapshot of every price,
//! then every tick as a bare price object, `ping` → `pong`, a heartbeat after silence, and
//! unknown messages ignored. The additions (README "WebSocket protocol"):
//! - `?symbols=BTC,ETH` at connect, `{"type":"subscribe","symbols":[...]|"*"}` and
//!   `{"type":"unsubscribe",...}` choose the symbols. A socket that names symbols while
//!   watching everything narrows to them; later subscribes add. Each change is answered with
//!   `{"type":"subscribed","symbols":[...]|"*"}`, a subscribe then with a snapshot of the
//!   symbols it named.
//! - `{"type":"auth","token":...}` or `Sec-WebSocket-Protocol: bearer, <token>` signs the
//!   socket in (`{"type":"authenticated",...}`); the user's fires arrive as
//!   `{"type":"alert",...}`, settled deliveries as `{"type":"delivery",...}`, until the token
//!   expires or the user is deleted (`{"type":"auth_expired"}`; the socket stays, anonymous).
//! - A malformed or unknown-symbol `subscribe`/`unsubscribe`/`auth` is answered with
//!   `{"type":"error","detail":...}`; the socket stays open.
//!
//! Cost: each tick is serialised once; the fan-out visits only the sockets watching its
//! symbol; each socket has a conflating outbox (one waiting price per symbol), so a slow
//! client skips stale prices and nothing waits for it — least of all the bus.

mod auth;
mod feed;
mod hub;
mod limits;
mod metrics;
mod outbox;
mod protocol;
mod session;
mod watching;

pub use auth::{token_from_protocols, BEARER_PROTOCOL};
pub use feed::{push_fire, recheck_user, recheck_users, ForwardTicks, PushDeliveries};
pub use hub::Hub;
pub use limits::SocketLimits;
pub use metrics::LiveMetrics;
pub use protocol::{symbols, Selection};
pub use session::{run, Opening};
