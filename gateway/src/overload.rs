//! Overload protection above the routes: what one client address may hold at once, and
//! bodies read in full, under their own deadline, before a request takes an in-flight slot.
//!
//! A slow upload (headers, then a byte a second) used to hold one of the global in-flight
//! slots until the request time-out, so a couple of thousand of them denied every login. Now
//! such a request holds only its connection and one of its address's slots while its body
//! trickles in, and is answered 408 when the body deadline passes. (tower-http's
//! `RequestBodyTimeoutLayer` restarts its timer at every frame, so a byte a second would
//! never trip it: the deadline here covers the whole body.)
//!
//! Each request's deadline is drawn between three quarters of the configured one and the
//! configured one: uploads that an attacker starts together would otherwise all be cut, and
//! all reconnect, in the same instant, a burst honest requests queue behind.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;

use crate::error::ApiError;
use crate::extract::MAX_BODY_BYTES;

/// How many of something (connections, requests in flight) each client address holds, up to
/// a ceiling per address.
#[derive(Clone)]
pub struct PerAddress {
    limit: usize,
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One unit held by an address; given back when dropped.
pub struct AddressSlot {
    address: IpAddr,
    held: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerAddress {
    pub fn new(limit: usize) -> PerAddress {
        PerAddress {
            limit: limit.max(1),
            held: Arc::default(),
        }
    }

    /// A slot for `address`, or `None` when it already holds its limit.
    pub fn try_take(&self, address: IpAddr) -> Option<AddressSlot> {
        let address = address.to_canonical();
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let count = held.entry(address).or_insert(0);
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            address,
            held: Arc::clone(&self.held),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = held.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.address);
            }
        }
    }
}

/// Answers 429 at once when the caller's address already has its limit of requests in
/// flight; otherwise holds one of its slots until the response is ready.
pub async fn limit_in_flight_per_address(
    State(limit): State<PerAddress>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let _slot = match peer.map(|address| limit.try_take(address)) {
        Some(None) => return ApiError::AddressBusy.into_response(),
        Some(slot) => slot,
        // Served without a socket (in-process tests): nobody to count.
        None => None,
    };
    next.run(request).await
}

/// Reads the whole body (at most [`MAX_BODY_BYTES`]) within `deadline` before the request
/// goes on to the in-flight limit and its handler: 408 when it does not arrive in time, 413
/// when it is too large.
pub async fn read_body_first(
    State(deadline): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return ApiError::BodyTooLarge {
            limit: MAX_BODY_BYTES,
        }
        .into_response();
    }
    let deadline = spread(deadline);
    let bytes =
        match tokio::time::timeout(deadline, axum::body::to_bytes(body, MAX_BODY_BYTES)).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(error)) if is_length_limit(&error) => {
                return ApiError::BodyTooLarge {
                    limit: MAX_BODY_BYTES,
                }
                .into_response()
            }
            Ok(Err(_)) => {
                return ApiError::BadRequest("Could not read the request body".to_owned())
                    .into_response()
            }
            Err(_) => return ApiError::BodyTimeout.into_response(),
        };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A deadline drawn uniformly from [¾ · `deadline`, `deadline`].
fn spread(deadline: Duration) -> Duration {
    let shortest = deadline.mul_f64(0.75);
    rand::thread_rng().gen_range(shortest..=deadline)
}

/// Whether reading a body failed because it was longer than allowed.
fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_limit_and_gets_slots_back() {
        let limit = PerAddress::new(2);
        let one: IpAddr = [127, 0, 0, 2].into();
        let other: IpAddr = [127, 0, 0, 3].into();
        let first = limit.try_take(one).expect("first");
        let _second = limit.try_take(one).expect("second");
        assert!(limit.try_take(one).is_none());
        assert!(limit.try_take(other).is_some());
        drop(first);
        assert!(limit.try_take(one).is_some());
    }

    #[test]
    fn body_deadlines_are_spread_below_the_configured_one() {
        let configured = Duration::from_secs(10);
        let drawn: Vec<Duration> = (0..1_000).map(|_| spread(configured)).collect();
        assert!(drawn
            .iter()
            .all(|d| *d >= Duration::from_millis(7_500) && *d <= configured));
        let earliest = drawn.iter().min().copied().unwrap_or(configured);
        let latest = drawn.iter().max().copied().unwrap_or(configured);
        // 1,000 draws over 2.5 s: a burst would have them all at one instant.
        assert!(
            latest - earliest > Duration::from_secs(2),
            "{earliest:?}..{latest:?}"
        );
    }

    #[test]
    fn an_ipv4_mapped_address_counts_as_the_ipv4_address() {
        let limit = PerAddress::new(1);
        let _held = limit.try_take([127, 0, 0, 2].into()).expect("slot");
        let mapped: IpAddr = "::ffff:127.0.0.2".parse().expect("address");
        assert!(limit.try_take(mapped).is_none());
    }
}
