//! The per-container monitor: started by `rlxc start`, it makes the cgroups, spawns init,
//! reports RUNNING (or why not) to the CLI, serves the control socket and the console, and
//! when init exits undoes everything it made, in reverse order.

mod cgroups;
mod console;
pub mod control;
mod end;
mod event_loop;
mod execute;
mod init_death;
mod launch;
mod launch_error;
mod log;
mod network;
mod prepare;
mod procview;
mod rootfs_pin;
pub(crate) mod start_error;
mod sys;
mod teardown;
mod validate;

pub use cgroups::CgroupDirError;
pub use console::PeerError;
pub use event_loop::InitExit;
pub use execute::{execute, Executed};
pub use launch::{launch, launch_command, Launch, LaunchError, Launched};
pub use log::LogRequest;
pub(crate) use network::recover_after_crash as recover_network_after_crash;
pub(crate) use network::{pin_netns, unpin_netns};
pub(crate) use teardown::remove_run_dir_stopped;
pub use validate::check;
