//! `rlxc create -t download -- -d DIST -r RELEASE -a ARCH ...`: the template's own options
//! (LXC's `lxc-download` spelling), the image fetched into the cache with a progress line.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Parser;
use rlxc_runtime::create::download::{
    self, CacheLock, DownloadRequest, ImageId, ListFilter, Mode, Step,
};
use rlxc_runtime::create::Template;

/// The options LXC's download template takes after `--`.
#[derive(Debug, Parser)]
#[command(name = "download", no_binary_name = true, disable_help_flag = true)]
struct Options {
    /// Distribution, e.g. debian
    #[arg(short = 'd', long = "dist")]
    dist: Option<String>,
    /// Release, e.g. bookworm
    #[arg(short = 'r', long = "release")]
    release: Option<String>,
    /// Architecture, e.g. amd64
    #[arg(short = 'a', long = "arch")]
    arch: Option<String>,
    #[arg(long, default_value = "default")]
    variant: String,
    /// Image server, HOST[:PORT], spoken to over HTTPS
    #[arg(long, default_value = download::DEFAULT_SERVER)]
    server: String,
    #[arg(long = "flush-cache")]
    flush_cache: bool,
    /// Use the cached image even when it has expired, without asking the server
    #[arg(long = "force-cache")]
    force_cache: bool,
    /// Do not check the server's SHA256SUMS
    #[arg(long = "no-validate")]
    no_validate: bool,
    #[arg(short = 'l', long = "list")]
    list: bool,
    #[arg(short = 'h', long = "help")]
    help: bool,
}

const USAGE: &str = "rlxc create -t download -n NAME -- -d DIST -r RELEASE -a ARCH \
[--variant V] [--server HOST[:PORT]] [--flush-cache] [--force-cache] [--no-validate] | --list";

/// What the download template resolved to: the template, and the cache lock to hold until
/// the create is done. `None`: nothing to create (`--list`, `--help`).
pub fn prepare(
    args: &[String],
    unprivileged: bool,
) -> anyhow::Result<Option<(Template, CacheLock)>> {
    let options = Options::try_parse_from(args)
        .map_err(|e| anyhow::anyhow!("-t download: {}\nusage: {USAGE}", e.kind()))?;
    if options.help {
        println!("usage: {USAGE}");
        return Ok(None);
    }
    let mode = if unprivileged {
        Mode::User
    } else {
        Mode::System
    };
    if options.list {
        let filter = ListFilter {
            dist: options.dist.clone(),
            release: options.release.clone(),
            arch: options.arch.clone(),
            variant: Some(options.variant.clone()),
        };
        print!("{}", download::list(&options.server, mode, &filter)?);
        return Ok(None);
    }
    let (mut dist, mut release, mut arch) = (options.dist, options.release, options.arch);
    if [&dist, &release, &arch].iter().any(|given| given.is_none()) {
        if !std::io::stdin().is_terminal() {
            bail!("-t download needs -d DIST, -r RELEASE and -a ARCH (-- --list shows the images)\nusage: {USAGE}");
        }
        // LXC's interactive mode: the images, then a question for each missing field.
        let filter = ListFilter {
            dist: dist.clone(),
            release: release.clone(),
            arch: arch.clone(),
            variant: Some(options.variant.clone()),
        };
        println!("Downloading the image index\n");
        println!("{}", download::list(&options.server, mode, &filter)?);
        for (field, prompt) in [
            (&mut dist, "Distribution"),
            (&mut release, "Release"),
            (&mut arch, "Architecture"),
        ] {
            if field.is_none() {
                *field = Some(ask(prompt)?);
            }
        }
        println!();
    }
    let (Some(dist), Some(release), Some(arch)) = (dist, release, arch) else {
        bail!("-t download needs -d DIST, -r RELEASE and -a ARCH");
    };
    let request = DownloadRequest {
        image: ImageId {
            dist,
            release,
            arch,
            variant: options.variant,
        },
        server: options.server,
        mode,
        flush_cache: options.flush_cache,
        force_cache: options.force_cache,
        validate: !options.no_validate,
        cache_dir: download::cache_root(),
    };
    let mut line = DownloadLine::new();
    let obtained = download::obtain(&request, &mut |step| line.show(step));
    line.finish();
    let (lock, image) = obtained.with_context(|| format!("-t download: {}", request.image))?;
    Ok(Some((Template::Download { image, mode }, lock)))
}

/// One answer of the interactive mode, from the terminal; an empty one or end of input ends
/// the create.
fn ask(prompt: &str) -> anyhow::Result<String> {
    print!("{prompt}: ");
    std::io::stdout().flush().context("writing the question")?;
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .context("reading the answer")?;
    let answer = answer.trim();
    if answer.is_empty() {
        bail!("-t download: no {} given", prompt.to_lowercase());
    }
    Ok(answer.to_string())
}

/// `Downloading rootfs.tar.xz: 12.3 MiB of 80.1 MiB, 4.2 MiB/s` on stderr, on a terminal only.
struct DownloadLine {
    tty: bool,
    started: Instant,
    last: Option<Instant>,
    open: bool,
}

impl DownloadLine {
    fn new() -> Self {
        DownloadLine {
            tty: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last: None,
            open: false,
        }
    }

    fn show(&mut self, step: Step) {
        if !self.tty {
            return;
        }
        let mut err = std::io::stderr();
        // A progress line that cannot be written is no reason to stop the download.
        let _ = match step {
            Step::Index => self.line(&mut err, "Downloading the image index".into()),
            Step::UsingCache => self.line(&mut err, "Using the image from the local cache".into()),
            Step::Checking => self.line(&mut err, "Checking the downloaded rootfs".into()),
            Step::Downloading(name, got, total) => {
                let now = Instant::now();
                if got == 0 || self.last.is_none() {
                    self.started = now;
                }
                let finished = total == Some(got);
                if !finished
                    && self
                        .last
                        .is_some_and(|t| now.duration_since(t).as_millis() < 200)
                {
                    return;
                }
                self.last = Some(now);
                let seconds = now.duration_since(self.started).as_secs_f64().max(0.001);
                let of = total.map(|t| format!(" of {}", mib(t))).unwrap_or_default();
                let text = format!(
                    "Downloading {name}: {}{of}, {}/s",
                    mib(got),
                    mib((got as f64 / seconds) as u64)
                );
                let written = write!(err, "\r\x1b[K{text}");
                self.open = true;
                if finished {
                    self.last = None;
                    self.finish();
                }
                written
            }
        };
    }

    fn line(&mut self, err: &mut std::io::Stderr, text: String) -> std::io::Result<()> {
        self.finish();
        writeln!(err, "{text}")
    }

    fn finish(&mut self) {
        if self.open {
            let _ = writeln!(std::io::stderr());
            self.open = false;
        }
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
