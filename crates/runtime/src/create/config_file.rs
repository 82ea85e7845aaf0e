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

/// What the initial config (`rlxc create -f FILE`) said, as text and as loaded.
pub(crate) struct Seed<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub spec: &'a ContainerSpec,
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
        text.push_str(&format!("# Initial config: {}\n\n", seed.path.display()));
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
}
