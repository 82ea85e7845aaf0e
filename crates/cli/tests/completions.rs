//! The shell completions, exercised by the shells themselves: bash sources `rlxc completion
//! bash` and its completion function is called with COMP_WORDS as bash calls it on a TAB
//! (verbs, options, container names of a real lxcpath, config keys; the lxc-* names only
//! where they are links to rlxc); zsh and fish scripts parse and register every name.

mod support;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{World, RLXC};

/// The script for `shell` in the world's directory, and a bin directory with `rlxc` and
/// `lxc-start` as links to the binary under test (as `rlxc compat-links` makes them).
fn set_up(world: &World, shell: &str) -> (PathBuf, PathBuf) {
    let output = world.output(&["completion", shell]);
    support::assert_ok(&output, "rlxc completion");
    let script = world.dir.path().join(format!("completion.{shell}"));
    std::fs::write(&script, &output.stdout).expect("write the script");
    let bin = world.dir.path().join("bin");
    if !bin.exists() {
        std::fs::create_dir(&bin).expect("bin");
        symlink(RLXC, bin.join("rlxc")).expect("rlxc link");
        symlink(RLXC, bin.join("lxc-start")).expect("lxc-start link");
    }
    (script, bin)
}

fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Runs `body` in bash after sourcing the script, with `t WORD...` defined: completes the
/// last word as bash would on a TAB and prints `WORDS -> CANDIDATES`.
fn bash(world: &World, body: &str) -> String {
    let (script, bin) = set_up(world, "bash");
    let program = format!(
        r#"source '{}' || exit 9
t() {{
    COMP_WORDS=("$@"); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); COMPREPLY=()
    _rlxc_complete "$1" "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
    echo "$* -> ${{COMPREPLY[*]}}"
}}
{body}"#,
        script.display()
    );
    let output = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .env("PATH", path_with(&bin))
        .env_remove("RLXC_PATH")
        .output()
        .expect("bash");
    support::assert_ok(&output, "bash completion");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn line<'a>(out: &'a str, words: &str) -> &'a str {
    out.lines()
        .find(|line| line.starts_with(&format!("{words} -> ")))
        .unwrap_or_else(|| panic!("no completion of {words:?} in:\n{out}"))
}

#[test]
fn bash_completes_verbs_options_names_and_keys() {
    let world = World::new();
    let name = world.busybox("compl");
    let lxcpath = world.lxcpath();
    let lxcpath = lxcpath.to_str().expect("utf-8 path");
    let out = bash(
        &world,
        &format!(
            "complete -p rlxc lxc-start\n\
             complete -p lxc-stop 2>/dev/null || echo 'lxc-stop: not ours'\n\
             t rlxc st\nt rlxc com\nt rlxc start --da\n\
             t rlxc start -P {lxcpath} -n ''\nt lxc-start -P {lxcpath} -n ''\n\
             RLXC_PATH={lxcpath} t rlxc stop -n ''\n\
             t rlxc start -s lxc.uts.na\nt rlxc info -c lxc.rootfs.pa\nt rlxc config lxc.lx\n\
             t lxc-start --da"
        ),
    );
    assert!(out.contains("-F _rlxc_complete rlxc"), "{out}");
    assert!(out.contains("-F _rlxc_complete lxc-start"), "{out}");
    // lxc-stop on PATH is LXC's own tool (or none): its completion is left alone.
    assert!(out.contains("lxc-stop: not ours"), "{out}");
    assert_eq!(line(&out, "rlxc st"), "rlxc st -> start stop");
    // The hidden verbs (complete-words, man) are not offered.
    assert_eq!(
        line(&out, "rlxc com"),
        "rlxc com -> compat-links completion"
    );
    assert_eq!(line(&out, "rlxc start --da"), "rlxc start --da -> --daemon");
    assert!(line(&out, &format!("rlxc start -P {lxcpath} -n ")).ends_with(&format!("-> {name}")));
    assert!(line(&out, &format!("lxc-start -P {lxcpath} -n ")).ends_with(&format!("-> {name}")));
    assert!(line(&out, "rlxc stop -n ").ends_with(&format!("-> {name}")));
    assert_eq!(
        line(&out, "rlxc start -s lxc.uts.na"),
        "rlxc start -s lxc.uts.na -> lxc.uts.name="
    );
    assert_eq!(
        line(&out, "rlxc info -c lxc.rootfs.pa"),
        "rlxc info -c lxc.rootfs.pa -> lxc.rootfs.path"
    );
    assert_eq!(
        line(&out, "rlxc config lxc.lx"),
        "rlxc config lxc.lx -> lxc.lxcpath"
    );
    assert_eq!(line(&out, "lxc-start --da"), "lxc-start --da -> --daemon");
}

/// A missing lxcpath, or an lxc-* name whose default lxcpath (LXC's) holds no container of
/// this test, completes no name and says nothing.
#[test]
fn bash_names_follow_the_lxcpath_of_the_command() {
    let world = World::new();
    let name = world.busybox("compl-path");
    let empty = world.dir.path().join("empty");
    let out = bash(
        &world,
        &format!(
            "t rlxc stop -P {} -n ''\nt lxc-start -n {name}",
            empty.display()
        ),
    );
    assert_eq!(
        line(&out, &format!("rlxc stop -P {} -n ", empty.display())),
        format!("rlxc stop -P {} -n  -> ", empty.display())
    );
    assert_eq!(
        line(&out, &format!("lxc-start -n {name}")),
        format!("lxc-start -n {name} -> ")
    );
}

fn installed(shell: &str) -> bool {
    Command::new(shell)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn zsh_script_parses_and_registers_every_name() {
    if !installed("zsh") {
        eprintln!("zsh is not installed: skipped (scripts/lib.sh installs it)");
        return;
    }
    let world = World::new();
    let name = world.busybox("compl-zsh");
    let (script, bin) = set_up(&world, "zsh");
    let check = Command::new("zsh")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("zsh -n");
    support::assert_ok(&check, "zsh -n");
    let fpath = world.dir.path().join("zsh");
    std::fs::create_dir(&fpath).expect("fpath dir");
    std::fs::copy(&script, fpath.join("_rlxc")).expect("_rlxc");
    let program = format!(
        "fpath=({} $fpath); autoload -U compinit; compinit -u -d {}/zcompdump; \
         print -r -- ${{_comps[rlxc]}} ${{_comps[lxc-start]}} ${{_comps[lxc-config]}}; \
         source {script}; \
         words=(lxc-start -P {lxcpath} -n ''); CURRENT=5; _rlxc_program=lxc-start; \
         print -r -- names: $(_rlxc_words names); \
         print -r -- system-keys: $(_rlxc_words system-keys)",
        fpath.display(),
        world.dir.path().display(),
        script = script.display(),
        lxcpath = world.lxcpath().display(),
    );
    let output = Command::new("zsh")
        .args(["-f", "-c", &program])
        .env("PATH", path_with(&bin))
        .output()
        .expect("zsh");
    support::assert_ok(&output, "zsh compinit");
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(out.lines().next(), Some("_rlxc _rlxc _rlxc"), "{out}");
    // What the container and key actions offer, asked as the -n of lxc-start -P DIR.
    assert!(out.contains(&format!("names: {name}\n")), "{out}");
    assert!(
        out.contains("system-keys: lxc.default_config lxc.lxcpath"),
        "{out}"
    );
}

#[test]
fn fish_script_parses_and_completes_names() {
    if !installed("fish") {
        eprintln!("fish is not installed: skipped (scripts/lib.sh installs it)");
        return;
    }
    let world = World::new();
    let name = world.busybox("compl-fish");
    let (script, bin) = set_up(&world, "fish");
    let check = Command::new("fish")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("fish -n");
    support::assert_ok(&check, "fish -n");
    let program = format!(
        "source {}; complete -C'rlxc sta'; complete -C'lxc-start -P {} -n '",
        script.display(),
        world.lxcpath().display()
    );
    let output = Command::new("fish")
        .args(["--no-config", "-c", &program])
        .env("PATH", path_with(&bin))
        .env("HOME", world.dir.path())
        .output()
        .expect("fish");
    support::assert_ok(&output, "fish completion");
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(out.lines().any(|l| l.starts_with("start\t")), "{out}");
    assert!(
        out.lines()
            .any(|l| l.split('\t').next() == Some(name.as_str())),
        "{out}"
    );
}
