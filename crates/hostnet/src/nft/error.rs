use std::fmt;
use std::io;
use std::net::IpAddr;

use super::Family;

/// What nftables was being asked to do when something failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    OpenSocket,
    SendBatch,
    ReadAnswer,
    /// The transaction on a table as a whole (the kernel answers the batch-begin message:
    /// no permission, no nf_tables, or the commit failed).
    CommitBatch {
        table: String,
    },
    AddTable {
        table: String,
    },
    DeleteTable {
        table: String,
    },
    AddChain {
        table: String,
        chain: &'static str,
    },
    AddRule {
        table: String,
        chain: &'static str,
        rule: String,
    },
    GetTable {
        table: String,
    },
    DumpChains,
    DumpRules {
        table: String,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inet = Family::Inet;
        match self {
            Step::OpenSocket => f.write_str("open a netfilter netlink socket"),
            Step::SendBatch => f.write_str("send the batch"),
            Step::ReadAnswer => f.write_str("read the kernel's answer"),
            Step::CommitBatch { table } => write!(f, "commit the changes to table {inet} {table}"),
            Step::AddTable { table } => write!(f, "add table {inet} {table}"),
            Step::DeleteTable { table } => write!(f, "delete table {inet} {table}"),
            Step::AddChain { table, chain } => write!(f, "add chain {inet} {table} {chain}"),
            Step::AddRule { table, chain, rule } => {
                write!(f, "add rule {inet} {table} {chain} {rule}")
            }
            Step::GetTable { table } => write!(f, "look up table {inet} {table}"),
            Step::DumpChains => f.write_str("dump the chains of every table"),
            Step::DumpRules { table } => write!(f, "dump the rules of table {inet} {table}"),
        }
    }
}

/// Why a call into nftables failed. Each variant names the step; those from the kernel carry
/// its errno.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NftError {
    /// The kernel has no nf_tables, or lacks the part a step needs (the inet family, the nat
    /// chain type, the masquerade expression: nf_tables, nft_chain_nat, nft_masq).
    #[error(
        "nftables: {step}: the kernel lacks nf_tables or a part of it \
         (nf_tables, nft_chain_nat, nft_masq): {cause}"
    )]
    NfTablesMissing { step: Step, cause: io::Error },
    #[error("nftables: {step}: {cause}")]
    Socket { step: Step, cause: io::Error },
    #[error("nftables: {step}: the kernel refused it: {cause}")]
    Kernel { step: Step, cause: io::Error },
    #[error("nftables: {step}: no answer from the kernel within {seconds} s")]
    NoAnswer { step: Step, seconds: u64 },
    #[error("nftables: {step}: malformed answer from the kernel: {reason}")]
    Malformed { step: Step, reason: &'static str },
    #[error("nftables: invalid {what} {value:?}: {reason}")]
    InvalidName {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("nftables: invalid network {address}/{prefix}: {reason}")]
    InvalidNetwork {
        address: IpAddr,
        prefix: u8,
        reason: &'static str,
    },
}

impl NftError {
    /// The kernel's errno, for errors that carry one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NftError::NfTablesMissing { cause, .. }
            | NftError::Socket { cause, .. }
            | NftError::Kernel { cause, .. } => cause.raw_os_error(),
            _ => None,
        }
    }

    /// The step that failed; `None` for input rejected before anything was sent.
    pub fn step(&self) -> Option<&Step> {
        match self {
            NftError::NfTablesMissing { step, .. }
            | NftError::Socket { step, .. }
            | NftError::Kernel { step, .. }
            | NftError::NoAnswer { step, .. }
            | NftError::Malformed { step, .. } => Some(step),
            NftError::InvalidName { .. } | NftError::InvalidNetwork { .. } => None,
        }
    }

    /// A refusal from the kernel (`errno` positive), classified: the errnos that mean
    /// nf_tables, or a part of it, is not there become [`NftError::NfTablesMissing`].
    pub(crate) fn from_kernel(step: Step, errno: i32) -> Self {
        let cause = io::Error::from_raw_os_error(errno);
        // EOPNOTSUPP answers a batch for a subsystem nfnetlink does not have; EAFNOSUPPORT a
        // family nf_tables lacks. ENOENT means "no such table" for a lookup or a delete, but
        // from adding a chain or rule to the table made earlier in the same batch it can only
        // mean an unknown chain type or expression (module not built).
        let missing = match errno {
            libc::EOPNOTSUPP | libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT => true,
            libc::ENOENT => matches!(step, Step::AddChain { .. } | Step::AddRule { .. }),
            _ => false,
        };
        if missing {
            NftError::NfTablesMissing { step, cause }
        } else {
            NftError::Kernel { step, cause }
        }
    }
}
