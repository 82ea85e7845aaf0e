//! dnsmasq's leases file, for `rlxc net status`: one line per lease, `EXPIRY MAC IP NAME
//! CLIENT-ID` for IPv4 (`*` for an unknown name); IPv6 lines follow a `duid` line and carry
//! an IAID where the MAC would be.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lease {
    /// Seconds since the epoch; 0 means it never expires.
    pub expires: u64,
    /// The MAC for IPv4 leases; empty for IPv6 ones (their client is a DUID).
    pub mac: String,
    pub address: String,
    /// The name the client sent, None when it sent none.
    pub name: Option<String>,
}

/// The leases of `text`; lines that are not leases (the DUID line, a torn last line) are
/// skipped, as dnsmasq itself does.
pub fn parse(text: &str) -> Vec<Lease> {
    let mut leases = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [expires, id, address, name, ..] = fields.as_slice() else {
            continue;
        };
        let Ok(expires) = expires.parse() else {
            continue;
        };
        if address.parse::<std::net::IpAddr>().is_err() {
            continue;
        }
        let mac = if id.contains(':') {
            (*id).to_owned()
        } else {
            String::new()
        };
        leases.push(Lease {
            expires,
            mac,
            address: (*address).to_owned(),
            name: (*name != "*").then(|| (*name).to_owned()),
        });
    }
    leases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_and_ipv6_leases_are_read_and_the_duid_line_skipped() {
        let text = "1765130000 00:16:3e:12:34:56 10.0.4.57 web 01:00:16:3e:12:34:56\n\
                    1765130100 00:16:3e:ab:cd:ef 10.0.4.80 * *\n\
                    duid 00:01:00:01:2c:aa:bb:cc:00:16:3e:00:00:00\n\
                    1765130200 1234 fd12:3456:789a::42 db 00:04:aa\n\
                    17651302";
        let leases = parse(text);
        assert_eq!(leases.len(), 3, "{leases:?}");
        assert_eq!(
            leases[0],
            Lease {
                expires: 1_765_130_000,
                mac: "00:16:3e:12:34:56".into(),
                address: "10.0.4.57".into(),
                name: Some("web".into()),
            }
        );
        assert_eq!(leases[1].name, None);
        assert_eq!(leases[2].mac, "");
        assert_eq!(leases[2].address, "fd12:3456:789a::42");
    }
}
