//! Which containers `autostart` acts on, and in what order: LXC's rules, kept apart from the
//! acting so they can be tested without containers.
//!
//! LXC sorts the containers by `lxc.start.order` (then name) and makes one pass per group
//! given with `-g`, in the order given; a container is taken by the first pass whose group it
//! is in. The empty group (`-g "onboot,"` ends with one) takes the containers that have no
//! group at all; without `-g` that empty group is the only pass. `-a` makes one pass over
//! everything. Unlike LXC, a group matches whole names only (LXC compares prefixes, so its
//! `-g web` also takes a container of group `webfarm`).

/// What selection needs to know about one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    /// `lxc.start.auto = 1`.
    pub auto: bool,
    /// `lxc.start.order` (0 when unset).
    pub order: i32,
    /// `lxc.start.delay` in seconds (0 when unset).
    pub delay: u32,
    /// `lxc.group`.
    pub groups: Vec<String>,
}

/// One selected container: its index in the candidates and the `-g` pass that took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selected {
    pub index: usize,
    pub pass: usize,
}

/// The groups of every `-g` (each comma-separated, empty elements kept), duplicates dropped
/// as LXC does; none given means the one empty group.
pub fn group_passes(args: &[String]) -> Vec<String> {
    let mut passes: Vec<String> = Vec::new();
    for group in args.iter().flat_map(|arg| arg.split(',')) {
        if passes.iter().any(|seen| seen == group) {
            crate::logging::log_warn!("group {group:?} is given twice: the second is ignored");
            continue;
        }
        passes.push(group.to_string());
    }
    if passes.is_empty() {
        passes.push(String::new());
    }
    passes
}

/// The containers to act on, in start order.
pub fn select(
    candidates: &[Candidate],
    passes: &[String],
    all: bool,
    ignore_auto: bool,
) -> Vec<Selected> {
    let mut sorted: Vec<usize> = (0..candidates.len())
        .filter(|&i| ignore_auto || candidates[i].auto)
        .collect();
    sorted.sort_by(|&a, &b| {
        let (a, b) = (&candidates[a], &candidates[b]);
        a.order.cmp(&b.order).then_with(|| a.name.cmp(&b.name))
    });
    if all {
        return sorted
            .into_iter()
            .map(|index| Selected { index, pass: 0 })
            .collect();
    }
    let mut taken = vec![false; candidates.len()];
    let mut selected = Vec::new();
    for (pass, group) in passes.iter().enumerate() {
        for &index in &sorted {
            let groups = &candidates[index].groups;
            let member = if group.is_empty() {
                groups.is_empty()
            } else {
                groups.iter().any(|g| g == group)
            };
            if member && !taken[index] {
                taken[index] = true;
                selected.push(Selected { index, pass });
            }
        }
    }
    selected
}

/// Shutdown order, as waves: the start order reversed, cut wherever the pass or the
/// `lxc.start.order` changes. A wave is stopped in parallel and the next one only begins
/// when it is done, so what was started first (a database, a router) is stopped last, while
/// the many containers that share one order do not wait for each other.
pub fn shutdown_waves(candidates: &[Candidate], selected: &[Selected]) -> Vec<Vec<usize>> {
    let mut waves: Vec<Vec<usize>> = Vec::new();
    let mut last_key = None;
    for item in selected.iter().rev() {
        let key = (item.pass, candidates[item.index].order);
        match waves.last_mut() {
            Some(wave) if last_key == Some(key) => wave.push(item.index),
            _ => waves.push(vec![item.index]),
        }
        last_key = Some(key);
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(name: &str, auto: bool, order: i32, groups: &[&str]) -> Candidate {
        Candidate {
            name: name.to_string(),
            auto,
            order,
            delay: 0,
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn names(candidates: &[Candidate], selected: &[Selected]) -> Vec<String> {
        selected
            .iter()
            .map(|s| candidates[s.index].name.clone())
            .collect()
    }

    fn sample() -> Vec<Candidate> {
        vec![
            candidate("web", true, 10, &["onboot", "web"]),
            candidate("db", true, 1, &["onboot"]),
            candidate("plain", true, 0, &[]),
            candidate("manual", false, 0, &[]),
            candidate("webfarm", true, 0, &["webfarm"]),
            candidate("cache", true, 1, &["onboot"]),
        ]
    }

    #[test]
    fn no_groups_means_the_containers_without_a_group() {
        let c = sample();
        let s = select(&c, &group_passes(&[]), false, false);
        assert_eq!(names(&c, &s), ["plain"]);
    }

    #[test]
    fn onboot_comma_takes_onboot_first_then_the_ungrouped() {
        let c = sample();
        let s = select(&c, &group_passes(&["onboot,".into()]), false, false);
        assert_eq!(names(&c, &s), ["cache", "db", "web", "plain"]);
        assert_eq!(s.iter().map(|s| s.pass).collect::<Vec<_>>(), [0, 0, 0, 1]);
    }

    #[test]
    fn groups_match_whole_names_and_a_container_is_taken_once() {
        let c = sample();
        let s = select(&c, &group_passes(&["web,onboot".into()]), false, false);
        assert_eq!(names(&c, &s), ["web", "cache", "db"]);
    }

    #[test]
    fn all_ignores_groups_and_ignore_auto_takes_the_rest() {
        let c = sample();
        let s = select(&c, &group_passes(&["web".into()]), true, false);
        assert_eq!(names(&c, &s), ["plain", "webfarm", "cache", "db", "web"]);
        let s = select(&c, &group_passes(&[]), true, true);
        assert_eq!(s.len(), c.len());
        assert_eq!(names(&c, &s)[0], "manual");
    }

    #[test]
    fn repeated_g_accumulates_and_duplicates_are_dropped() {
        let passes = group_passes(&["a,,b".into(), "b,c".into(), ",".into()]);
        assert_eq!(passes, ["a", "", "b", "c"]);
    }

    #[test]
    fn shutdown_reverses_and_cuts_waves_at_order_and_pass() {
        let c = sample();
        let s = select(&c, &group_passes(&["onboot,".into()]), false, false);
        let waves = shutdown_waves(&c, &s);
        let named: Vec<Vec<&str>> = waves
            .iter()
            .map(|w| w.iter().map(|&i| c[i].name.as_str()).collect())
            .collect();
        assert_eq!(named, [vec!["plain"], vec!["web"], vec!["db", "cache"]]);
    }
}
