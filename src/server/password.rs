//! Password hashing with argon2id (ssr only).
//!
//! Hashing is deliberately slow (~tens of ms and 19 MiB each), so it never runs on the async
//! worker threads: it runs on a few hashing threads of its own (one per CPU by default), at a
//! lower OS priority, so a flood of sign-ins queues here instead of starving every other
//! request. Each hashing thread keeps its argon2 memory while work keeps coming and unmaps it
//! after a moment without any, so an idle server gives those megabytes back to the OS.
//!
//! Passwords are compared as Unicode NFKC, so the same password typed on two keyboards (a
//! precomposed "é" or "e" + combining accent, a full-width letter) is the same password.
//! Unknown accounts are checked against a dummy hash made with the parameters most stored
//! hashes use, so after a parameter change they still cost what a real account costs.
//!
//! The queue is fair between accounts: every job names the account it is for, and the
//! threads take the accounts with waiting jobs in turn, one job each. However many checks
//! one account's flood has queued, someone else's sign-in waits for at most one job per
//! other busy account, not for the whole flood.

use crate::server::secret::Secret;
use argon2::{
    password_hash::phc::{Output, ParamsString, PasswordHash, Salt},
    Algorithm, Argon2, Block, Params, Version,
};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::{
    collections::{HashMap, VecDeque},
    panic::AssertUnwindSafe,
    sync::{Arc, Mutex, PoisonError, RwLock},
    time::Duration,
};
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2 parameters rejected: {0}")]
    Params(String),
    #[error("hashing failed: {0}")]
    Hash(String),
    #[error("hashing task failed: {0}")]
    Join(String),
}

impl From<PasswordError> for crate::error::AppError {
    fn from(err: PasswordError) -> Self {
        tracing::error!(error = %err, "password hashing error");
        crate::error::AppError::Internal
    }
}

/// The result of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub matches: bool,
    /// The stored hash used other parameters than today's: store a fresh one.
    pub needs_rehash: bool,
}

/// How long a hashing thread keeps its memory after its last hash: a stream of sign-ins
/// reuses it (mapping it afresh costs page faults and zeroing), and a quiet server is small
/// again a moment after its last sign-in.
const KEEP_MEMORY_IDLE: Duration = Duration::from_millis(250);

/// The hashing threads' nice value, the lowest priority: requests that need no hash are
/// served first when the CPUs are busy hashing (measured on 2 vCPUs: p99 of /api/v1/me
/// during a sign-in flood 3.8 ms at nice 19, 5.9 ms at nice 10, 7.2 ms before); with idle
/// CPUs hashing runs at full speed all the same.
const HASHING_NICE: i32 = 19;

type Job = Box<dyn FnOnce(&mut Workspace) + Send>;

/// Waiting jobs, per account, taken in turns.
#[derive(Default)]
struct FairQueue {
    waiting: HashMap<String, VecDeque<Job>>,
    /// Accounts with waiting jobs, in the order their next job is taken.
    turns: VecDeque<String>,
}

impl FairQueue {
    fn push(&mut self, account: &str, job: Job) {
        match self.waiting.get_mut(account) {
            Some(jobs) => jobs.push_back(job),
            None => {
                self.waiting.insert(account.to_owned(), VecDeque::from([job]));
                self.turns.push_back(account.to_owned());
            }
        }
    }

    /// The next account's oldest job; that account goes to the back of the line.
    fn pop(&mut self) -> Option<Job> {
        let account = self.turns.pop_front()?;
        let jobs = self.waiting.get_mut(&account)?;
        let job = jobs.pop_front();
        if jobs.is_empty() {
            self.waiting.remove(&account);
        } else {
            self.turns.push_back(account);
        }
        job
    }
}

/// The queue's name for work that is nobody's (the dummy hash).
const NOBODY: &str = "";

#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    params: Params,
    /// The jobs, fair between accounts.
    queue: Arc<Mutex<FairQueue>>,
    /// One ring per queued job wakes one hashing thread; the queue says whose job it takes.
    /// The threads stop when the last clone of this is dropped.
    doorbell: Sender<()>,
    /// Verified for unknown accounts, so "no such account" costs what "wrong password" costs.
    dummy_hash: Arc<RwLock<Arc<str>>>,
}

/// argon2's cost parameters: memory (KiB), iterations, parallelism.
pub type Cost = (u32, u32, u32);

/// The text that is hashed for a password: its NFKC form.
fn normalized(password: &Secret) -> Secret {
    Secret::new(password.expose().nfkc().collect::<String>())
}

/// The cost parameters of a stored PHC hash.
pub fn cost_of(hash: &str) -> Option<Cost> {
    let parsed = PasswordHash::new(hash).ok()?;
    Params::try_from(&parsed).ok().map(|p| (p.m_cost(), p.t_cost(), p.p_cost()))
}

/// The parameters most of `hashes` were made with (None for none).
pub fn most_used_cost<'a>(hashes: impl IntoIterator<Item = &'a str>) -> Option<Cost> {
    let mut counts = std::collections::HashMap::<Cost, usize>::new();
    for cost in hashes.into_iter().filter_map(cost_of) {
        *counts.entry(cost).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(cost, n)| (*n, *cost)).map(|(cost, _)| cost)
}

const DUMMY_PASSWORD: &[u8] = b"gatehouse dummy password, never a real one";

impl Passwords {
    /// `memory_kib`/`iterations`: OWASP's 19456/2 by default, parallelism 1. `concurrency`
    /// hashing threads are started.
    pub fn new(memory_kib: u32, iterations: u32, concurrency: usize) -> Result<Self, PasswordError> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| PasswordError::Params(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let dummy = hash_with(&argon, DUMMY_PASSWORD, Workspace::new(params.block_count()).memory(params.block_count())?)?;
        let queue = Arc::new(Mutex::new(FairQueue::default()));
        let (doorbell, rings) = crossbeam_channel::unbounded::<()>();
        for i in 0..concurrency.max(1) {
            let (queue, rings) = (queue.clone(), rings.clone());
            let blocks = params.block_count();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || hashing_thread(&queue, &rings, blocks))
                .map_err(|e| PasswordError::Join(format!("starting a hashing thread: {e}")))?;
        }
        Ok(Passwords { argon, params, queue, doorbell, dummy_hash: Arc::new(RwLock::new(dummy.into())) })
    }

    /// Makes unknown accounts cost what the stored hashes cost: `cost` is the parameters most
    /// of them use (`most_used_cost`), today's until accounts have signed in since a change.
    pub async fn follow_stored_cost(&self, cost: Cost) -> Result<(), PasswordError> {
        if self.dummy_cost() == Some(cost) {
            return Ok(());
        }
        let params = Params::new(cost.0, cost.1, cost.2, None).map_err(|e| PasswordError::Params(e.to_string()))?;
        let blocks = params.block_count();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = self.run(NOBODY, move |workspace| hash_with(&argon, DUMMY_PASSWORD, workspace.memory(blocks)?)).await??;
        *self.dummy_hash.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = dummy.into();
        Ok(())
    }

    /// The parameters unknown accounts are checked with.
    pub fn dummy_cost(&self) -> Option<Cost> {
        cost_of(&self.dummy())
    }

    fn dummy(&self) -> Arc<str> {
        self.dummy_hash.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Hashes a new password (its NFKC form) of `account` (its email, or its id: whatever
    /// names it to the caller, for the queue's turns) into a PHC string.
    pub async fn hash(&self, account: &str, password: &Secret) -> Result<String, PasswordError> {
        let argon = self.argon.clone();
        let password = normalized(password);
        let blocks = self.params.block_count();
        self.run(account, move |workspace| hash_with(&argon, password.expose().as_bytes(), workspace.memory(blocks)?))
            .await?
    }

    /// Checks a password of `account` against a stored hash, or against the dummy hash when
    /// there is no account, so both paths do the same work. `matches` is false for a missing
    /// account.
    ///
    /// The NFKC form is checked; a password whose typed form differs from it is also checked
    /// as typed (hashes stored before passwords were normalised) and, matching that way, is
    /// due for a rehash. Whether that second check runs depends on the input alone, never on
    /// the account, so it tells nobody anything.
    pub async fn verify(&self, account: &str, password: &Secret, stored: Option<&str>) -> Result<Verified, PasswordError> {
        let typed = password.clone();
        let password = normalized(password);
        let legacy = (typed.expose() != password.expose()).then_some(typed);
        let account_exists = stored.is_some();
        let hash: Arc<str> = stored.map(Arc::from).unwrap_or_else(|| self.dummy());
        let current = self.params.clone();
        self.run(account, move |workspace| {
            let Ok(parsed) = PasswordHash::new(&hash) else {
                return Verified { matches: false, needs_rehash: false };
            };
            let mut matches = verify_with(password.expose().as_bytes(), &parsed, workspace);
            let mut typed_form_matched = false;
            if let Some(typed) = legacy {
                typed_form_matched = verify_with(typed.expose().as_bytes(), &parsed, workspace) && !matches;
                matches |= typed_form_matched;
            }
            let needs_rehash = typed_form_matched
                || Params::try_from(&parsed)
                    .map(|p| (p.m_cost(), p.t_cost(), p.p_cost()) != (current.m_cost(), current.t_cost(), current.p_cost()))
                    .unwrap_or(true)
                || parsed.algorithm.as_str() != "argon2id";
            Verified { matches: matches && account_exists, needs_rehash }
        })
        .await
    }

    /// Queues `work` for a hashing thread, in `account`'s line, and waits for its answer.
    async fn run<T: Send + 'static>(
        &self,
        account: &str,
        work: impl FnOnce(&mut Workspace) -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let queued = std::time::Instant::now();
        let job: Job = Box::new(move |workspace| {
            crate::server::metrics::hash_queue_wait(queued.elapsed());
            // The caller went away while this waited in the queue (client disconnected): skip it.
            if !answer.is_closed() {
                let _ = answer.send(work(workspace));
            }
        });
        self.queue.lock().unwrap_or_else(PoisonError::into_inner).push(account, job);
        self.doorbell
            .send(())
            .map_err(|_| PasswordError::Join("the hashing threads have stopped".into()))?;
        answered
            .await
            .map_err(|_| PasswordError::Join("a hashing thread failed".into()))
    }
}

/// One hashing thread: takes jobs until every `Passwords` clone is gone (and the rings they
/// left are answered).
fn hashing_thread(queue: &Mutex<FairQueue>, rings: &Receiver<()>, blocks: usize) {
    lower_priority();
    let mut workspace = Workspace::new(blocks);
    loop {
        if workspace.memory.is_some() {
            match rings.recv_timeout(KEEP_MEMORY_IDLE) {
                Ok(()) => {}
                Err(RecvTimeoutError::Timeout) => {
                    workspace.memory = None;
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else if rings.recv().is_err() {
            return;
        }
        // Each ring follows one push, so a job is waiting; the lock is released before it runs.
        let Some(job) = queue.lock().unwrap_or_else(PoisonError::into_inner).pop() else {
            continue;
        };
        // A panic fails that one request (its answer channel drops), not the thread.
        if std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut workspace))).is_err() {
            workspace.memory = None;
        }
    }
}

/// Lowers the calling thread's scheduling priority (Linux nice values are per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id; no memory is involved.
        let result = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, HASHING_NICE)
        };
        if result != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "could not lower the hashing thread's priority");
        }
    }
}

/// A hashing thread's argon2 memory, mapped on first use.
struct Workspace {
    blocks: usize,
    memory: Option<Memory>,
}

impl Workspace {
    fn new(blocks: usize) -> Self {
        Workspace { blocks, memory: None }
    }

    /// At least `blocks` blocks: the thread's own memory, grown if a stored hash asks for
    /// more than today's parameters.
    fn memory(&mut self, blocks: usize) -> Result<&mut [Block], PasswordError> {
        let wanted = blocks.max(self.blocks);
        if self.memory.as_ref().is_none_or(|m| m.blocks < wanted) {
            self.memory = None;
            self.memory = Some(Memory::map(wanted).map_err(|e| PasswordError::Hash(format!("mapping argon2 memory: {e}")))?);
        }
        match &mut self.memory {
            Some(memory) => Ok(memory.as_blocks()),
            None => Err(PasswordError::Hash("argon2 memory missing".into())),
        }
    }
}

/// Argon2 blocks in an anonymous mapping of their own: dropping it returns the pages to the
/// OS at once, where glibc's malloc would keep a freed 19 MiB block in its arena for good.
struct Memory {
    map: memmap2::MmapMut,
    blocks: usize,
}

impl Memory {
    fn map(blocks: usize) -> std::io::Result<Memory> {
        let map = memmap2::MmapMut::map_anon(blocks * std::mem::size_of::<Block>())?;
        // Argon2 reads its memory at random: huge pages spare the TLB and the page faults.
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        Ok(Memory { map, blocks })
    }

    fn as_blocks(&mut self) -> &mut [Block] {
        // SAFETY: the mapping is page-aligned (a `Block` needs 64 bytes), exactly
        // `blocks * size_of::<Block>()` bytes long, borrowed mutably for the slice's lifetime,
        // and every bit pattern is a valid `Block` (it is an array of u64).
        unsafe { std::slice::from_raw_parts_mut(self.map.as_mut_ptr().cast::<Block>(), self.blocks) }
    }
}

/// argon2id with a fresh random salt into `memory`, as a PHC string — what
/// `PasswordHasher::hash_password` makes, without allocating 19 MiB for it.
fn hash_with(argon: &Argon2, password: &[u8], memory: &mut [Block]) -> Result<String, PasswordError> {
    let hash_err = |e: &dyn std::fmt::Display| PasswordError::Hash(e.to_string());
    let salt = argon2::password_hash::try_generate_salt().map_err(|e| hash_err(&e))?;
    let params = argon.params();
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let out = buffer
        .get_mut(..params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN))
        .ok_or_else(|| PasswordError::Hash("output length out of range".into()))?;
    argon
        .hash_password_into_with_memory(password, &salt, out, memory)
        .map_err(|e| hash_err(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| hash_err(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| hash_err(&e))?),
        hash: Some(Output::new(out).map_err(|e| hash_err(&e))?),
    };
    Ok(phc.to_string())
}

/// What `PasswordVerifier::verify_password` decides for a parsed PHC string — its algorithm,
/// version, parameters, salt and output length — computed in the thread's own memory and
/// compared in constant time.
fn verify_with(password: &[u8], stored: &PasswordHash, workspace: &mut Workspace) -> bool {
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm.as_str()) else {
        return false;
    };
    let version = match stored.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    // The output length comes from the stored hash, as the crate's verifier does it.
    let Ok(params) = Params::try_from(stored) else {
        return false;
    };
    let Ok(memory) = workspace.memory(params.block_count()) else {
        return false;
    };
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let Some(out) = buffer.get_mut(..expected.len()) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    if argon.hash_password_into_with_memory(password, salt, out, memory).is_err() {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(out).is_ok_and(|computed| &computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    fn cheap() -> Passwords {
        Passwords::new(1024, 1, 2).unwrap()
    }

    #[tokio::test]
    async fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let p = cheap();
        let hash = p.hash("a", &Secret::new("correct horse battery")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        let ok = p.verify("a", &Secret::new("correct horse battery"), Some(&hash)).await.unwrap();
        assert!(ok.matches && !ok.needs_rehash);
        let bad = p.verify("a", &Secret::new("correct horse battery!"), Some(&hash)).await.unwrap();
        assert!(!bad.matches);
    }

    #[tokio::test]
    async fn the_same_password_typed_on_two_keyboards_matches() {
        let p = cheap();
        // Precomposed é and full-width letters, against e + combining acute and plain ASCII.
        let hash = p.hash("a", &Secret::new("caf\u{e9} \u{ff21}\u{ff22} horse battery")).await.unwrap();
        let other_keyboard = p.verify("a", &Secret::new("cafe\u{301} AB horse battery"), Some(&hash)).await.unwrap();
        assert!(other_keyboard.matches && !other_keyboard.needs_rehash);
        assert!(!p.verify("a", &Secret::new("cafe AB horse battery"), Some(&hash)).await.unwrap().matches);
    }

    #[tokio::test]
    async fn a_hash_of_a_password_stored_before_normalisation_still_matches_and_asks_for_a_rehash() {
        let p = cheap();
        let typed = "cafe\u{301} horse battery";
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, None).unwrap());
        let stored = hash_with(&argon, typed.as_bytes(), Workspace::new(1024).memory(1024).unwrap()).unwrap();
        let v = p.verify("a", &Secret::new(typed), Some(&stored)).await.unwrap();
        assert!(v.matches && v.needs_rehash, "{v:?}");
        let rehashed = p.hash("a", &Secret::new(typed)).await.unwrap();
        let v = p.verify("a", &Secret::new("caf\u{e9} horse battery"), Some(&rehashed)).await.unwrap();
        assert!(v.matches && !v.needs_rehash, "after the rehash any keyboard's form matches");
    }

    #[tokio::test]
    async fn unknown_accounts_are_checked_with_the_parameters_most_stored_hashes_use() {
        let p = cheap();
        assert_eq!(p.dummy_cost(), Some((1024, 1, 1)), "today's parameters to begin with");
        let older = Passwords::new(2048, 2, 1).unwrap();
        let stored = [
            older.hash("a", &Secret::new("one password")).await.unwrap(),
            older.hash("a", &Secret::new("two password")).await.unwrap(),
            p.hash("a", &Secret::new("three password")).await.unwrap(),
        ];
        let most = most_used_cost(stored.iter().map(String::as_str).chain(["garbage"]));
        assert_eq!(most, Some((2048, 2, 1)));
        p.follow_stored_cost((2048, 2, 1)).await.unwrap();
        assert_eq!(p.dummy_cost(), Some((2048, 2, 1)));
        assert!(!p.verify("a", &Secret::new("one password"), None).await.unwrap().matches);
        assert_eq!(most_used_cost([]), None);
    }

    #[tokio::test]
    async fn an_unknown_account_never_matches_even_with_the_dummy_password() {
        let p = cheap();
        let v = p
            .verify("a", &Secret::new("gatehouse dummy password, never a real one"), None)
            .await
            .unwrap();
        assert!(!v.matches);
    }

    #[tokio::test]
    async fn a_hash_with_old_parameters_asks_for_a_rehash() {
        let old = Passwords::new(512, 1, 1).unwrap();
        let hash = old.hash("a", &Secret::new("pw-pw-pw-pw")).await.unwrap();
        let v = cheap().verify("a", &Secret::new("pw-pw-pw-pw"), Some(&hash)).await.unwrap();
        assert!(v.matches && v.needs_rehash);
    }

    #[tokio::test]
    async fn a_hash_needing_more_memory_than_todays_parameters_still_verifies() {
        let old = Passwords::new(4096, 1, 1).unwrap();
        let hash = old.hash("a", &Secret::new("pw-pw-pw-pw")).await.unwrap();
        let v = cheap().verify("a", &Secret::new("pw-pw-pw-pw"), Some(&hash)).await.unwrap();
        assert!(v.matches && v.needs_rehash);
        assert!(!cheap().verify("a", &Secret::new("pw-pw-pw-pX"), Some(&hash)).await.unwrap().matches);
    }

    #[tokio::test]
    async fn owasp_defaults_produce_the_expected_phc_parameters() {
        let p = Passwords::new(19456, 2, 1).unwrap();
        let hash = p.hash("a", &Secret::new("long enough password")).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    }

    #[tokio::test]
    async fn a_garbage_stored_hash_is_a_mismatch_not_a_crash() {
        let v = cheap().verify("a", &Secret::new("x"), Some("not a phc string")).await.unwrap();
        assert!(!v.matches);
    }

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier_both_ways() {
        let p = cheap();
        let crate_argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, None).unwrap());
        // Several rounds, so reused (dirty) thread memory is covered too.
        for i in 0..4 {
            let password = format!("round {i} password");
            let ours = p.hash("a", &Secret::new(password.clone())).await.unwrap();
            assert!(crate_argon.verify_password(password.as_bytes(), &PasswordHash::new(&ours).unwrap()).is_ok());
            assert!(crate_argon.verify_password(b"another", &PasswordHash::new(&ours).unwrap()).is_err());
            let theirs = crate_argon.hash_password(password.as_bytes()).unwrap().to_string();
            assert!(p.verify("a", &Secret::new(password.clone()), Some(&theirs)).await.unwrap().matches);
            assert!(!p.verify("a", &Secret::new("another"), Some(&theirs)).await.unwrap().matches);
        }
    }

    #[tokio::test]
    async fn other_argon2_variants_versions_and_output_lengths_verify_as_the_crate_verifies_them() {
        let p = cheap();
        for (algorithm, version, output_len) in [
            (Algorithm::Argon2i, Version::V0x13, 32),
            (Algorithm::Argon2d, Version::V0x10, 32),
            (Algorithm::Argon2id, Version::V0x10, 32),
            (Algorithm::Argon2id, Version::V0x13, 64),
        ] {
            let argon = Argon2::new(algorithm, version, Params::new(1024, 2, 1, Some(output_len)).unwrap());
            let theirs = argon.hash_password(b"legacy password").unwrap().to_string();
            let v = p.verify("a", &Secret::new("legacy password"), Some(&theirs)).await.unwrap();
            assert!(v.matches && v.needs_rehash, "{theirs}");
            assert!(!p.verify("a", &Secret::new("legacy passwort"), Some(&theirs)).await.unwrap().matches, "{theirs}");
        }
    }

    #[tokio::test]
    async fn one_accounts_queued_jobs_delay_another_accounts_job_by_one_turn_not_by_the_whole_queue() {
        let p = Passwords::new(1024, 1, 1).unwrap();
        let order = Arc::new(Mutex::new(Vec::<String>::new()));
        // Keep the one hashing thread busy until everything below is queued.
        let (started, has_started) = tokio::sync::oneshot::channel::<()>();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let busy = p.run("flood", move |_| {
            let _ = started.send(());
            let _ = released.recv();
        });
        type Queued<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), PasswordError>> + 'a>>;
        let mut jobs: Vec<Queued<'_>> = vec![Box::pin(busy)];
        for i in 0..10 {
            let order = order.clone();
            jobs.push(Box::pin(p.run("flood", move |_| order.lock().unwrap().push(format!("flood {i}")))));
        }
        let other = order.clone();
        jobs.push(Box::pin(p.run("someone else", move |_| other.lock().unwrap().push("someone else".into()))));
        let all = futures::future::join_all(jobs);
        tokio::pin!(all);
        // The first poll queues every job, in order.
        assert!(futures::poll!(&mut all).is_pending());
        has_started.await.unwrap();
        release.send(()).unwrap();
        assert!(all.await.into_iter().all(|r| r.is_ok()));
        let order = order.lock().unwrap().clone();
        // At most one flood job first (depending on when the busy one left the line), never ten.
        let position = order.iter().position(|o| o == "someone else");
        assert!(matches!(position, Some(0 | 1)), "the other account's job is next or next but one: {order:?}");
        assert_eq!(order.len(), 11);
    }

    #[test]
    fn a_phc_string_without_salt_or_hash_never_matches() {
        let mut workspace = Workspace::new(Params::new(1024, 1, 1, None).unwrap().block_count());
        let parsed = PasswordHash::new("$argon2id$v=19$m=1024,t=1,p=1").unwrap();
        assert!(!verify_with(b"anything", &parsed, &mut workspace));
    }
}
