//! `rlxc create -t oci -- --url docker://REGISTRY/REPO[:TAG|@DIGEST]` against a real registry
//! (Debian's `docker-registry`, the CNCF distribution server) on 127.0.0.1 with TLS from a test
//! CA trusted through SSL_CERT_FILE, into which each test pushes the image the `create_oci`
//! tests build: by tag, through a multi-architecture index, by digest, behind token auth,
//! and what a missing tag, a tampered blob, a refusing token server or a registry that is
//! down do. Containers are started and their commands checked from outside.

#[path = "create_oci/image.rs"]
#[allow(dead_code)] // the docker-archive writers are create_oci's
mod image;
#[path = "create_oci_registry/registry.rs"]
mod registry;
#[path = "create_download/server.rs"]
#[allow(dead_code)] // only the certificates and `run` are used here
mod server;
mod support;

use std::fs;
use std::path::Path;

use image::{arch, sha256, start_and_check_the_server_command, write_layout, Layers, SAID};
use predicates::prelude::*;
use registry::{Registry, SERVICE};
use serde_json::{json, Value};
use support::World;

const REPO: &str = "test/busybox";

fn create(world: &World, registry: &Registry, name: &str, url: &str) -> assert_cmd::Command {
    let mut command = world.rlxc(&["create", "-n", name, "-t", "oci", "--", "--url", url]);
    command.env("SSL_CERT_FILE", registry.ca());
    command
}

/// The create_oci test image as an OCI layout a registry accepts: a registry refuses an
/// index naming a manifest it does not have, so the other architecture's entry of tag
/// `server` is the `v1` manifest. Returns the layout and v1's manifest digest.
fn registry_layout(world: &World, layers: &Layers) -> (std::path::PathBuf, String) {
    let layout = world.dir.path().join("layout");
    write_layout(&layout, layers);
    let index_path = layout.join("index.json");
    let mut index: Value =
        serde_json::from_slice(&fs::read(&index_path).expect("index")).expect("index.json");
    let v1 = index["manifests"][0].clone();
    let nested_digest = index["manifests"][1]["digest"].as_str().expect("digest");
    let nested_blob = layout.join("blobs/sha256").join(&nested_digest[7..]);
    let mut nested: Value =
        serde_json::from_slice(&fs::read(&nested_blob).expect("nested")).expect("nested json");
    let other = if arch() == "s390x" { "amd64" } else { "s390x" };
    nested["manifests"][0] = json!({
        "mediaType": v1["mediaType"],
        "digest": v1["digest"],
        "size": v1["size"],
        "platform": {"architecture": other, "os": "linux"},
    });
    let bytes = serde_json::to_vec(&nested).expect("nested");
    fs::write(layout.join("blobs/sha256").join(sha256(&bytes)), &bytes).expect("blob");
    index["manifests"][1]["digest"] = json!(format!("sha256:{}", sha256(&bytes)));
    index["manifests"][1]["size"] = json!(bytes.len());
    fs::write(&index_path, serde_json::to_vec(&index).expect("index")).expect("index");
    let v1_digest = v1["digest"].as_str().expect("v1 digest").to_string();
    (layout, v1_digest)
}

/// The container's directory holds its config and rootfs, and nothing pulled.
fn only_config_and_rootfs(world: &World, name: &str) {
    let mut entries: Vec<String> = fs::read_dir(world.lxcpath().join(name))
        .expect("container dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["config", "rootfs"]);
}

fn lxcpath_holds(world: &World, names: &[&str]) {
    let mut left: Vec<String> = fs::read_dir(world.lxcpath())
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    left.sort();
    assert_eq!(left, names, "what the lxcpath holds");
}

fn executes_the_image_command(world: &World, name: &str) {
    let out = world.output(&["execute", "-n", name]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), SAID);
}

#[test]
fn a_pushed_image_is_pulled_by_tag_through_an_index_and_by_digest_and_runs() {
    let world = World::new();
    let registry = Registry::start(false);
    let (layout, v1_digest) = registry_layout(&world, &Layers::new());
    registry.push(REPO, &layout);
    let address = registry.address();

    // A tag naming a multi-architecture index: the host's entry, started as init.
    let name = world.name("reg-server");
    let url = format!("docker://{address}/{REPO}:server");
    let output = create(&world, &registry, &name, &url)
        .output()
        .expect("create");
    support::assert_ok(&output, "create from the registry");
    only_config_and_rootfs(&world, &name);
    let rootfs = world.rootfs(&name);
    assert!(rootfs.join("bin/busybox").is_file(), "the base layer");
    assert!(
        !rootfs.join("etc/inittab").exists(),
        "the upper layer's whiteout"
    );
    let config = fs::read_to_string(world.config(&name)).expect("config");
    assert!(config.contains(&format!("Image: {url}")), "{config}");
    start_and_check_the_server_command(&world, &name);
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();

    // By digest: the manifest must have that digest.
    let name = world.name("reg-digest");
    let url = format!("docker://{address}/{REPO}@{v1_digest}");
    let output = create(&world, &registry, &name, &url)
        .output()
        .expect("create");
    support::assert_ok(&output, "create by digest");
    executes_the_image_command(&world, &name);
    assert!(
        registry
            .log()
            .contains(&format!("/v2/{REPO}/manifests/{v1_digest}")),
        "the registry served the manifest by digest"
    );
}

#[test]
fn behind_token_auth_an_anonymous_token_is_fetched_and_a_refusal_leaves_nothing() {
    let world = World::new();
    let registry = Registry::start(true);
    let (layout, _) = registry_layout(&world, &Layers::new());
    registry.push(REPO, &layout);
    let address = registry.address();

    // The registry refuses a request without a token and says where to get one.
    let answer = registry.anonymous_get(&format!("/v2/{REPO}/manifests/v1"));
    assert!(
        answer.starts_with("HTTP/1.1 401") || answer.starts_with("HTTP/2 401"),
        "{answer}"
    );
    assert!(
        answer.contains("Bearer realm=\"https://127.0.0.1:"),
        "{answer}"
    );

    let before = registry.token_requests().len();
    let refusals = |log: String| log.matches("authorization token required").count();
    let refused_before = refusals(registry.log());
    let name = world.name("reg-token");
    let url = format!("docker://{address}/{REPO}:v1");
    let output = create(&world, &registry, &name, &url)
        .output()
        .expect("create");
    support::assert_ok(&output, "create through the token flow");
    executes_the_image_command(&world, &name);
    let requests = registry.token_requests();
    let asked = &requests[before..];
    assert!(!asked.is_empty(), "rlxc asked the token server for a token");
    let wanted = format!("service={SERVICE}&scope=repository%3Atest%2Fbusybox%3Apull");
    assert!(
        asked.iter().all(|path| path.ends_with(&wanted)),
        "{asked:?}"
    );
    assert!(
        refusals(registry.log()) > refused_before,
        "the registry refused rlxc's first, anonymous request"
    );

    registry.refuse_tokens();
    let refused = world.name("reg-refused");
    create(&world, &registry, &refused, &url)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "getting an anonymous pull token: https://127.0.0.1:{}/token?{wanted}: the \
             server answered 403 Forbidden",
            registry.token_port()
        )));
    lxcpath_holds(&world, &[&name]);
}

#[test]
fn a_missing_tag_a_tampered_blob_and_a_registry_that_is_down_leave_nothing() {
    let world = World::new();
    let registry = Registry::start(false);
    let layers = Layers::new();
    let (layout, _) = registry_layout(&world, &layers);
    registry.push(REPO, &layout);
    let address = registry.address();

    for (reference, path) in [
        (format!("{REPO}:nope"), format!("{REPO}/manifests/nope")),
        (
            "test/absent:v1".to_string(),
            "test/absent/manifests/v1".to_string(),
        ),
    ] {
        create(
            &world,
            &registry,
            "missing",
            &format!("docker://{address}/{reference}"),
        )
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "the registry has no such image or tag (https://{address}/v2/{path} answered 404"
        )));
        lxcpath_holds(&world, &[]);
    }

    // Same size, one byte changed, in the registry's own storage: it serves it as it is.
    let top = &layers.0[2].1;
    let digest = format!("sha256:{}", sha256(top));
    let stored = registry.stored_blob(&digest);
    let mut bytes = fs::read(&stored).expect("stored blob");
    assert_eq!(&bytes, top, "the registry stores the blob as pushed");
    bytes[600] ^= 1;
    fs::write(&stored, &bytes).expect("tamper");
    create(
        &world,
        &registry,
        "tampered",
        &format!("docker://{address}/{REPO}:v1"),
    )
    .assert()
    .code(1)
    .stderr(predicate::str::contains(format!(
        "blob {digest} has sha256:"
    )))
    .stderr(predicate::str::contains("tampered with"));
    lxcpath_holds(&world, &[]);

    let ca = registry.ca();
    let kept_ca = world.dir.path().join("ca.pem");
    fs::copy(&ca, &kept_ca).expect("keep the CA");
    drop(registry);
    world
        .rlxc(&["create", "-n", "down", "-t", "oci", "--", "--url"])
        .arg(format!("docker://{address}/{REPO}:v1"))
        .env("SSL_CERT_FILE", &kept_ca)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "https://{address}/v2/{REPO}/manifests/v1: cannot connect"
        )));
    lxcpath_holds(&world, &[]);
    assert!(!Path::new(&ca).exists(), "the registry's directory is gone");
}
