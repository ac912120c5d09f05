//! Client writes gathered into raft entries.
//!
//! openraft 0.9 appends one entry per `client_write` and waits for that append's flush
//! before it takes the next write (`RaftCore::append_to_log`), so writes that arrive
//! together still pay one sync each. A [`Batcher`] sits between the clients and the node:
//! each client hands it a write and waits; one task takes every write waiting (up to a
//! limit) and makes them one entry, whose commit answers them all. One client alone gets
//! an entry of its own, as without it.

use std::fmt;

use openraft::Raft;
use tokio::sync::{mpsc, oneshot};

use super::{Request, TypeConfig};

/// The answer a write waits for: the raft index of the entry it went into.
type Answer = Result<u64, BatchError>;

/// A handle for clients: cheap to clone, one gathering task behind all clones. The task
/// ends when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Batcher {
    writes: mpsc::UnboundedSender<(Request, oneshot::Sender<Answer>)>,
}

/// Why a write was not applied: the node's error, as text, or a batcher that stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError(pub String);

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BatchError {}

impl Batcher {
    /// Starts the gathering task on the current tokio runtime, writing through `raft`
    /// entries of at most `max_writes` writes (at least one).
    pub fn start(raft: Raft<TypeConfig>, max_writes: usize) -> Batcher {
        let (writes, mut waiting) = mpsc::unbounded_channel::<(Request, oneshot::Sender<Answer>)>();
        let max_writes = max_writes.max(1);
        tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                let mut batch = vec![first];
                while batch.len() < max_writes {
                    match waiting.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let (requests, answers): (Vec<Request>, Vec<oneshot::Sender<Answer>>) =
                    batch.into_iter().unzip();
                let answer = raft
                    .client_write(requests)
                    .await
                    .map(|written| written.log_id.index)
                    .map_err(|e| BatchError(e.to_string()));
                for to in answers {
                    // A client that stopped waiting wants no answer.
                    let _ = to.send(answer.clone());
                }
            }
        });
        Batcher { writes }
    }

    /// Writes `request` in the next entry; returns the entry's raft index once it is
    /// committed and applied.
    pub async fn write(&self, request: Request) -> Answer {
        let stopped = || BatchError("the batcher stopped".to_owned());
        let (answer, answered) = oneshot::channel();
        self.writes.send((request, answer)).map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}
