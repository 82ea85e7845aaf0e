//! rlxc-runtime: making and running containers — the container's places on disk and its state
//! file, spawning init (`spawn`), its filesystem (`rootfs`), the per-container `monitor`, and
//! the verbs' runtime halves (`stop`, `status`), and
//! unprivileged containers' id maps (`userns`).

pub mod attach;
pub mod channel;
pub mod create;
mod error;
pub mod exec;
pub mod hooks;
pub mod lock;
pub mod lsm;
pub mod monitor;
pub mod namespaces;
pub mod paths;
pub mod personality;
pub mod procview;
pub mod resources;
pub mod rootfs;
pub mod sched_core;
pub mod seccomp;
pub mod spawn;
pub mod state;
pub mod status;
pub mod stop;
mod sys;
pub mod userns;
pub mod utc;

pub use error::Error;

/// What a start on this host would refuse in `spec` for want of a kernel feature or an
/// architecture (the same checks the start makes), for `rlxc config check` to warn about.
pub fn host_refusals(spec: &rlxc_config::ContainerSpec) -> Vec<String> {
    let mut refusals = Vec::new();
    if let Some(Err(error)) = spec
        .arch
        .as_ref()
        .map(|arch| personality::of(arch, "lxc.arch"))
    {
        refusals.push(error.to_string());
    }
    if spec.sched_core == Some(true) {
        if let Err(error) = sched_core::probe() {
            refusals.push(error.to_string());
        }
    }
    refusals
}
