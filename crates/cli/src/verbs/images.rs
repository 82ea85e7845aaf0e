//! `rlxc images`: the images the download template cached and the trees the debian template
//! debootstrapped (build `debootstrap`), and removing them (rlxc only).

use std::process::ExitCode;

use anyhow::bail;
use rlxc_runtime::create::debian;
use rlxc_runtime::create::download::{self, CachedInfo, ImageId};
use serde_json::json;

use crate::common::CommonOpts;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,

    /// Print a JSON array of objects instead of a table
    #[arg(long)]
    pub json: bool,

    /// Remove every cached image
    #[arg(long, conflicts_with = "json")]
    pub prune: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Remove one cached image
    Rm {
        dist: String,
        release: String,
        arch: String,
        #[arg(default_value = "default")]
        variant: String,
    },
}

pub fn run(args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let root = download::cache_root();
    if let Some(Action::Rm {
        dist,
        release,
        arch,
        variant,
    }) = &args.action
    {
        let id = ImageId {
            dist: dist.clone(),
            release: release.clone(),
            arch: arch.clone(),
            variant: variant.clone(),
        };
        // A debootstrapped tree is named `debian RELEASE ARCH VARIANT-KEY`, as listed.
        let removed = download::remove_cached(&root, &id)?
            || (id.dist == "debian"
                && debian::remove_tree(&root, &id.release, &id.arch, &id.variant)?);
        if !removed {
            bail!("no cached image {id} in {}", root.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut images = download::list_cached(&root)?;
    let trees = debian::list_trees(&root);
    if args.prune {
        for image in &images {
            download::remove_cached(&root, &image.id)?;
        }
        for tree in &trees {
            debian::remove_tree(&root, &tree.release, &tree.arch, &tree.slot)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    images.extend(trees.into_iter().map(|tree| CachedInfo {
        id: ImageId {
            dist: "debian".into(),
            release: tree.release,
            arch: tree.arch,
            variant: tree.slot,
        },
        build: "debootstrap".into(),
        server: String::new(),
        size: tree.size,
        dir: tree.dir,
    }));
    let text = if args.json {
        let objects: Vec<_> = images.iter().map(object).collect();
        format!("{}\n", serde_json::to_string_pretty(&objects)?)
    } else {
        table(&images)
    };
    crate::common::print_all(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn object(image: &CachedInfo) -> serde_json::Value {
    json!({
        "dist": image.id.dist,
        "release": image.id.release,
        "arch": image.id.arch,
        "variant": image.id.variant,
        "build": image.build,
        "server": image.server,
        "size": image.size,
        "path": image.dir,
    })
}

fn table(images: &[CachedInfo]) -> String {
    let header = ["DIST", "RELEASE", "ARCH", "VARIANT", "BUILD", "SIZE"].map(String::from);
    let rows: Vec<[String; 6]> = images
        .iter()
        .map(|image| {
            [
                image.id.dist.clone(),
                image.id.release.clone(),
                image.id.arch.clone(),
                image.id.variant.clone(),
                image.build.clone(),
                format!("{:.1}MiB", image.size as f64 / (1024.0 * 1024.0)),
            ]
        })
        .collect();
    crate::common::columns(&header, &rows)
}
