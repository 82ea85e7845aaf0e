//! `rlxc mac`: the MAC address for an `lxc.net.N.hwaddr` line.

use std::net::Ipv4Addr;
use std::process::ExitCode;

use crate::common::CommonOpts;

/// Print a MAC address for `lxc.net.N.hwaddr`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The seed wiki's hwaddr.sh: `02:00:` followed by the four octets of the container's
    /// IPv4 address, so the MAC follows the address and never changes
    #[arg(long = "from-ipv4", value_name = "A.B.C.D")]
    pub from_ipv4: Ipv4Addr,
}

pub fn run(args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let mac = rlxc_net::container::mac::from_ipv4(args.from_ipv4);
    println!("{}", rlxc_net::container::mac::format(mac));
    Ok(ExitCode::SUCCESS)
}
