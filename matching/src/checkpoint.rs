//! Batches: ticks decided in memory before storage has accepted any of them.
//!
//! The evaluator decides a batch of ticks, then records them in one transaction. If storage
//! refuses the batch, it decides the same ticks again one by one, starting from what storage
//! holds. The alerts and last prices come back from storage, but the `percent_move` price
//! histories are kept only here, and pushing a tick twice would count it twice. So while a
//! batch is open each symbol's history is marked at its first tick, and
//! [`Engine::undo_batch`] takes every history back to its mark (and each last price to what
//! it was before the batch); [`Engine::keep_batch`] drops the marks once the batch is stored.

use super::{Engine, SymbolId};

impl Engine {
    /// Opens a batch: every tick evaluated until [`Engine::keep_batch`] or
    /// [`Engine::undo_batch`] can be taken back. An open batch is kept first.
    pub fn begin_batch(&mut self) {
        self.keep_batch();
        self.checkpoint = Some(Vec::new());
    }

    /// Keeps everything the open batch evaluated (storage recorded it).
    pub fn keep_batch(&mut self) {
        for (symbol, _) in self.checkpoint.take().unwrap_or_default() {
            self.books[symbol as usize].windows.unmark();
        }
    }

    /// Takes back the price histories and last prices of the symbols the open batch
    /// evaluated, and returns those symbols. Alert states (fires, cooldowns, expiries the
    /// batch's ticks reached) are not taken back: the caller reloads them from storage.
    pub fn undo_batch(&mut self) -> Vec<SymbolId> {
        let marks = self.checkpoint.take().unwrap_or_default();
        let mut symbols = Vec::with_capacity(marks.len());
        for (symbol, last) in marks {
            let book = &mut self.books[symbol as usize];
            book.windows.rollback();
            book.last = last;
            book.refile(&self.slots);
            symbols.push(symbol);
        }
        symbols
    }

    /// The symbol of an id this engine gave out.
    pub fn symbol(&self, id: SymbolId) -> Option<&domain::Symbol> {
        self.symbols.get(id as usize)
    }
}
