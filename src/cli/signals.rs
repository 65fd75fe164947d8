//! Stop signals for the headless commands. SIGINT (Ctrl+C), SIGTERM (`kill`, a shutdown) and SIGHUP
//! (a closed terminal) only raise a flag that `train` looks at between batches (it then saves and
//! exits) and `eval` at each progress report (it then cancels); a second one ends the process at
//! once with that signal's status, without saving, for a person who does not want to wait.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

/// A signal asking the process to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    Interrupt,
    Terminate,
    Hangup,
}

impl StopSignal {
    fn from_number(number: usize) -> Option<Self> {
        match number as i32 {
            SIGINT => Some(StopSignal::Interrupt),
            SIGTERM => Some(StopSignal::Terminate),
            #[cfg(unix)]
            signal_hook::consts::SIGHUP => Some(StopSignal::Hangup),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Hangup => "SIGHUP",
        }
    }

    /// The shell's convention for a process ended by a signal: 128 + its number (130, 143, 129).
    pub fn exit_status(self) -> u8 {
        match self {
            StopSignal::Interrupt => 130,
            StopSignal::Terminate => 143,
            StopSignal::Hangup => 129,
        }
    }
}

/// The stop signals, caught from [`StopSignals::install`] on for the rest of the process.
pub struct StopSignals {
    /// The number of the first stop signal received (0: none yet).
    received: Arc<AtomicUsize>,
}

impl StopSignals {
    pub fn install() -> io::Result<Self> {
        let received = Arc::new(AtomicUsize::new(0));
        let any = Arc::new(AtomicBool::new(false));
        #[cfg(unix)]
        let signals = [SIGINT, SIGTERM, signal_hook::consts::SIGHUP];
        #[cfg(not(unix))]
        let signals = [SIGINT, SIGTERM];
        for signal in signals {
            // Registered first, so it looks at the flag before this signal's own handler sets it:
            // only a second stop signal ends the process here.
            flag::register_conditional_shutdown(signal, 128 + signal, any.clone())?;
            flag::register(signal, any.clone())?;
            // `register_usize` stores unconditionally; the first signal's number is kept below by
            // reading it before a second one can arrive (the second one exits).
            flag::register_usize(signal, received.clone(), signal as usize)?;
        }
        Ok(Self { received })
    }

    /// The stop signal received, if any.
    pub fn received(&self) -> Option<StopSignal> {
        StopSignal::from_number(self.received.load(Ordering::SeqCst))
    }
}
