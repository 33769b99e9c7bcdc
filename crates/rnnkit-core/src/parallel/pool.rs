//! The workers. One caller at a time owns them (the `team` mutex, taken with `try_lock`, so a
//! second caller never waits: it runs inline). The caller posts a pointer to a stack `Job` into
//! each worker's slot, then everyone — caller included — claims parts from the job's counter
//! until none are left. Posts a worker has not picked up by then are retracted (a worker that is
//! parked or preempted on a busy machine then costs the caller nothing: it simply ran those
//! parts itself); the caller waits only for workers that did take the job. Only then does `run`
//! return or unwind, which is what makes lending stack data to workers sound.
//!
//! Natively the workers are std threads spawned on demand. The threaded WebAssembly build cannot
//! spawn threads: JS starts Web Workers / worker_threads on the shared memory, and each of them
//! enters `serve` for good. There, a worker that traps (a panic is an abort on wasm) marks the pool
//! broken, so a caller waiting for it panics instead of hanging.

use std::any::Any;
use std::hint::spin_loop;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, TryLockError};
use std::thread::{self, Thread};
use std::time::Duration;
#[cfg(not(target_arch = "wasm32"))]
use std::time::Instant;

use super::{lock, MAX_THREADS};
use crate::kernels::FlushDenormals;

/// How long an idle worker spins for the next job before parking. A forward or BPTT dispatches
/// its scans and GEMMs one after another with only a few µs of serial work in between, so workers
/// stay hot through a whole call; between calls they park and cost nothing. Kept short
/// because a spinning worker takes a core from other processes (and from its own caller's serial
/// work when cores are oversubscribed).
const WORKER_SPIN: Duration = Duration::from_micros(150);

/// How long the caller spins waiting for workers before it parks (a worker may have been
/// preempted on a busy machine: then sleeping beats spinning against it).
const CALLER_SPIN: Duration = Duration::from_micros(30);

/// A spin-wait budget. Natively a wall-clock deadline, read every 64 checks (reading the clock
/// costs more than a spin). wasm32-unknown-unknown has no clock, so there it counts checks, at
/// roughly `WASM_NS_PER_SPIN` each (an atomic load and a branch in V8's code).
struct SpinBudget {
    #[cfg(not(target_arch = "wasm32"))]
    start: Instant,
    #[cfg(not(target_arch = "wasm32"))]
    budget: Duration,
    #[cfg(not(target_arch = "wasm32"))]
    expired: bool,
    checks: u32,
}

#[cfg(target_arch = "wasm32")]
const WASM_NS_PER_SPIN: u128 = 2;

impl SpinBudget {
    fn new(budget: Duration) -> SpinBudget {
        #[cfg(not(target_arch = "wasm32"))]
        {
            SpinBudget { start: Instant::now(), budget, expired: false, checks: 0 }
        }
        #[cfg(target_arch = "wasm32")]
        {
            SpinBudget { checks: u32::try_from(budget.as_nanos() / WASM_NS_PER_SPIN).unwrap_or(u32::MAX) }
        }
    }

    /// Whether the budget is used up; call once per spin.
    fn spent(&mut self) -> bool {
        #[cfg(not(target_arch = "wasm32"))]
        {
            if !self.expired {
                self.checks = self.checks.wrapping_add(1);
                self.expired = self.checks.is_multiple_of(64) && self.start.elapsed() >= self.budget;
            }
            self.expired
        }
        #[cfg(target_arch = "wasm32")]
        {
            self.checks = self.checks.saturating_sub(1);
            self.checks == 0
        }
    }
}

/// One job: the caller's closure and its parts. Lives on the caller's stack.
struct Job<'a> {
    f: &'a (dyn Fn(usize) + Sync),
    parts: usize,
    /// The next unclaimed part. Claims only hand out distinct indices (Relaxed suffices: the
    /// data a part reads was published by the post of the job, and results by `remaining`).
    next: AtomicUsize,
    /// Whether the caller flushes subnormals (MXCSR FTZ+DAZ): workers then do too while they
    /// run its parts, so every part sees the caller's float mode whichever thread runs it.
    flush_denormals: bool,
}

impl Job<'_> {
    /// Claims and runs parts until none are left; returns the first panic payload among them
    /// (a panicking part does not stop the others: every part runs exactly once).
    fn run_parts(&self) -> Option<Box<dyn Any + Send>> {
        let mut first = None;
        loop {
            let p = self.next.fetch_add(1, Ordering::Relaxed);
            if p >= self.parts {
                return first;
            }
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| (self.f)(p))) {
                first.get_or_insert(payload);
            }
        }
    }
}

/// A worker's mailbox.
struct Slot {
    /// The posted job (type-erased lifetime), taken (swapped to null) by the worker, or
    /// retracted (compare-exchanged back to null) by the caller if the worker has not taken it.
    job: AtomicPtr<Job<'static>>,
    /// Set while the worker is parked or about to park; the poster then unparks it.
    sleeping: AtomicBool,
    thread: OnceLock<Thread>,
}

struct Pool {
    /// The workers' slots; holding the lock means owning the workers.
    team: Mutex<Vec<&'static Slot>>,
    /// Workers that have not yet finished the current job.
    remaining: AtomicUsize,
    /// The first panic payload of a worker during the current job.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// The caller of the current job, and whether it is parked (or about to park) waiting for it.
    caller: Mutex<Option<Thread>>,
    caller_sleeping: AtomicBool,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        team: Mutex::new(Vec::new()),
        remaining: AtomicUsize::new(0),
        panic: Mutex::new(None),
        caller: Mutex::new(None),
        caller_sleeping: AtomicBool::new(false),
    })
}

fn new_slot() -> &'static Slot {
    Box::leak(Box::new(Slot { job: AtomicPtr::new(ptr::null_mut()), sleeping: AtomicBool::new(false), thread: OnceLock::new() }))
}

/// Spawns workers until there are `want` (or spawning fails: then fewer are used).
#[cfg(not(target_arch = "wasm32"))]
fn grow(team: &mut Vec<&'static Slot>, want: usize) {
    while team.len() < want.min(MAX_THREADS - 1) {
        let slot = new_slot();
        let w = team.len() + 1; // participant 0 is the caller
        let spawned = thread::Builder::new().name(format!("rnnkit-worker-{w}")).spawn(move || worker_main(slot));
        match spawned {
            Ok(handle) => {
                let _ = slot.thread.set(handle.thread().clone());
                team.push(slot);
            }
            Err(_) => return, // out of threads: run with the workers we have
        }
    }
}

/// wasm32 cannot spawn: the team is whoever has joined through `serve`.
#[cfg(target_arch = "wasm32")]
fn grow(_team: &mut Vec<&'static Slot>, _want: usize) {}

/// Workers that have joined the pool (wasm32; natively they are spawned on demand instead).
#[cfg(target_arch = "wasm32")]
static JOINED: AtomicUsize = AtomicUsize::new(0);

/// Set when a wasm worker trapped: it may have died in the middle of a part.
#[cfg(target_arch = "wasm32")]
static BROKEN: AtomicBool = AtomicBool::new(false);

/// wasm32: the calling thread (a worker JS started on this module's shared memory, with its own
/// stack and TLS block) joins the pool and serves it until the instance is dropped.
#[cfg(target_arch = "wasm32")]
pub(super) fn serve() -> ! {
    let slot = new_slot();
    let _ = slot.thread.set(thread::current());
    let mut team = lock(&pool().team); // a worker may block here; only the JS thread must not
    if team.len() < MAX_THREADS - 1 {
        team.push(slot);
        JOINED.fetch_add(1, Ordering::SeqCst);
    }
    drop(team);
    worker_main(slot)
}

/// wasm32: workers in the team.
#[cfg(target_arch = "wasm32")]
pub(super) fn joined() -> usize {
    JOINED.load(Ordering::SeqCst)
}

/// wasm32: called by JS on a worker's instance after it trapped. A caller waiting for that worker
/// panics (and so traps) instead of waiting forever; JS then replaces the whole instance.
#[cfg(target_arch = "wasm32")]
pub(super) fn worker_trapped() {
    BROKEN.store(true, Ordering::SeqCst);
}

/// The caller's wait for workers once spinning is over. Natively: park until the last worker
/// unparks us. wasm32: the same, but waking every millisecond to see whether a worker trapped.
fn park_caller() {
    #[cfg(not(target_arch = "wasm32"))]
    thread::park();
    #[cfg(target_arch = "wasm32")]
    {
        thread::park_timeout(Duration::from_millis(1));
        assert!(!BROKEN.load(Ordering::SeqCst), "an rnnkit worker thread trapped during a parallel job");
    }
}

fn worker_main(slot: &'static Slot) -> ! {
    let pool = pool();
    loop {
        let job = wait_for_job(slot);
        let panicked = {
            // SAFETY: the poster (`run` below) keeps the Job and everything its closure borrows
            // alive until `remaining` reaches 0, and this worker decrements `remaining` only after
            // its last use of `job` (the reference is dead at the end of this block).
            let job = unsafe { &*job };
            // The caller's float mode for the job's duration; the guard restores the worker's
            // own (default) MXCSR afterwards (parts cannot unwind past `run_parts`).
            let _ftz = job.flush_denormals.then(FlushDenormals::new);
            job.run_parts()
        };
        if let Some(payload) = panicked {
            lock(&pool.panic).get_or_insert(payload);
        }
        // The last worker wakes a parked caller. SeqCst pairs with the caller's store of
        // `caller_sleeping` and its load of `remaining` (the same handshake as `wait_for_job`).
        if pool.remaining.fetch_sub(1, Ordering::SeqCst) == 1 && pool.caller_sleeping.load(Ordering::SeqCst) {
            if let Some(t) = lock(&pool.caller).as_ref() {
                t.unpark();
            }
        }
    }
}

/// Spins for the next job, then parks until one is posted.
fn wait_for_job(slot: &Slot) -> *const Job<'static> {
    let mut spin = SpinBudget::new(WORKER_SPIN);
    loop {
        if !slot.job.load(Ordering::Relaxed).is_null() {
            let job = slot.job.swap(ptr::null_mut(), Ordering::Acquire);
            if !job.is_null() {
                return job;
            }
            continue; // the caller retracted it in between
        }
        if !spin.spent() {
            spin_loop();
            continue;
        }
        // Announce the sleep, then look once more: with both sides SeqCst, either this load sees
        // a job posted concurrently, or the poster sees `sleeping` and unparks us.
        slot.sleeping.store(true, Ordering::SeqCst);
        let job = slot.job.swap(ptr::null_mut(), Ordering::SeqCst);
        if job.is_null() {
            thread::park(); // a stale unpark token only causes one extra loop
        }
        slot.sleeping.store(false, Ordering::SeqCst);
        if !job.is_null() {
            return job;
        }
        spin = SpinBudget::new(WORKER_SPIN);
    }
}

/// Runs the job on the pool; false (nothing ran) if the pool is owned by another caller.
pub(super) fn run(parts: usize, f: &(dyn Fn(usize) + Sync)) -> bool {
    let pool = pool();
    let mut team = match pool.team.try_lock() {
        Ok(team) => team,
        // Every job completes before its caller releases the lock, so a poisoned team is intact.
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => return false,
    };
    grow(&mut team, parts - 1);
    let workers = team.len().min(parts - 1);
    if workers == 0 {
        return false;
    }
    let job = Job { f, parts, next: AtomicUsize::new(0), flush_denormals: FlushDenormals::active() };
    // SAFETY: only the lifetime is erased. The pointer is dereferenced only by workers that took
    // it from their slot, strictly before they decrement `remaining`; posts not taken are
    // retracted below; and this function does not return or unwind before seeing
    // `remaining == 0` (the caller's parts run under catch_unwind), so `job` and the data `f`
    // borrows outlive every use.
    let erased = unsafe { std::mem::transmute::<*const Job<'_>, *mut Job<'static>>(&job as *const Job<'_>) };
    *lock(&pool.caller) = Some(thread::current());
    pool.remaining.store(workers, Ordering::SeqCst);
    for slot in &team[..workers] {
        slot.job.store(erased, Ordering::SeqCst);
        if slot.sleeping.load(Ordering::SeqCst) {
            if let Some(t) = slot.thread.get() {
                t.unpark();
            }
        }
    }
    let own = job.run_parts();
    // No parts are left. A worker that has not taken its post yet (still waking, or preempted)
    // would find nothing to do: retract the post and count it done ourselves.
    for slot in &team[..workers] {
        if slot.job.compare_exchange(erased, ptr::null_mut(), Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            pool.remaining.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let mut spin = SpinBudget::new(CALLER_SPIN);
    while pool.remaining.load(Ordering::Acquire) != 0 {
        if !spin.spent() {
            spin_loop();
            continue;
        }
        pool.caller_sleeping.store(true, Ordering::SeqCst);
        if pool.remaining.load(Ordering::SeqCst) != 0 {
            park_caller(); // spurious or stale wake-ups just loop
        }
        pool.caller_sleeping.store(false, Ordering::SeqCst);
    }
    let worker_panic = lock(&pool.panic).take();
    drop(team);
    match own.or(worker_panic) {
        Some(payload) => resume_unwind(payload),
        None => true,
    }
}
