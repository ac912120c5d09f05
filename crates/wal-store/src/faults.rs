//! Fault plans, for tests only (the `fault-injection` feature, which only the workspace's
//! tests enable): make chosen system calls of the store (every sync, preallocation,
//! create, open, write, rename, unlink and mkdir, by the store and by recovery) fail, and
//! count them.
//!
//! A plan covers the paths under one directory (a test's temporary directory): a call
//! is seen by the plan whose directory is the nearest ancestor of its path, and by no
//! other. `cargo test` runs the tests of a binary on parallel threads, and a log runs
//! threads of its own (the interval syncer); a plan for the whole process would count
//! and fail the calls of every test at once. Scoped to a directory, each test sees
//! exactly the calls made on its own log, whichever thread makes them, and the tests of
//! a binary still run in parallel.
//!
//! A child process (the command line, run by its tests) takes a plan from the
//! environment: `WALRS_FAULTS=<call>:<nth>:<errno>:<once|always>[:<path part>]`, rules
//! separated by `,` (`fsync:2:EIO:once`, `msync:1:ENOSPC:always:.txnx`). It covers
//! every path of the process, and is read only in a build with this feature.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};

pub use crate::sys::Call;

/// The environment variable a child process takes its plan from.
pub const FAULTS_ENV: &str = "WALRS_FAULTS";

/// `EIO`.
pub const EIO: i32 = 5;
/// `ENOSPC`.
pub const ENOSPC: i32 = 28;

/// One fault: the `nth` call (counted from 1, from when the rule was added) of kind
/// `call` whose path contains `path_part` fails with `errno`, and with `persistent`
/// every matching call after it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The kind of call.
    pub call: Call,
    /// Which matching call fails first (1 is the first).
    pub nth: usize,
    /// The error number returned (`EIO`, `ENOSPC`, ...).
    pub errno: i32,
    /// Whether every matching call after the `nth` fails too.
    pub persistent: bool,
    /// Only calls whose path contains this (as a string) match.
    pub path_part: Option<String>,
}

impl Rule {
    /// The `nth` call of kind `call` fails with `errno`, once.
    pub fn once(call: Call, nth: usize, errno: i32) -> Rule {
        Rule {
            call,
            nth,
            errno,
            persistent: false,
            path_part: None,
        }
    }

    /// The `nth` call of kind `call` and every one after it fail with `errno`.
    pub fn from_then_on(call: Call, nth: usize, errno: i32) -> Rule {
        Rule {
            persistent: true,
            ..Rule::once(call, nth, errno)
        }
    }

    /// Only calls on paths containing `part` match.
    pub fn on_paths(mut self, part: &str) -> Rule {
        self.path_part = Some(part.to_owned());
        self
    }

    fn matches(&self, call: Call, path: &Path) -> bool {
        self.call == call
            && self
                .path_part
                .as_deref()
                .is_none_or(|part| path.to_string_lossy().contains(part))
    }
}

/// A call a plan saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Its kind.
    pub call: Call,
    /// The path it was made on.
    pub path: PathBuf,
    /// The error number injected, if it was made to fail.
    pub failed: Option<i32>,
}

#[derive(Debug, Default)]
struct State {
    /// Rules and how many matching calls each has seen.
    rules: Vec<(Rule, usize)>,
    /// Calls to hold (see [`FaultPlan::hold`]): the kind, which matching call, how many
    /// matching calls were seen, and the gate it waits at.
    holds: Vec<(Call, usize, usize, Arc<GateState>)>,
    seen: Vec<Seen>,
}

#[derive(Debug)]
struct Plan {
    root: PathBuf,
    state: Mutex<State>,
}

impl Plan {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the call and says whether it fails, and at which gate it waits first.
    fn decide(&self, call: Call, path: &Path) -> (Option<i32>, Option<Arc<GateState>>) {
        let mut state = self.lock();
        let mut gate = None;
        for (kind, nth, matched, held) in &mut state.holds {
            if *kind == call {
                *matched += 1;
                if *matched == *nth {
                    gate = Some(Arc::clone(held));
                }
            }
        }
        let mut failed = None;
        for (rule, matched) in &mut state.rules {
            if !rule.matches(call, path) {
                continue;
            }
            *matched += 1;
            let due = *matched == rule.nth || (rule.persistent && *matched > rule.nth);
            if due && failed.is_none() {
                failed = Some(rule.errno);
            }
        }
        state.seen.push(Seen {
            call,
            path: path.to_path_buf(),
            failed,
        });
        (failed, gate)
    }
}

#[derive(Debug, Default)]
struct GateState {
    /// (a call is waiting at the gate, the gate is open)
    state: Mutex<(bool, bool)>,
    changed: Condvar,
}

impl GateState {
    fn lock(&self) -> MutexGuard<'_, (bool, bool)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called by the held call: waits until the gate opens.
    fn pass(&self) {
        let mut state = self.lock();
        state.0 = true;
        self.changed.notify_all();
        while !state.1 {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// A call held by [`FaultPlan::hold`]: it waits before it is made until the gate opens
/// (when [`open`](Gate::open) is called or the gate is dropped), so that a test can make
/// other calls happen while it is in progress, without relying on timing.
#[derive(Debug)]
pub struct Gate {
    state: Arc<GateState>,
}

impl Gate {
    /// Waits until the held call has reached the gate.
    pub fn wait_reached(&self) {
        let mut state = self.state.lock();
        while !state.0 {
            state = self
                .state
                .changed
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Lets the held call go ahead.
    pub fn open(&self) {
        self.state.lock().1 = true;
        self.state.changed.notify_all();
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.open();
    }
}

/// Plans in force; `ACTIVE` counts them so that a call with none pays one load.
static PLANS: Mutex<Vec<Weak<Plan>>> = Mutex::new(Vec::new());
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// The plan of the environment, if any (installed once, never removed).
static FROM_ENV: OnceLock<Option<FaultPlan>> = OnceLock::new();

fn plans() -> MutexGuard<'static, Vec<Weak<Plan>>> {
    PLANS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Called by `sys.rs` before each system call: fails it if the plan covering `path`
/// says so.
pub(crate) fn check(call: Call, path: &Path) -> io::Result<()> {
    FROM_ENV.get_or_init(plan_from_env);
    if ACTIVE.load(Ordering::Acquire) == 0 {
        return Ok(());
    }
    let plan = {
        let plans = plans();
        plans
            .iter()
            .filter_map(Weak::upgrade)
            .filter(|plan| path.starts_with(&plan.root))
            .max_by_key(|plan| plan.root.components().count())
    };
    let Some(plan) = plan else {
        return Ok(());
    };
    let (failed, gate) = plan.decide(call, path);
    if let Some(gate) = gate {
        gate.pass();
    }
    match failed {
        Some(errno) => Err(io::Error::from_raw_os_error(errno)),
        None => Ok(()),
    }
}

/// A plan of faults for the paths under one directory, in force until dropped.
#[derive(Debug)]
pub struct FaultPlan {
    plan: Arc<Plan>,
}

impl FaultPlan {
    /// Starts a plan for every path under `root` (with no rule yet: it only counts).
    /// The nearest plan wins when two cover a path.
    pub fn install(root: &Path) -> FaultPlan {
        let plan = Arc::new(Plan {
            root: root.to_path_buf(),
            state: Mutex::new(State::default()),
        });
        let mut plans = plans();
        plans.retain(|p| p.strong_count() > 0);
        plans.push(Arc::downgrade(&plan));
        ACTIVE.fetch_add(1, Ordering::AcqRel);
        FaultPlan { plan }
    }

    /// Adds a rule; its count of matching calls starts now.
    pub fn fail(&self, rule: Rule) {
        self.plan.lock().rules.push((rule, 0));
    }

    /// Holds the `nth` call of kind `call` from now on (counted from 1) before it is made,
    /// until the returned gate opens.
    pub fn hold(&self, call: Call, nth: usize) -> Gate {
        let state = Arc::new(GateState::default());
        self.plan
            .lock()
            .holds
            .push((call, nth, 0, Arc::clone(&state)));
        Gate { state }
    }

    /// Removes every rule: the calls from now on go ahead (and are still counted).
    pub fn heal(&self) {
        self.plan.lock().rules.clear();
    }

    /// Forgets the calls seen so far.
    pub fn forget(&self) {
        self.plan.lock().seen.clear();
    }

    /// The calls seen since the plan started (or since [`forget`](FaultPlan::forget)).
    pub fn seen(&self) -> Vec<Seen> {
        self.plan.lock().seen.clone()
    }

    /// How many calls of each kind were seen.
    pub fn counts(&self) -> BTreeMap<Call, usize> {
        let mut counts = BTreeMap::new();
        for seen in &self.plan.lock().seen {
            *counts.entry(seen.call).or_insert(0) += 1;
        }
        counts
    }

    /// How many calls were made to fail.
    pub fn injected(&self) -> usize {
        self.plan
            .lock()
            .seen
            .iter()
            .filter(|s| s.failed.is_some())
            .count()
    }
}

impl Drop for FaultPlan {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The plan `WALRS_FAULTS` describes, for every path; `None` without the variable. A
/// rule that does not parse is reported on stderr and left out (a test that sets the
/// variable sees its faults not happen).
fn plan_from_env() -> Option<FaultPlan> {
    let text = std::env::var(FAULTS_ENV).ok()?;
    let plan = FaultPlan::install(Path::new("/"));
    for spec in text.split(',').filter(|s| !s.is_empty()) {
        match parse_rule(spec) {
            Some(rule) => plan.fail(rule),
            None => eprintln!("{FAULTS_ENV}: rule not understood: {spec}"),
        }
    }
    Some(plan)
}

/// `<call>:<nth>:<errno>:<once|always>[:<path part>]`.
fn parse_rule(spec: &str) -> Option<Rule> {
    let mut parts = spec.splitn(5, ':');
    let name = parts.next()?;
    let call = Call::ALL.into_iter().find(|c| c.name() == name)?;
    let nth = parts.next()?.parse().ok()?;
    let errno = match parts.next()? {
        "EIO" => EIO,
        "ENOSPC" => ENOSPC,
        other => other.parse().ok()?,
    };
    let persistent = match parts.next()? {
        "once" => false,
        "always" => true,
        _ => return None,
    };
    let rule = Rule {
        call,
        nth,
        errno,
        persistent,
        path_part: None,
    };
    Some(match parts.next() {
        Some(part) => rule.on_paths(part),
        None => rule,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_from_the_environment_form() {
        assert_eq!(
            parse_rule("fsync_dir:3:EIO:once"),
            Some(Rule::once(Call::FsyncDir, 3, EIO))
        );
        assert_eq!(
            parse_rule("msync:1:28:always:.txnx"),
            Some(Rule::from_then_on(Call::Msync, 1, ENOSPC).on_paths(".txnx"))
        );
        assert_eq!(parse_rule("fsync:x:EIO:once"), None);
        assert_eq!(parse_rule("sync:1:EIO:once"), None);
        assert_eq!(parse_rule("fsync:1:EIO:sometimes"), None);
    }

    #[test]
    fn a_plan_fails_the_nth_call_under_its_directory_only() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let plan = FaultPlan::install(dir.path());
        plan.fail(Rule::once(Call::Unlink, 2, EIO));
        let path = dir.path().join("f");
        let elsewhere = other.path().join("f");
        assert!(check(Call::Unlink, &path).is_ok());
        assert!(check(Call::Unlink, &elsewhere).is_ok());
        assert_eq!(
            check(Call::Unlink, &path).unwrap_err().raw_os_error(),
            Some(EIO)
        );
        assert!(check(Call::Unlink, &path).is_ok());
        assert_eq!(plan.counts().get(&Call::Unlink), Some(&3));
        assert_eq!(plan.injected(), 1);

        // A path part no temporary directory's random name holds (a one-letter part
        // would match some of them).
        plan.fail(Rule::from_then_on(Call::Fsync, 1, ENOSPC).on_paths("faulty-file"));
        assert!(check(Call::Fsync, &path).is_ok());
        for _ in 0..3 {
            assert_eq!(
                check(Call::Fsync, &dir.path().join("faulty-file"))
                    .unwrap_err()
                    .raw_os_error(),
                Some(ENOSPC)
            );
        }
        plan.heal();
        assert!(check(Call::Fsync, &dir.path().join("faulty-file")).is_ok());
        drop(plan);
        assert!(check(Call::Unlink, &path).is_ok());
    }
}
