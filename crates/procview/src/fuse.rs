//! The few messages of the FUSE wire protocol (`include/uapi/linux/fuse.h`) a read-only
//! directory of generated files needs: requests parsed from bytes, replies built as bytes.
//! No unsafe and no structs cast from memory: each field is read at its ABI offset.

/// The root directory's node id.
pub const ROOT_ID: u64 = 1;
pub const IN_HEADER_LEN: usize = 40;
const OUT_HEADER_LEN: usize = 16;
/// `FOPEN_DIRECT_IO`: every read comes to us (the files have no fixed size, as in /proc).
const FOPEN_DIRECT_IO: u32 = 1;
const KERNEL_MAJOR: u32 = 7;
/// The protocol minor we speak; nothing past 7.31 is used.
const OUR_MINOR: u32 = 31;

/// A request, borrowed from the read buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub unique: u64,
    pub node: u64,
    pub op: Op<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op<'a> {
    Init {
        max_readahead: u32,
    },
    Lookup {
        name: &'a [u8],
    },
    GetAttr,
    Open,
    Read {
        offset: u64,
        size: u32,
    },
    Release,
    Flush,
    StatFs,
    /// Requests that take no reply (FORGET, BATCH_FORGET, INTERRUPT, NOTIFY_REPLY).
    NoReply,
    /// Everything else: answered with ENOSYS.
    Other(u32),
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// The request in `bytes` (exactly what one read of /dev/fuse returned), or `None` when it
/// is too short for its own header.
pub fn parse(bytes: &[u8]) -> Option<Request<'_>> {
    let len = u32_at(bytes, 0)? as usize;
    let opcode = u32_at(bytes, 4)?;
    let unique = u64_at(bytes, 8)?;
    let node = u64_at(bytes, 16)?;
    let body = bytes.get(IN_HEADER_LEN..len.min(bytes.len()))?;
    let op = match opcode {
        26 => Op::Init {
            max_readahead: u32_at(body, 8)?,
        },
        1 => Op::Lookup {
            name: body.split(|b| *b == 0).next().unwrap_or(&[]),
        },
        3 => Op::GetAttr,
        14 => Op::Open,
        15 => Op::Read {
            offset: u64_at(body, 8)?,
            size: u32_at(body, 16)?,
        },
        18 => Op::Release,
        25 => Op::Flush,
        17 => Op::StatFs,
        2 | 36 | 41 | 42 => Op::NoReply,
        other => Op::Other(other),
    };
    Some(Request { unique, node, op })
}

/// The length field of the request header in `bytes` (0 when there is none).
pub fn request_len(bytes: &[u8]) -> usize {
    u32_at(bytes, 0).unwrap_or(0) as usize
}

fn reply(unique: u64, error: i32, payload: &[u8]) -> Vec<u8> {
    let len = OUT_HEADER_LEN + payload.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&error.to_ne_bytes());
    out.extend_from_slice(&unique.to_ne_bytes());
    out.extend_from_slice(payload);
    out
}

/// A reply carrying `payload`.
pub fn ok(unique: u64, payload: &[u8]) -> Vec<u8> {
    reply(unique, 0, payload)
}

/// A reply carrying only an errno.
pub fn error(unique: u64, errno: i32) -> Vec<u8> {
    reply(unique, -errno, &[])
}

/// `fuse_init_out`: our version and limits.
pub fn init_out(max_readahead: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&KERNEL_MAJOR.to_ne_bytes());
    out.extend_from_slice(&OUR_MINOR.to_ne_bytes());
    out.extend_from_slice(&max_readahead.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes()); // flags: no optional feature
    out.extend_from_slice(&1u16.to_ne_bytes()); // max_background: we answer one at a time
    out.extend_from_slice(&1u16.to_ne_bytes()); // congestion_threshold
    out.extend_from_slice(&4096u32.to_ne_bytes()); // max_write (nothing is writable)
    out.extend_from_slice(&1u32.to_ne_bytes()); // time_gran
    out.resize(64, 0); // max_pages, map_alignment, flags2, max_stack_depth, unused
    out
}

/// What `stat` says of a node: the root directory or one read-only file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr {
    pub ino: u64,
    pub mode: u32,
    /// The content's length now: `sendfile` (busybox `cat`) reads through the page cache,
    /// which stops at this size.
    pub size: u64,
    /// Changes with the content, so the kernel drops cached pages of an older one.
    pub mtime_ns: u64,
}

impl Attr {
    /// `fuse_attr`: 88 bytes, size 0 as /proc's files, owned by root.
    fn bytes(&self) -> [u8; 88] {
        let mut out = [0u8; 88];
        out[0..8].copy_from_slice(&self.ino.to_ne_bytes());
        out[8..16].copy_from_slice(&self.size.to_ne_bytes());
        out[16..24].copy_from_slice(&self.size.div_ceil(512).to_ne_bytes());
        let (seconds, nanos) = (
            self.mtime_ns / 1_000_000_000,
            (self.mtime_ns % 1_000_000_000) as u32,
        );
        for at in [24, 32, 40] {
            out[at..at + 8].copy_from_slice(&seconds.to_ne_bytes());
        }
        for at in [48, 52, 56] {
            out[at..at + 4].copy_from_slice(&nanos.to_ne_bytes());
        }
        out[60..64].copy_from_slice(&self.mode.to_ne_bytes());
        out[64..68].copy_from_slice(&1u32.to_ne_bytes()); // nlink
        out[80..84].copy_from_slice(&4096u32.to_ne_bytes()); // blksize
        out
    }
}

/// `fuse_entry_out` for a LOOKUP: the name is cached for a while (the files never change
/// identity), the attributes not at all (their size is the content's, which changes; with
/// `default_permissions` every open asks for them afresh).
pub fn entry_out(attr: Attr) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(&attr.ino.to_ne_bytes());
    out.extend_from_slice(&0u64.to_ne_bytes()); // generation
    out.extend_from_slice(&3600u64.to_ne_bytes()); // entry_valid
    out.extend_from_slice(&0u64.to_ne_bytes()); // attr_valid
    out.extend_from_slice(&[0u8; 8]); // the two nsec fields
    out.extend_from_slice(&attr.bytes());
    out
}

/// How long the kernel may keep the attributes a GETATTR answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// A file's: asked for again at every stat and open (the size is the content's).
    None,
    /// The root directory's, which never change: with `default_permissions` every path walk
    /// through the root checks them, so each bind of a file at start would ask again.
    Lasting,
}

/// `fuse_attr_out` for a GETATTR.
pub fn attr_out(attr: Attr, validity: Validity) -> Vec<u8> {
    let seconds: u64 = match validity {
        Validity::None => 0,
        Validity::Lasting => 3600,
    };
    let mut out = Vec::with_capacity(104);
    out.extend_from_slice(&seconds.to_ne_bytes()); // attr_valid
    out.extend_from_slice(&[0u8; 8]); // attr_valid_nsec, dummy
    out.extend_from_slice(&attr.bytes());
    out
}

/// `fuse_open_out`: no handle state, direct I/O.
pub fn open_out() -> Vec<u8> {
    let mut out = vec![0u8; 16];
    out[8..12].copy_from_slice(&FOPEN_DIRECT_IO.to_ne_bytes());
    out
}

/// `fuse_statfs_out`: an empty filesystem with 4 KiB blocks.
pub fn statfs_out() -> Vec<u8> {
    let mut out = vec![0u8; 80];
    out[40..44].copy_from_slice(&4096u32.to_ne_bytes()); // bsize
    out[44..48].copy_from_slice(&255u32.to_ne_bytes()); // namelen
    out[48..52].copy_from_slice(&4096u32.to_ne_bytes()); // frsize
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(opcode: u32, unique: u64, node: u64, body: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&((IN_HEADER_LEN + body.len()) as u32).to_ne_bytes());
        bytes.extend_from_slice(&opcode.to_ne_bytes());
        bytes.extend_from_slice(&unique.to_ne_bytes());
        bytes.extend_from_slice(&node.to_ne_bytes());
        bytes.extend_from_slice(&[0u8; 16]);
        bytes.extend_from_slice(body);
        bytes
    }

    #[test]
    fn lookups_and_reads_parse() {
        let bytes = request(1, 8, ROOT_ID, b"meminfo\0");
        let parsed = parse(&bytes).expect("parse");
        assert_eq!(parsed.unique, 8);
        assert_eq!(parsed.op, Op::Lookup { name: b"meminfo" });
        let mut read_in = vec![0u8; 40];
        read_in[8..16].copy_from_slice(&4096u64.to_ne_bytes());
        read_in[16..20].copy_from_slice(&131072u32.to_ne_bytes());
        let bytes = request(15, 10, 3, &read_in);
        assert_eq!(
            parse(&bytes).expect("parse").op,
            Op::Read {
                offset: 4096,
                size: 131072
            }
        );
        assert_eq!(request_len(&bytes), 80);
        assert_eq!(parse(&bytes[..20]), None);
    }

    #[test]
    fn replies_have_the_abi_sizes() {
        let attr = Attr {
            ino: 2,
            mode: 0o100444,
            size: 1000,
            mtime_ns: 1_500_000_000,
        };
        let entry = entry_out(attr);
        assert_eq!(
            u64::from_ne_bytes(entry[48..56].try_into().expect("8")),
            1000
        );
        assert_eq!(entry_out(attr).len(), 128);
        assert_eq!(attr_out(attr, Validity::None).len(), 104);
        assert_eq!(
            attr_out(attr, Validity::Lasting)[0..8],
            3600u64.to_ne_bytes()
        );
        assert_eq!(init_out(0).len(), 64);
        let reply = error(12, libc::ENOENT);
        assert_eq!(reply.len(), 16);
        assert_eq!(
            i32::from_ne_bytes(reply[4..8].try_into().expect("4")),
            -libc::ENOENT
        );
        assert_eq!(u64::from_ne_bytes(reply[8..16].try_into().expect("8")), 12);
    }
}
