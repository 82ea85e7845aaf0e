use std::path::PathBuf;

use crate::nft::NftError;
use crate::settings::SettingsError;

/// Why `rlxc net` could not do what was asked; each variant names the step and the fix.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("{step}: {cause}")]
    Link {
        step: String,
        cause: rlxc_net::Error,
    },
    #[error(
        "a link named {bridge} exists and rlxc net did not make it (another tool's bridge?): \
         set LXC_BRIDGE in {settings} to another name, or remove the link"
    )]
    BridgeInUse { bridge: String, settings: String },
    #[error(
        "{network} overlaps {address} on {interface}: pick another LXC_ADDR/LXC_NETWORK \
         (or LXC_IPV6_*) in {settings}"
    )]
    SubnetOverlap {
        network: String,
        address: String,
        interface: String,
        settings: String,
    },
    #[error(
        "dnsmasq is not installed (looked in PATH, /usr/sbin and /sbin): install dnsmasq-base"
    )]
    DnsmasqMissing,
    #[error("dnsmasq did not start ({status}): {output}{hint}")]
    DnsmasqFailed {
        status: String,
        output: String,
        hint: String,
    },
    #[error(
        "dnsmasq (pid {pid}) did not end within 5 s of SIGTERM and SIGKILL (stuck in the kernel?): \
         its run directory is kept; `rlxc net stop` again once it is gone"
    )]
    DnsmasqStuck { pid: i32 },
    #[error(transparent)]
    Nft(#[from] NftError),
    #[error("{step} {path}: {cause}")]
    Io {
        step: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
}

impl NetError {
    pub(crate) fn link(step: impl Into<String>) -> impl FnOnce(rlxc_net::Error) -> Self {
        let step = step.into();
        move |cause| Self::Link { step, cause }
    }

    pub(crate) fn io(
        step: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |cause| Self::Io { step, path, cause }
    }
}
