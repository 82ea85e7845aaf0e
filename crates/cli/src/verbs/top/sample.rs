//! One look at the running containers of an lxcpath: each one's cgroup numbers (the same
//! reading as `rlxc info -S`) and the bytes its network interfaces moved.

use std::path::Path;
use std::time::Instant;

use rlxc_cgroup::Stats;
use rlxc_runtime::create::StoreError;
use rlxc_runtime::paths::ContainerPaths;
use rlxc_runtime::state::{ProcessId, State};
use rlxc_runtime::status::current;

/// The running containers at one moment.
#[derive(Debug, Clone)]
pub struct Sample {
    pub taken: Instant,
    pub containers: Vec<Measured>,
}

/// One container's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub name: String,
    pub state: State,
    /// Tells a restarted container (new init, new cgroups, CPU time from zero) from the one
    /// of the previous sample.
    pub init: ProcessId,
    pub stats: Stats,
    /// Summed over the interfaces of its own network namespace; `None` with none.
    pub net: Option<NetBytes>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetBytes {
    pub rx: u64,
    pub tx: u64,
}

/// Reads every running (or frozen) container of `lxcpath` whose name is `wanted`. A
/// container that stops while it is read is left out: it is gone, which is no error.
pub fn take(lxcpath: &Path, wanted: impl Fn(&str) -> bool) -> Result<Sample, StoreError> {
    let containers = rlxc_runtime::create::names(lxcpath)?
        .into_iter()
        .filter(|name| wanted(name))
        .filter_map(|name| measure(lxcpath, name))
        .collect();
    Ok(Sample {
        taken: Instant::now(),
        containers,
    })
}

fn measure(lxcpath: &Path, name: String) -> Option<Measured> {
    let (state, file) = current(&ContainerPaths::new(lxcpath, &name));
    let file = file.filter(|_| !matches!(state, State::Stopped | State::Stopping))?;
    let stats = rlxc_runtime::resources::stats_of(&file);
    let net = rlxc_net::container::traffic_of(file.init.pid)
        .ok()
        .filter(|links| !links.is_empty())
        .map(|links| NetBytes {
            rx: links.iter().map(|l| l.rx_bytes).sum(),
            tx: links.iter().map(|l| l.tx_bytes).sum(),
        });
    // Numbers read from cgroups that were being removed are not worth showing.
    file.init.is_alive().then_some(Measured {
        name,
        state,
        init: file.init,
        stats,
        net,
    })
}
