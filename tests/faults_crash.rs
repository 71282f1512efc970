//! Faults that kill a process mid-work: the daemon killed with SIGKILL while mail
//! arrives, Dovecot killed in the middle of a FETCH. Nothing may be lost or doubled.
