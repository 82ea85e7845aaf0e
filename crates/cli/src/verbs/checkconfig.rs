//! Placeholder for `rlxc checkconfig` / `lxc-checkconfig`.
//!
//! The real verb is written on its own branch as `verbs/checkconfig/mod.rs`. When that lands,
//! delete this file: Rust refuses to build with both (E0761), so it cannot be missed.

use std::process::ExitCode;

use crate::common::CommonOpts;
use crate::verbs::not_available;

/// `lxc-checkconfig` has no options of its own.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("checkconfig")
}
