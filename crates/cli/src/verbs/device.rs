//! `rlxc device` / `lxc-device`: `lxc-device -n web add /dev/fuse`, `add eth1 [NAME]`,
//! `del ...`. A device node gets its cgroup rule and is made in the container; a network
//! interface moves in (renamed to NAME) and, at `del` or the container's stop, home again.
//! As LXC's tool, a success prints nothing.

use std::process::ExitCode;

use anyhow::bail;

use crate::common::CommonOpts;

/// Options of `lxc-device`: the action, the host device and its name in the container.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// add or del
    #[arg(value_name = "ACTION")]
    pub action: String,

    /// A device node (/dev/fuse) or a network interface (eth1); for del, its name inside
    #[arg(value_name = "DEV")]
    pub device: String,

    /// The node's path or the interface's name inside the container (default: DEV); for
    /// del of an interface, its name back on the host (default: the name it came with)
    #[arg(value_name = "NAME")]
    pub name_inside: Option<String>,
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let paths = common.container_paths()?;
    // As LXC's tool: a container that is not running is said first, whatever the action.
    let (state, _) = rlxc_runtime::status::current(&paths);
    if state == rlxc_runtime::state::State::Stopped {
        bail!("Container {} is not running", paths.name);
    }
    let add = match args.action.as_str() {
        "add" => true,
        "del" => false,
        _ => bail!("Error: Please use add or del (Please see --help output)"),
    };
    let operation = common.operation_lock(&paths, "rlxc device")?;
    let name = args.name_inside.as_deref();
    let result = if add {
        rlxc_runtime::device::add(&paths, &operation, &args.device, name)
    } else {
        rlxc_runtime::device::del(&paths, &operation, &args.device, name)
    };
    match result {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(error @ rlxc_runtime::device::DeviceError::NotRunning { .. }) => Err(error.into()),
        Err(error) => {
            let (verb, preposition) = if add {
                ("add", "to")
            } else {
                ("remove", "from")
            };
            bail!(
                "Failed to {verb} {} {preposition} {}: {error}",
                args.device,
                paths.name
            )
        }
    }
}
