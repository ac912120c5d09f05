//! The front door's durable notifications: [`Log::submit`] and [`Log::on_durable`], in
//! front of [`Wal::submit`](wal_store::Wal::submit) and
//! [`Wal::on_durable`](wal_store::Wal::on_durable).
//!
//! The store's [`wal_store::Pending`] resolves to a [`StoreError`](wal_store::StoreError);
//! the front door hands out its own [`Pending`], a thin wrapper that resolves to this
//! crate's [`Error`], so that a front-door user still matches one error type everywhere
//! (and `?` works in a function returning [`Result`]). It adds nothing else: no
//! allocation, no lock; the wrapped handle is [`Pending::into_store`].

use std::future::Future;
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::task::{Context, Poll};

use wal_store::AppendedBatch;

use crate::error::{Error, Result};
use crate::log::Log;

/// A submitted batch on its way to the disk, from [`Log::submit`]: the store's
/// [`wal_store::Pending`], resolving to this crate's [`Error`]. See the store's type for
/// when it completes and with which errors (they come as [`Error::Store`]).
#[derive(Debug)]
#[must_use = "a Pending says when its entries are durable; dropping it does not cancel them"]
pub struct Pending(wal_store::Pending);

impl Pending {
    /// The offsets of the batch's entries.
    pub fn offsets(&self) -> RangeInclusive<u64> {
        self.0.offsets()
    }

    /// Blocks until every entry of the batch is durable, and returns the batch; or the
    /// error that means it never will be.
    pub fn wait(self) -> Result<AppendedBatch> {
        Ok(self.0.wait()?)
    }

    /// The store's handle, resolving to [`wal_store::StoreError`].
    pub fn into_store(self) -> wal_store::Pending {
        self.0
    }
}

impl Future for Pending {
    type Output = Result<AppendedBatch>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map_err(Error::from)
    }
}

impl Log {
    /// Appends entries and returns at once, before they are durable, with a [`Pending`]
    /// handle that says when they are (see [`Wal::submit`](wal_store::Wal::submit): who
    /// syncs under each sync policy, what fails it).
    pub fn submit<P: AsRef<[u8]>>(&self, payloads: &[P]) -> Result<Pending> {
        Ok(Pending(self.store().submit(payloads)?))
    }

    /// Runs `f` once entry `offset` is durable: at once if it already is, otherwise on
    /// the thread that makes it durable, in offset order, each exactly once (see
    /// [`Wal::on_durable`](wal_store::Wal::on_durable)). An error means it never will be.
    ///
    /// `f` may run on the thread of a truncation, trim, clear, reset or cursor move made
    /// through this `Log`, which holds the cursors' lock meanwhile: it must not call the
    /// cursor methods of this `Log` (or anything that moves cursors), or it deadlocks.
    /// Hand such work to another thread. The same holds for a task woken by a
    /// [`Pending`] that polls on the waking thread.
    pub fn on_durable(&self, offset: u64, f: impl FnOnce(Result<u64>) + Send + 'static) {
        self.store()
            .on_durable(offset, move |result| f(result.map_err(Error::from)));
    }
}
