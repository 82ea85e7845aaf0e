//! rlxc-process: the process primitives, one implementation of each, used by spawn, the
//! monitor, attach, `execute`'s front (in rlxc-runtime) and the /proc view's server (in
//! rlxc-procview): forking and clone3 ([`fork`]), exec ([`exec`]), the signal mask and
//! signalfd ([`signals`]), the fd table ([`fds`]), pidfds ([`pidfd`]), the typed message
//! channel between processes ([`channel`]), and the heap and clock calls ([`sys`]).
//! The raw calls rustix lacks are here, each wrapped so that callers stay safe.
//!
//! A crate of its own, below the runtime and the /proc view, so that both use the same
//! primitives and neither depends on the other.

pub mod channel;
pub mod exec;
pub mod fds;
pub mod fork;
pub mod pidfd;
pub mod signals;
pub mod sys;

pub use signals::SignalFd;
