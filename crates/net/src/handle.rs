use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::{Error, Operation};

/// An open rtnetlink socket in the network namespace of the thread that opened it.
///
/// Requests are strictly one at a time: send, then read until the answer carrying the same
/// sequence number arrives. That is all the container set-up needs and keeps the code free of
/// an event loop.
pub struct Netlink {
    socket: Socket,
    next_sequence: u32,
}

impl Netlink {
    /// Opens and binds a route netlink socket. The namespace is fixed at this moment: a handle
    /// opened before a `unshare(CLONE_NEWNET)` keeps talking to the old namespace.
    pub fn open() -> Result<Self, Error> {
        let socket_error = |cause| Error::Socket {
            op: Operation::OpenSocket,
            link: String::new(),
            cause,
        };
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(socket_error)?;
        socket.bind_auto().map_err(socket_error)?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(socket_error)?;
        Ok(Self {
            socket,
            next_sequence: 1,
        })
    }

    /// Sends a request that changes something and waits for the kernel's ack.
    pub(crate) fn request_ack(
        &mut self,
        message: RouteNetlinkMessage,
        extra_flags: u16,
        op: Operation,
        link: &str,
    ) -> Result<(), Error> {
        match self.request(message, extra_flags, op, link)? {
            Answer::Ack => Ok(()),
            Answer::Message(_) => self.wait_for_ack(op, link),
        }
    }

    /// Sends a request whose answer is a single message (a `GetLink` by name, for instance).
    pub(crate) fn request_one(
        &mut self,
        message: RouteNetlinkMessage,
        op: Operation,
        link: &str,
    ) -> Result<RouteNetlinkMessage, Error> {
        match self.request(message, 0, op, link)? {
            Answer::Message(reply) => {
                // The ack we asked for follows the answer; drain it so the next request
                // does not read it as its own.
                self.wait_for_ack(op, link)?;
                Ok(reply)
            }
            Answer::Ack => Err(Error::NoAnswer {
                op,
                link: link.to_owned(),
            }),
        }
    }

    /// Sends a dump request (`NLM_F_DUMP`) and collects every message until the kernel's
    /// `NLMSG_DONE`.
    pub(crate) fn request_dump(
        &mut self,
        message: RouteNetlinkMessage,
        op: Operation,
        link: &str,
    ) -> Result<Vec<RouteNetlinkMessage>, Error> {
        let sequence = self.next_sequence;
        self.next_sequence = self.next_sequence.wrapping_add(1);
        let mut bytes = build_request(message, NLM_F_DUMP, sequence);
        // A dump is answered with NLMSG_DONE, not an ack: drop NLM_F_ACK so no stray ack is
        // left behind for the next request to trip over.
        clear_ack_flag(&mut bytes);
        self.socket
            .send(&bytes, 0)
            .map_err(|source| socket_error(op, link, source))?;
        let mut messages = Vec::new();
        self.read_replies(sequence, op, link, |payload| match payload {
            NetlinkPayload::Done(_) => Some(Ok(())),
            NetlinkPayload::Error(error) if error.code.is_some() => Some(Err(Error::Kernel {
                op,
                link: link.to_owned(),
                cause: error.to_io(),
            })),
            NetlinkPayload::InnerMessage(inner) => {
                messages.push(inner);
                None
            }
            _ => None,
        })?;
        Ok(messages)
    }

    fn request(
        &mut self,
        message: RouteNetlinkMessage,
        extra_flags: u16,
        op: Operation,
        link: &str,
    ) -> Result<Answer, Error> {
        let sequence = self.next_sequence;
        self.next_sequence = self.next_sequence.wrapping_add(1);
        let bytes = build_request(message, extra_flags, sequence);
        self.socket
            .send(&bytes, 0)
            .map_err(|source| socket_error(op, link, source))?;
        self.read_answer(sequence, op, link)
    }

    fn wait_for_ack(&mut self, op: Operation, link: &str) -> Result<(), Error> {
        let sequence = self.next_sequence.wrapping_sub(1);
        match self.read_answer(sequence, op, link)? {
            Answer::Ack => Ok(()),
            Answer::Message(_) => Err(Error::NoAnswer {
                op,
                link: link.to_owned(),
            }),
        }
    }

    /// The answer to request `sequence`: an ack, or one message.
    fn read_answer(&mut self, sequence: u32, op: Operation, link: &str) -> Result<Answer, Error> {
        self.read_replies(sequence, op, link, |payload| match payload {
            NetlinkPayload::Error(error) => Some(match error.code {
                None => Ok(Answer::Ack),
                Some(_) => Err(Error::Kernel {
                    op,
                    link: link.to_owned(),
                    cause: error.to_io(),
                }),
            }),
            NetlinkPayload::InnerMessage(inner) => Some(Ok(Answer::Message(inner))),
            NetlinkPayload::Done(_) => Some(Err(Error::NoAnswer {
                op,
                link: link.to_owned(),
            })),
            _ => None,
        })
    }

    /// Reads datagrams and hands each message for `sequence` to `on_reply` until it returns
    /// a result; messages for other sequence numbers (late answers to an earlier request)
    /// are skipped.
    fn read_replies<T>(
        &mut self,
        sequence: u32,
        op: Operation,
        link: &str,
        mut on_reply: impl FnMut(NetlinkPayload<RouteNetlinkMessage>) -> Option<Result<T, Error>>,
    ) -> Result<T, Error> {
        loop {
            let (datagram, _) = self
                .socket
                .recv_from_full()
                .map_err(|source| socket_error(op, link, source))?;
            let mut rest = datagram.as_slice();
            while !rest.is_empty() {
                let message = decode(rest, op, link)?;
                let length = aligned_length(message.header.length, rest.len());
                rest = &rest[length..];
                if message.header.sequence_number != sequence {
                    continue;
                }
                if let Some(result) = on_reply(message.payload) {
                    return result;
                }
            }
        }
    }
}

enum Answer {
    Ack,
    Message(RouteNetlinkMessage),
}

fn decode(
    bytes: &[u8],
    op: Operation,
    link: &str,
) -> Result<NetlinkMessage<RouteNetlinkMessage>, Error> {
    NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes).map_err(|err| Error::Decode {
        op,
        link: link.to_owned(),
        reason: err.to_string(),
    })
}

/// The flags are bytes 6..8 of the netlink header (native endian).
fn clear_ack_flag(bytes: &mut [u8]) {
    if let Some(flags) = bytes.get_mut(6..8) {
        let value = u16::from_ne_bytes([flags[0], flags[1]]) & !NLM_F_ACK;
        flags.copy_from_slice(&value.to_ne_bytes());
    }
}

fn socket_error(op: Operation, link: &str, source: std::io::Error) -> Error {
    Error::Socket {
        op,
        link: link.to_owned(),
        cause: source,
    }
}

/// Netlink messages in one datagram are padded to 4 bytes; the last one may not be.
fn aligned_length(length: u32, remaining: usize) -> usize {
    let aligned = (length as usize + 3) & !3;
    aligned.clamp(1, remaining)
}

/// Serializes a request with `NLM_F_REQUEST | NLM_F_ACK` and the given extra flags. Always
/// asking for an ack means every request, even a lookup, ends with an explicit answer.
pub(crate) fn build_request(
    message: RouteNetlinkMessage,
    extra_flags: u16,
    sequence: u32,
) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_ACK | extra_flags;
    header.sequence_number = sequence;
    let mut request = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
    request.finalize();
    let mut bytes = vec![0; request.buffer_len()];
    request.serialize(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
    use netlink_packet_route::link::LinkMessage;

    #[test]
    fn request_carries_flags_sequence_and_length() {
        let bytes = build_request(
            RouteNetlinkMessage::NewLink(LinkMessage::default()),
            NLM_F_CREATE | NLM_F_EXCL,
            42,
        );
        let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes)
            .expect("a request we built parses back");
        assert_eq!(parsed.header.length as usize, bytes.len());
        assert_eq!(parsed.header.sequence_number, 42);
        assert_eq!(
            parsed.header.flags,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
        );
        assert!(matches!(
            parsed.payload,
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(_))
        ));
    }

    #[test]
    fn aligned_length_pads_to_four_and_never_overruns() {
        assert_eq!(aligned_length(17, 100), 20);
        assert_eq!(aligned_length(20, 100), 20);
        assert_eq!(aligned_length(17, 17), 17);
        assert_eq!(aligned_length(0, 10), 1);
    }
}
