//! What the child writes and prints, spelled once for both sides.

use wal_testkit::rng::Rng;

/// Set in a child's environment: its log directory. Its presence makes the process a child.
pub(crate) const CHILD_DIR_VAR: &str = "WAL_RAFT_CRASH_CHILD_DIR";
/// Set in a child's environment: the cycle it runs in (the high half of its seqs).
pub(crate) const CHILD_CYCLE_VAR: &str = "WAL_RAFT_CRASH_CHILD_CYCLE";
/// Set in a child's environment: how many clients write (0: report, then exit).
pub(crate) const CHILD_CLIENTS_VAR: &str = "WAL_RAFT_CRASH_CHILD_CLIENTS";
/// Set in a child's environment: the most writes its clients put in one raft entry
/// through `wal_raft::Batcher`, or 0 for one `Raft::client_write` per write.
pub(crate) const CHILD_BATCH_VAR: &str = "WAL_RAFT_CRASH_CHILD_BATCH";
/// Set in a child's environment: take a snapshot every this many entries and purge the
/// log up to it, or never for 0.
pub(crate) const CHILD_SNAPSHOT_VAR: &str = "WAL_RAFT_CRASH_CHILD_SNAPSHOT";
/// The file of the child's last snapshot, beside the log's directory.
pub(crate) const SNAPSHOT_FILE: &str = "raft-snapshot";
/// Clients of a cycle: 1 to this many.
pub(crate) const CLIENTS_MAX: u64 = 16;
/// Payloads are 0 to this many bytes.
const PAYLOAD_BYTES_MAX: u64 = 300;
/// A seq is its cycle shifted by this, plus the client's count of writes in the cycle.
pub(crate) const SEQ_CYCLE_SHIFT: u32 = 32;

/// The payload of `seq` of `client`: `client:seq;` repeated and cut to a length that is a
/// function of both, from 0 to `PAYLOAD_BYTES_MAX` bytes.
pub(crate) fn payload(client: u64, seq: u64) -> Vec<u8> {
    let len = Rng::new(client.rotate_left(SEQ_CYCLE_SHIFT) ^ seq).below(PAYLOAD_BYTES_MAX + 1);
    let unit = format!("{client}:{seq};");
    unit.bytes()
        .cycle()
        .take(usize::try_from(len).unwrap())
        .collect()
}

/// One normal entry the state machine applied, as the child reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Applied {
    pub(crate) index: u64,
    pub(crate) client: u64,
    pub(crate) seq: u64,
    /// Whether its payload is `payload(client, seq)`.
    pub(crate) payload_ok: bool,
}

/// A write the child saw acknowledged: `client_write` (or the batcher's `write`)
/// returned Ok.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ack {
    pub(crate) client: u64,
    pub(crate) seq: u64,
    /// The raft index of the entry the write went into (its log id's).
    pub(crate) index: u64,
    /// The write's place among that entry's writes (0 without the batcher).
    pub(crate) position: u64,
}

/// A line of the child's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// `applied <index> <client> <seq> <payload ok: 1 or 0>`: one entry of the report.
    Applied(Applied),
    /// `ready <entries>`: the report is whole, writes begin.
    Ready(usize),
    /// `ack <client> <seq> <index> <position>`.
    Ack(Ack),
}

impl Line {
    pub(crate) fn parse(text: &str) -> Option<Line> {
        let mut words = text.split(' ');
        let kind = words.next()?;
        let numbers: Vec<u64> = words.map(|w| w.parse().ok()).collect::<Option<_>>()?;
        match (kind, numbers.as_slice()) {
            ("applied", &[index, client, seq, ok]) if ok <= 1 => Some(Line::Applied(Applied {
                index,
                client,
                seq,
                payload_ok: ok == 1,
            })),
            ("ready", &[entries]) => Some(Line::Ready(usize::try_from(entries).ok()?)),
            ("ack", &[client, seq, index, position]) => Some(Line::Ack(Ack {
                client,
                seq,
                index,
                position,
            })),
            _ => None,
        }
    }
}
