//! Capabilities, seccomp, LSMs, the session keyring and no_new_privs.

use super::macros::{list, scalar};
use super::{KeyDef, Section, Support};
use crate::values::{Capability, ValueError};

pub(super) static CAPABILITY_KEYS: &[KeyDef] = &[
    KeyDef {
        name: "lxc.cap.drop",
        prefix: false,
        list: true,
        section: Section::Capabilities,
        legacy: &[],
        doc: "Capabilities to drop from the bounding set (names like `sys_admin`, or numbers); repeatable.",
        example: "lxc.cap.drop = sys_module mac_admin sys_time",
        support: Support::Supported,
        set: |spec, _, value| {
            spec.capabilities.drop.extend(parse_capabilities(value)?);
            Ok(())
        },
        clear: |spec, _| {
            spec.capabilities.drop.clear();
            Ok(())
        },
        render: |spec, out| {
            if !spec.capabilities.drop.is_empty() {
                out.push(("lxc.cap.drop".into(), join(&spec.capabilities.drop)));
            }
        },
    },
    KeyDef {
        name: "lxc.cap.keep",
        prefix: false,
        list: true,
        section: Section::Capabilities,
        legacy: &[],
        doc: "Keep only these capabilities (`none` keeps none); cannot be combined with `lxc.cap.drop`.",
        example: "lxc.cap.keep = chown net_bind_service setuid setgid",
        support: Support::Supported,
        set: |spec, _, value| {
            let keep = spec.capabilities.keep.get_or_insert_with(Vec::new);
            if value == "none" {
                keep.clear();
            } else {
                keep.extend(parse_capabilities(value)?);
            }
            Ok(())
        },
        clear: |spec, _| {
            spec.capabilities.keep = None;
            Ok(())
        },
        render: |spec, out| match &spec.capabilities.keep {
            Some(keep) if keep.is_empty() => out.push(("lxc.cap.keep".into(), "none".into())),
            Some(keep) => out.push(("lxc.cap.keep".into(), join(keep))),
            None => {}
        },
    },
];

fn parse_capabilities(value: &str) -> Result<Vec<Capability>, ValueError> {
    value.split_whitespace().map(str::parse).collect()
}

fn join(caps: &[Capability]) -> String {
    let names: Vec<&str> = caps.iter().map(|c| c.name()).collect();
    names.join(" ")
}

pub(super) static KEYS: &[KeyDef] = &[
    KeyDef {
        name: "lxc.seccomp.profile",
        prefix: false,
        list: false,
        section: Section::Security,
        legacy: &["lxc.seccomp"],
        doc: "Seccomp profile file (LXC's v1/v2 text format), compiled with libseccomp; it replaces rlxc's default policy, as in LXC (`rlxc config check` lists what it lets through that the default denies). Set empty on purpose to run without any filter.",
        example: "lxc.seccomp.profile = /etc/rlxc/web.seccomp",
        support: Support::Supported,
        set: |spec, _, value| {
            spec.security.seccomp_profile = Some(value.to_string());
            Ok(())
        },
        // Empty is not "unset" here: it is the explicit choice of no seccomp policy.
        clear: |spec, _| {
            spec.security.seccomp_profile = Some(String::new());
            Ok(())
        },
        render: |spec, out| {
            if let Some(profile) = &spec.security.seccomp_profile {
                out.push(("lxc.seccomp.profile".into(), profile.clone()));
            }
        },
    },
    scalar!(
        Security,
        "lxc.seccomp.allow_nesting",
        "lxc.seccomp.allow_nesting = 1",
        "1: stack the policy even when a seccomp filter is already loaded.",
        security.seccomp_allow_nesting
    )
    .ignored(
        "rlxc always stacks its policy on a filter already loaded (the kernel applies every \
         filter), which is what 1 asks; 0 never skips the policy as it does in LXC",
    ),
    scalar!(
        Security,
        "lxc.seccomp.notify.proxy",
        "lxc.seccomp.notify.proxy = unix:/run/proxy.sock",
        "Forward seccomp notifications to this socket (`unix:PATH` or `unix:@ABSTRACT`).",
        security.seccomp_notify_proxy
    )
    .refused("rlxc has no seccomp notification proxy (`notify` rules in a profile are refused too)"),
    scalar!(
        Security,
        "lxc.seccomp.notify.cookie",
        "lxc.seccomp.notify.cookie = web",
        "A string sent along with proxied seccomp notifications.",
        security.seccomp_notify_cookie
    )
    .refused("rlxc has no seccomp notification proxy to send it to"),
    scalar!(
        Security,
        "lxc.apparmor.profile",
        ["lxc.aa_profile"],
        "lxc.apparmor.profile = unconfined",
        "AppArmor profile init is exec'd into: a profile the host has loaded (one AppArmor has not loaded fails the start), `unconfined` or `unchanged`; on a kernel without AppArmor the container starts unconfined, with a warning at the line, as under LXC.",
        security.apparmor_profile
    )
    .partly("`generated` confines with LXC's base profile (`lxc-container-default-cgns`, `-with-nesting` with allow_nesting) where the host has loaded it, and is refused where it has not: rlxc writes no profiles"),
    scalar!(
        Security,
        "lxc.apparmor.allow_incomplete",
        ["lxc.aa_allow_incomplete"],
        "lxc.apparmor.allow_incomplete = 1",
        "1: start even when the kernel lacks AppArmor mount mediation (else a named profile fails the start there).",
        security.apparmor_allow_incomplete
    ),
    scalar!(
        Security,
        "lxc.apparmor.allow_nesting",
        "lxc.apparmor.allow_nesting = 1",
        "1: the generated profile allows nested containers.",
        security.apparmor_allow_nesting
    )
    .partly(
        "with lxc.apparmor.profile = generated it picks LXC's lxc-container-default-with-nesting \
         as the profile; rlxc writes no profile of its own",
    ),
    list!(
        Security,
        "lxc.apparmor.raw",
        "lxc.apparmor.raw = mount fstype=nfs,",
        "A raw line appended to the generated AppArmor profile; repeatable.",
        security.apparmor_raw
    )
    .ignored(
        "it is added only to a generated profile, and rlxc generates none \
         (lxc.apparmor.profile = generated is refused where AppArmor runs)",
    ),
    scalar!(
        Security,
        "lxc.selinux.context",
        ["lxc.se_context"],
        "lxc.selinux.context = system_u:system_r:lxc_t:s0:c22",
        "SELinux context the container's init is exec'd into (`unconfined_t`: unchanged); on a host without SELinux any other context fails the start.",
        security.selinux_context
    ),
    scalar!(
        Security,
        "lxc.selinux.context.keyring",
        "lxc.selinux.context.keyring = system_u:system_r:lxc_t:s0:c22",
        "SELinux context of the container's session keyring; on a host without SELinux the start fails.",
        security.selinux_context_keyring
    ),
    scalar!(
        Security,
        "lxc.keyring.session",
        "lxc.keyring.session = 1",
        "1 (default): a fresh session keyring for the container; 0: inherit the caller's.",
        security.keyring_session
    ),
    scalar!(
        Security,
        "lxc.no_new_privs",
        "lxc.no_new_privs = 1",
        "1: set no_new_privs before init's exec (and for attached commands), so setuid binaries and file capabilities gain nothing in the container.",
        security.no_new_privs
    ),
];
