//! The NETLINK_NETFILTER socket: transactions (batches) and dumps.

use std::io;
use std::time::Duration;

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket, SocketAddr};

use super::error::{NftError, Step};
use super::wire::{self, AttrIter, Attrs, Message};

/// How long to wait for the kernel's next answer. nf_tables answers at once; the bound only
/// keeps a lost answer (a batch the kernel stopped reading half-way) from hanging the caller.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// A dump the ruleset changed under (`NLM_F_DUMP_INTR`) is read again, this many times.
const DUMP_ATTEMPTS: usize = 5;

/// An open nfnetlink socket, in the network namespace of the thread that opened it.
pub struct Nfnetlink {
    socket: Socket,
    next_sequence: u32,
}

/// One message of a dump: its family and attributes (after nfgenmsg), owned.
pub struct Reply {
    pub family: u8,
    attributes: Vec<u8>,
}

impl Reply {
    pub fn attributes(&self) -> AttrIter<'_> {
        AttrIter::new(&self.attributes)
    }
}

/// The messages of one transaction, each with the step it stands for in errors.
pub struct Batch {
    buf: Vec<u8>,
    steps: Vec<Step>,
    /// The table the transaction changes, to name it when the kernel refuses it whole.
    table: String,
}

impl Batch {
    pub fn new(table: &str) -> Self {
        Self {
            buf: Vec::new(),
            steps: Vec::new(),
            table: table.to_owned(),
        }
    }

    /// Adds one nf_tables message; every one asks for an ack (NLM_F_ACK), so the kernel
    /// answers each with its own errno and a failure names its step.
    pub fn push(
        &mut self,
        kind: u8,
        flags: u16,
        family: u8,
        step: Step,
        attributes: impl FnOnce(&mut Attrs<'_>),
    ) {
        // Sequence numbers are placeholders here; `commit` numbers the messages in order.
        wire::put_message(
            &mut self.buf,
            wire::nft_type(kind),
            wire::NLM_F_REQUEST | wire::NLM_F_ACK | flags,
            0,
            family,
            0,
            attributes,
        );
        self.steps.push(step);
    }
}

impl Nfnetlink {
    pub fn open() -> Result<Self, NftError> {
        let failed = |cause: io::Error| {
            if cause.raw_os_error() == Some(libc::EPROTONOSUPPORT) {
                // No NETLINK_NETFILTER at all: the kernel was built without nfnetlink.
                NftError::NfTablesMissing {
                    step: Step::OpenSocket,
                    cause,
                }
            } else {
                NftError::Socket {
                    step: Step::OpenSocket,
                    cause,
                }
            }
        };
        let mut socket = Socket::new(NETLINK_NETFILTER).map_err(failed)?;
        socket.bind_auto().map_err(failed)?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(failed)?;
        rustix::net::sockopt::set_socket_timeout(
            &socket,
            rustix::net::sockopt::Timeout::Recv,
            Some(ANSWER_TIMEOUT),
        )
        .map_err(|errno| failed(errno.into()))?;
        Ok(Self {
            socket,
            // Any start works: answers are matched to this socket's own requests.
            next_sequence: 1,
        })
    }

    fn take_sequences(&mut self, count: u32) -> u32 {
        let first = self.next_sequence;
        self.next_sequence = self.next_sequence.wrapping_add(count);
        first
    }

    /// Sends `batch` as one transaction (between BATCH_BEGIN and BATCH_END, so the kernel
    /// applies all of it or nothing) and waits for the answer to every message. The first
    /// message refused, in batch order, is the error.
    pub fn commit(&mut self, batch: Batch) -> Result<(), NftError> {
        let count = batch.steps.len();
        let Ok(count32) = u32::try_from(count) else {
            return Err(NftError::Malformed {
                step: Step::SendBatch,
                reason: "batch too large",
            });
        };
        let begin = self.take_sequences(count32 + 2);
        let mut bytes = Vec::with_capacity(batch.buf.len() + 40);
        // res_id of the begin message names the subsystem the batch is for.
        wire::put_message(
            &mut bytes,
            wire::NFNL_MSG_BATCH_BEGIN,
            wire::NLM_F_REQUEST,
            begin,
            wire::NFPROTO_UNSPEC,
            wire::NFNL_SUBSYS_NFTABLES,
            |_| {},
        );
        let mut body = batch.buf;
        number_messages(&mut body, begin.wrapping_add(1));
        bytes.extend_from_slice(&body);
        wire::put_message(
            &mut bytes,
            wire::NFNL_MSG_BATCH_END,
            wire::NLM_F_REQUEST,
            begin.wrapping_add(count32 + 1),
            wire::NFPROTO_UNSPEC,
            wire::NFNL_SUBSYS_NFTABLES,
            |_| {},
        );
        self.send(&bytes, Step::SendBatch)?;

        let mut answers: Vec<Option<i32>> = vec![None; count];
        while answers.iter().any(Option::is_none) {
            let datagram = match self.receive() {
                Ok(datagram) => datagram,
                // A refusal already in hand says more than the silence after it.
                Err(error) => return Err(first_refusal(&batch.steps, &answers).unwrap_or(error)),
            };
            for message in parse(&datagram, Step::ReadAnswer)? {
                if message.message_type != wire::NLMSG_ERROR {
                    continue;
                }
                let (code, sequence) = message
                    .error()
                    .map_err(|m| malformed(Step::ReadAnswer, m))?;
                if sequence == begin && code != 0 {
                    // The transaction as a whole failed (no such subsystem, commit failed).
                    return Err(first_refusal(&batch.steps, &answers).unwrap_or_else(|| {
                        let step = Step::CommitBatch {
                            table: batch.table.clone(),
                        };
                        NftError::from_kernel(step, -code)
                    }));
                }
                let index = sequence.wrapping_sub(begin).wrapping_sub(1) as usize;
                if let Some(answer) = answers.get_mut(index) {
                    *answer = Some(code);
                }
            }
        }
        match first_refusal(&batch.steps, &answers) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Asks for one object (a table by name, say) and returns it; the kernel's errno when it
    /// refuses (ENOENT: there is none).
    pub fn get(
        &mut self,
        kind: u8,
        family: u8,
        step: Step,
        attributes: impl FnOnce(&mut Attrs<'_>),
    ) -> Result<Option<Reply>, NftError> {
        let sequence = self.take_sequences(1);
        let mut bytes = Vec::new();
        let flags = wire::NLM_F_REQUEST | wire::NLM_F_ACK;
        let message_type = wire::nft_type(kind);
        wire::put_message(
            &mut bytes,
            message_type,
            flags,
            sequence,
            family,
            0,
            attributes,
        );
        self.send(&bytes, step.clone())?;
        let mut found = None;
        loop {
            let datagram = self.receive()?;
            for message in parse(&datagram, step.clone())? {
                if message.sequence != sequence {
                    continue;
                }
                if message.message_type == wire::NLMSG_ERROR {
                    let (code, _) = message.error().map_err(|m| malformed(step.clone(), m))?;
                    return match code {
                        0 => Ok(found),
                        _ => Err(NftError::from_kernel(step, -code)),
                    };
                }
                found = Some(reply(&message, &step)?);
            }
        }
    }

    /// Dumps every object of a kind (`attributes` may narrow it, e.g. rules of one table);
    /// `family` NFPROTO_UNSPEC means all families.
    pub fn dump(
        &mut self,
        kind: u8,
        family: u8,
        step: Step,
        attributes: impl Fn(&mut Attrs<'_>),
    ) -> Result<Vec<Reply>, NftError> {
        for _ in 0..DUMP_ATTEMPTS {
            if let Some(replies) = self.dump_once(kind, family, &step, &attributes)? {
                return Ok(replies);
            }
        }
        Err(NftError::from_kernel(step, libc::EINTR))
    }

    /// One dump; `None` when the ruleset changed while it was read (it may be inconsistent).
    fn dump_once(
        &mut self,
        kind: u8,
        family: u8,
        step: &Step,
        attributes: &impl Fn(&mut Attrs<'_>),
    ) -> Result<Option<Vec<Reply>>, NftError> {
        let sequence = self.take_sequences(1);
        let mut bytes = Vec::new();
        // A dump ends with NLMSG_DONE, not an ack: no NLM_F_ACK, so no stray ack follows.
        let flags = wire::NLM_F_REQUEST | wire::NLM_F_DUMP;
        wire::put_message(
            &mut bytes,
            wire::nft_type(kind),
            flags,
            sequence,
            family,
            0,
            attributes,
        );
        self.send(&bytes, step.clone())?;
        let mut replies = Vec::new();
        let mut interrupted = false;
        loop {
            let datagram = self.receive()?;
            for message in parse(&datagram, step.clone())? {
                if message.sequence != sequence {
                    continue;
                }
                interrupted |= message.flags & wire::NLM_F_DUMP_INTR != 0;
                match message.message_type {
                    wire::NLMSG_DONE => {
                        let status = message.done_status();
                        if status < 0 {
                            return Err(NftError::from_kernel(step.clone(), -status));
                        }
                        return Ok((!interrupted).then_some(replies));
                    }
                    wire::NLMSG_ERROR => {
                        let (code, _) = message.error().map_err(|m| malformed(step.clone(), m))?;
                        if code != 0 {
                            return Err(NftError::from_kernel(step.clone(), -code));
                        }
                    }
                    _ => replies.push(reply(&message, step)?),
                }
            }
        }
    }

    fn send(&self, bytes: &[u8], step: Step) -> Result<(), NftError> {
        self.socket
            .send(bytes, 0)
            .map(drop)
            .map_err(|cause| NftError::Socket { step, cause })
    }

    fn receive(&self) -> Result<Vec<u8>, NftError> {
        match self.socket.recv_from_full() {
            Ok((datagram, _)) => Ok(datagram),
            Err(cause) if cause.kind() == io::ErrorKind::WouldBlock => Err(NftError::NoAnswer {
                step: Step::ReadAnswer,
                seconds: ANSWER_TIMEOUT.as_secs(),
            }),
            Err(cause) => Err(NftError::Socket {
                step: Step::ReadAnswer,
                cause,
            }),
        }
    }
}

/// Gives the messages in `body` consecutive sequence numbers from `first`.
fn number_messages(body: &mut [u8], first: u32) {
    let mut offset = 0;
    let mut sequence = first;
    while offset + wire::NLMSG_HDRLEN <= body.len() {
        let len_bytes = [
            body[offset],
            body[offset + 1],
            body[offset + 2],
            body[offset + 3],
        ];
        let len = u32::from_ne_bytes(len_bytes) as usize;
        body[offset + 8..offset + 12].copy_from_slice(&sequence.to_ne_bytes());
        sequence = sequence.wrapping_add(1);
        // Messages built by put_message are whole multiples of 4 and at least a header long.
        offset += len.max(wire::NLMSG_HDRLEN);
    }
}

fn first_refusal(steps: &[Step], answers: &[Option<i32>]) -> Option<NftError> {
    answers
        .iter()
        .zip(steps)
        .find_map(|(answer, step)| match answer {
            Some(code) if *code != 0 => Some(NftError::from_kernel(step.clone(), -code)),
            _ => None,
        })
}

fn parse(datagram: &[u8], step: Step) -> Result<Vec<Message<'_>>, NftError> {
    wire::messages(datagram).map_err(|m| malformed(step, m))
}

fn reply(message: &Message<'_>, step: &Step) -> Result<Reply, NftError> {
    let family = message.family().map_err(|m| malformed(step.clone(), m))?;
    let attributes = message
        .attribute_bytes()
        .map_err(|m| malformed(step.clone(), m))?
        .to_vec();
    Ok(Reply { family, attributes })
}

fn malformed(step: Step, wire::Malformed(reason): wire::Malformed) -> NftError {
    NftError::Malformed { step, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_messages_are_numbered_in_order_and_each_asks_for_an_ack() {
        let mut batch = Batch::new("t");
        for name in ["a", "bb", "ccccc"] {
            batch.push(
                wire::NFT_MSG_NEWTABLE,
                wire::NLM_F_CREATE,
                1,
                Step::DumpChains,
                |a| a.string(wire::NFTA_TABLE_NAME, name),
            );
        }
        number_messages(&mut batch.buf, 41);
        let parsed = wire::messages(&batch.buf).expect("parse");
        let sequences: Vec<u32> = parsed.iter().map(|m| m.sequence).collect();
        assert_eq!(sequences, vec![41, 42, 43]);
        for message in parsed {
            assert_eq!(message.message_type, 0x0a00);
            assert_eq!(
                message.flags,
                wire::NLM_F_REQUEST | wire::NLM_F_ACK | wire::NLM_F_CREATE
            );
        }
    }

    #[test]
    fn the_first_refusal_in_batch_order_is_the_error() {
        let steps = vec![
            Step::AddTable { table: "t".into() },
            Step::AddChain {
                table: "t".into(),
                chain: "c",
            },
            Step::DumpChains,
        ];
        let answers = vec![Some(0), Some(-libc::EINVAL), Some(-libc::ENOENT)];
        let error = first_refusal(&steps, &answers).expect("an error");
        assert_eq!(error.errno(), Some(libc::EINVAL));
        assert_eq!(error.step(), Some(&steps[1]));
        assert!(first_refusal(&steps, &[Some(0), None, Some(0)]).is_none());
    }
}
