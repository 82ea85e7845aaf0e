//! TEMPORARY STUB (replaced by the nft branch).
use std::net::{Ipv4Addr, Ipv6Addr};
pub struct NatSpec<'a> {
    pub table: &'a str,
    pub bridge: &'a str,
    pub ipv4: (Ipv4Addr, u8),
    pub ipv6: Option<(Ipv6Addr, u8)>,
}
pub struct NatState {
    pub masquerades_ipv4: bool,
    pub masquerades_ipv6: bool,
    pub packets: u64,
}
pub struct ForeignChain {
    pub family: String,
    pub table: String,
    pub chain: String,
}
#[derive(Debug, thiserror::Error)]
#[error("stub")]
pub struct NftError;
pub fn install(_: &NatSpec) -> Result<(), NftError> {
    Ok(())
}
pub fn remove(_: &str) -> Result<bool, NftError> {
    Ok(true)
}
pub fn inspect(_: &str) -> Result<Option<NatState>, NftError> {
    Ok(Some(NatState {
        masquerades_ipv4: true,
        masquerades_ipv6: false,
        packets: 0,
    }))
}
pub fn forward_blockers(_: &str) -> Result<Vec<ForeignChain>, NftError> {
    Ok(vec![])
}
