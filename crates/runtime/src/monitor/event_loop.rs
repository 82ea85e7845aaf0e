//! The monitor's one loop: epoll over init's pidfd, forwarded signals, the control socket,
//! its connections, and the pty masters. Single-threaded; nothing here sleeps or polls.

use std::collections::HashMap;
use std::io::{ErrorKind, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};

use rustix::event::epoll;
use rustix::process::{pidfd_send_signal, Signal, WaitId, WaitIdOptions};

use super::console::Pty;
use super::control::{Request, Response};
use crate::process::SignalFd;
use crate::procview::ServerEvent;
use crate::state::State;

const INIT: u64 = 0;
const LISTENER: u64 = 1;
const SIGNALS: u64 = 2;
const PROCVIEW: u64 = 3;
/// The console's peer, the host terminal of `lxc.console.path`.
const PEER: u64 = 4;
/// Pty N's master is `PTY_BASE + N`, its client `CLIENT_BASE + N`.
const PTY_BASE: u64 = 1 << 16;
const CLIENT_BASE: u64 = 1 << 24;
/// Connections that have not sent their request yet.
const PENDING_BASE: u64 = 1 << 32;
/// An attached process's sysinfo listener is `LISTENER_BASE + fd`: watched for POLLHUP only.
const LISTENER_BASE: u64 = 1 << 48;

/// How init ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitExit {
    Exited(i32),
    Signaled(i32),
}

/// A connection whose request line is not complete: its bytes and the fds that came along.
type Pending = (UnixStream, Vec<u8>, Vec<OwnedFd>);

pub(crate) struct EventLoop {
    epoll: OwnedFd,
    init_pid: i32,
    init_pidfd: OwnedFd,
    listener: UnixListener,
    signals: Option<SignalFd>,
    ptys: Vec<Pty>,
    pending: HashMap<u64, Pending>,
    next_pending: u64,
    /// The /proc view's server, restarted here when it dies.
    procview: Option<crate::procview::Server>,
}

impl EventLoop {
    pub fn new(
        init_pid: i32,
        init_pidfd: OwnedFd,
        listener: UnixListener,
        signals: Option<SignalFd>,
        ptys: Vec<Pty>,
    ) -> std::io::Result<EventLoop> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        listener.set_nonblocking(true)?;
        let this = EventLoop {
            epoll,
            init_pid,
            init_pidfd,
            listener,
            signals,
            ptys,
            pending: HashMap::new(),
            next_pending: 0,
            procview: None,
        };
        this.watch(&this.init_pidfd, INIT)?;
        this.watch(&this.listener, LISTENER)?;
        if let Some(signals) = &this.signals {
            this.watch(signals, SIGNALS)?;
        }
        // The console is always drained; ttys only while someone is attached.
        if let Some(console) = this.ptys.iter().find(|p| p.index == 0) {
            this.watch(&console.master, PTY_BASE)?;
            if let Some(peer) = &console.peer {
                this.watch(&peer.file, PEER)?;
            }
        }
        Ok(this)
    }

    /// Takes over the view's server: its pidfd wakes the loop when it dies.
    pub fn watch_procview(
        &mut self,
        server: Option<crate::procview::Server>,
    ) -> std::io::Result<()> {
        if let Some(server) = &server {
            self.watch(&server.pidfd(), PROCVIEW)?;
        }
        self.procview = server;
        Ok(())
    }

    /// The view's server died: a new one on the same connection, so readers in the
    /// container only wait. If none can be started, the connection is dropped with it
    /// (readers then get an error rather than hang).
    fn restart_procview(&mut self) {
        let Some(server) = &mut self.procview else {
            return;
        };
        let old = server.pid();
        match server.restart_if_dead() {
            Ok(ServerEvent::Running) => {}
            Ok(ServerEvent::Restarted) => {
                let watched = epoll::add(
                    &self.epoll,
                    server.pidfd(),
                    epoll::EventData::new_u64(PROCVIEW),
                    epoll::EventFlags::IN,
                );
                if watched.is_err() {
                    self.procview = None;
                }
            }
            // Its connection closes with it: a reader gets an error instead of waiting.
            Ok(ServerEvent::Ended) => {
                let _ = epoll::delete(&self.epoll, server.pidfd());
                self.procview = None;
            }
            Err(e) => {
                crate::log_error!(
                    "the /proc view's server {old} died and cannot be restarted: {e}"
                );
                let _ = epoll::delete(&self.epoll, server.pidfd());
                self.procview = None;
            }
        }
    }

    fn watch(&self, fd: &impl AsFd, token: u64) -> std::io::Result<()> {
        epoll::add(
            &self.epoll,
            fd,
            epoll::EventData::new_u64(token),
            epoll::EventFlags::IN | epoll::EventFlags::RDHUP,
        )?;
        Ok(())
    }

    fn unwatch(&self, fd: &impl AsFd) {
        let _ = epoll::delete(&self.epoll, fd);
    }

    /// Runs until init exits; returns how it ended.
    pub fn run(&mut self) -> std::io::Result<InitExit> {
        let mut events = Vec::with_capacity(16);
        loop {
            events.clear();
            match epoll::wait(
                &self.epoll,
                rustix::buffer::spare_capacity(&mut events),
                None,
            ) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            for event in &events {
                let token = event.data.u64();
                if token == INIT {
                    if let Some(exit) = self.reap_init()? {
                        return Ok(exit);
                    }
                } else {
                    self.dispatch(token);
                }
            }
        }
    }

    fn dispatch(&mut self, token: u64) {
        match token {
            LISTENER => self.accept(),
            SIGNALS => self.forward_signal(),
            PROCVIEW => self.restart_procview(),
            PEER => self.peer_input(),
            t if t >= LISTENER_BASE => self.listener_gone(t - LISTENER_BASE),
            t if t >= PENDING_BASE => self.read_request(t),
            t if t >= CLIENT_BASE => self.client_input((t - CLIENT_BASE) as u32),
            t if t >= PTY_BASE => self.pty_output((t - PTY_BASE) as u32),
            _ => {}
        }
    }

    fn reap_init(&self) -> std::io::Result<Option<InitExit>> {
        let status = rustix::process::waitid(
            WaitId::PidFd(self.init_pidfd.as_fd()),
            WaitIdOptions::EXITED | WaitIdOptions::NOHANG,
        )?;
        Ok(status.map(|s| match s.exit_status() {
            Some(code) => InitExit::Exited(code),
            None => InitExit::Signaled(s.terminating_signal().unwrap_or(0)),
        }))
    }

    fn accept(&mut self) {
        while let Ok((stream, _)) = self.listener.accept() {
            if !peer_may_control(&stream) || stream.set_nonblocking(true).is_err() {
                continue;
            }
            let token = PENDING_BASE + self.next_pending;
            self.next_pending += 1;
            if self.watch(&stream, token).is_ok() {
                self.pending.insert(token, (stream, Vec::new(), Vec::new()));
            }
        }
    }

    fn read_request(&mut self, token: u64) {
        let Some((stream, buffer, fds)) = self.pending.get_mut(&token) else {
            return;
        };
        let mut chunk = [0u8; 512];
        let done = match super::control::read_with_fds(stream, &mut chunk, fds) {
            Ok(0) => true,
            Ok(n) => {
                buffer.extend_from_slice(&chunk[..n]);
                buffer.contains(&b'\n') || buffer.len() > 4096
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(_) => true,
        };
        if !done {
            return;
        }
        let Some((stream, buffer, fds)) = self.pending.remove(&token) else {
            return;
        };
        self.unwatch(&stream);
        let request = buffer
            .split(|b| *b == b'\n')
            .next()
            .and_then(|line| serde_json::from_slice::<Request>(line).ok());
        match request {
            Some(request) => self.answer(stream, request, fds),
            None => reply(
                &stream,
                &Response::Refused {
                    reason: "malformed request".into(),
                },
            ),
        }
    }

    fn answer(&mut self, stream: UnixStream, request: Request, fds: Vec<OwnedFd>) {
        match request {
            Request::Status => reply(
                &stream,
                &Response::Status {
                    state: State::Running,
                    init_pid: self.init_pid,
                },
            ),
            Request::Console { tty } => self.attach_console(stream, tty),
            Request::FreeTty => {
                let ttys = self.ptys.iter().map(|p| (p.index, p.client.is_some()));
                self.attach_console(stream, super::console::free_tty(ttys));
            }
            Request::SysinfoListener => {
                let response = match self.take_listener(fds) {
                    Ok(()) => Response::ListenerTaken,
                    Err(reason) => Response::Refused { reason },
                };
                reply(&stream, &response);
            }
        }
    }

    /// An attached process's sysinfo listener, for the view's server to answer (see
    /// `procview::Server::add_listener`). Watched with no events: epoll reports POLLHUP
    /// anyway, once no process is left under its filter, and then it is closed.
    fn take_listener(&mut self, fds: Vec<OwnedFd>) -> Result<(), String> {
        let server = match &mut self.procview {
            Some(server) if server.answers_sysinfo() => server,
            _ => return Err("this container's sysinfo is not answered by rlxc".into()),
        };
        let [listener]: [OwnedFd; 1] = fds
            .try_into()
            .map_err(|_| "a sysinfo listener must come with exactly one fd".to_string())?;
        // Anything else (a pipe, a socket) would keep the server's poll busy.
        if !is_seccomp_listener(&listener) {
            return Err("the fd sent is not a seccomp listener".into());
        }
        let token = LISTENER_BASE + listener.as_raw_fd() as u64;
        epoll::add(
            &self.epoll,
            &listener,
            epoll::EventData::new_u64(token),
            epoll::EventFlags::empty(),
        )
        .map_err(|e| format!("watching the listener: {e}"))?;
        server.add_listener(listener);
        Ok(())
    }

    /// No process is left under an attached process's filter: its listener goes.
    fn listener_gone(&mut self, fd: u64) {
        let Some(server) = &mut self.procview else {
            return;
        };
        let Ok(fd) = i32::try_from(fd) else { return };
        if let Some(listener) = server.attached_listener(fd) {
            let _ = epoll::delete(&self.epoll, listener);
        }
        server.drop_listener(fd);
    }

    /// One client per tty; the console keeps being logged whether or not one is attached.
    fn attach_console(&mut self, stream: UnixStream, tty: u32) {
        let Some(pty) = self.ptys.iter_mut().find(|p| p.index == tty) else {
            let reason = if tty == 0 {
                "this container has no console (lxc.console.path = none)".to_string()
            } else {
                format!("this container has no tty {tty} (see lxc.tty.max)")
            };
            reply(&stream, &Response::Refused { reason });
            return;
        };
        if let Some(peer) = pty.peer.as_ref().filter(|_| tty == 0) {
            // As LXC: the console has one other side, and it is the device.
            let reason = format!(
                "the console is attached to {} (lxc.console.path); use that device, or a tty \
                 with -t N",
                peer.path.display()
            );
            reply(&stream, &Response::Refused { reason });
            return;
        }
        if pty.client.is_some() {
            reply(
                &stream,
                &Response::Refused {
                    reason: format!("tty {tty} is in use by another client"),
                },
            );
            return;
        }
        reply(&stream, &Response::ConsoleAttached { tty });
        let client_token = CLIENT_BASE + u64::from(tty);
        if epoll::add(
            &self.epoll,
            &stream,
            epoll::EventData::new_u64(client_token),
            epoll::EventFlags::IN | epoll::EventFlags::RDHUP,
        )
        .is_err()
        {
            return;
        }
        pty.client = Some(stream);
        if tty != 0 {
            let master = pty.master.as_fd();
            let _ = epoll::add(
                &self.epoll,
                master,
                epoll::EventData::new_u64(PTY_BASE + u64::from(tty)),
                epoll::EventFlags::IN,
            );
        }
    }

    fn pty_output(&mut self, index: u32) {
        if let Some(pty) = self.ptys.iter_mut().find(|p| p.index == index) {
            if !pty.pump_output() {
                let _ = epoll::delete(&self.epoll, &pty.master);
            }
        }
    }

    /// Typing on the peer; once it is gone (hung up) it is let go, and the console is
    /// left to `rlxc console` (LXC stops the container instead).
    fn peer_input(&mut self) {
        let Some(console) = self.ptys.iter_mut().find(|p| p.index == 0) else {
            return;
        };
        if console.pump_peer() {
            return;
        }
        if let Some(peer) = console.peer.take() {
            // Explicitly: the monitor keeps the device open, so epoll would go on reporting
            // the hang-up of a closed duplicate.
            let _ = epoll::delete(&self.epoll, &peer.file);
        }
    }

    fn client_input(&mut self, index: u32) {
        let Some(pty) = self.ptys.iter_mut().find(|p| p.index == index) else {
            return;
        };
        if pty.pump_input() {
            return;
        }
        // The client left: free the slot so a reconnect gets the same session.
        if let Some(client) = pty.client.take() {
            let _ = epoll::delete(&self.epoll, &client);
        }
        if index != 0 {
            let _ = epoll::delete(&self.epoll, &pty.master);
        }
    }

    /// Signals sent to the monitor go to init, as with LXC's monitor.
    fn forward_signal(&mut self) {
        let Some(signo) = self.signals.as_ref().and_then(SignalFd::next) else {
            return;
        };
        if let Some(signal) = Signal::from_named_raw(signo) {
            let _ = pidfd_send_signal(&self.init_pidfd, signal);
        }
    }
}

/// What `/proc/self/fd/N` names a seccomp notification fd.
fn is_seccomp_listener(fd: &OwnedFd) -> bool {
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    std::fs::read_link(link).is_ok_and(|target| target.as_os_str() == "anon_inode:seccomp notify")
}

fn reply(mut stream: &UnixStream, response: &Response) {
    if let Ok(mut line) = serde_json::to_vec(response) {
        line.push(b'\n');
        let _ = stream.set_nonblocking(false);
        let _ = stream.write_all(&line);
        let _ = stream.set_nonblocking(true);
    }
}

/// Only root or the user that runs the monitor may control it.
fn peer_may_control(stream: &UnixStream) -> bool {
    match rustix::net::sockopt::socket_peercred(stream) {
        Ok(cred) => {
            let uid = cred.uid.as_raw();
            uid == 0 || uid == rustix::process::geteuid().as_raw()
        }
        Err(_) => false,
    }
}
