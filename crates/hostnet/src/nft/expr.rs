//! nf_tables expressions, the instructions a rule is made of, as values: encoded into a
//! NEWRULE message and decoded from a rule dump with the same type, so what `install` writes
//! and what `inspect` reads back are compared as equals.
//!
//! Every data expression here works on register 1 (NFT_REG_1, 16 bytes, the one `nft` uses
//! for matches this small) and verdicts go to the verdict register, so registers are implied
//! rather than stored.

use super::wire::{
    self, AttrIter, Attrs, Malformed, NFTA_EXPR_DATA, NFTA_EXPR_NAME, NFTA_LIST_ELEM,
};

const NFT_REG_VERDICT: u32 = 0;
const NFT_REG_1: u32 = 1;

// Attribute numbers, per expression (nf_tables.h).
const NFTA_META_DREG: u16 = 1;
const NFTA_META_KEY: u16 = 2;
const NFTA_CMP_SREG: u16 = 1;
const NFTA_CMP_OP: u16 = 2;
const NFTA_CMP_DATA: u16 = 3;
const NFTA_PAYLOAD_DREG: u16 = 1;
const NFTA_PAYLOAD_BASE: u16 = 2;
const NFTA_PAYLOAD_OFFSET: u16 = 3;
const NFTA_PAYLOAD_LEN: u16 = 4;
const NFTA_BITWISE_SREG: u16 = 1;
const NFTA_BITWISE_DREG: u16 = 2;
const NFTA_BITWISE_LEN: u16 = 3;
const NFTA_BITWISE_MASK: u16 = 4;
const NFTA_BITWISE_XOR: u16 = 5;
const NFTA_COUNTER_PACKETS: u16 = 2;
const NFTA_IMMEDIATE_DREG: u16 = 1;
const NFTA_IMMEDIATE_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NF_ACCEPT: u32 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;
/// NFT_JUMP (-3) and NFT_GOTO (-4) as the kernel sends them, big-endian two's complement.
const NFT_JUMP: u32 = 0xffff_fffd;
const NFT_GOTO: u32 = 0xffff_fffc;

/// Meta keys (enum nft_meta_keys).
pub const NFT_META_IIFNAME: u32 = 6;
pub const NFT_META_OIFNAME: u32 = 7;
pub const NFT_META_NFPROTO: u32 = 15;
pub const NFT_META_L4PROTO: u32 = 16;

/// Payload bases (enum nft_payload_bases).
pub const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
pub const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Neq,
    /// Any of the ordering operators, which nothing here writes.
    Other(u32),
}

impl CmpOp {
    fn code(self) -> u32 {
        match self {
            CmpOp::Eq => 0,
            CmpOp::Neq => 1,
            CmpOp::Other(code) => code,
        }
    }

    fn from_code(code: u32) -> Self {
        match code {
            0 => CmpOp::Eq,
            1 => CmpOp::Neq,
            other => CmpOp::Other(other),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Load a meta key (`NFT_META_*`) into register 1.
    Meta(u32),
    /// Compare register 1 with `data`; the rule stops here unless it holds.
    Cmp {
        op: CmpOp,
        data: Vec<u8>,
    },
    /// Load `len` bytes at `offset` from a packet header (`base`) into register 1.
    Payload {
        base: u32,
        offset: u32,
        len: u32,
    },
    /// Register 1 &= mask (a bitwise with a zero xor: how a prefix match is written).
    Mask(Vec<u8>),
    /// Count packets (and bytes); `packets` is what the kernel reports, 0 when adding.
    Counter {
        packets: u64,
    },
    Masquerade,
    Accept,
    /// A jump or goto to another chain of the table (read from other tables' rules only).
    Jump(String),
    /// An expression this module does not write, by name.
    Other(String),
}

impl Expr {
    fn name(&self) -> &str {
        match self {
            Expr::Meta(_) => "meta",
            Expr::Cmp { .. } => "cmp",
            Expr::Payload { .. } => "payload",
            Expr::Mask(_) => "bitwise",
            Expr::Counter { .. } => "counter",
            Expr::Masquerade => "masq",
            Expr::Accept | Expr::Jump(_) => "immediate",
            Expr::Other(name) => name,
        }
    }

    /// Writes the expression's own attributes (the inside of NFTA_EXPR_DATA).
    fn encode_data(&self, data: &mut Attrs<'_>) {
        match self {
            Expr::Meta(key) => {
                data.be32(NFTA_META_DREG, NFT_REG_1);
                data.be32(NFTA_META_KEY, *key);
            }
            Expr::Cmp { op, data: value } => {
                data.be32(NFTA_CMP_SREG, NFT_REG_1);
                data.be32(NFTA_CMP_OP, op.code());
                data.nested(NFTA_CMP_DATA, |d| d.bytes(NFTA_DATA_VALUE, value));
            }
            Expr::Payload { base, offset, len } => {
                data.be32(NFTA_PAYLOAD_DREG, NFT_REG_1);
                data.be32(NFTA_PAYLOAD_BASE, *base);
                data.be32(NFTA_PAYLOAD_OFFSET, *offset);
                data.be32(NFTA_PAYLOAD_LEN, *len);
            }
            Expr::Mask(mask) => {
                data.be32(NFTA_BITWISE_SREG, NFT_REG_1);
                data.be32(NFTA_BITWISE_DREG, NFT_REG_1);
                data.be32(
                    NFTA_BITWISE_LEN,
                    u32::try_from(mask.len()).unwrap_or(u32::MAX),
                );
                data.nested(NFTA_BITWISE_MASK, |d| d.bytes(NFTA_DATA_VALUE, mask));
                let zeros = vec![0; mask.len()];
                data.nested(NFTA_BITWISE_XOR, |d| d.bytes(NFTA_DATA_VALUE, &zeros));
            }
            // A new counter starts at zero; the masquerade needs no options.
            Expr::Counter { .. } | Expr::Masquerade | Expr::Jump(_) | Expr::Other(_) => {}
            Expr::Accept => {
                data.be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
                data.nested(NFTA_IMMEDIATE_DATA, |d| {
                    d.nested(NFTA_DATA_VERDICT, |v| v.be32(NFTA_VERDICT_CODE, NF_ACCEPT))
                });
            }
        }
    }
}

/// Writes `exprs` as the value of NFTA_RULE_EXPRESSIONS: a list of
/// `{NFTA_EXPR_NAME, NFTA_EXPR_DATA}` elements.
pub fn encode_list(list: &mut Attrs<'_>, exprs: &[Expr]) {
    for expr in exprs {
        list.nested(NFTA_LIST_ELEM, |element| {
            element.string(NFTA_EXPR_NAME, expr.name());
            element.nested(NFTA_EXPR_DATA, |data| expr.encode_data(data));
        });
    }
}

/// Reads back the value of NFTA_RULE_EXPRESSIONS from a rule dump.
pub fn decode_list(list: &[u8]) -> Result<Vec<Expr>, Malformed> {
    let mut exprs = Vec::new();
    for element in AttrIter::new(list) {
        let (kind, element) = element?;
        if kind != NFTA_LIST_ELEM {
            continue;
        }
        let mut name = None;
        let mut data: &[u8] = &[];
        for attribute in AttrIter::new(element) {
            match attribute? {
                (NFTA_EXPR_NAME, value) => name = Some(wire::string(value)?),
                (NFTA_EXPR_DATA, value) => data = value,
                _ => {}
            }
        }
        let name = name.ok_or(Malformed("expression without a name"))?;
        exprs.push(decode_one(&name, data)?);
    }
    Ok(exprs)
}

fn decode_one(name: &str, data: &[u8]) -> Result<Expr, Malformed> {
    let attributes: Vec<(u16, &[u8])> = AttrIter::new(data).collect::<Result<_, _>>()?;
    let find = |kind: u16| attributes.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v);
    let u32_of = |kind: u16| find(kind).map(wire::be32).transpose();
    // The value inside an NFTA_DATA_VALUE nest.
    let value_of = |kind: u16| -> Result<Option<Vec<u8>>, Malformed> {
        let Some(nest) = find(kind) else {
            return Ok(None);
        };
        for attribute in AttrIter::new(nest) {
            if let (NFTA_DATA_VALUE, value) = attribute? {
                return Ok(Some(value.to_vec()));
            }
        }
        Ok(None)
    };
    let other = || Expr::Other(name.to_owned());
    Ok(match name {
        "meta" => match (u32_of(NFTA_META_KEY)?, find(NFTA_META_DREG)) {
            (Some(key), Some(_)) => Expr::Meta(key),
            // A meta with a source register sets a key rather than loading it.
            _ => other(),
        },
        "cmp" => match (u32_of(NFTA_CMP_OP)?, value_of(NFTA_CMP_DATA)?) {
            (Some(op), Some(data)) => Expr::Cmp {
                op: CmpOp::from_code(op),
                data,
            },
            _ => other(),
        },
        "payload" => match (
            u32_of(NFTA_PAYLOAD_BASE)?,
            u32_of(NFTA_PAYLOAD_OFFSET)?,
            u32_of(NFTA_PAYLOAD_LEN)?,
            find(NFTA_PAYLOAD_DREG),
        ) {
            (Some(base), Some(offset), Some(len), Some(_)) => Expr::Payload { base, offset, len },
            _ => other(),
        },
        "bitwise" => match (value_of(NFTA_BITWISE_MASK)?, value_of(NFTA_BITWISE_XOR)?) {
            (Some(mask), Some(xor)) if xor.iter().all(|&b| b == 0) => Expr::Mask(mask),
            _ => other(),
        },
        "counter" => Expr::Counter {
            packets: find(NFTA_COUNTER_PACKETS)
                .map(wire::be64)
                .transpose()?
                .unwrap_or(0),
        },
        "masq" => Expr::Masquerade,
        "immediate" => {
            let verdict = match find(NFTA_IMMEDIATE_DATA) {
                Some(nest) => verdict_of(nest)?,
                None => None,
            };
            match (u32_of(NFTA_IMMEDIATE_DREG)?, verdict) {
                (Some(NFT_REG_VERDICT), Some((NF_ACCEPT, _))) => Expr::Accept,
                (Some(NFT_REG_VERDICT), Some((NFT_JUMP | NFT_GOTO, Some(chain)))) => {
                    Expr::Jump(chain)
                }
                _ => other(),
            }
        }
        _ => other(),
    })
}

/// The verdict code inside `NFTA_IMMEDIATE_DATA { NFTA_DATA_VERDICT { NFTA_VERDICT_CODE } }`,
/// with the chain a jump or goto names (`NFTA_VERDICT_CHAIN`).
fn verdict_of(data: &[u8]) -> Result<Option<(u32, Option<String>)>, Malformed> {
    for attribute in AttrIter::new(data) {
        if let (NFTA_DATA_VERDICT, verdict) = attribute? {
            let (mut code, mut chain) = (None, None);
            for inner in AttrIter::new(verdict) {
                match inner? {
                    (NFTA_VERDICT_CODE, value) => code = Some(wire::be32(value)?),
                    (NFTA_VERDICT_CHAIN, value) => chain = Some(wire::string(value)?),
                    _ => {}
                }
            }
            return Ok(code.map(|code| (code, chain)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(exprs: &[Expr]) -> Vec<u8> {
        let mut message = Vec::new();
        wire::put_message(&mut message, 0, 0, 0, 0, 0, |a| {
            a.nested(wire::NFTA_RULE_EXPRESSIONS, |list| encode_list(list, exprs))
        });
        message
    }

    /// The value of the one attribute of the one message in `message`.
    fn list_of(message: &[u8]) -> Vec<u8> {
        let parsed = wire::messages(message).expect("message");
        let (kind, value) = AttrIter::new(parsed[0].attribute_bytes().expect("nfgenmsg"))
            .next()
            .expect("one attribute")
            .expect("well formed");
        assert_eq!(kind, wire::NFTA_RULE_EXPRESSIONS);
        value.to_vec()
    }

    #[test]
    fn every_expression_written_reads_back_the_same() {
        let exprs = vec![
            Expr::Meta(NFT_META_NFPROTO),
            Expr::Cmp {
                op: CmpOp::Eq,
                data: vec![2],
            },
            Expr::Payload {
                base: NFT_PAYLOAD_NETWORK_HEADER,
                offset: 12,
                len: 4,
            },
            Expr::Mask(vec![255, 255, 240, 0]),
            Expr::Cmp {
                op: CmpOp::Neq,
                data: vec![10, 0, 0, 0],
            },
            Expr::Counter { packets: 0 },
            Expr::Masquerade,
            Expr::Accept,
        ];
        let decoded = decode_list(&list_of(&encode(&exprs))).expect("decode");
        assert_eq!(decoded, exprs);
    }

    #[test]
    fn numbers_inside_expressions_are_big_endian() {
        let list = list_of(&encode(&[Expr::Payload {
            base: NFT_PAYLOAD_TRANSPORT_HEADER,
            offset: 2,
            len: 2,
        }]));
        let (_, element) = AttrIter::new(&list).next().expect("element").expect("ok");
        let data = AttrIter::new(element)
            .map(|a| a.expect("ok"))
            .find(|(kind, _)| *kind == NFTA_EXPR_DATA)
            .expect("data")
            .1;
        let attributes: Vec<_> = AttrIter::new(data).map(|a| a.expect("ok")).collect();
        assert_eq!(
            attributes,
            vec![
                (NFTA_PAYLOAD_DREG, &[0, 0, 0, 1][..]),
                (NFTA_PAYLOAD_BASE, &[0, 0, 0, 2][..]),
                (NFTA_PAYLOAD_OFFSET, &[0, 0, 0, 2][..]),
                (NFTA_PAYLOAD_LEN, &[0, 0, 0, 2][..]),
            ]
        );
    }

    #[test]
    fn accept_is_an_immediate_into_the_verdict_register_nested_twice() {
        let list = list_of(&encode(&[Expr::Accept]));
        // elem { name "immediate\0" (10, padded 12) + header 4, data { dreg 8, data { verdict {
        // code 8 } } } }
        let (_, element) = AttrIter::new(&list).next().expect("element").expect("ok");
        let attributes: Vec<_> = AttrIter::new(element).map(|a| a.expect("ok")).collect();
        assert_eq!(attributes[0], (NFTA_EXPR_NAME, &b"immediate\0"[..]));
        let data: Vec<_> = AttrIter::new(attributes[1].1)
            .map(|a| a.expect("ok"))
            .collect();
        assert_eq!(data[0], (NFTA_IMMEDIATE_DREG, &[0, 0, 0, 0][..]));
        assert_eq!(verdict_of(data[1].1), Ok(Some((NF_ACCEPT, None))));
    }

    #[test]
    fn a_counter_reads_its_64_bit_big_endian_packet_count_past_the_padding_attribute() {
        // As the kernel writes it: bytes, packets, each u64 behind an NFTA_COUNTER_PAD.
        let mut message = Vec::new();
        wire::put_message(&mut message, 0, 0, 0, 0, 0, |a| {
            a.nested(wire::NFTA_RULE_EXPRESSIONS, |list| {
                list.nested(NFTA_LIST_ELEM, |e| {
                    e.string(NFTA_EXPR_NAME, "counter");
                    e.nested(NFTA_EXPR_DATA, |d| {
                        d.bytes(3, &[]);
                        d.bytes(1, &1500u64.to_be_bytes());
                        d.bytes(3, &[]);
                        d.bytes(NFTA_COUNTER_PACKETS, &7u64.to_be_bytes());
                    })
                })
            })
        });
        let decoded = decode_list(&list_of(&message)).expect("decode");
        assert_eq!(decoded, vec![Expr::Counter { packets: 7 }]);
    }

    #[test]
    fn unknown_expressions_and_other_verdicts_are_kept_by_name() {
        let mut message = Vec::new();
        wire::put_message(&mut message, 0, 0, 0, 0, 0, |a| {
            a.nested(wire::NFTA_RULE_EXPRESSIONS, |list| {
                list.nested(NFTA_LIST_ELEM, |e| {
                    e.string(NFTA_EXPR_NAME, "immediate");
                    e.nested(NFTA_EXPR_DATA, |d| {
                        d.be32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
                        d.nested(NFTA_IMMEDIATE_DATA, |v| {
                            v.nested(NFTA_DATA_VERDICT, |c| c.be32(NFTA_VERDICT_CODE, 0))
                        });
                    })
                });
                list.nested(NFTA_LIST_ELEM, |e| e.string(NFTA_EXPR_NAME, "lookup"));
            })
        });
        let decoded = decode_list(&list_of(&message)).expect("decode");
        assert_eq!(
            decoded,
            vec![
                Expr::Other("immediate".into()),
                Expr::Other("lookup".into())
            ]
        );
    }
}
