//! The image config's run settings as config keys, mapped as LXC's `lxc-oci` template maps
//! them: Entrypoint + Cmd → `lxc.execute.cmd` and `lxc.init.cmd` (`/bin/sh` when both are
//! empty), Env → `lxc.environment`, WorkingDir → `lxc.init.cwd` (default `/`), User →
//! `lxc.init.uid`/`lxc.init.gid` (names looked up in the image's own passwd and group files).

use std::os::fd::OwnedFd;
use std::path::Path;

use serde::Deserialize;

use super::OciError;
use crate::attach::passwd::read_in_root;
use crate::create::config_file::TemplateKey;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ImageConfig {
    #[serde(default)]
    pub config: Option<RunConfig>,
    #[serde(default)]
    pub rootfs: Option<RootFs>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RunConfig {
    pub user: Option<String>,
    pub env: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub working_dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RootFs {
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

/// The keys for the container's config, after the layers are unpacked into `rootfs`.
pub(crate) fn keys(
    image: &str,
    config: &ImageConfig,
    rootfs: &Path,
) -> Result<Vec<TemplateKey>, OciError> {
    let empty = RunConfig::default();
    let run = config.config.as_ref().unwrap_or(&empty);
    let mut words: Vec<String> = run.entrypoint.clone().unwrap_or_default();
    words.extend(run.cmd.clone().unwrap_or_default());
    if words.is_empty() {
        words.push("/bin/sh".into());
    }
    let command = command_line(image, &words)?;
    let mut keys = vec![
        TemplateKey {
            key: "lxc.execute.cmd",
            value: command.clone(),
            set_by: |spec| spec.init.execute_cmd.is_some(),
        },
        TemplateKey {
            // `rlxc start` runs the image's command as the container's init, as LXC does.
            key: "lxc.init.cmd",
            value: command,
            set_by: |spec| spec.init.cmd.is_some(),
        },
    ];
    for var in run.env.iter().flatten() {
        keys.push(TemplateKey {
            key: "lxc.environment",
            value: env_entry(image, var)?,
            set_by: |spec| !spec.environment.is_empty(),
        });
    }
    let cwd = working_dir(config);
    keys.push(TemplateKey {
        key: "lxc.init.cwd",
        value: one_line(image, "WorkingDir", cwd)?.to_string(),
        set_by: |spec| spec.init.cwd.is_some(),
    });
    let user = run.user.as_deref().unwrap_or("");
    let (uid, gid) = user_ids(image, user, rootfs)?;
    keys.push(TemplateKey {
        key: "lxc.init.uid",
        value: uid.to_string(),
        set_by: |spec| spec.init.uid.is_some(),
    });
    keys.push(TemplateKey {
        key: "lxc.init.gid",
        value: gid.to_string(),
        set_by: |spec| spec.init.gid.is_some(),
    });
    Ok(keys)
}

/// The image's WorkingDir; `/` when it has none.
pub(crate) fn working_dir(config: &ImageConfig) -> &str {
    config
        .config
        .as_ref()
        .and_then(|run| run.working_dir.as_deref())
        .filter(|dir| !dir.is_empty())
        .unwrap_or("/")
}

/// The words as one line that `lxc.execute.cmd` splits back into the same words.
fn command_line(image: &str, words: &[String]) -> Result<String, OciError> {
    for word in words {
        one_line(image, "Entrypoint/Cmd", word)?;
    }
    shlex::try_join(words.iter().map(String::as_str)).map_err(|_| OciError::ConfigValue {
        image: image.to_string(),
        field: "Entrypoint/Cmd",
        value: words.join(" "),
        reason: "it has a NUL byte",
    })
}

fn one_line<'a>(image: &str, field: &'static str, value: &'a str) -> Result<&'a str, OciError> {
    if value.contains(['\n', '\r', '\0']) {
        return Err(OciError::ConfigValue {
            image: image.to_string(),
            field,
            value: value.to_string(),
            reason: "a config value is one line",
        });
    }
    Ok(value)
}

/// `NAME=VALUE`; a bare NAME would copy the host's value into the container, which an image
/// must not ask for.
fn env_entry(image: &str, var: &str) -> Result<String, OciError> {
    one_line(image, "Env", var)?;
    match var.split_once('=') {
        Some((name, _)) if !name.is_empty() && !name.contains(char::is_whitespace) => {
            Ok(var.to_string())
        }
        _ => Err(OciError::ConfigValue {
            image: image.to_string(),
            field: "Env",
            value: var.to_string(),
            reason: "it is not NAME=VALUE",
        }),
    }
}

/// `USER[:GROUP]`, each a number or a name in the image's /etc/passwd or /etc/group; a
/// user's group is its passwd group when none is given. Empty: root.
fn user_ids(image: &str, user: &str, rootfs: &Path) -> Result<(u32, u32), OciError> {
    if user.is_empty() {
        return Ok((0, 0));
    }
    let refuse = |reason: String| OciError::User {
        image: image.to_string(),
        user: user.to_string(),
        reason,
    };
    let (name, group) = match user.split_once(':') {
        Some((name, group)) => (name, Some(group)),
        None => (user, None),
    };
    let root: Option<OwnedFd> = rustix::fs::open(
        rootfs,
        rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .ok();
    let read = |file: &str| root.as_ref().and_then(|root| read_in_root(root, file));
    let passwd = read("etc/passwd").unwrap_or_default();
    let passwd_entry = |matches: &dyn Fn(&[&str]) -> bool| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() >= 4 && matches(&fields))
                .then(|| (fields[2].parse().ok(), fields[3].parse().ok()))
        })
    };
    let uid: u32 = match name.parse() {
        Ok(uid) => uid,
        Err(_) => passwd_entry(&|f| f[0] == name)
            .and_then(|(uid, _)| uid)
            .ok_or_else(|| refuse(format!("no user {name} in the image's /etc/passwd")))?,
    };
    let gid: u32 = match group {
        None => passwd_entry(&|f| f[2].parse() == Ok(uid))
            .and_then(|(_, gid)| gid)
            .unwrap_or(0),
        Some(group) => match group.parse() {
            Ok(gid) => gid,
            Err(_) => read("etc/group")
                .unwrap_or_default()
                .lines()
                .find_map(|line| {
                    let fields: Vec<&str> = line.split(':').collect();
                    (fields.len() >= 3 && fields[0] == group).then(|| fields[2].parse().ok())?
                })
                .ok_or_else(|| refuse(format!("no group {group} in the image's /etc/group")))?,
        },
    };
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_numbers_or_names_from_the_image() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("etc")).expect("etc");
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nweb:x:1000:1001::/srv:/bin/sh\n",
        )
        .expect("passwd");
        std::fs::write(dir.path().join("etc/group"), "root:x:0:\nstaff:x:50:\n").expect("group");
        let ids = |user| user_ids("img", user, dir.path());
        assert_eq!(ids("").expect("root"), (0, 0));
        assert_eq!(ids("7").expect("number"), (7, 0));
        assert_eq!(ids("7:8").expect("numbers"), (7, 8));
        assert_eq!(ids("web").expect("name"), (1000, 1001));
        assert_eq!(ids("web:staff").expect("names"), (1000, 50));
        assert!(ids("nobody").is_err());
        assert!(ids("web:nogroup").is_err());
    }

    #[test]
    fn commands_round_trip_through_the_config_splitter() {
        let words = vec![
            "/bin/sh".to_string(),
            "-c".into(),
            "echo 'a b' \"$X\"".into(),
        ];
        let line = command_line("img", &words).expect("line");
        assert_eq!(shlex::split(&line), Some(words));
        assert!(env_entry("img", "A=b c").is_ok());
        assert!(env_entry("img", "HOME").is_err());
        assert!(env_entry("img", "A=b\nlxc.hook.pre-start=x").is_err());
    }
}
