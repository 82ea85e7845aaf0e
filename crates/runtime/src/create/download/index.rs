//! The image server's index, `meta/1.0/index-MODE`: one `dist;release;arch;variant;build;path`
//! line per image.

use super::{DownloadError, ImageId};

/// One image the server offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub dist: String,
    pub release: String,
    pub arch: String,
    pub variant: String,
    pub build: String,
    /// The directory holding `rootfs.tar.xz` and `meta.tar.xz`, relative to the server.
    pub path: String,
}

/// The lines with all six fields; others are skipped, as LXC skips them.
pub fn parse(text: &str) -> Vec<IndexEntry> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.trim_end_matches('\r').split(';').collect();
            let [dist, release, arch, variant, build, path, ..] = fields.as_slice() else {
                return None;
            };
            if build.is_empty() || path.is_empty() {
                return None;
            }
            Some(IndexEntry {
                dist: dist.to_string(),
                release: release.to_string(),
                arch: arch.to_string(),
                variant: variant.to_string(),
                build: build.to_string(),
                path: path.to_string(),
            })
        })
        .collect()
}

/// The entry for `wanted`, or an error that lists what the index has at the first field
/// that matched nothing.
pub fn find<'a>(
    entries: &'a [IndexEntry],
    wanted: &ImageId,
) -> Result<&'a IndexEntry, DownloadError> {
    if let Some(entry) = entries.iter().find(|e| {
        e.dist == wanted.dist
            && e.release == wanted.release
            && e.arch == wanted.arch
            && e.variant == wanted.variant
    }) {
        return Ok(entry);
    }
    type Field = fn(&IndexEntry) -> &str;
    let fields: [(&str, Field, &str); 4] = [
        ("distribution", |e| &e.dist, &wanted.dist),
        ("release", |e| &e.release, &wanted.release),
        ("architecture", |e| &e.arch, &wanted.arch),
        ("variant", |e| &e.variant, &wanted.variant),
    ];
    let mut matching: Vec<&IndexEntry> = entries.iter().collect();
    let mut context = String::new();
    for (what, field, value) in fields {
        let next: Vec<&IndexEntry> = matching
            .iter()
            .copied()
            .filter(|e| field(e) == value)
            .collect();
        if next.is_empty() {
            let mut available: Vec<&str> = matching.iter().map(|e| field(e)).collect();
            available.sort_unstable();
            available.dedup();
            return Err(DownloadError::NoSuchImage {
                what,
                value: value.to_string(),
                context: context.clone(),
                available: available.join(", "),
            });
        }
        context.push_str(&format!(" {value}"));
        matching = next;
    }
    // Every field matched some entry, so the full match above succeeded.
    Err(DownloadError::NoSuchImage {
        what: "image",
        value: wanted.to_string(),
        context,
        available: String::new(),
    })
}

/// `--list`, as LXC prints it: the entries matching what was given, tab separated.
pub fn render_list(entries: &[IndexEntry], filter: &ListFilter) -> String {
    let mut text = String::from("---\nDIST\tRELEASE\tARCH\tVARIANT\tBUILD\n---\n");
    let keep = |wanted: &Option<String>, value: &str| wanted.as_deref().is_none_or(|w| w == value);
    for e in entries {
        if keep(&filter.dist, &e.dist)
            && keep(&filter.release, &e.release)
            && keep(&filter.arch, &e.arch)
            && keep(&filter.variant, &e.variant)
        {
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\n",
                e.dist, e.release, e.arch, e.variant, e.build
            ));
        }
    }
    text.push_str("---\n");
    text
}

/// What `--list` was narrowed to with `-d`, `-r`, `-a`, `--variant`.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub dist: Option<String>,
    pub release: Option<String>,
    pub arch: Option<String>,
    pub variant: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = "debian;bookworm;amd64;default;20240101_05:24;/images/debian/bookworm/amd64/default/20240101_05:24/\n\
                         debian;bullseye;amd64;default;20240101_05:24;/images/debian/bullseye/amd64/default/20240101_05:24/\n\
                         alpine;3.19;arm64;default;20240101_13:00;/images/alpine/3.19/arm64/default/20240101_13:00/\n\
                         broken;line\n";

    fn id(dist: &str, release: &str, arch: &str) -> ImageId {
        ImageId {
            dist: dist.into(),
            release: release.into(),
            arch: arch.into(),
            variant: "default".into(),
        }
    }

    #[test]
    fn parses_and_finds() {
        let entries = parse(INDEX);
        assert_eq!(entries.len(), 3);
        let found = find(&entries, &id("debian", "bookworm", "amd64")).expect("found");
        assert_eq!(found.build, "20240101_05:24");
    }

    #[test]
    fn an_unknown_release_lists_the_releases_of_that_dist() {
        let entries = parse(INDEX);
        let error = find(&entries, &id("debian", "trixie", "amd64"))
            .expect_err("no trixie")
            .to_string();
        assert!(error.contains("bookworm, bullseye"), "{error}");
        assert!(!error.contains("3.19"), "{error}");
        let error = find(&entries, &id("fedora", "39", "amd64"))
            .expect_err("no fedora")
            .to_string();
        assert!(error.contains("alpine, debian"), "{error}");
    }
}
