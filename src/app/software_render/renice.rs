//! The window's threads give way to training.
//!
//! On a machine where every core trains and OpenGL renders on the CPU, each frame the window draws
//! takes a core from one of the trainer's threads, and the other one then waits for it at the
//! step's next join: a frame costs the trainer about twice its CPU time (docs/performance.md). With
//! the UI thread and the software rasterizer's threads at a lower priority (a higher nice value),
//! the scheduler runs them in the gaps the trainer leaves (its serial parts, its joins) instead of
//! preempting it; frames still come at the same rate. Linux only (a thread's nice value is per
//! thread there); elsewhere a no-op.
//!
//! Threads inherit the nice value of the thread that creates them, and an unprivileged thread can
//! raise its nice value but never lower it back: work the user starts from the window goes through
//! [`crate::threads::spawn`], whose launcher keeps the process's own priority.

/// The nice value the window gives its own threads unless told otherwise (`--ui-nice`).
pub const DEFAULT_UI_NICE: i32 = 10;

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
    // SAFETY: errno is thread-local and writable; getpriority takes plain integers.
    unsafe {
        *libc::__errno_location() = 0;
        let value = libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t);
        (*libc::__errno_location() == 0).then_some(value)
    }
}

#[cfg(target_os = "linux")]
fn raise_nice(tid: libc::pid_t, nice: i32) -> bool {
    match nice_of(tid) {
        // SAFETY: setpriority takes plain integers (a thread of this process and a nice value);
        // raising a nice value needs no privilege, and a failure is only a return value.
        Some(current) if current < nice => unsafe {
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) == 0
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_llvmpipe_threads_count_as_rasterizers() {
        assert!(is_rasterizer_thread("llvmpipe-0"));
        assert!(is_rasterizer_thread("llvmpipe-12"));
        assert!(!is_rasterizer_thread("rbm-math-0"));
        assert!(!is_rasterizer_thread("rbm-lab"));
    }
}
