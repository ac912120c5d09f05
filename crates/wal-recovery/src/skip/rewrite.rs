//! Applying `SkipCorrupted` to one segment through the journal: a clean segment is kept
//! whole (with an index that agrees with its data when the index listed more); a damaged
//! one has its bytes from the first record not kept in place copied to quarantine, and
//! each run of trusted records staged as a segment file of its own.

use std::ops::ControlFlow;

use wal_store::internal::{fs as store_fs, naming};

use super::Skip;
use super::runs::{self, Walk};
use crate::analyze::{IndexState, SegmentScan};
use crate::error::{IoContext, Result};
use crate::journal::pending_path;
use crate::problem::ProblemKind;
use crate::report::{Action, Cut};

impl Skip<'_> {
    /// Keeps a segment with no damaged record whole. Entries a valid index lists but the
    /// data lacks (the data is clean): before another segment, a hole up to it, and an
    /// index that agrees with the data; at the end of the log, they are simply gone (a
    /// hole needs a segment after it, or the next appends would land inside it).
    pub(super) fn keep_whole(&mut self, segment: &SegmentScan, is_last: bool) -> Result<()> {
        let analysis = self.analysis;
        self.kept_end = segment.base + segment.entries();
        if segment.entries() > 0 {
            self.kept_crc = segment.last_crc;
        }
        // (An empty segment between others goes to quarantine in the housekeeping.)
        if !analysis
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::EmptySegment && p.segment == Some(segment.base))
        {
            self.kept_bases.push(segment.base);
        }
        let IndexState::Valid(listed) = &segment.index else {
            return Ok(());
        };
        if listed.len() as u64 <= segment.entries() {
            return Ok(());
        }
        let listed_end = segment.base + listed.len() as u64;
        if is_last {
            self.cut = Some(Cut {
                offsets: self.kept_end..listed_end,
                committed: true,
                quarantine: self.quarantine.path().to_path_buf(),
            });
            return Ok(());
        }
        self.new_holes.push(self.kept_end..listed_end);
        self.touched.push(segment.base);
        if segment.offsets.is_empty() {
            // Nothing left to list: a sealed segment with no entry has no index (no index
            // that lists no entry is written).
            self.journal.remove(&segment.index_path)?;
        } else {
            let pending = pending_path(&segment.index_path);
            let (base, codec) = (segment.base, segment.codec);
            store_fs::write_index(&analysis.dir, &pending, base, codec, &segment.offsets)?;
            self.journal.install(&segment.index_path)?;
            self.actions.push(Action::IndexRebuilt {
                segment: segment.base,
                entries: segment.entries(),
            });
        }
        Ok(())
    }

    /// Rewrites the damaged `i`-th segment around its holes: plans its runs, then stages
    /// them. Where the plan does not reach the end of the data, the log is cut after the
    /// last run (`Break`).
    pub(super) fn rewrite(
        &mut self,
        i: usize,
        segment: &SegmentScan,
        is_last: bool,
    ) -> Result<ControlFlow<()>> {
        let analysis = self.analysis;
        self.touched.push(segment.base);
        let data = std::fs::read(&segment.data_path).io_context("read", &segment.data_path)?;
        let walk = runs::plan(analysis, i, segment, &data);
        self.quarantine_moved(segment, &data, &walk)?;
        let last_of_log = is_last || !walk.complete;
        self.stage_runs(segment, &data, &walk, last_of_log)?;
        self.new_holes.extend(
            walk.holes
                .iter()
                .map(|h| segment.base + h.start..segment.base + h.end),
        );
        if let Some(&(start, _)) = walk.runs.last().and_then(|r| r.records.last()) {
            self.kept_crc =
                runs::valid_record(segment.codec, &data, start).and_then(|(_, _, crc)| crc);
        }
        let kept_end = walk.kept_end(segment.base);
        self.kept_end = kept_end;
        // A damaged end of a sealed segment: the hole runs up to the next segment.
        if !is_last
            && walk.complete
            && let Some(next) = analysis.segments.get(i + 1)
            && next.base > kept_end
        {
            self.new_holes.push(kept_end..next.base);
        }
        if walk.complete {
            return Ok(ControlFlow::Continue(()));
        }
        let reached = analysis.reached_end().unwrap_or(kept_end);
        let committed = kept_end < analysis.committed_end;
        let end = reached.max(kept_end);
        self.cut = Some(Cut {
            offsets: kept_end..if committed {
                end.max(analysis.committed_end)
            } else {
                end
            },
            committed,
            quarantine: self.quarantine.path().to_path_buf(),
        });
        self.stop_after = Some(i);
        Ok(ControlFlow::Break(()))
    }

    /// Copies to quarantine everything from the first record not kept in place to the
    /// last non-zero byte.
    fn quarantine_moved(&mut self, segment: &SegmentScan, data: &[u8], walk: &Walk) -> Result<()> {
        let first_moved = walk.first_moved();
        if segment.written_len <= u64::from(first_moved) {
            return Ok(());
        }
        let tail = data
            .get(first_moved as usize..usize::try_from(segment.written_len).unwrap_or(usize::MAX))
            .unwrap_or_default();
        let to = self.quarantine.keep_bytes(
            &segment.data_path,
            u64::from(first_moved),
            tail,
            "skip-corrupted",
        )?;
        self.actions.push(Action::TailCut {
            segment: segment.base,
            file_offset: first_moved,
            bytes: tail.len() as u64,
            quarantined_to: to,
        });
        Ok(())
    }

    /// Stages the segment's new files: the segment itself removed unless its first
    /// record stays in place (or kept, emptied, when nothing of the log's last segment is
    /// kept), and each run in a file named after its first offset, sealed with an index
    /// unless it is the last of the log (the active segment). `last_of_log`: nothing
    /// after this segment is kept.
    fn stage_runs(
        &mut self,
        segment: &SegmentScan,
        data: &[u8],
        walk: &Walk,
        last_of_log: bool,
    ) -> Result<()> {
        let dir = &self.analysis.dir;
        let file_len = data.len() as u64;
        if walk.runs.is_empty() && last_of_log {
            self.kept_bases.push(segment.base);
            // Nothing kept of the segment the log ends in: it stays, emptied, as the
            // active segment, so that the log keeps its end offset (offsets never go
            // back, and a hole before it stays a gap between segments) and the segment
            // before it stays sealed.
            store_fs::create_with_content(dir, &pending_path(&segment.data_path), &[], file_len)?;
            self.journal.install(&segment.data_path)?;
            if segment.index_path.exists() {
                self.journal.remove(&segment.index_path)?;
                self.actions.push(Action::ActiveIndexRemoved {
                    segment: segment.base,
                });
            }
        } else if !walk.keeps_first() {
            self.journal.remove(&segment.index_path)?;
            self.journal.remove(&segment.data_path)?;
        }
        let run_count = walk.runs.len();
        for (r, run) in walk.runs.iter().enumerate() {
            let base = segment.base + run.first;
            let (Some(&(start, _)), Some(&(_, end))) = (run.records.first(), run.records.last())
            else {
                continue;
            };
            let bytes = data.get(start as usize..end as usize).unwrap_or_default();
            let active = last_of_log && r + 1 == run_count;
            let len = if active {
                file_len.max(bytes.len() as u64)
            } else {
                bytes.len() as u64
            };
            self.kept_bases.push(base);
            let data_path = naming::data_path(dir, base, segment.codec);
            let index_path = naming::index_path(dir, base, segment.codec);
            store_fs::create_with_content(dir, &pending_path(&data_path), bytes, len)?;
            self.journal.install(&data_path)?;
            if active {
                if index_path.exists() {
                    self.journal.remove(&index_path)?;
                    self.actions
                        .push(Action::ActiveIndexRemoved { segment: base });
                }
            } else {
                let offsets: Vec<u32> = run.records.iter().map(|&(s, _)| s - start).collect();
                let pending = pending_path(&index_path);
                store_fs::write_index(dir, &pending, base, segment.codec, &offsets)?;
                self.journal.install(&index_path)?;
                self.actions.push(Action::IndexRebuilt {
                    segment: base,
                    entries: offsets.len() as u64,
                });
            }
            if run.first > 0 {
                self.actions.push(Action::SegmentSplit {
                    segment: segment.base,
                    into: base,
                });
            }
        }
        Ok(())
    }
}
