//! Concurrent client writes gathered into raft entries, so that they share a sync.
//!
//! openraft 0.9 turns each `Raft::client_write` into an append of one entry and waits for
//! that append's flush before it takes the next write (`RaftCore::append_to_log`), so on
//! any log store, writes that arrive together still pay one sync each. A [`Batcher`] sits
//! between the clients and the node: each client hands it a write and waits; one task
//! takes every write waiting (up to a limit) and makes them one entry, whose commit
//! answers them all. A client alone gets an entry per write, as without it.
//!
//! The application's data type holds a batch: `C::D: From<Vec<W>>` for the writes `W`
//! (`Vec<W>` itself, say), and its state machine applies an entry's writes in order.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;

use openraft::error::{ClientWriteError, RaftError};
use openraft::raft::ClientWriteResult;
use openraft::raft::responder::Responder;
use openraft::{AsyncRuntime, LogId, OptionalSend, Raft, RaftTypeConfig};
use tokio::sync::{mpsc, oneshot};

/// A client write once its entry is committed and applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written<C: RaftTypeConfig> {
    /// The log id of the entry the write went into.
    pub log_id: LogId<C::NodeId>,
    /// The write's place among the entry's writes (0 for the first).
    pub position: usize,
    /// What the state machine answered for the whole entry.
    pub response: C::R,
}

/// Why a write was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError<C: RaftTypeConfig> {
    /// The node refused or failed the entry's write (not the leader, shut down, ...).
    Raft(RaftError<C::NodeId, ClientWriteError<C::NodeId, C::Node>>),
    /// The gathering task is gone (its runtime was shut down).
    Stopped,
}

impl<C: RaftTypeConfig> fmt::Display for BatchError<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Raft(e) => write!(f, "the batch's entry was not written: {e}"),
            BatchError::Stopped => f.write_str("the batcher stopped"),
        }
    }
}

impl<C: RaftTypeConfig> StdError for BatchError<C> {}

type Answer<C> = Result<Written<C>, BatchError<C>>;

/// What a client write of `C` waits on (openraft's `ResponderReceiverOf`, which it does
/// not export).
type WriteReceiver<C> = <<C as RaftTypeConfig>::Responder as Responder<C>>::Receiver;

/// A handle for clients: cheap to clone, one gathering task behind all clones, which ends
/// when the last handle is dropped.
pub struct Batcher<C: RaftTypeConfig, W> {
    writes: mpsc::UnboundedSender<(W, oneshot::Sender<Answer<C>>)>,
}

impl<C: RaftTypeConfig, W> Clone for Batcher<C, W> {
    fn clone(&self) -> Self {
        Batcher {
            writes: self.writes.clone(),
        }
    }
}

impl<C: RaftTypeConfig, W> fmt::Debug for Batcher<C, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl<C, W> Batcher<C, W>
where
    C: RaftTypeConfig,
    C::D: From<Vec<W>>,
    C::R: Clone,
    W: OptionalSend + 'static,
{
    /// Starts the gathering task on `C`'s async runtime, writing through `raft` entries of
    /// at most `max_writes` writes (at least one).
    pub fn start<E>(raft: Raft<C>, max_writes: usize) -> Batcher<C, W>
    where
        WriteReceiver<C>: Future<Output = Result<ClientWriteResult<C>, E>> + OptionalSend,
        E: StdError + OptionalSend + 'static,
    {
        let (writes, waiting) = mpsc::unbounded_channel();
        // Detached: it ends when the last handle is dropped.
        drop(C::AsyncRuntime::spawn(gather(
            raft,
            waiting,
            max_writes.max(1),
        )));
        Batcher { writes }
    }

    /// Writes `write` in the next entry; returns once that entry is committed and applied.
    pub async fn write(&self, write: W) -> Answer<C> {
        let (answer, answered) = oneshot::channel();
        self.writes
            .send((write, answer))
            .map_err(|_| BatchError::Stopped)?;
        answered.await.map_err(|_| BatchError::Stopped)?
    }
}

/// The gathering task: an entry of every write waiting, one entry at a time.
async fn gather<C, W, E>(
    raft: Raft<C>,
    mut waiting: mpsc::UnboundedReceiver<(W, oneshot::Sender<Answer<C>>)>,
    max_writes: usize,
) where
    C: RaftTypeConfig,
    C::D: From<Vec<W>>,
    C::R: Clone,
    WriteReceiver<C>: Future<Output = Result<ClientWriteResult<C>, E>> + OptionalSend,
    E: StdError + OptionalSend + 'static,
{
    while let Some(first) = waiting.recv().await {
        let mut batch = vec![first];
        while batch.len() < max_writes {
            match waiting.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (writes, answers): (Vec<W>, Vec<oneshot::Sender<Answer<C>>>) =
            batch.into_iter().unzip();
        let written = raft.client_write::<E>(C::D::from(writes)).await;
        for (position, to) in answers.into_iter().enumerate() {
            let answer = match &written {
                Ok(entry) => Ok(Written {
                    log_id: entry.log_id.clone(),
                    position,
                    response: entry.data.clone(),
                }),
                Err(e) => Err(BatchError::Raft(e.clone())),
            };
            // A client that stopped waiting wants no answer.
            let _ = to.send(answer);
        }
    }
}
