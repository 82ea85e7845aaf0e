//! Process primitives, one implementation of each, used by spawn, the monitor, attach,
//! `execute`'s front and the /proc view: forking and clone3 ([`fork`]), exec ([`exec`]), the
//! signal mask and signalfd ([`signals`]), the fd table ([`fds`]) and pidfds ([`pidfd`]).
//! The raw calls rustix lacks are here, each wrapped so that callers stay safe.

pub(crate) mod exec;
pub(crate) mod fds;
pub(crate) mod fork;
pub(crate) mod pidfd;
pub mod signals;

pub use signals::SignalFd;
