//! From the bus to the hub: ticks for the fan-out, a user's fires and delivery outcomes for
//! their sockets; and the periodic look-up that ends the sessions of deleted users.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use shared::bus::{Delivery, Handler};
use shared::domain::UserId;
use shared::events::{DeliveryEvent, PriceTick, TriggerEvent};
use tokio_util::sync::CancellationToken;

use super::auth;
use super::hub::Hub;
use super::protocol;
use crate::price_view::PriceView;
use crate::state::AppState;

/// Price ticks to the fan-out: serialised here, once for every socket, and handed over
/// without waiting (see [`Hub::offer_tick`]).
pub struct ForwardTicks(pub Hub);

impl Handler<PriceTick> for ForwardTicks {
    type Error = Infallible;

    async fn handle(&mut self, delivery: &Delivery<PriceTick>) -> Result<(), Infallible> {
        let view = PriceView::from(delivery.event.clone());
        if let Some(frame) = protocol::price(&view) {
            self.0.offer_tick(Arc::from(view.symbol.as_str()), frame);
        }
        Ok(())
    }
}

/// Each fire to every socket its user has on this replica (every replica reads every fire,
/// each in a consumer group of its own).
pub fn push_fire(hub: &Hub, event: &TriggerEvent) {
    let frame = protocol::alert(event);
    let sockets = hub.push_to_user(event.user_id, &frame);
    hub.metrics().alert_pushes.inc_by(sockets as u64);
}

/// Each settled delivery to every socket of its user on this replica.
pub struct PushDeliveries(pub Hub);

impl Handler<DeliveryEvent> for PushDeliveries {
    type Error = Infallible;

    async fn handle(&mut self, delivery: &Delivery<DeliveryEvent>) -> Result<(), Infallible> {
        let event = &delivery.event;
        let sockets = self
            .0
            .push_to_user(event.user_id, &protocol::delivery(event));
        self.0.metrics().delivery_pushes.inc_by(sockets as u64);
        Ok(())
    }
}

/// Looks up the users of signed-in sockets every `every`: a user deleted (or deactivated), or
/// a session ended by a password change, through any replica stops getting pushes here within
/// that. Through this replica it ends at once (`DELETE /auth/me`, `POST /auth/me/password`).
pub async fn recheck_users(state: AppState, every: Duration, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(every.max(Duration::from_secs(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        for user_id in state.live.signed_in_users() {
            recheck_user(&state, user_id).await;
        }
    }
}

/// Looks `user_id`'s account up again and ends the authenticated part of each of its sockets
/// here that the account no longer allows (deleted, deactivated, or its password changed).
pub async fn recheck_user(state: &AppState, user_id: UserId) {
    if !state.live.is_signed_in(user_id) {
        return;
    }
    match auth::token_generation(state, user_id).await {
        Ok(None) => state.live.revoke_user(user_id),
        Ok(Some(generation)) => state.live.revoke_other_generations(user_id, generation),
        Err(_) => {}
    }
}
