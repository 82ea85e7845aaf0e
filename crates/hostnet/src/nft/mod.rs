//! nftables through nfnetlink (no `nft` binary): rlxc's own NAT table, and a read-only look
//! at the other tables for what blocks forwarding.
