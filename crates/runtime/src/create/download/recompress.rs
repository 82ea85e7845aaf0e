//! The check a downloaded rootfs gets before it is cached, and the form it is cached in.
//!
//! LXC caches `rootfs.tar.xz` as served and pays xz's single-threaded decoding on every
//! create (about 2.4 s of a 100 MiB Debian image here). rlxc decodes it once, while checking
//! it, and caches the tar as zstd, which decodes about ten times faster. The encoder runs on a
//! second thread, fed in large chunks, so the check takes little longer than the decoding.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::mpsc::{self, SyncSender};
use std::thread;

use super::DownloadError;

/// The rootfs as a cache made by rlxc holds it.
pub const CACHED_ROOTFS: &str = "rootfs.tar.zst";
/// zstd's default level: about xz's size plus a tenth, encoded faster than xz decodes.
const LEVEL: i32 = 3;
/// Bytes handed to the encoder thread at once; a few in flight bound the memory used.
const CHUNK: usize = 1 << 20;
const IN_FLIGHT: usize = 4;

/// Decompresses `xz`, walks its tar members once (a truncated or corrupt archive fails here,
/// before anything is cached) and writes the same tar to `zst`. Returns the member count.
pub fn check_and_recompress(xz: &Path, zst: &Path) -> Result<u64, DownloadError> {
    let bad = |cause| DownloadError::BadArchive {
        path: xz.to_path_buf(),
        cause,
    };
    let source = File::open(xz).map_err(bad)?;
    let target = File::create(zst).map_err(DownloadError::io("creating", zst))?;
    let (chunks, received) = mpsc::sync_channel::<Vec<u8>>(IN_FLIGHT);
    let encoder = thread::Builder::new().name("rlxc-zstd".into());
    // Signals stay with this thread: a SIGINT must interrupt its read, not the encoder's.
    let encoder =
        rlxc_process::signals::spawn_with_signals_blocked(encoder, move || -> io::Result<()> {
            let mut encoder = zstd::stream::write::Encoder::new(BufWriter::new(target), LEVEL)?;
            for chunk in received {
                encoder.write_all(&chunk)?;
            }
            encoder.finish()?.flush()
        })
        .map_err(DownloadError::io("starting the zstd encoder for", zst))?;
    let decoder = liblzma::read::XzDecoder::new_multi_decoder(io::BufReader::new(source));
    let walked = walk(Tee::new(decoder, chunks));
    // The walk's end (or failure) dropped the sender: the encoder finishes and reports.
    let encoded = encoder
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the zstd encoder thread panicked")));
    match (walked, encoded) {
        // A failed write (a full disk) is the reason the walk saw its sender refused.
        (_, Err(cause)) => Err(DownloadError::io("writing", zst)(cause)),
        (Err(cause), Ok(())) => Err(bad(cause)),
        (Ok(0), Ok(())) => Err(bad(io::Error::other("the archive is empty"))),
        (Ok(members), Ok(())) => Ok(members),
    }
}

/// Reads every member through; the xz stream must end where the tar does.
fn walk(tee: Tee<impl Read>) -> io::Result<u64> {
    let mut archive = tar::Archive::new(tee);
    let mut members = 0u64;
    for entry in archive.entries()? {
        io::copy(&mut entry?, &mut io::sink())?;
        members += 1;
    }
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink())?;
    rest.finish()?;
    Ok(members)
}

/// A reader that hands a copy of everything read to the encoder thread.
struct Tee<R> {
    inner: R,
    buffer: Vec<u8>,
    chunks: Option<SyncSender<Vec<u8>>>,
}

impl<R: Read> Tee<R> {
    fn new(inner: R, chunks: SyncSender<Vec<u8>>) -> Self {
        Tee {
            inner,
            buffer: Vec::with_capacity(CHUNK),
            chunks: Some(chunks),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        let refused = || io::Error::other("the zstd encoder stopped");
        self.chunks
            .as_ref()
            .ok_or_else(refused)?
            .send(chunk)
            .map_err(|_| refused())
    }

    /// Sends what is left and closes the channel, so the encoder finishes.
    fn finish(&mut self) -> io::Result<()> {
        let sent = if self.buffer.is_empty() {
            Ok(())
        } else {
            self.send()
        };
        self.chunks = None;
        sent
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.buffer.extend_from_slice(&out[..n]);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xz_of(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 1);
        encoder.write_all(bytes).expect("encode");
        encoder.finish().expect("finish")
    }

    fn tar_of(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, name, data.as_slice())
                .expect("append");
        }
        builder.into_inner().expect("tar")
    }

    #[test]
    fn the_cached_zstd_holds_the_same_tar_and_the_members_are_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Larger than a chunk, and not a multiple of one: the last partial chunk must arrive.
        let big: Vec<u8> = (0..(3 * CHUNK + 12345))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let tar = tar_of(&[("etc/hostname", b"LXC_NAME\n".to_vec()), ("big", big)]);
        let xz = dir.path().join("rootfs.tar.xz");
        std::fs::write(&xz, xz_of(&tar)).expect("write");
        let zst = dir.path().join(CACHED_ROOTFS);
        assert_eq!(check_and_recompress(&xz, &zst).expect("check"), 2);
        let decoded = zstd::decode_all(File::open(&zst).expect("open")).expect("decode");
        assert!(decoded == tar, "the zstd holds another tar");
    }

    #[test]
    fn a_truncated_or_empty_archive_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tar = tar_of(&[("a", vec![1u8; 100_000])]);
        let xz_bytes = xz_of(&tar);
        let xz = dir.path().join("rootfs.tar.xz");
        let zst = dir.path().join(CACHED_ROOTFS);
        std::fs::write(&xz, &xz_bytes[..xz_bytes.len() / 2]).expect("write");
        let error = check_and_recompress(&xz, &zst).expect_err("truncated");
        assert!(matches!(error, DownloadError::BadArchive { .. }), "{error}");
        std::fs::write(&xz, xz_of(&tar_of(&[]))).expect("write");
        let error = check_and_recompress(&xz, &zst).expect_err("empty");
        assert!(error.to_string().contains("empty"), "{error}");
    }
}
