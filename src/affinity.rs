//! Where a command's threads run. A command ingests on one thread that waits on SQLite's
//! connection thread for every statement, about seven times per mail: when the two sit on
//! different cores, each answer is a wake-up across cores, which on a virtual machine
//! costs more than the statement (2,000 mails: 2.09 s and 1.96 CPU s spread over two
//! cores, 1.84 s and 1.69 CPU s all on one). So the command's thread and the SQLite
//! threads it opens (a new thread starts on its creator's cores) share one core, and the
//! blocking pool (compression, the files, parsing ahead) gets the others. The daemon,
//! which runs beside other services for months, is left to the scheduler.

use libc::{CPU_ISSET, CPU_SET, CPU_SETSIZE, CPU_ZERO, cpu_set_t};

/// The cores of the blocking pool, once the command's thread is held to its own; `None`
/// where there is one core, or the system does not let us choose (the threads then run
/// where the kernel puts them, as before).
#[derive(Debug, Clone, Copy)]
pub struct Others(cpu_set_t);

/// Holds the calling thread (before it starts any other) to the core it runs on, and
/// returns the other cores it may use, for [`Others::take`] on each blocking thread.
pub fn hold_this_thread() -> Option<Others> {
    // SAFETY: cpu_set_t is plain data; the calls read and write only the sets passed, of
    // the size given.
    unsafe {
        let mut allowed: cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size_of::<cpu_set_t>(), &mut allowed) != 0 {
            return None;
        }
        let here = usize::try_from(libc::sched_getcpu()).ok()?;
        if here >= CPU_SETSIZE as usize || !CPU_ISSET(here, &allowed) {
            return None;
        }
        let mut others = allowed;
        libc::CPU_CLR(here, &mut others);
        if libc::CPU_COUNT(&others) == 0 {
            return None;
        }
        let mut this: cpu_set_t = std::mem::zeroed();
        CPU_ZERO(&mut this);
        CPU_SET(here, &mut this);
        if libc::sched_setaffinity(0, size_of::<cpu_set_t>(), &this) != 0 {
            return None;
        }
        Some(Others(others))
    }
}

impl Others {
    /// Moves the calling thread to these cores; a refusal leaves it where it is.
    pub fn take(&self) {
        // SAFETY: as above.
        unsafe {
            libc::sched_setaffinity(0, size_of::<cpu_set_t>(), &self.0);
        }
    }
}
