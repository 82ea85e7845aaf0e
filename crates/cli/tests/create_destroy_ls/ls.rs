//! `rlxc ls`: names, the fancy table, JSON, state and group filters, broken configs.

use super::*;

/// web (running, autostart, groups onboot+web), db (stopped, unprivileged), cache (stopped),
/// broken (config does not load), plus a temporary directory of a create in progress.
fn four_containers(place: &Place) -> Child {
    let rootfs = place.root.path().join("shared-rootfs");
    fs::create_dir_all(&rootfs).expect("rootfs");
    let configs = [
        (
            "web",
            "lxc.start.auto = 1\nlxc.group = onboot\nlxc.group = web\n",
        ),
        (
            "db",
            "lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n",
        ),
        ("cache", ""),
    ];
    for (name, extra) in configs {
        let seed = place.root.path().join(format!("{name}.conf"));
        fs::write(&seed, extra).expect("seed");
        place
            .rlxc(&["create", "-n", name, "-t", "none", "--rootfs"])
            .arg(&rootfs)
            .arg("-f")
            .arg(&seed)
            .assert()
            .success();
    }
    let broken = place.container("broken");
    fs::create_dir_all(&broken).expect("dir");
    fs::write(broken.join("config"), "lxc.no.such.key = 1\n").expect("config");
    let staging = place.lxcpath().join(".new.create-abc123");
    fs::create_dir_all(&staging).expect("staging");
    fs::write(staging.join("config"), "").expect("config");
    let init = sleeper();
    place.pretend_running("web", init.id());
    init
}

#[test]
fn ls_lists_names_one_per_line_when_not_on_a_terminal() {
    let place = Place::new();
    let mut init = four_containers(&place);
    place
        .rlxc(&["ls"])
        .assert()
        .success()
        .stdout("broken\ncache\ndb\nweb\n")
        .stderr(predicate::str::contains("broken: config does not load"));
    place
        .rlxc(&["ls", "-1", "--running"])
        .assert()
        .success()
        .stdout("web\n");
    place
        .rlxc(&["ls", "--stopped"])
        .assert()
        .success()
        .stdout("broken\ncache\ndb\n");
    place
        .rlxc(&["ls", "--active"])
        .assert()
        .success()
        .stdout("web\n");
    place
        .rlxc(&["ls", "--filter", "^(c|d)"])
        .assert()
        .success()
        .stdout("cache\ndb\n");
    place.rlxc(&["ls", "^w"]).assert().success().stdout("web\n");
    place
        .rlxc(&["ls", "-g", "onboot,web"])
        .assert()
        .success()
        .stdout("web\n");
    place
        .rlxc(&["ls", "-g", "onboot,db"])
        .assert()
        .success()
        .stdout("");
    init.kill().expect("kill");
    init.wait().expect("reap");
    // Init is gone, the state file stays: that is STOPPED.
    place
        .rlxc(&["ls", "--running"])
        .assert()
        .success()
        .stdout("");
}

#[test]
fn ls_fancy_shows_lxcs_columns_and_f_chooses_them() {
    let place = Place::new();
    let mut init = four_containers(&place);
    let pid = init.id();
    place.rlxc(&["ls", "-f"]).assert().success().stdout(
        "NAME   STATE   AUTOSTART GROUPS     IPV4 IPV6 UNPRIVILEGED\n\
         broken STOPPED -         -          -    -    -\n\
         cache  STOPPED 0         -          -    -    false\n\
         db     STOPPED 0         -          -    -    true\n\
         web    RUNNING 1         onboot,web -    -    false\n",
    );
    let expected = format!("NAME STATE   PID\nweb  RUNNING {pid}\n");
    place
        .rlxc(&["ls", "-F", "name,state,pid", "--running"])
        .assert()
        .success()
        .stdout(expected);
    init.kill().expect("kill");
    init.wait().expect("reap");
}

#[test]
fn ls_json_has_the_same_fields() {
    let place = Place::new();
    let mut init = four_containers(&place);
    let output = place
        .rlxc(&["ls", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let list: serde_json::Value = serde_json::from_slice(&output).expect("JSON");
    let list = list.as_array().expect("an array");
    assert_eq!(list.len(), 4);
    let web = list.iter().find(|c| c["name"] == "web").expect("web");
    assert_eq!(web["state"], "RUNNING");
    assert_eq!(web["pid"], init.id());
    assert_eq!(web["autostart"], true);
    assert_eq!(web["groups"], serde_json::json!(["onboot", "web"]));
    assert_eq!(web["unprivileged"], false);
    let db = list.iter().find(|c| c["name"] == "db").expect("db");
    assert_eq!(
        (db["state"].as_str(), db["unprivileged"].as_bool()),
        (Some("STOPPED"), Some(true))
    );
    let broken = list.iter().find(|c| c["name"] == "broken").expect("broken");
    assert!(broken["config_error"]
        .as_str()
        .is_some_and(|e| e.contains("lxc.no.such.key")));
    init.kill().expect("kill");
    init.wait().expect("reap");
}

#[test]
fn ls_of_a_missing_lxcpath_is_empty() {
    let place = Place::new();
    place.rlxc(&["ls"]).assert().success().stdout("");
    place
        .rlxc(&["ls", "--json"])
        .assert()
        .success()
        .stdout("[]\n");
}

/// One container's config of 10 MB, a mistaken key of one line or a file of unknown keys:
/// `rlxc ls` lists the others at once and says, in one short line, why that one does not
/// load. (A 10 MB key cost ~50 s per command, an edit distance to every key of the table,
/// and was printed whole; `config check` of it likewise.)
#[test]
fn ls_stays_fast_and_short_over_a_ten_megabyte_broken_config() {
    let place = Place::new();
    place
        .rlxc(&["create", "-n", "good", "-t", "busybox"])
        .assert()
        .success();
    let one_line = format!("lxc.{} = 1\n", "k".repeat(10 << 20));
    let unknown_keys: String = (0..400_000)
        .map(|i| format!("lxc.uts.nmae{} = web\n", i % 10))
        .collect();
    assert!(unknown_keys.len() > 6 << 20);
    for (name, text) in [("longline", one_line), ("typos", unknown_keys)] {
        fs::create_dir_all(place.container(name)).expect("mkdir");
        fs::write(place.container(name).join("config"), text).expect("config");
    }
    let started = Instant::now();
    let output = place.rlxc(&["ls"]).output().expect("ls");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "ls took {took:?}");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "good\nlongline\ntypos\n"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.len() < 1_000,
        "{} bytes: {stderr:.1000}",
        stderr.len()
    );
    assert!(
        stderr.contains("longline/config:1: line of 10485768 bytes, longer than the 135168"),
        "{stderr}"
    );
    assert!(
        stderr.contains("typos/config:1: lxc.uts.nmae0: unknown key (did you mean lxc.uts.name?)"),
        "{stderr}"
    );
    let started = Instant::now();
    let check = place
        .rlxc(&["config", "check", "-n", "longline"])
        .output()
        .expect("config check");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!check.status.success());
    assert!(check.stderr.len() < 1_000, "{} bytes", check.stderr.len());
}
