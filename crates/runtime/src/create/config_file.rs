//! The container's `config`: a header that says how it was made, the initial config (`-f`)
//! verbatim, then the template's keys for whatever the initial config left unset.

use std::path::Path;

use rlxc_config::ContainerSpec;

/// One key a template wants, and how to tell that the initial config already set it.
pub(crate) struct TemplateKey {
    pub key: &'static str,
    pub value: String,
    pub set_by: fn(&ContainerSpec) -> bool,
}

/// The keys every template writes. `tty_max`: how many `/dev/ttyN` the template's init uses.
pub(crate) fn template_keys(
    name: &str,
    rootfs: &str,
    tty_max: u32,
    managed: bool,
) -> Vec<TemplateKey> {
    let mut keys = vec![
        TemplateKey {
            key: "lxc.uts.name",
            value: name.to_string(),
            set_by: |spec| spec.uts_name.is_some(),
        },
        TemplateKey {
            key: "lxc.rootfs.path",
            value: rootfs.to_string(),
            set_by: |spec| spec.rootfs.path.is_some(),
        },
    ];
    if !managed {
        // A directory rlxc did not make is never deleted by `rlxc destroy`.
        keys.push(TemplateKey {
            key: "lxc.rootfs.managed",
            value: "0".to_string(),
            set_by: |spec| spec.rootfs.managed.is_some(),
        });
    }
    keys.extend([
        TemplateKey {
            key: "lxc.tty.max",
            value: tty_max.to_string(),
            set_by: |spec| spec.tty.max.is_some(),
        },
        TemplateKey {
            key: "lxc.pty.max",
            value: "1024".to_string(),
            set_by: |spec| spec.tty.pty_max.is_some(),
        },
        TemplateKey {
            // What LXC's common.conf mounts: init scripts then need to mount nothing.
            key: "lxc.mount.auto",
            value: "proc:mixed sys:mixed cgroup:mixed".to_string(),
            set_by: |spec| spec.mounts.auto.is_some(),
        },
        TemplateKey {
            // No network until the user configures one; an empty one still gives `lo`.
            key: "lxc.net.0.type",
            value: "empty".to_string(),
            set_by: |spec| !spec.networks.is_empty(),
        },
    ]);
    keys
}

/// `rlxc create --idmap`: one `lxc.idmap` line per range, unless the initial config maps ids
/// itself (its map is the one the rootfs is then shifted into).
pub(crate) fn idmap_keys(maps: &[rlxc_config::values::IdMap]) -> Vec<TemplateKey> {
    maps.iter()
        .map(|map| TemplateKey {
            key: "lxc.idmap",
            value: map.to_string(),
            set_by: |spec| !spec.idmaps.is_empty(),
        })
        .collect()
}

/// What the initial config (`rlxc create -f FILE`, or the default config) said, as text and
/// as loaded.
pub(crate) struct Seed<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub spec: &'a ContainerSpec,
    /// The system's default config (`lxc.default_config`), not a `-f`.
    pub is_default: bool,
}

/// The initial config's text with every `x` digit of an `lxc.net.N.hwaddr` (or legacy
/// `lxc.network[.N].hwaddr`) value filled with a random one, as LXC's create saves it: the
/// container then keeps one MAC (and its DHCP lease) across starts. Everything else of each
/// line, comments included, stays as written.
pub(crate) fn fill_hwaddr_templates(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for raw in text.split_inclusive('\n') {
        out.push_str(&filled_line(raw).unwrap_or_else(|| raw.to_string()));
    }
    out
}

/// `raw` with its hwaddr template filled, or `None` when it is not such a line.
fn filled_line(raw: &str) -> Option<String> {
    let rlxc_config::grammar::Line::Entry { key, value } = rlxc_config::grammar::parse_line(raw)
    else {
        return None;
    };
    let is_hwaddr = (key.starts_with("lxc.net.") || key.starts_with("lxc.network."))
        && key.ends_with(".hwaddr");
    let template: rlxc_config::values::HwAddr = value.parse().ok()?;
    if !is_hwaddr || !template.is_template() {
        return None;
    }
    // `value` is a slice of `raw`: replace exactly those bytes.
    let start = (value.as_ptr() as usize).checked_sub(raw.as_ptr() as usize)?;
    let filled = rlxc_config::values::MacAddr(rlxc_net::container::mac::fill_randomly(&template));
    Some(format!(
        "{}{filled}{}",
        raw.get(..start)?,
        raw.get(start + value.len()..)?
    ))
}

/// An image's own config (the download template's), and the spec it gives together with
/// the initial config: the template's keys are only added where neither set them.
pub(crate) struct Distro<'a> {
    pub text: &'a str,
    pub spec: &'a ContainerSpec,
}

/// The whole config file's text.
pub(crate) fn compose(
    template: &str,
    notes: &[String],
    seed: Option<&Seed>,
    distro: Option<&Distro>,
    keys: &[TemplateKey],
) -> String {
    let mut text = format!(
        "# Template used to create this container: rlxc {template} (built in)\n\
         # Created by rlxc {} on {}\n",
        env!("CARGO_PKG_VERSION"),
        crate::utc::UtcTime::now().readable()
    );
    for note in notes {
        text.push_str(&format!("# {note}\n"));
    }
    if let Some(seed) = seed {
        let what = if seed.is_default {
            "Default config (lxc.default_config)"
        } else {
            "Initial config"
        };
        text.push_str(&format!("# {what}: {}\n\n", seed.path.display()));
        text.push_str(seed.text);
        if !seed.text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!("\n# Set by the {template} template\n"));
    } else {
        text.push('\n');
    }
    if let Some(distro) = distro {
        text.push_str("\n# Distribution configuration\n");
        text.push_str(distro.text);
        if !distro.text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("\n# Container specific configuration\n");
    }
    for key in keys {
        if seed.is_some_and(|seed| (key.set_by)(seed.spec))
            || distro.is_some_and(|distro| (key.set_by)(distro.spec))
        {
            continue;
        }
        // Quoted where the grammar would change the value: a name or lxcpath with " #" in it
        // would otherwise lose the rest of its rootfs path to an inline comment.
        text.push_str(&rlxc_config::render::line(key.key, &key.value));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_keys_win_and_are_kept_verbatim() {
        let seed_text =
            "# mine\nlxc.uts.name = other\nlxc.net.0.type = veth\nlxc.net.0.link = br0\n";
        let loaded = rlxc_config::load_str(seed_text, Path::new("seed")).expect("seed loads");
        let seed = Seed {
            path: Path::new("/etc/seed.conf"),
            text: seed_text,
            spec: &loaded.spec,
            is_default: false,
        };
        let keys = template_keys("web", "/var/lib/rlxc/web/rootfs", 1, true);
        let text = compose("busybox", &[], Some(&seed), None, &keys);
        assert!(text.contains(seed_text));
        assert!(!text.contains("lxc.uts.name = web"));
        assert!(!text.contains("lxc.net.0.type = empty"));
        assert!(text.contains("lxc.rootfs.path = /var/lib/rlxc/web/rootfs"));
        let loaded = rlxc_config::load_str(&text, Path::new("config")).expect("result loads");
        assert_eq!(loaded.spec.uts_name.as_deref(), Some("other"));
    }

    #[test]
    fn hwaddr_templates_are_filled_and_nothing_else_changes() {
        let text = "lxc.net.0.type = veth\n\
                    lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx  # stable\n\
                    lxc.network.hwaddr=02:xx:00:00:00:01\n\
                    lxc.net.1.hwaddr = 00:16:3e:00:00:01\n\
                    # lxc.net.2.hwaddr = 00:16:3e:xx:xx:xx\n\
                    lxc.uts.name = xx";
        let filled = fill_hwaddr_templates(text);
        let lines: Vec<&str> = filled.lines().collect();
        let original: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), original.len());
        assert_eq!(lines[0], original[0]);
        let mac = lines[1]
            .strip_prefix("lxc.net.0.hwaddr = 00:16:3e:")
            .and_then(|rest| rest.strip_suffix("  # stable"))
            .unwrap_or_else(|| panic!("{filled}"));
        assert_eq!(mac.len(), 8, "{filled}");
        assert!(
            mac.chars().all(|c| c == ':' || c.is_ascii_hexdigit()),
            "{filled}"
        );
        let legacy = lines[2]
            .strip_prefix("lxc.network.hwaddr=02:")
            .unwrap_or_else(|| panic!("{filled}"));
        assert!(
            legacy.ends_with(":00:00:00:01") && !legacy.contains('x'),
            "{filled}"
        );
        assert_eq!(lines[3..], original[3..]);
        // Loaded, the filled address is concrete.
        let net0 = format!("{}\n{}\n", lines[0], lines[1]);
        let loaded = rlxc_config::load_str(&net0, Path::new("config")).expect("loads");
        let hwaddr = loaded.spec.networks[&0].hwaddr.expect("hwaddr");
        assert!(!hwaddr.is_template());
    }
}
