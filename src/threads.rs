//! Threads for work the person starts from the window, and the text of a thread's panic.
//!
//! A thread inherits the nice value of the thread that creates it, and an unprivileged thread can
//! raise its nice value but never lower it back. With a software renderer the window lowers its
//! own priority (`app::software_render::renice`); work the user starts from it (an evaluation, a
//! file job) must not run at that priority, so it is spawned by [`spawn`], which goes through a
//! launcher thread started at the process's own priority by [`start_launcher`] before the window
//! lowers its own.

use std::io;
use std::sync::OnceLock;
use std::thread::JoinHandle;

use crossbeam_channel::Sender;

type Launch = Box<dyn FnOnce() + Send>;

static LAUNCHER: OnceLock<Sender<Launch>> = OnceLock::new();

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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::app::software_render::renice::{lower_window_threads, nice_of};

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
}
