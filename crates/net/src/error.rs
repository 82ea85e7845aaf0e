use std::fmt;
use std::io;

/// The request that failed, as a user would describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    OpenSocket,
    CreateVeth,
    CreateBridge,
    CreateMacvlan,
    CreateVlan,
    DeleteLink,
    GetLink,
    SetLinkUp,
    EnterNewNetns,
    EnterNetns,
    CreateIpvlan,
    SetLink,
    AddAddress,
    ListAddresses,
    AddRoute,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OpenSocket => "opening the rtnetlink socket",
            Self::CreateVeth => "creating veth pair",
            Self::CreateBridge => "creating bridge",
            Self::CreateMacvlan => "creating macvlan",
            Self::CreateVlan => "creating vlan",
            Self::DeleteLink => "deleting link",
            Self::GetLink => "looking up link",
            Self::SetLinkUp => "setting link up",
            Self::EnterNewNetns => "entering a new network namespace",
            Self::EnterNetns => "entering the container's network namespace",
            Self::CreateIpvlan => "creating ipvlan",
            Self::SetLink => "changing link",
            Self::AddAddress => "adding an address to",
            Self::ListAddresses => "listing addresses of",
            Self::AddRoute => "adding a route through",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The kernel answered the request with an errno.
    #[error("{op} `{link}`: {cause}")]
    Kernel {
        op: Operation,
        link: String,
        cause: io::Error,
    },
    /// The socket itself failed (open, bind, send or receive).
    #[error("{op} `{link}`: netlink socket: {cause}")]
    Socket {
        op: Operation,
        link: String,
        cause: io::Error,
    },
    #[error("{op} `{link}`: cannot decode the kernel's reply: {reason}")]
    Decode {
        op: Operation,
        link: String,
        reason: String,
    },
    #[error("{op} `{link}`: the kernel ended the reply without an answer")]
    NoAnswer { op: Operation, link: String },
    #[error("invalid link name {name:?}: {reason}")]
    InvalidLinkName { name: String, reason: &'static str },
    #[error("invalid vlan id {vlan_id} for `{name}`: must be 1 to 4094")]
    InvalidVlanId { name: String, vlan_id: u16 },
    #[error("{op}: {cause}")]
    Netns { op: Operation, cause: io::Error },
    #[error("the thread running in the throwaway network namespace panicked")]
    NetnsThreadPanicked,
    /// One of the container's interfaces could not be set up as configured.
    #[error("lxc.net.{index}: {cause}")]
    Interface { index: u32, cause: Box<Error> },
    /// A setting the configuration asks for that cannot be applied.
    #[error("lxc.net.{index}: {reason}")]
    Config { index: u32, reason: String },
    /// `lxc.net.N.link` names an interface the host does not have.
    #[error("lxc.net.{index}.link = {link}: no such interface on this host")]
    NoSuchLink { index: u32, link: String },
}

impl Error {
    /// The errno behind the failure, when the kernel or a syscall gave one. Probes use it to
    /// tell "not built" (`EOPNOTSUPP`) from "not allowed" (`EPERM`).
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::Kernel { cause, .. } | Self::Socket { cause, .. } | Self::Netns { cause, .. } => {
                cause.raw_os_error()
            }
            Self::Interface { cause, .. } => cause.errno(),
            _ => None,
        }
    }
}
