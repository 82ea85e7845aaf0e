//! rlxc-net: a small synchronous rtnetlink layer.
//!
//! One [`Netlink`] handle owns the socket and the sequence numbers; each link kind lives in its
//! own module ([`veth`], [`bridge`], [`macvlan`], [`vlan`]) and the operations every kind shares
//! (look up, change, delete) live in [`link`]; [`address`] and [`route`] add addresses and
//! routes. [`container`] is a container's network: per `lxc.net.N` type a host-side setup,
//! the in-container setup and the teardown. Every request waits for the kernel's ack, and a
//! refusal comes back as [`Error::Kernel`] naming the operation, the link and the errno.

pub mod address;
pub mod bridge;
pub mod container;
mod error;
mod handle;
pub mod ipvlan;
pub mod link;
pub mod macvlan;
pub mod netns;
pub mod route;
mod sys;
pub mod veth;
pub mod vlan;

pub use error::{Error, Operation};
pub use handle::Netlink;

/// The kernel's limit on an interface name, without the trailing NUL (`IFNAMSIZ - 1`).
pub const MAX_LINK_NAME_LEN: usize = 15;

/// Rejects names the kernel would refuse, before a request is sent, so the error names the
/// real problem instead of a bare `EINVAL`.
pub(crate) fn check_link_name(name: &str) -> Result<(), Error> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.len() > MAX_LINK_NAME_LEN {
        "it is longer than 15 bytes"
    } else if name == "." || name == ".." {
        "it is `.` or `..`"
    } else if name.contains(['/', ':']) || name.chars().any(char::is_whitespace) {
        "it contains `/`, `:` or whitespace"
    } else {
        return Ok(());
    };
    Err(Error::InvalidLinkName {
        name: name.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in ["eth0", "veth-abc", "br0", "a23456789012345"] {
            assert!(check_link_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn rejects_names_the_kernel_refuses() {
        for name in ["", "a234567890123456", ".", "..", "a/b", "a:b", "a b"] {
            assert!(
                matches!(check_link_name(name), Err(Error::InvalidLinkName { .. })),
                "{name:?}"
            );
        }
    }
}
