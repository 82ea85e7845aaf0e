//! Making, listing and deleting containers on disk: `rlxc create`, `rlxc ls`, `rlxc destroy`.
//!
//! A container is `$lxcpath/NAME/{config,rootfs/}`. [`create`] builds one from a template in a
//! temporary directory and renames it into place when it is complete; [`list`] reads what is
//! there; [`destroy`] removes one without ever following a symlink or crossing a mount point.

mod backing;
mod busybox;
mod busybox_files;
mod clone_rootfs;
mod config_file;
pub mod copy;
pub mod debian;
pub mod dependents;
mod destroy;
pub mod download;
mod error;
pub(crate) mod freeze_guard;
pub mod oci;
mod parallel_writes;
pub(crate) mod remove_tree;
pub mod rename;
pub mod snapshot;
mod staging;
mod store;
mod sys;
mod tarball;
mod thaw_watchdog;

use std::fs;
use std::path::{Path, PathBuf};

use rlxc_config::ContainerSpec;

pub use backing::BackingStore;
pub use busybox::{find_static_busybox, BUSYBOX_LOCATIONS};
pub(crate) use destroy::destroy_stopped;
pub use destroy::{destroy, DestroyOptions, DestroyReport};
pub use error::{CreateError, DestroyError, StoreError};
pub use staging::{clear_abandoned, is_staging_name};
pub use store::{list, list_in, names, ContainerEntry};
pub use tarball::{Progress, Unpacking};

use config_file::{Seed, TemplateKey};
use staging::Staging;

/// What to fill the rootfs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Template {
    /// The built-in busybox rootfs, from the host's static busybox.
    Busybox,
    /// A rootfs tarball: `.tar`, `.tar.gz`, `.tar.xz` or `.tar.zst`.
    Tarball { archive: PathBuf },
    /// An existing directory (or the initial config's `lxc.rootfs.path`), used in place.
    None { rootfs: Option<PathBuf> },
    /// An OCI image layout or a `docker save` archive: layers applied in order, the image
    /// config mapped to keys as LXC's `lxc-oci` template maps it.
    Oci { source: oci::ImageSource },
    /// An image of LXC's download server, already in the cache ([`download::obtain`]).
    Download {
        image: download::CachedImage,
        mode: download::Mode,
    },
    /// A debootstrapped Debian tree, already in the cache ([`debian::obtain`]).
    Debian { tree: debian::DebianTree },
}

impl Template {
    pub fn name(&self) -> &'static str {
        match self {
            Template::Busybox => "busybox",
            Template::Tarball { .. } => "tarball",
            Template::None { .. } => "none",
            Template::Oci { .. } => "oci",
            Template::Download { .. } => "download",
            Template::Debian { .. } => "debian",
        }
    }
}

/// Everything `rlxc create` was asked.
#[derive(Debug, Clone)]
pub struct CreateRequest<'a> {
    pub paths: &'a crate::paths::ContainerPaths,
    pub template: Template,
    /// `-f CONFIG`, or the system's default config (`lxc.default_config`) when no `-f` was
    /// given: copied first, verbatim but for `x` digits of `hwaddr` values, which are filled
    /// in (LXC's create saves them filled, so the MAC stays the same at every start); the
    /// template only adds what it does not set.
    pub seed_config: Option<&'a Path>,
    /// `seed_config` is the default config, not a `-f` (said so in the written config).
    pub seed_is_default: bool,
    /// Where to look for a static busybox; [`BUSYBOX_LOCATIONS`] outside tests.
    pub busybox_locations: &'a [&'a str],
    /// `--idmap`: written as `lxc.idmap` lines (unless the initial config has its own), and
    /// the rootfs the template makes is shifted into the config's map.
    pub idmaps: Vec<rlxc_config::values::IdMap>,
    /// `-B`: the store the rootfs is made in.
    pub store: BackingStore,
}

/// A container that now exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub dir: PathBuf,
    pub config: PathBuf,
    /// The rootfs: its directory, or the loop image.
    pub rootfs: PathBuf,
    /// What the template asks to tell the user (a download image's `create-message`).
    pub message: Option<String>,
}

/// Creates a container. Either it exists complete afterwards, or nothing new is on disk. The
/// caller holds the container's operation lock.
pub fn create(
    request: &CreateRequest,
    progress: Progress,
    operation: &crate::lock::OperationLock,
) -> Result<Created, CreateError> {
    let paths = request.paths;
    debug_assert!(operation.is_for(paths));
    // Before anything is made: a name the start would refuse is never created.
    crate::name::check(&paths.name)?;
    let seed_text =
        read_seed(request.seed_config)?.map(|text| config_file::fill_hwaddr_templates(&text));
    let seed_spec = load_seed(request.seed_config, seed_text.as_deref())?;
    let (rootfs, managed) = plan_rootfs(request, seed_spec.as_ref())?;
    check_store(request)?;
    let busybox = match request.template {
        Template::Busybox => Some(find_static_busybox(request.busybox_locations)?),
        _ => None,
    };

    let staging = Staging::begin(paths, operation)?;
    let mut store = match &request.template {
        Template::None { .. } => None,
        _ => Some(backing::make(&request.store, staging.path(), &paths.dir())?),
    };
    let staged_rootfs = match &store {
        Some(store) => store.fill_at.clone(),
        None => staging.path().join("rootfs"),
    };
    // Where the template writes: the store, or a directory copied into it after.
    let template_rootfs = match &store {
        Some(store) => store
            .template_target(request.template == Template::Busybox)
            .to_path_buf(),
        None => staged_rootfs.clone(),
    };
    let mut notes = Vec::new();
    let mut image_keys = Vec::new();
    let mut applied: Option<download::meta::Applied> = None;
    match &request.template {
        Template::Busybox => {
            let busybox = busybox.as_deref().unwrap_or(Path::new("/bin/busybox"));
            notes.push(format!("Busybox: {}", busybox.display()));
            busybox::build_rootfs(busybox, &template_rootfs, &paths.name)?;
        }
        Template::Tarball { archive } => {
            notes.push(format!("Rootfs unpacked from: {}", archive.display()));
            tarball::unpack(archive, staging.path(), &template_rootfs, progress)?;
        }
        Template::None { .. } => {
            notes.push("Rootfs: an existing directory, used in place (not managed)".into());
        }
        Template::Oci { source } => {
            notes.push(format!("Image: {source}"));
            image_keys = oci::build(
                source,
                &paths.name,
                staging.path(),
                &template_rootfs,
                &mut |done, total| {
                    progress(Unpacking {
                        done,
                        total,
                        files: 0,
                    })
                },
            )?;
        }
        Template::Download { image, mode } => {
            notes.push(format!(
                "Image: {}, build {}, from {}",
                image.id, image.build, image.server
            ));
            let names = download::meta::Names {
                name: &paths.name,
                path: &paths.dir(),
                rootfs: &rootfs,
            };
            applied = Some(download::unpack(
                image,
                *mode,
                staging.path(),
                &template_rootfs,
                &names,
                progress,
            )?);
        }
        Template::Debian { tree } => {
            notes.push(format!(
                "Debian {} ({}), debootstrapped into {}",
                tree.release,
                tree.arch,
                tree.rootfs.display()
            ));
            let config = debian::fill(tree, &template_rootfs, &paths.name)?;
            applied = Some(download::meta::Applied {
                config,
                message: None,
                fstab: None,
            });
        }
    }
    if let Some(store) = store
        .as_ref()
        .filter(|store| store.fill_at != template_rootfs)
    {
        store.fill_from(&template_rootfs)?;
    }
    Staging::check_interrupted()?;

    let tty_max = if request.template == Template::Busybox {
        1
    } else {
        4
    };
    let rootfs_text = match &store {
        Some(store) => store.config_value.clone(),
        None => rootfs.to_string_lossy().into_owned(),
    };
    let mut keys: Vec<TemplateKey> =
        config_file::template_keys(&paths.name, &rootfs_text, tty_max, managed);
    keys.extend(image_keys);
    if let Some(fstab) = applied.as_ref().and_then(|applied| applied.fstab.as_ref()) {
        let staged = staging.path().join("fstab");
        fs::write(&staged, fstab).map_err(CreateError::io("writing", &staged))?;
        keys.push(config_file::TemplateKey {
            key: "lxc.mount.fstab",
            value: paths.dir().join("fstab").to_string_lossy().into_owned(),
            set_by: |spec| spec.mounts.fstab.is_some(),
        });
    }
    keys.extend(config_file::idmap_keys(&request.idmaps));
    let seed = match (
        request.seed_config,
        seed_text.as_deref(),
        seed_spec.as_ref(),
    ) {
        (Some(path), Some(text), Some(spec)) => Some(Seed {
            path,
            text,
            spec,
            is_default: request.seed_is_default,
        }),
        _ => None,
    };
    let staged_config = staging.path().join("config");
    let distro_spec = match &applied {
        Some(applied) => Some(download::load_distro_config(
            &staged_config,
            seed_text.as_deref(),
            &applied.config,
        )?),
        None => None,
    };
    let distro = match (&applied, &distro_spec) {
        (Some(applied), Some(spec)) => Some(config_file::Distro {
            text: &applied.config,
            spec,
        }),
        _ => None,
    };
    let text = config_file::compose(
        request.template.name(),
        &notes,
        seed.as_ref(),
        distro.as_ref(),
        &keys,
    );
    fs::write(&staged_config, &text).map_err(CreateError::io("writing", &staged_config))?;
    let written =
        rlxc_config::load_file(&staged_config, &[]).map_err(CreateError::WrittenConfig)?;
    // A rootfs rlxc just made belongs to host root: an unprivileged container's root must own
    // it (an existing directory of -t none is the user's, and is left as it is).
    if managed && !written.spec.idmaps.is_empty() {
        crate::userns::shift_tree(&staged_rootfs, &written.spec.idmaps)
            .map_err(CreateError::Shift)?;
    }

    if let Some(store) = &mut store {
        store.finish();
    }
    let dir = staging.commit()?;
    Ok(Created {
        config: dir.join("config"),
        dir,
        rootfs: store.map_or(rootfs, |store| store.rootfs),
        message: applied.and_then(|applied| applied.message),
    })
}

/// `-B` other than `dir` needs a template that makes a rootfs (not `-t none`).
fn check_store(request: &CreateRequest) -> Result<(), CreateError> {
    let store = request.store.name();
    let refuse = |reason: String| Err(CreateError::Store { store, reason });
    match (&request.store, &request.template) {
        (BackingStore::Dir | BackingStore::Best, _) => Ok(()),
        (_, Template::None { .. }) => {
            refuse("-t none uses an existing directory in place (use -B dir)".into())
        }
        _ => Ok(()),
    }
}

fn read_seed(seed: Option<&Path>) -> Result<Option<String>, CreateError> {
    seed.map(|path| {
        fs::read_to_string(path).map_err(CreateError::io("reading the initial config", path))
    })
    .transpose()
}

fn load_seed(
    path: Option<&Path>,
    text: Option<&str>,
) -> Result<Option<ContainerSpec>, CreateError> {
    let (Some(path), Some(_)) = (path, text) else {
        return Ok(None);
    };
    // Loaded from the file, so its includes resolve as they will from the container's config.
    rlxc_config::load_file(path, &[])
        .map(|loaded| Some(loaded.spec))
        .map_err(|failure| CreateError::SeedConfig {
            path: path.to_path_buf(),
            failure,
        })
}

/// The rootfs the config will name, and whether rlxc manages (and so may delete) it.
fn plan_rootfs(
    request: &CreateRequest,
    seed: Option<&ContainerSpec>,
) -> Result<(PathBuf, bool), CreateError> {
    let seed_rootfs = seed.and_then(|spec| spec.rootfs.path.clone());
    let conflict = |rootfs: &Path| CreateError::SeedSetsRootfs {
        config: request
            .seed_config
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        rootfs: rootfs.to_path_buf(),
    };
    match &request.template {
        Template::Busybox
        | Template::Tarball { .. }
        | Template::Oci { .. }
        | Template::Download { .. }
        | Template::Debian { .. } => {
            let rootfs = request.paths.default_rootfs();
            if seed_rootfs.is_some() {
                return Err(conflict(&rootfs));
            }
            Ok((rootfs, true))
        }
        Template::None { rootfs: Some(dir) } => {
            if seed_rootfs.is_some() {
                return Err(conflict(dir));
            }
            let absolute = fs::canonicalize(dir)
                .ok()
                .filter(|path| path.is_dir())
                .ok_or_else(|| CreateError::RootfsNotADirectory { path: dir.clone() })?;
            Ok((absolute, false))
        }
        Template::None { rootfs: None } => {
            let path = seed_rootfs.ok_or(CreateError::NoRootfsGiven)?;
            Ok((PathBuf::from(path), false))
        }
    }
}
