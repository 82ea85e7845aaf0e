use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;

fn event(name: &str, lxcpath: &Path, state: State) -> Event {
    Event {
        time_ms: 1,
        name: name.into(),
        lxcpath: lxcpath.to_path_buf(),
        state: Some(state),
        exit_code: None,
        signal: None,
    }
}

fn states(events: &[Event]) -> Vec<(String, Option<State>)> {
    events.iter().map(|e| (e.name.clone(), e.state)).collect()
}

#[test]
fn lines_are_lxcs() {
    let lxcpath = PathBuf::from("/srv/lxc");
    assert_eq!(
        event("web", &lxcpath, State::Running).lxc_line(),
        "'web' changed state to [RUNNING]"
    );
    let exited = Event {
        state: None,
        exit_code: Some(3),
        ..event("web", &lxcpath, State::Running)
    };
    assert_eq!(exited.lxc_line(), "'web' exited with status [3]");
    let killed = Event {
        exit_code: None,
        signal: Some(9),
        ..exited
    };
    assert_eq!(killed.lxc_line(), "'web' exited with status [0]");
}

/// Two watchers see what was written after they started, in order; nothing of before; and
/// not another lxcpath's lines that share the journal.
#[test]
fn watchers_see_every_later_line_in_order() {
    let run = tempfile::tempdir().expect("tempdir");
    let lxcpath = PathBuf::from("/srv/a");
    let journal = crate::paths::events_journal(run.path(), &lxcpath);
    append(&journal, &event("old", &lxcpath, State::Running)).expect("append");
    let mut first = Watch::new(run.path(), std::slice::from_ref(&lxcpath)).expect("watch");
    let mut second = Watch::new(run.path(), std::slice::from_ref(&lxcpath)).expect("watch");
    append(&journal, &event("web", &lxcpath, State::Starting)).expect("append");
    append(
        &journal,
        &event("other", Path::new("/srv/b"), State::Starting),
    )
    .expect("append");
    append(&journal, &event("web", &lxcpath, State::Running)).expect("append");
    let expected = vec![
        ("web".to_string(), Some(State::Starting)),
        ("web".to_string(), Some(State::Running)),
    ];
    let seen = first
        .next(Some(std::time::Duration::from_secs(5)))
        .expect("next");
    assert_eq!(states(&seen), expected);
    assert_eq!(states(&second.take()), expected);
    assert!(first.take().is_empty());
}

/// A line left without its end by a dead writer is skipped; the next line is whole.
#[test]
fn a_cut_line_is_skipped() {
    let run = tempfile::tempdir().expect("tempdir");
    let lxcpath = PathBuf::from("/srv/a");
    let journal = crate::paths::events_journal(run.path(), &lxcpath);
    let mut watch = Watch::new(run.path(), std::slice::from_ref(&lxcpath)).expect("watch");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .expect("journal");
    file.write_all(br#"{"time_ms":1,"name":"cut","lxcpath":"/srv/a","sta"#)
        .expect("write");
    assert!(watch.take().is_empty());
    append(&journal, &event("web", &lxcpath, State::Stopped)).expect("append");
    assert_eq!(
        states(&watch.take()),
        vec![("web".to_string(), Some(State::Stopped))]
    );
}

/// Past the limit a new journal starts; a watcher finishes the old one, then reads the new.
#[test]
fn a_new_journal_past_the_limit_loses_nothing() {
    let run = tempfile::tempdir().expect("tempdir");
    let lxcpath = PathBuf::from("/srv/a");
    let journal = crate::paths::events_journal(run.path(), &lxcpath);
    let mut watch = Watch::new(run.path(), std::slice::from_ref(&lxcpath)).expect("watch");
    let long = "x".repeat(200);
    let mut written = 0;
    while std::fs::metadata(&journal).expect("journal").len() < JOURNAL_LIMIT {
        append(&journal, &event(&long, &lxcpath, State::Running)).expect("append");
        written += 1;
    }
    append(&journal, &event("after", &lxcpath, State::Stopped)).expect("append");
    written += 1;
    assert!(journal.with_extension("old").exists());
    assert!(std::fs::metadata(&journal).expect("journal").len() < 1000);
    let seen = watch.take();
    assert_eq!(seen.len(), written);
    assert_eq!(seen.last().map(|e| e.name.as_str()), Some("after"));
}
