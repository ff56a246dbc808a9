//! A socket's registrations with the hub — the symbols it watches and the user it is signed
//! in as — kept in step with the hub and the socket gauges, and undone when it is dropped.

use std::sync::Arc;

use shared::catalogue::Catalogue;

use super::auth::Signed;
use super::hub::{Hub, SocketId};
use super::outbox::Outbox;
use super::protocol::Selection;

pub struct Registration {
    pub id: SocketId,
    pub outbox: Arc<Outbox>,
    hub: Hub,
    selection: Selection,
    signed: Option<Signed>,
}

impl Registration {
    pub fn new(hub: &Hub, selection: Selection) -> Registration {
        let id = hub.next_socket_id();
        let outbox = Arc::new(Outbox::default());
        match &selection {
            Selection::Everything => hub.watch_everything(id, &outbox),
            Selection::Symbols(symbols) => hub.watch(id, &outbox, symbols),
        }
        hub.metrics().anonymous_sockets.inc();
        Registration {
            id,
            outbox,
            hub: hub.clone(),
            selection,
            signed: None,
        }
    }

    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    pub fn signed(&self) -> Option<Signed> {
        self.signed
    }

    /// Adds to what the socket watches. A socket watching everything (the default) that names
    /// symbols narrows to exactly those: a client that subscribes says what it wants.
    pub fn subscribe(&mut self, added: Selection) {
        match (&mut self.selection, added) {
            (Selection::Everything, Selection::Everything) => {}
            (Selection::Symbols(current), Selection::Everything) => {
                self.hub.stop_watching(self.id, current);
                self.hub.watch_everything(self.id, &self.outbox);
                self.selection = Selection::Everything;
            }
            (Selection::Everything, Selection::Symbols(added)) => {
                self.hub.stop_watching_everything(self.id);
                self.hub.watch(self.id, &self.outbox, &added);
                self.outbox
                    .retain_prices(|s| added.iter().any(|a| &**a == s));
                self.selection = Selection::Symbols(added);
            }
            (Selection::Symbols(current), Selection::Symbols(added)) => {
                let new: Vec<Arc<str>> =
                    added.into_iter().filter(|s| !current.contains(s)).collect();
                self.hub.watch(self.id, &self.outbox, &new);
                current.extend(new);
            }
        }
    }

    /// Removes from what the socket watches; `"*"` removes everything.
    pub fn unsubscribe(&mut self, removed: Selection, catalogue: &Catalogue) {
        let remaining: Vec<Arc<str>> = match (&self.selection, &removed) {
            (_, Selection::Everything) => Vec::new(),
            (Selection::Everything, Selection::Symbols(removed)) => catalogue
                .symbols()
                .map(|s| Arc::<str>::from(s.as_ref()))
                .filter(|s| !removed.contains(s))
                .collect(),
            (Selection::Symbols(current), Selection::Symbols(removed)) => current
                .iter()
                .filter(|s| !removed.contains(s))
                .cloned()
                .collect(),
        };
        match &self.selection {
            Selection::Everything => self.hub.stop_watching_everything(self.id),
            Selection::Symbols(current) => self.hub.stop_watching(self.id, current),
        }
        self.hub.watch(self.id, &self.outbox, &remaining);
        self.outbox
            .retain_prices(|s| remaining.iter().any(|r| &**r == s));
        self.selection = Selection::Symbols(remaining);
    }

    /// Signs the socket in as `signed.user_id` (replacing whoever it was signed in as).
    pub fn sign_in(&mut self, signed: Signed) {
        self.sign_out();
        self.hub
            .sign_in(self.id, &self.outbox, signed.user_id, signed.generation);
        self.hub.metrics().anonymous_sockets.dec();
        self.hub.metrics().authenticated_sockets.inc();
        self.signed = Some(signed);
    }

    /// Back to anonymous; true when the socket was signed in.
    pub fn sign_out(&mut self) -> bool {
        let Some(signed) = self.signed.take() else {
            return false;
        };
        self.hub.sign_out(self.id, signed.user_id);
        self.hub.metrics().authenticated_sockets.dec();
        self.hub.metrics().anonymous_sockets.inc();
        true
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.sign_out();
        match &self.selection {
            Selection::Everything => self.hub.stop_watching_everything(self.id),
            Selection::Symbols(symbols) => self.hub.stop_watching(self.id, symbols),
        }
        self.hub.metrics().anonymous_sockets.dec();
    }
}
