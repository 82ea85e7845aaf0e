//! A typed message channel over a SOCK_SEQPACKET unix socket: one JSON message per datagram,
//! optionally carrying file descriptors (SCM_RIGHTS). Used between the monitor and the
//! container's first process, where message boundaries and fd passing both matter.

use std::io::{IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::net::{
    recvmsg, sendmsg, socketpair, AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage,
    RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Most fds one message can carry (a console and up to 63 ttys).
pub const MAX_FDS: usize = 64;
const MAX_MESSAGE: usize = 64 * 1024;

/// Why a message could not be sent or received.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    #[error("socket: {0}")]
    Io(rustix::io::Errno),
    #[error("the other side closed the channel")]
    Closed,
    #[error("malformed message: {0}")]
    Format(serde_json::Error),
    #[error("a message can carry at most {MAX_FDS} file descriptors")]
    TooManyFds,
}

// By hand rather than `#[from]`, which would also make the cause the error's `source()`: the
// message has it already (the rule for every error: docs/architecture.md).
impl From<rustix::io::Errno> for ChannelError {
    fn from(errno: rustix::io::Errno) -> ChannelError {
        ChannelError::Io(errno)
    }
}

impl From<serde_json::Error> for ChannelError {
    fn from(error: serde_json::Error) -> ChannelError {
        ChannelError::Format(error)
    }
}

/// One end of the channel.
#[derive(Debug)]
pub struct Channel {
    socket: OwnedFd,
}

impl Channel {
    /// A connected pair; both ends are close-on-exec.
    pub fn pair() -> Result<(Channel, Channel), ChannelError> {
        let (a, b) = socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )?;
        Ok((Channel { socket: a }, Channel { socket: b }))
    }

    pub fn send<T: Serialize>(
        &self,
        message: &T,
        fds: &[BorrowedFd<'_>],
    ) -> Result<(), ChannelError> {
        if fds.len() > MAX_FDS {
            return Err(ChannelError::TooManyFds);
        }
        let bytes = serde_json::to_vec(message)?;
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if !fds.is_empty() && !control.push(SendAncillaryMessage::ScmRights(fds)) {
            return Err(ChannelError::TooManyFds);
        }
        sendmsg(
            &self.socket,
            &[IoSlice::new(&bytes)],
            &mut control,
            SendFlags::NOSIGNAL,
        )?;
        Ok(())
    }

    /// The next message and the fds that came with it.
    pub fn recv<T: DeserializeOwned>(&self) -> Result<(T, Vec<OwnedFd>), ChannelError> {
        // A peek tells the message's length (MSG_TRUNC), so the buffer is as small as the
        // message: a zeroed 64 KiB one per message was some 16 page faults each time.
        let length = loop {
            let nothing: &mut [u8] = &mut [];
            match rustix::net::recv(&self.socket, nothing, RecvFlags::PEEK | RecvFlags::TRUNC) {
                Err(error) if read_on(error) => continue,
                other => break other?.1,
            }
        };
        let mut buffer = vec![0u8; length.min(MAX_MESSAGE)];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let received = loop {
            match recvmsg(
                &self.socket,
                &mut [IoSliceMut::new(&mut buffer)],
                &mut control,
                RecvFlags::CMSG_CLOEXEC,
            ) {
                // Also after the peek: the other side may close between the two.
                Err(error) if read_on(error) => continue,
                other => break other?,
            }
        };
        let mut fds = Vec::new();
        for message in control.drain() {
            if let RecvAncillaryMessage::ScmRights(received_fds) = message {
                fds.extend(received_fds);
            }
        }
        if received.bytes == 0 {
            return Err(ChannelError::Closed);
        }
        let message = serde_json::from_slice(&buffer[..received.bytes])?;
        Ok((message, fds))
    }
}

/// An error after which a receive is tried again: a signal, or the other side having closed
/// with messages of ours unread. The kernel says the latter (once) before it hands out what
/// that side sent before closing, such as the child's last word on why it failed.
fn read_on(error: rustix::io::Errno) -> bool {
    matches!(
        error,
        rustix::io::Errno::INTR | rustix::io::Errno::CONNRESET
    )
}

/// A socket of a pair made by [`Channel::pair`], carried across a fork as a plain fd.
impl From<OwnedFd> for Channel {
    fn from(socket: OwnedFd) -> Channel {
        Channel { socket }
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Message {
        Hello { n: u32 },
    }

    #[test]
    fn messages_and_fds_cross() {
        let (a, b) = Channel::pair().expect("pair");
        let (r, _w) = rustix::pipe::pipe().expect("pipe");
        a.send(&Message::Hello { n: 7 }, &[r.as_fd()])
            .expect("send");
        let (message, fds): (Message, _) = b.recv().expect("recv");
        assert_eq!(message, Message::Hello { n: 7 });
        assert_eq!(fds.len(), 1);
        drop(a);
        assert!(matches!(b.recv::<Message>(), Err(ChannelError::Closed)));
    }

    /// A side that sends its last message and closes with ours unread: the receiver gets
    /// that message (then Closed), not ECONNRESET.
    #[test]
    fn the_last_word_of_a_side_that_closed_with_messages_unread_is_read() {
        let (a, b) = Channel::pair().expect("pair");
        b.send(&Message::Hello { n: 1 }, &[]).expect("unread by a");
        a.send(&Message::Hello { n: 2 }, &[]).expect("last word");
        drop(a);
        let (message, _): (Message, _) = b.recv().expect("the last word");
        assert_eq!(message, Message::Hello { n: 2 });
        assert!(matches!(b.recv::<Message>(), Err(ChannelError::Closed)));
    }

    /// The receive buffer is sized by a peek: messages of any size up to the limit come
    /// whole, one per recv, in order.
    #[test]
    fn messages_of_different_sizes_come_whole_and_in_order() {
        let (a, b) = Channel::pair().expect("pair");
        let texts = ["x".repeat(40_000), String::new(), "y".repeat(3)];
        for text in &texts {
            a.send(text, &[]).expect("send");
        }
        for text in &texts {
            let (got, fds): (String, _) = b.recv().expect("recv");
            assert_eq!(&got, text);
            assert!(fds.is_empty());
        }
    }
}
