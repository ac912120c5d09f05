//! What a raft node keeps beside its log: the vote, the committed and the last purged log
//! ids, in the walrs log's metadata blob (`META`, replaced whole, atomically and
//! durably).
//!
//! The blob is one version byte (1) and the record in postcard. The commit offset kept
//! with it is what recovery at the next open treats as promised: the committed index, but
//! never past what this log had made durable when it was recorded (a follower learns of
//! commits before its own copy of them is on its disk).

use openraft::{LogId, NodeId, Vote};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The blob's first byte: the version of the record after it.
const META_VERSION: u8 = 1;

/// The raft state kept in the log's metadata blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct RaftMeta<NID: NodeId> {
    /// The last vote saved (`save_vote`).
    pub(crate) vote: Option<Vote<NID>>,
    /// The last committed log id saved (`save_committed`).
    pub(crate) committed: Option<LogId<NID>>,
    /// The greatest log id purged (`purge`). Recorded before the log's start moves, so
    /// that an open after a crash between the two finishes the purge.
    pub(crate) last_purged: Option<LogId<NID>>,
    /// The commit offset recovery gets at the next open: at most the committed index, at
    /// most the highest offset durable here when it was recorded.
    pub(crate) commit_offset: Option<u64>,
}

impl<NID: NodeId> Default for RaftMeta<NID> {
    fn default() -> Self {
        RaftMeta {
            vote: None,
            committed: None,
            last_purged: None,
            commit_offset: None,
        }
    }
}

impl<NID: NodeId> RaftMeta<NID> {
    /// The blob for this record.
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        let blob = vec![META_VERSION];
        postcard::to_extend(self, blob).map_err(|source| Error::Encode {
            what: "the raft metadata",
            source,
        })
    }

    /// The record in `blob`; no blob is the empty record of a new node.
    pub(crate) fn decode(blob: Option<&[u8]>) -> Result<Self> {
        let Some(blob) = blob else {
            return Ok(RaftMeta::default());
        };
        match blob.split_first() {
            Some((&META_VERSION, record)) => {
                postcard::from_bytes(record).map_err(|source| Error::MetaDecode { source })
            }
            found => Err(Error::MetaVersion {
                found: found.map(|(&version, _)| version),
                supported: META_VERSION,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use openraft::CommittedLeaderId;

    use super::*;

    #[test]
    fn a_record_survives_its_blob_and_a_damaged_one_is_refused() {
        let id = |term, index| LogId::new(CommittedLeaderId::new(term, 1u64), index);
        let meta = RaftMeta::<u64> {
            vote: Some(Vote::new(3, 1)),
            committed: Some(id(3, 41)),
            last_purged: Some(id(2, 9)),
            commit_offset: Some(40),
        };
        let blob = meta.encode().unwrap();
        assert_eq!(RaftMeta::decode(Some(&blob)).unwrap(), meta);
        assert_eq!(RaftMeta::<u64>::decode(None).unwrap(), RaftMeta::default());
        assert!(matches!(
            RaftMeta::<u64>::decode(Some(&blob[..blob.len() - 1])),
            Err(Error::MetaDecode { .. })
        ));
        for (bad, found) in [(&[][..], None), (&[2, 0, 0], Some(2))] {
            assert!(matches!(
                RaftMeta::<u64>::decode(Some(bad)),
                Err(Error::MetaVersion { found: f, supported: 1 }) if f == found
            ));
        }
    }
}
