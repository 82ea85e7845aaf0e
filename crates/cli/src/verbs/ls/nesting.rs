//! `ls --nesting`: the containers that running containers run themselves, named
//! `OUTER/INNER` as lxc-ls names them. LXC attaches to each container to list them; rlxc forks
//! a child into the container's mount namespace, where the container's lxcpath, `/run/rlxc`
//! and `/proc` are its own (so an inner state file's pid is checked against the container's
//! pid namespace), and into its time namespace (start times are counted from its boot), lists
//! them there, and sends the rows back as JSON through a pipe.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rlxc_config::system::SystemConfig;
use rlxc_runtime::create;

use super::Row;

/// The rows nested in the running container whose init is `pid`, `levels` deep (1: only its
/// own containers), each named below `outer`. Nothing when it cannot be looked into.
pub(super) fn rows_below(outer: &str, pid: i32, levels: u32) -> Vec<Row> {
    if levels == 0 {
        return Vec::new();
    }
    let Ok(namespace) = std::fs::File::open(format!("/proc/{pid}/ns/mnt")) else {
        return Vec::new();
    };
    // A process's start time in /proc is counted from its reader's boot: the container's,
    // when it has a time namespace of its own (its uptime), as its rlxc recorded it.
    let time = std::fs::File::open(format!("/proc/{pid}/ns/time")).ok();
    let Ok((mut reader, writer)) = std::os::unix::net::UnixStream::pair() else {
        return Vec::new();
    };
    match rlxc_process::fork::fork() {
        Ok(0) => {
            drop(reader);
            let code = match list_inside(&namespace, time.as_ref(), levels) {
                Ok(rows) => {
                    let text = serde_json::to_vec(&rows).unwrap_or_default();
                    i32::from((&writer).write_all(&text).is_err())
                }
                Err(_) => 1,
            };
            rlxc_process::fork::exit_child(code)
        }
        Ok(child) => {
            drop(writer);
            let mut text = Vec::new();
            let _ = reader.read_to_end(&mut text);
            let _ = rustix::process::waitpid(
                rustix::process::Pid::from_raw(child),
                rustix::process::WaitOptions::empty(),
            );
            let rows: Vec<Row> = serde_json::from_slice(&text).unwrap_or_default();
            rows.into_iter()
                .map(|mut row| {
                    row.name = format!("{outer}/{}", row.name);
                    row
                })
                .collect()
        }
        Err(_) => Vec::new(),
    }
}

/// In the child: into the container's mount namespace (its root, as it pivoted there), then
/// its containers as its own rlxc would list them, and theirs below.
fn list_inside(
    namespace: &std::fs::File,
    time: Option<&std::fs::File>,
    levels: u32,
) -> std::io::Result<Vec<Row>> {
    if let Some(time) = time {
        rustix::thread::move_into_link_name_space(
            time.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Time),
        )?;
    }
    rustix::thread::move_into_link_name_space(
        namespace.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::Mount),
    )?;
    std::env::set_current_dir("/")?;
    let flavor = crate::common::current_flavor();
    let lxcpath = SystemConfig::load(&flavor.path(None), flavor)
        .map(|config| config.lxcpath().to_path_buf())
        .unwrap_or_else(|_| {
            SystemConfig::defaults(PathBuf::new(), flavor)
                .lxcpath()
                .to_path_buf()
        });
    // Run directories where the container's own rlxc keeps them, /run/rlxc there (this
    // process's RLXC_RUN_DIR is a host path).
    let run_root = Path::new(rlxc_runtime::paths::DEFAULT_RUN_ROOT);
    let entries = create::list_in(&lxcpath, run_root).map_err(std::io::Error::other)?;
    let mut rows = Vec::new();
    for entry in &entries {
        let row = Row::from(entry);
        let below = match (row.state, row.pid) {
            (rlxc_runtime::state::State::Running, Some(pid)) => {
                rows_below(&row.name, pid, levels - 1)
            }
            _ => Vec::new(),
        };
        rows.push(row);
        rows.extend(below);
    }
    Ok(rows)
}
