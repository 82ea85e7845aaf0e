//! Device rules (`c 1:3 rwm`, `a`, `/dev/null`) and their cgroup2 form: a
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program that answers each access the way the v1 devices
//! controller would have, built here instruction by instruction (no compiler, no libbpf).
//!
//! Semantics, as v1 and LXC: a global rule (`a`) sets the default and forgets every rule
//! before it; of the later rules the last one that matches decides. An allow rule matches
//! when the access asked for is within its letters, a deny rule when the access asked for
//! touches any of its letters.

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceType {
    All,
    Char,
    Block,
}

/// One `devices.allow` / `devices.deny` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    pub kind: DeviceType,
    /// `None` is `*`.
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// Bits of [`ACCESS_MKNOD`], [`ACCESS_READ`], [`ACCESS_WRITE`].
    pub access: u32,
}

pub const ACCESS_MKNOD: u32 = 1;
pub const ACCESS_READ: u32 = 2;
pub const ACCESS_WRITE: u32 = 4;
const ACCESS_ALL: u32 = ACCESS_MKNOD | ACCESS_READ | ACCESS_WRITE;

impl DeviceRule {
    /// Parses the kernel's rule syntax (`TYPE MAJ:MIN ACCESS`, or `a`), or a device path
    /// (cgroup2's extra form in LXC), which is looked up with stat and gets `rwm`.
    pub fn parse(allow: bool, text: &str) -> Result<Self, Error> {
        let text = text.trim();
        let invalid = |reason: &'static str| Error::InvalidDeviceRule {
            rule: text.to_owned(),
            reason,
        };
        if text.starts_with('/') {
            return Self::of_path(allow, text);
        }
        let mut words = text.split_whitespace();
        let kind = match words.next() {
            Some("a") => DeviceType::All,
            Some("c") => DeviceType::Char,
            Some("b") => DeviceType::Block,
            _ => return Err(invalid("the type must be a, c or b")),
        };
        let (major, minor) = match words.next() {
            None if kind == DeviceType::All => (None, None),
            None => return Err(invalid("expected MAJOR:MINOR after the type")),
            Some(numbers) => {
                let (major, minor) = numbers
                    .split_once(':')
                    .ok_or_else(|| invalid("expected MAJOR:MINOR"))?;
                (number(major, &invalid)?, number(minor, &invalid)?)
            }
        };
        let access = match words.next() {
            None => ACCESS_ALL,
            Some(letters) => access_bits(letters).ok_or_else(|| invalid("access is r, w, m"))?,
        };
        if words.next().is_some() {
            return Err(invalid("expected TYPE MAJOR:MINOR ACCESS"));
        }
        Ok(Self {
            allow,
            kind,
            major,
            minor,
            access,
        })
    }

    fn of_path(allow: bool, path: &str) -> Result<Self, Error> {
        let meta = std::fs::metadata(path).map_err(|cause| Error::DevicePath {
            path: path.into(),
            cause,
        })?;
        let kind = if meta.file_type().is_char_device() {
            DeviceType::Char
        } else if meta.file_type().is_block_device() {
            DeviceType::Block
        } else {
            return Err(Error::InvalidDeviceRule {
                rule: path.to_owned(),
                reason: "not a device node",
            });
        };
        let rdev = meta.rdev();
        Ok(Self {
            allow,
            kind,
            major: Some(rustix::fs::major(rdev)),
            minor: Some(rustix::fs::minor(rdev)),
            access: ACCESS_ALL,
        })
    }

    fn is_global(&self) -> bool {
        self.kind == DeviceType::All && self.major.is_none() && self.minor.is_none()
    }

    /// The v1 file and value for this rule (`devices.allow`, `c 1:3 rwm`).
    pub fn to_v1(&self) -> (&'static str, String) {
        let file = if self.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        let kind = match self.kind {
            DeviceType::All => "a",
            DeviceType::Char => "c",
            DeviceType::Block => "b",
        };
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_owned(), |n| n.to_string());
        let mut letters = String::new();
        for (bit, letter) in [(ACCESS_READ, 'r'), (ACCESS_WRITE, 'w'), (ACCESS_MKNOD, 'm')] {
            if self.access & bit != 0 {
                letters.push(letter);
            }
        }
        let value = format!("{kind} {}:{} {letters}", num(self.major), num(self.minor));
        (file, value)
    }
}

fn number(text: &str, invalid: &impl Fn(&'static str) -> Error) -> Result<Option<u32>, Error> {
    if text == "*" {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| invalid("major and minor are numbers or *"))
}

fn access_bits(letters: &str) -> Option<u32> {
    let mut bits = 0;
    for letter in letters.chars() {
        bits |= match letter {
            'r' => ACCESS_READ,
            'w' => ACCESS_WRITE,
            'm' => ACCESS_MKNOD,
            _ => return None,
        };
    }
    (bits != 0).then_some(bits)
}

/// The effective rule list: the default after the last global rule, and the rules after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePolicy {
    pub default_allow: bool,
    pub rules: Vec<DeviceRule>,
}

impl DevicePolicy {
    pub fn new(rules: &[DeviceRule]) -> Self {
        let mut policy = Self {
            default_allow: true,
            rules: Vec::new(),
        };
        for rule in rules {
            if rule.is_global() {
                policy.default_allow = rule.allow;
                policy.rules.clear();
            } else {
                policy.rules.push(rule.clone());
            }
        }
        policy
    }

    /// What the program answers, computed in Rust: the reference the tests hold it to.
    pub fn allows(&self, kind: DeviceType, major: u32, minor: u32, access: u32) -> bool {
        for rule in self.rules.iter().rev() {
            let type_ok = rule.kind == DeviceType::All || rule.kind == kind;
            let major_ok = rule.major.is_none() || rule.major == Some(major);
            let minor_ok = rule.minor.is_none() || rule.minor == Some(minor);
            if !(type_ok && major_ok && minor_ok) {
                continue;
            }
            if rule.allow && access & !rule.access == 0 {
                return true;
            }
            if !rule.allow && access & rule.access != 0 {
                return false;
            }
        }
        self.default_allow
    }

    /// The BPF program. `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32
    /// minor; }`, access_type = access << 16 | type. Registers: r2 type, r3 access, r4
    /// major, r5 minor; r1 scratch; r0 the verdict (1 allows).
    pub fn program(&self) -> Vec<Insn> {
        let mut code = vec![
            Insn::ldx_w(2, 1, 0),
            Insn::alu32_k(AND, 2, 0xffff),
            Insn::ldx_w(3, 1, 0),
            Insn::alu32_k(RSH, 3, 16),
            Insn::ldx_w(4, 1, 4),
            Insn::ldx_w(5, 1, 8),
        ];
        // Last rule first: the first match in the program is the last in the config.
        for rule in self.rules.iter().rev() {
            code.extend(rule_block(rule));
        }
        code.push(Insn::mov64_k(0, i32::from(self.default_allow)));
        code.push(Insn::exit());
        code
    }
}

/// One rule: each test jumps past the block when it fails; the end sets r0 and exits.
fn rule_block(rule: &DeviceRule) -> Vec<Insn> {
    // The jump offsets are filled in once the block's length is known.
    let mut tests: Vec<Insn> = Vec::new();
    match rule.kind {
        DeviceType::All => {}
        DeviceType::Char => tests.push(Insn::jmp_k(JNE, 2, 2)),
        DeviceType::Block => tests.push(Insn::jmp_k(JNE, 2, 1)),
    }
    if let Some(major) = rule.major {
        tests.push(Insn::jmp_k(JNE, 4, major as i32));
    }
    if let Some(minor) = rule.minor {
        tests.push(Insn::jmp_k(JNE, 5, minor as i32));
    }
    tests.push(Insn::mov64_x(1, 3));
    if rule.allow {
        // Allowed only when nothing outside the rule's letters is asked for.
        tests.push(Insn::alu32_k(AND, 1, !rule.access as i32));
        tests.push(Insn::jmp_k(JNE, 1, 0));
    } else {
        tests.push(Insn::alu32_k(AND, 1, rule.access as i32));
        tests.push(Insn::jmp_k(JEQ, 1, 0));
    }
    let end = [Insn::mov64_k(0, i32::from(rule.allow)), Insn::exit()];
    let total = tests.len() + end.len();
    for (index, insn) in tests.iter_mut().enumerate() {
        if insn.code & 0x07 == CLASS_JMP {
            // Offsets count from the next instruction.
            insn.off = (total - index - 1) as i16;
        }
    }
    tests.extend(end);
    tests
}

/// `struct bpf_insn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    pub code: u8,
    /// dst in the low nibble, src in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

const CLASS_LDX: u8 = 0x01;
const CLASS_JMP: u8 = 0x05;
const CLASS_ALU: u8 = 0x04;
const CLASS_ALU64: u8 = 0x07;
const MEM_W: u8 = 0x60;
const AND: u8 = 0x50;
const RSH: u8 = 0x70;
const MOV: u8 = 0xb0;
const JEQ: u8 = 0x10;
const JNE: u8 = 0x50;
const SRC_X: u8 = 0x08;

impl Insn {
    fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Self {
            code,
            regs: (src << 4) | dst,
            off,
            imm,
        }
    }
    fn ldx_w(dst: u8, src: u8, off: i16) -> Self {
        Self::new(CLASS_LDX | MEM_W, dst, src, off, 0)
    }
    fn alu32_k(op: u8, dst: u8, imm: i32) -> Self {
        Self::new(CLASS_ALU | op, dst, 0, 0, imm)
    }
    fn mov64_k(dst: u8, imm: i32) -> Self {
        Self::new(CLASS_ALU64 | MOV, dst, 0, 0, imm)
    }
    fn mov64_x(dst: u8, src: u8) -> Self {
        Self::new(CLASS_ALU64 | MOV | SRC_X, dst, src, 0, 0)
    }
    fn jmp_k(op: u8, dst: u8, imm: i32) -> Self {
        Self::new(CLASS_JMP | op, dst, 0, 0, imm)
    }
    fn exit() -> Self {
        Self::new(CLASS_JMP | 0x90, 0, 0, 0, 0)
    }
}

#[cfg(test)]
#[path = "devices_tests.rs"]
mod tests;
