//! The window's threads give way to training.
//!
//! On a machine where every core trains, each frame the window draws takes a core from one of the
//! trainer's threads, and the other one then waits for it at the step's next join: a frame costs
//! the trainer about twice its CPU time (docs/performance.md). With the UI thread and the software
//! rasterizer's threads at a lower priority (a higher nice value), the scheduler runs them in the
//! gaps the trainer leaves (its serial parts, its joins) instead of preempting it; frames still come
//! at the same rate. Linux only (a thread's nice value is per thread there); elsewhere a no-op.
//!
//! Threads inherit the nice value of the thread that creates them, and an unprivileged thread can
//! raise its nice value but never lower it back. Work the user starts from the window (an
//! evaluation, a file job) must not run at the window's priority, so it is spawned by [`spawn`],
//! which goes through a launcher thread started at the process's own priority by
//! [`start_launcher`] before the window lowers its own.

use std::io;
use std::sync::OnceLock;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;

type Launch = Box<dyn FnOnce() + Send>;

static LAUNCHER: OnceLock<Sender<Launch>> = OnceLock::new();

/// The nice value the window gives its own threads unless told otherwise (`--ui-nice`).
pub const DEFAULT_UI_NICE: i32 = 10;

/// Starts the launcher thread (once; later calls do nothing), at the calling thread's priority.
pub fn start_launcher() -> io::Result<()> {
    if LAUNCHER.get().is_some() {
        return Ok(());
    }
    let (tx, rx) = crossbeam_channel::unbounded::<Launch>();
    std::thread::Builder::new().name("rbm-launcher".into()).spawn(move || {
        for launch in rx {
            launch();
        }
    })?;
    // Another thread may have won the race: its launcher serves, this one ends with its channel.
    let _ = LAUNCHER.set(tx);
    Ok(())
}

/// Spawns a named thread running `work`: from the launcher if there is one (so at the priority
/// the process started with), otherwise from the calling thread.
pub fn spawn<T: Send + 'static>(name: &str, work: impl FnOnce() -> T + Send + 'static) -> io::Result<JoinHandle<T>> {
    let builder = std::thread::Builder::new().name(name.to_string());
    let Some(launcher) = LAUNCHER.get() else { return builder.spawn(work) };
    let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
    let launch: Launch = Box::new(move || {
        let _ = reply_tx.send(builder.spawn(work));
    });
    launcher.send(launch).map_err(|_| io::Error::other("the launcher thread has stopped"))?;
    reply_rx.recv().map_err(|_| io::Error::other("the launcher thread has stopped"))?
}

/// The text of a caught panic's payload (`panic!` with a literal gives a `&str`, with arguments a
/// `String`), for telling the person why a background thread stopped.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// Raises the nice value of the calling thread and of this process's software-rasterizer threads
/// (Mesa's `llvmpipe-N`) to `nice`, where it is lower. Returns the names of the threads changed.
#[cfg(target_os = "linux")]
pub fn lower_window_threads(nice: i32) -> Vec<String> {
    // SAFETY: gettid has no preconditions.
    let me = unsafe { libc::gettid() };
    let mut changed = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return changed };
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|s| s.parse::<libc::pid_t>().ok()) else { continue };
        let name = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default().trim().to_string();
        if (tid == me || is_rasterizer_thread(&name)) && raise_nice(tid, nice) {
            changed.push(name);
        }
    }
    changed
}

#[cfg(not(target_os = "linux"))]
pub fn lower_window_threads(_nice: i32) -> Vec<String> {
    Vec::new()
}

/// Mesa's llvmpipe names its rasterizer threads `llvmpipe-0`, `llvmpipe-1`, ...
pub fn is_rasterizer_thread(name: &str) -> bool {
    name.starts_with("llvmpipe-")
}

/// The nice value of thread `tid` (0 for the calling thread), if it can be read.
#[cfg(target_os = "linux")]
pub fn nice_of(tid: i32) -> Option<i32> {
    // getpriority returns -1 both as a value and as an error: errno tells them apart.
    // SAFETY: plain syscalls on a thread id; errno is thread-local.
    unsafe {
        *libc::__errno_location() = 0;
        let value = libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t);
        (*libc::__errno_location() == 0).then_some(value)
    }
}

#[cfg(target_os = "linux")]
fn raise_nice(tid: libc::pid_t, nice: i32) -> bool {
    match nice_of(tid) {
        // SAFETY: setpriority on a thread of this process; raising a nice value needs no privilege.
        Some(current) if current < nice => unsafe {
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) == 0
        },
        _ => false,
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn threads_from_the_launcher_keep_the_priority_the_window_gave_up() {
        // Relative to where the tests run (`nice -n 10 cargo test` starts them at 10).
        let started_at = nice_of(0).expect("this thread's nice value");
        let lowered = (started_at + 7).min(19);
        assert!(lowered > started_at, "the test needs to start below nice 19");
        let (inherited, launched, own) = std::thread::spawn(move || {
            start_launcher().expect("launcher");
            let changed = lower_window_threads(lowered);
            assert_eq!(changed.len(), 1, "only this thread (no llvmpipe in a test): {changed:?}");
            let inherited = std::thread::spawn(|| nice_of(0)).join().expect("join");
            let launched = spawn("rbm-test", || nice_of(0)).expect("spawn").join().expect("join");
            (inherited, launched, nice_of(0))
        })
        .join()
        .expect("test thread");
        assert_eq!(own, Some(lowered));
        assert_eq!(inherited, Some(lowered), "a thread spawned directly inherits the lowered priority");
        assert_eq!(launched, Some(started_at), "the launcher spawns at the priority the process started with");
    }

    #[test]
    fn only_llvmpipe_threads_count_as_rasterizers() {
        assert!(is_rasterizer_thread("llvmpipe-0"));
        assert!(is_rasterizer_thread("llvmpipe-12"));
        assert!(!is_rasterizer_thread("rbm-math-0"));
        assert!(!is_rasterizer_thread("rbm-lab"));
    }
}
