//! The bytes of nfnetlink: netlink headers, the nfgenmsg that follows them, and netlink
//! attributes (type-length-value, each padded to 4 bytes, nestable). Only what nf_tables
//! needs, written by hand: the constants are from `linux/netfilter/nf_tables.h` and
//! `nfnetlink.h`. Integers inside nf_tables attributes are big-endian (the kernel reads them
//! with `ntohl`); the netlink headers themselves are in host order.

// Netlink header flags and message types (linux/netlink.h).
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLM_F_CREATE: u16 = 0x400;
pub const NLM_F_APPEND: u16 = 0x800;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;

// nfnetlink.
pub const NFNL_SUBSYS_NFTABLES: u16 = 10;
pub const NFNL_MSG_BATCH_BEGIN: u16 = 16;
pub const NFNL_MSG_BATCH_END: u16 = 17;

// nf_tables message kinds, the low byte of the message type.
pub const NFT_MSG_NEWTABLE: u8 = 0;
pub const NFT_MSG_GETTABLE: u8 = 1;
pub const NFT_MSG_DELTABLE: u8 = 2;
pub const NFT_MSG_NEWCHAIN: u8 = 3;
pub const NFT_MSG_GETCHAIN: u8 = 4;
pub const NFT_MSG_NEWRULE: u8 = 6;
pub const NFT_MSG_GETRULE: u8 = 7;

// Protocol families (NFPROTO_*), as nfgenmsg carries them.
pub const NFPROTO_UNSPEC: u8 = 0;
pub const NFPROTO_INET: u8 = 1;
pub const NFPROTO_IPV4: u8 = 2;
pub const NFPROTO_ARP: u8 = 3;
pub const NFPROTO_NETDEV: u8 = 5;
pub const NFPROTO_BRIDGE: u8 = 7;
pub const NFPROTO_IPV6: u8 = 10;

// Attributes of tables, chains, hooks, rules, expression lists and expressions.
pub const NFTA_TABLE_NAME: u16 = 1;
pub const NFTA_CHAIN_TABLE: u16 = 1;
pub const NFTA_CHAIN_NAME: u16 = 3;
pub const NFTA_CHAIN_HOOK: u16 = 4;
pub const NFTA_CHAIN_POLICY: u16 = 5;
pub const NFTA_CHAIN_TYPE: u16 = 7;
pub const NFTA_HOOK_HOOKNUM: u16 = 1;
pub const NFTA_HOOK_PRIORITY: u16 = 2;
pub const NFTA_RULE_TABLE: u16 = 1;
pub const NFTA_RULE_CHAIN: u16 = 2;
pub const NFTA_RULE_EXPRESSIONS: u16 = 4;
pub const NFTA_LIST_ELEM: u16 = 1;
pub const NFTA_EXPR_NAME: u16 = 1;
pub const NFTA_EXPR_DATA: u16 = 2;

/// The size of `struct nlmsghdr`; `struct nfgenmsg` follows it (4 bytes).
pub const NLMSG_HDRLEN: usize = 16;
const NFGENMSG_LEN: usize = 4;

/// The message type of an nf_tables message.
pub fn nft_type(kind: u8) -> u16 {
    (NFNL_SUBSYS_NFTABLES << 8) | u16::from(kind)
}

fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// Appends one complete netlink message (header, nfgenmsg, then whatever `attributes`
/// writes) to `buf`; its length field is filled in at the end.
pub fn put_message(
    buf: &mut Vec<u8>,
    message_type: u16,
    flags: u16,
    sequence: u32,
    family: u8,
    res_id: u16,
    attributes: impl FnOnce(&mut Attrs<'_>),
) {
    let start = buf.len();
    buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, patched below
    buf.extend_from_slice(&message_type.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&sequence.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills in ours
                                                // nfgenmsg: family, version (NFNETLINK_V0), res_id (big-endian).
    buf.push(family);
    buf.push(0);
    buf.extend_from_slice(&res_id.to_be_bytes());
    attributes(&mut Attrs { buf });
    patch_len(buf, start);
}

/// Writes the length of what starts at `start` into its first 4 bytes (native order, as both
/// `nlmsg_len` and `nla_len` are; `nla_len` is a u16 and is patched by the caller).
fn patch_len(buf: &mut [u8], start: usize) {
    let len = u32::try_from(buf.len() - start).unwrap_or(u32::MAX);
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

/// A writer of netlink attributes into a message being built.
pub struct Attrs<'a> {
    buf: &'a mut Vec<u8>,
}

impl Attrs<'_> {
    /// One attribute: a 4-byte header (length without padding, type), the value, then zero
    /// padding to the next multiple of 4.
    pub fn bytes(&mut self, kind: u16, value: &[u8]) {
        let len = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.buf.resize(align4(self.buf.len()), 0);
    }

    /// A string attribute: nf_tables wants names NUL-terminated (`NLA_STRING` with the NUL
    /// counted, as libnftnl sends them).
    pub fn string(&mut self, kind: u16, value: &str) {
        let mut bytes = Vec::with_capacity(value.len() + 1);
        bytes.extend_from_slice(value.as_bytes());
        bytes.push(0);
        self.bytes(kind, &bytes);
    }

    /// A 32-bit number in network byte order, as every nf_tables number attribute is.
    pub fn be32(&mut self, kind: u16, value: u32) {
        self.bytes(kind, &value.to_be_bytes());
    }

    /// A nested attribute whose value is the attributes `inner` writes.
    pub fn nested(&mut self, kind: u16, inner: impl FnOnce(&mut Attrs<'_>)) {
        let start = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        inner(&mut Attrs { buf: self.buf });
        // Nested values are whole attributes, so the end is already aligned.
        let len = u16::try_from(self.buf.len() - start).unwrap_or(u16::MAX);
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    }
}

/// Something the kernel sent that does not parse as netlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// One netlink message as received.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub message_type: u16,
    pub flags: u16,
    pub sequence: u32,
    /// Everything after the netlink header (for nf_tables: nfgenmsg, then attributes).
    pub payload: &'a [u8],
}

impl<'a> Message<'a> {
    /// The nfgenmsg family of an nf_tables message.
    pub fn family(&self) -> Result<u8, Malformed> {
        self.payload
            .first()
            .copied()
            .ok_or(Malformed("nf_tables message without nfgenmsg"))
    }

    /// The attributes after nfgenmsg, as bytes (see [`AttrIter`]).
    pub fn attribute_bytes(&self) -> Result<&'a [u8], Malformed> {
        self.payload
            .get(NFGENMSG_LEN..)
            .ok_or(Malformed("nf_tables message without nfgenmsg"))
    }

    /// For `NLMSG_ERROR`: the error code (0 is an ack, otherwise a negative errno) and the
    /// sequence number of the request it answers (the kernel copies it into the answer).
    pub fn error(&self) -> Result<(i32, u32), Malformed> {
        let too_short = Malformed("NLMSG_ERROR shorter than its header");
        let code = self.payload.get(0..4).ok_or(too_short)?;
        let code = i32::from_ne_bytes([code[0], code[1], code[2], code[3]]);
        Ok((code, self.sequence))
    }

    /// For `NLMSG_DONE` of an nfnetlink dump: the status the dump ended with (0 or -errno).
    pub fn done_status(&self) -> i32 {
        match self.payload.get(0..4) {
            Some(code) => i32::from_ne_bytes([code[0], code[1], code[2], code[3]]),
            None => 0,
        }
    }
}

/// Splits a datagram into its netlink messages.
pub fn messages(mut datagram: &[u8]) -> Result<Vec<Message<'_>>, Malformed> {
    let mut out = Vec::new();
    while !datagram.is_empty() {
        let header = datagram
            .get(..NLMSG_HDRLEN)
            .ok_or(Malformed("netlink header cut short"))?;
        let len = u32::from_ne_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len < NLMSG_HDRLEN || len > datagram.len() {
            return Err(Malformed("netlink message length out of bounds"));
        }
        out.push(Message {
            message_type: u16::from_ne_bytes([header[4], header[5]]),
            flags: u16::from_ne_bytes([header[6], header[7]]),
            sequence: u32::from_ne_bytes([header[8], header[9], header[10], header[11]]),
            payload: &datagram[NLMSG_HDRLEN..len],
        });
        datagram = datagram.get(align4(len)..).unwrap_or(&[]);
    }
    Ok(out)
}

/// Iterates over the attributes in a buffer: `(type without flag bits, value)`.
pub struct AttrIter<'a> {
    rest: &'a [u8],
}

impl<'a> AttrIter<'a> {
    pub fn new(rest: &'a [u8]) -> Self {
        Self { rest }
    }
}

impl<'a> Iterator for AttrIter<'a> {
    type Item = Result<(u16, &'a [u8]), Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.len() < 4 {
            // Fewer than a header's bytes can only be trailing padding.
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([self.rest[0], self.rest[1]]));
        let kind = u16::from_ne_bytes([self.rest[2], self.rest[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > self.rest.len() {
            self.rest = &[];
            return Some(Err(Malformed("attribute length out of bounds")));
        }
        let value = &self.rest[4..len];
        self.rest = self.rest.get(align4(len)..).unwrap_or(&[]);
        Some(Ok((kind, value)))
    }
}

/// A big-endian u32 attribute value.
pub fn be32(value: &[u8]) -> Result<u32, Malformed> {
    let bytes: [u8; 4] = value
        .try_into()
        .map_err(|_| Malformed("32-bit attribute of the wrong size"))?;
    Ok(u32::from_be_bytes(bytes))
}

/// A big-endian u64 attribute value (counters).
pub fn be64(value: &[u8]) -> Result<u64, Malformed> {
    let bytes: [u8; 8] = value
        .try_into()
        .map_err(|_| Malformed("64-bit attribute of the wrong size"))?;
    Ok(u64::from_be_bytes(bytes))
}

/// A NUL-terminated string attribute value.
pub fn string(value: &[u8]) -> Result<String, Malformed> {
    let text = value.split(|&b| b == 0).next().unwrap_or(&[]);
    String::from_utf8(text.to_vec()).map_err(|_| Malformed("name that is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs_of(write: impl FnOnce(&mut Attrs<'_>)) -> Vec<u8> {
        let mut buf = Vec::new();
        write(&mut Attrs { buf: &mut buf });
        buf
    }

    #[test]
    fn an_attribute_is_padded_to_four_bytes_with_its_unpadded_length_in_the_header() {
        let bytes = attrs_of(|a| a.bytes(7, &[1, 2, 3, 4, 5]));
        assert_eq!(bytes.len(), 12);
        assert_eq!(u16::from_ne_bytes([bytes[0], bytes[1]]), 9);
        assert_eq!(u16::from_ne_bytes([bytes[2], bytes[3]]), 7);
        assert_eq!(&bytes[4..9], &[1, 2, 3, 4, 5]);
        assert_eq!(&bytes[9..], &[0, 0, 0]);
    }

    #[test]
    fn strings_carry_their_nul_and_numbers_are_big_endian() {
        let bytes = attrs_of(|a| {
            a.string(1, "nat");
            a.be32(2, 100);
        });
        // "nat\0" is exactly 4 bytes: no padding.
        let header = |len: u16, kind: u16| [len.to_ne_bytes(), kind.to_ne_bytes()].concat();
        assert_eq!(bytes.len(), 16);
        assert_eq!(bytes[..4], header(8, 1)[..]);
        assert_eq!(&bytes[4..8], b"nat\0");
        assert_eq!(bytes[8..12], header(8, 2)[..]);
        assert_eq!(&bytes[12..], &[0, 0, 0, 100]);
    }

    #[test]
    fn a_nested_attribute_has_the_nested_flag_and_the_length_of_its_contents() {
        let bytes = attrs_of(|a| {
            a.nested(4, |hook| {
                hook.be32(1, 4);
                hook.string(9, "x"); // 6 bytes, padded to 8
            })
        });
        assert_eq!(bytes.len(), 4 + 8 + 8);
        assert_eq!(
            usize::from(u16::from_ne_bytes([bytes[0], bytes[1]])),
            bytes.len()
        );
        assert_eq!(u16::from_ne_bytes([bytes[2], bytes[3]]), 4 | NLA_F_NESTED);
        let outer: Vec<_> = AttrIter::new(&bytes)
            .collect::<Result<_, _>>()
            .expect("parse");
        assert_eq!(outer.len(), 1);
        assert_eq!(outer[0].0, 4, "the parser masks the flag away");
        let inner: Vec<_> = AttrIter::new(outer[0].1)
            .collect::<Result<_, _>>()
            .expect("parse inner");
        assert_eq!(inner, vec![(1, &[0, 0, 0, 4][..]), (9, &b"x\0"[..])]);
        assert_eq!(be32(inner[0].1), Ok(4));
        assert_eq!(string(inner[1].1).as_deref(), Ok("x"));
    }

    #[test]
    fn a_message_has_its_total_length_and_an_nfgenmsg_with_a_big_endian_res_id() {
        let mut buf = Vec::new();
        put_message(
            &mut buf,
            NFNL_MSG_BATCH_BEGIN,
            NLM_F_REQUEST,
            5,
            0,
            10,
            |_| {},
        );
        put_message(
            &mut buf,
            nft_type(NFT_MSG_NEWTABLE),
            NLM_F_REQUEST | NLM_F_ACK,
            6,
            NFPROTO_INET,
            0,
            |a| a.string(NFTA_TABLE_NAME, "t"),
        );
        assert_eq!(buf.len(), 20 + 20 + 8);
        // res_id NFNL_SUBSYS_NFTABLES in network order: 00 0a.
        assert_eq!(&buf[16..20], &[0, 0, 0, 10]);
        let parsed = messages(&buf).expect("parse");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].message_type, 16);
        assert_eq!(parsed[1].message_type, 0x0a00);
        assert_eq!(parsed[1].sequence, 6);
        assert_eq!(parsed[1].flags, NLM_F_REQUEST | NLM_F_ACK);
        assert_eq!(parsed[1].family(), Ok(NFPROTO_INET));
        let attributes: Vec<_> = AttrIter::new(parsed[1].attribute_bytes().expect("nfgenmsg"))
            .collect::<Result<_, _>>()
            .expect("attributes");
        assert_eq!(attributes, vec![(NFTA_TABLE_NAME, &b"t\0"[..])]);
    }

    #[test]
    fn lengths_past_the_end_are_malformed_not_a_panic() {
        let mut bytes = attrs_of(|a| a.be32(1, 1));
        bytes[0] = 200;
        assert!(AttrIter::new(&bytes).any(|a| a.is_err()));
        let mut message = Vec::new();
        put_message(&mut message, 3, 0, 1, 0, 0, |_| {});
        message[0] = 99;
        assert!(messages(&message).is_err());
        assert!(messages(&message[..10]).is_err());
        assert!(be32(&[1, 2, 3]).is_err());
    }
}
