//! Row builders: most keys are "a typed scalar" or "a typed list" stored in one spec field.
//! The macros keep each such row to one line of facts instead of three hand-written closures.

use crate::values::{Bool01, ValueError};

/// How a spec field's type reads from and writes to a config value.
pub trait KeyValue: Sized {
    fn parse_value(text: &str) -> Result<Self, ValueError>;
    fn render_value(&self) -> String;
}

impl KeyValue for String {
    fn parse_value(text: &str) -> Result<Self, ValueError> {
        Ok(text.to_string())
    }
    fn render_value(&self) -> String {
        self.clone()
    }
}

/// LXC's booleans are `0`/`1`.
impl KeyValue for bool {
    fn parse_value(text: &str) -> Result<Self, ValueError> {
        Ok(text.parse::<Bool01>()?.0)
    }
    fn render_value(&self) -> String {
        Bool01(*self).to_string()
    }
}

macro_rules! integer_value {
    ($($ty:ty => $what:literal),* $(,)?) => {$(
        impl KeyValue for $ty {
            fn parse_value(text: &str) -> Result<Self, ValueError> {
                text.parse().map_err(|_| {
                    ValueError(format!("{} is not {}", $crate::limits::quote(text), $what))
                })
            }
            fn render_value(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
integer_value!(u32 => "a whole number from 0 to 4294967295", i32 => "a whole number (may be negative)");

/// Types whose `FromStr`/`Display` already speak the config's syntax.
macro_rules! display_value {
    ($($ty:ty),* $(,)?) => {$(
        impl KeyValue for $ty {
            fn parse_value(text: &str) -> Result<Self, ValueError> {
                text.parse()
            }
            fn render_value(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

/// A key stored in one `Option<T>` field: a later line replaces an earlier one.
macro_rules! scalar {
    ($section:ident, $name:literal, $example:literal, $doc:literal, $($field:ident).+) => {
        scalar!($section, $name, [], $example, $doc, $($field).+)
    };
    ($section:ident, $name:literal, [$($legacy:literal),*], $example:literal, $doc:literal,
     $($field:ident).+) => {
        $crate::keys::KeyDef {
            name: $name,
            prefix: false,
            list: false,
            section: $crate::keys::Section::$section,
            legacy: &[$($legacy),*],
            doc: $doc,
            example: $example,
            // Rows that are not fully supported say so with `.partly()`, `.ignored()`, `.refused()`.
            support: $crate::keys::Support::Supported,
            set: |spec, _, value| {
                spec.$($field).+ = Some($crate::keys::macros::KeyValue::parse_value(value)?);
                Ok(())
            },
            clear: |spec, _| {
                spec.$($field).+ = None;
                Ok(())
            },
            render: |spec, out| {
                if let Some(value) = &spec.$($field).+ {
                    out.push(($name.to_string(),
                        $crate::keys::macros::KeyValue::render_value(value)));
                }
            },
        }
    };
}
pub(crate) use scalar;

/// A repeatable key stored in one `Vec<T>` field: each line adds one value.
macro_rules! list {
    ($section:ident, $name:literal, $example:literal, $doc:literal, $($field:ident).+) => {
        $crate::keys::KeyDef {
            name: $name,
            prefix: false,
            list: true,
            section: $crate::keys::Section::$section,
            legacy: &[],
            doc: $doc,
            example: $example,
            // Rows that are not fully supported say so with `.partly()`, `.ignored()`, `.refused()`.
            support: $crate::keys::Support::Supported,
            set: |spec, _, value| {
                spec.$($field).+.push($crate::keys::macros::KeyValue::parse_value(value)?);
                Ok(())
            },
            clear: |spec, _| {
                spec.$($field).+.clear();
                Ok(())
            },
            render: |spec, out| {
                for value in &spec.$($field).+ {
                    out.push(($name.to_string(),
                        $crate::keys::macros::KeyValue::render_value(value)));
                }
            },
        }
    };
}
pub(crate) use list;

use crate::values::{
    Arch, BridgeVlan, ByteSize, HwAddr, IdMap, Ipv4Cidr, Ipv4Gateway, Ipv4Route, Ipv6Cidr,
    Ipv6Gateway, Ipv6Route, IpvlanIsolation, IpvlanMode, LogLevel, MacvlanMode, MountEntry, Mtu,
    NamespaceSet, NetType, Signal, SyslogFacility, TimeOffset, VethMode, VlanId,
};

display_value!(
    Arch,
    BridgeVlan,
    ByteSize,
    HwAddr,
    IdMap,
    Ipv4Cidr,
    Ipv4Gateway,
    Ipv4Route,
    Ipv6Cidr,
    Ipv6Gateway,
    Ipv6Route,
    IpvlanIsolation,
    IpvlanMode,
    LogLevel,
    MacvlanMode,
    MountEntry,
    Mtu,
    NamespaceSet,
    NetType,
    Signal,
    SyslogFacility,
    TimeOffset,
    VethMode,
    VlanId,
);
