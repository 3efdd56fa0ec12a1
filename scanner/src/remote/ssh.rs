//! SSH transport (libssh2 through the `ssh2` crate): host key verified
//! against known_hosts (never accepted blindly), key or agent
//! authentication, an optional jump host, and a timeout on every operation
//! so that a host that stops answering costs at most that long.
//!
//! Jump hosts: libssh2 needs a real file descriptor for the inner session,
//! so the bastion's direct-tcpip channel is relayed to one end of a Unix
//! socket pair by a thread, and the inner session runs over the other end.
//! No port is opened on this machine. The relay drives the bastion session
//! in non-blocking mode (one thread owns it, so libssh2 is never entered
//! concurrently), sleeping at most 2 ms when neither side has data; it ends
//! when either side closes, so dropping the [`SshHost`] tears it down.
//! [`SshHost::forward`] (`ssh -L` for `via: tunnel`) uses the same relay
//! with an accepted loopback TCP connection, over an SSH connection of its
//! own.
//!
//! One `SshHost` may be shared between threads, but libssh2 serializes its
//! calls: commands on one host are best run one after the other.
//!
//! Host keys: a key must be in known_hosts. The one exception is the
//! explicit first-contact opt-in [`HostKeyPolicy::AcceptNew`] in the host's
//! [`SshSettings`](crate::inventory::SshSettings) (the CLI's
//! `--accept-new-host-keys`, like `ssh -o StrictHostKeyChecking=accept-new`):
//! a host with no entry at all gets the key it offers recorded and trusted,
//! with a warning logged (`tracing`, level warn); a changed or revoked key
//! is refused all the same. The policy is per connection, so two scans in
//! one process may differ.

mod auth;
mod known_hosts;
mod relay;

use auth::*;
use relay::*;

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ssh2::{Channel, ErrorCode, MethodType, Session};
use sslaudit_rules::facts::Access;

use super::{Exec, ExecOutput, RemoteError, shell_quote};
pub use crate::inventory::HostKeyPolicy;
use crate::inventory::{InventoryHost, JumpSettings, SshSettings};

/// libssh2's error codes we tell apart.
const LIBSSH2_ERROR_TIMEOUT: i32 = -9;
const LIBSSH2_ERROR_EAGAIN: i32 = -37;
/// Most stdout (and, separately, stderr) one command may return: a hostile
/// host could otherwise stream until memory runs out.
pub const MAX_OUTPUT: usize = 512 * 1024 * 1024;

/// Hosts connect in parallel: one writer of known_hosts at a time.
static KNOWN_HOSTS_WRITER: Mutex<()> = Mutex::new(());

/// Appends `name type base64` to known_hosts for a host that has no entry,
/// unless another connection recorded one meanwhile: then that entry
/// decides (the same key is accepted, another one is a changed key).
fn record_new_host_key(
    known_hosts: &Path,
    name: &str,
    key_type: &str,
    blob: &[u8],
    address: &str,
    port: u16,
) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let _guard = KNOWN_HOSTS_WRITER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let now = known_hosts::entries_for(known_hosts, address, port)?;
    if !now.is_empty() {
        return if now.iter().any(|e| !e.revoked && e.blob == blob) {
            Ok(())
        } else {
            Err(format!(
                "host key changed: {} got another key for {name} while this scan ran",
                known_hosts.display()
            ))
        };
    }
    let needs_newline = match std::fs::read(known_hosts) {
        Ok(bytes) => bytes.last().is_some_and(|&b| b != b'\n'),
        Err(_) => false,
    };
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(known_hosts)
        .map_err(|e| format!("cannot record the key in {}: {e}", known_hosts.display()))?;
    let line = format!(
        "{}{name} {key_type} {}\n",
        if needs_newline { "\n" } else { "" },
        openssl::base64::encode_block(blob)
    );
    f.write_all(line.as_bytes())
        .map_err(|e| format!("cannot record the key in {}: {e}", known_hosts.display()))
}

/// A logged-in SSH connection to one host.
pub struct SshHost {
    name: String,
    session: Session,
    sudo: bool,
    /// The timeout of every read and write, in milliseconds (changed by
    /// [`SshHost::set_timeout`] through a shared reference: the host may be
    /// borrowed by a forwarded port meanwhile).
    timeout_ms: AtomicU64,
    /// The jump relay, when the host is reached through a bastion.
    relay: Option<JoinHandle<()>>,
    /// Commands run so far ([`SshHost::execs`]).
    execs: AtomicU32,
}

/// A local port forwarded through SSH ([`SshHost::forward`]).
pub struct Forward {
    port: u16,
    /// The relay runs detached and ends with its connection (or when
    /// nobody connects in time).
    _handle: JoinHandle<()>,
}

impl Forward {
    /// The port on 127.0.0.1 to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Where and as whom to log in (the host itself or its jump host).
struct Endpoint<'a> {
    /// `jump host bastion: ` before messages about the jump host, else empty.
    label: String,
    /// ` on jump host bastion` after what was being done, else empty.
    on: String,
    address: &'a str,
    port: u16,
    user: &'a str,
    identity_file: Option<&'a Path>,
}

impl SshHost {
    /// Connects to the host's inventory address (through its jump host if
    /// it has one), verifies the host key and logs in.
    pub fn connect(host: &InventoryHost) -> Result<SshHost, RemoteError> {
        let name = host.name.clone();
        if host.access == Access::Wire {
            return Err(RemoteError::Other {
                host: name,
                message: format!(
                    "the inventory says `ssh: none` ({}): nothing on this host can be read or \
                     changed over SSH",
                    host.origin
                ),
            });
        }
        let timeout = host.ssh.timeout;
        let target = Endpoint {
            label: String::new(),
            on: String::new(),
            address: &host.address,
            port: host.ssh.port,
            user: &host.ssh.user,
            identity_file: host.ssh.identity_file.as_deref(),
        };
        let started = Instant::now();
        let (session, relay) = match &host.ssh.jump {
            None => {
                let tcp = tcp_connect(&name, &target, timeout)?;
                (login(&name, tcp, &target, &host.ssh, timeout)?, None)
            }
            Some(jump) => {
                let (local, relay) = via_jump(&name, jump, host, timeout)?;
                let session = login(&name, local, &target, &host.ssh, timeout)?;
                (session, Some(relay))
            }
        };
        tracing::debug!(host = %name, elapsed = ?started.elapsed(), "ssh session ready");
        Ok(SshHost {
            name,
            session,
            sudo: host.ssh.sudo,
            timeout_ms: AtomicU64::new(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
            execs: AtomicU32::new(0),
            relay,
        })
    }

    /// A TCP connection from the host to `host:port` (an SSH port forward),
    /// for the MySQL tunnel and the TLS probe. Blocking, with the session's
    /// timeout on every read and write.
    pub fn direct_tcpip(&self, host: &str, port: u16) -> Result<Channel, RemoteError> {
        self.session
            .channel_direct_tcpip(host, port, None)
            .map_err(|e| {
                self.error(
                    e,
                    &format!("opening a forwarded connection to {host}:{port}"),
                )
            })
    }

    /// A port on 127.0.0.1 of this machine that leads to `to_host:to_port`
    /// as the host sees it (`ssh -L`), for `via: tunnel`. It opens its own
    /// SSH connection to the host (a relay must own its session), accepts
    /// ONE loopback connection within the host's timeout, and closes when
    /// that connection does. The target is tried before this returns, so an
    /// unreachable port is an error here, not a hang later.
    pub fn forward(
        host: &InventoryHost,
        to_host: &str,
        to_port: u16,
    ) -> Result<Forward, RemoteError> {
        let ssh = SshHost::connect(host)?;
        let channel = ssh.direct_tcpip(to_host, to_port)?;
        let other = |message: String| RemoteError::Other {
            host: host.name.clone(),
            message,
        };
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .map_err(|e| other(format!("local end of the forward: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| other(format!("local end of the forward: {e}")))?
            .port();
        listener
            .set_nonblocking(true)
            .map_err(|e| other(format!("local end of the forward: {e}")))?;
        let deadline = Instant::now() + ssh.timeout();
        let name = host.name.clone();
        let handle = std::thread::Builder::new()
            .name(format!("ssh-forward-{}", host.name))
            .spawn(move || {
                let stream = loop {
                    match listener.accept() {
                        // Only this machine's own clients; anything else is dropped.
                        Ok((s, peer)) if peer.ip().is_loopback() => break s,
                        Ok(_) => {}
                        Err(e) if would_block(&e) => {
                            if Instant::now() > deadline {
                                tracing::debug!(host = %name, "forward: nobody connected");
                                return;
                            }
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Err(e) => {
                            tracing::debug!(host = %name, "forward: {e}");
                            return;
                        }
                    }
                };
                drop(listener);
                let _ = stream.set_nodelay(true);
                relay(&name, &ssh.session, channel, stream);
            })
            .map_err(|e| other(format!("starting the forward: {e}")))?;
        Ok(Forward {
            port,
            _handle: handle,
        })
    }

    /// The libssh2 session, for callers that need more than exec.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Commands run on this connection so far: each one is a channel, a
    /// round trip and a shell on the host, the cost a scan keeps down.
    pub fn execs(&self) -> u32 {
        self.execs.load(Ordering::Relaxed)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.load(Ordering::Relaxed))
    }

    /// Changes the timeout of every later read and write (a remediation's
    /// restart may take longer than a scan's commands).
    pub fn set_timeout(&self, timeout: Duration) {
        self.timeout_ms.store(
            u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.session
            .set_timeout(u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX));
    }

    /// True when the host is reached through a jump host.
    pub fn via_jump(&self) -> bool {
        self.relay.is_some()
    }

    fn error(&self, e: ssh2::Error, during: &str) -> RemoteError {
        session_error(&self.name, e, self.timeout(), during)
    }

    fn io_error(&self, e: std::io::Error, during: &str) -> RemoteError {
        if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) {
            RemoteError::Timeout {
                host: self.name.clone(),
                after: self.timeout(),
                during: during.to_string(),
            }
        } else {
            RemoteError::Other {
                host: self.name.clone(),
                message: format!("{during}: {e}"),
            }
        }
    }
}

impl Drop for SshHost {
    fn drop(&mut self) {
        // A polite goodbye, but never a long wait for a dead peer.
        self.session.set_timeout(1000);
        let _ = self
            .session
            .disconnect(Some(ssh2::DisconnectCode::ByApplication), "done", None);
    }
}

impl Exec for SshHost {
    fn host(&self) -> &str {
        &self.name
    }

    /// Runs `command` with `sh -c` semantics of the login shell (through
    /// `sudo -n -- sh -c` when the inventory says `sudo: true`), sends
    /// `stdin` then EOF, and collects stdout and stderr.
    fn exec(&self, command: &str, stdin: &[u8]) -> Result<ExecOutput, RemoteError> {
        self.exec_partial(command, stdin).map_err(|(e, _)| e)
    }

    fn exec_partial(
        &self,
        command: &str,
        stdin: &[u8],
    ) -> Result<ExecOutput, (RemoteError, Vec<u8>)> {
        let bare = |e| (e, Vec::new());
        let line = if self.sudo {
            format!("sudo -n -- sh -c {}", shell_quote(command))
        } else {
            command.to_string()
        };
        self.execs.fetch_add(1, Ordering::Relaxed);
        let mut ch = self
            .session
            .channel_session()
            .map_err(|e| bare(self.error(e, "opening a session channel")))?;
        ch.exec(&line)
            .map_err(|e| bare(self.error(e, "starting a command")))?;
        if let Err(e) = ch.write_all(stdin) {
            // A command that does not read its stdin may exit first; only a
            // stalled peer is an error here.
            if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) {
                return Err(bare(self.io_error(e, "sending input to a command")));
            }
        }
        match ch.send_eof() {
            Ok(()) => {}
            Err(e) if is_timeout(&e) => {
                return Err(bare(self.error(e, "sending input to a command")));
            }
            Err(_) => {}
        }
        // libssh2 widens the window whenever stream 0 is read and queues
        // stderr meanwhile, so reading stdout first cannot deadlock.
        let mut stdout = Vec::new();
        if let Err(e) = read_capped(&mut ch, MAX_OUTPUT, &mut stdout) {
            return Err((self.io_error(e, "reading a command's output"), stdout));
        }
        let mut stderr = Vec::new();
        if let Err(e) = read_capped(&mut ch.stderr(), MAX_OUTPUT, &mut stderr) {
            return Err((self.io_error(e, "reading a command's errors"), stdout));
        }
        if let Err(e) = ch.wait_close() {
            return Err((self.error(e, "waiting for a command to end"), stdout));
        }
        let signalled = ch.exit_signal().ok().and_then(|s| s.exit_signal).is_some();
        let status = if signalled {
            None
        } else {
            ch.exit_status().ok()
        };
        let out = ExecOutput {
            stdout,
            stderr,
            status,
        };
        if self.sudo {
            check_sudo(&self.name, &out).map_err(bare)?;
        }
        Ok(out)
    }
}

/// `sudo -n` refuses instead of prompting; say so plainly rather than
/// letting the caller parse an empty output.
fn check_sudo(host: &str, out: &ExecOutput) -> Result<(), RemoteError> {
    let err = String::from_utf8_lossy(&out.stderr);
    let from_sudo = err.lines().any(|l| l.starts_with("sudo:"));
    if out.status == Some(1)
        && from_sudo
        && (err.contains("password is required") || err.contains("terminal is required"))
    {
        return Err(RemoteError::Auth {
            host: host.to_string(),
            message: format!(
                "sudo requires a password (sudo -n said: {}); allow the scan user \
                 passwordless sudo or set ssh.sudo: false",
                err.trim()
            ),
        });
    }
    if out.status == Some(127)
        && (err.contains("sudo: not found") || err.contains("sudo: command not found"))
    {
        return Err(RemoteError::Other {
            host: host.to_string(),
            message: "sudo is not installed on the host (ssh.sudo: true)".to_string(),
        });
    }
    Ok(())
}

/// Reads `r` to its end into `out`, at most `cap` bytes; on an error `out`
/// holds what came before it.
fn read_capped(r: &mut impl Read, cap: usize, out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if out.len() + n > cap {
            return Err(std::io::Error::other(format!(
                "the command printed more than {cap} bytes"
            )));
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn is_timeout(e: &ssh2::Error) -> bool {
    matches!(e.code(), ErrorCode::Session(LIBSSH2_ERROR_TIMEOUT))
}

fn session_error(host: &str, e: ssh2::Error, timeout: Duration, during: &str) -> RemoteError {
    if is_timeout(&e) {
        RemoteError::Timeout {
            host: host.to_string(),
            after: timeout,
            during: during.to_string(),
        }
    } else {
        RemoteError::Other {
            host: host.to_string(),
            message: format!("{during}: {}", e.message()),
        }
    }
}

fn timeout_ms(t: Duration) -> u32 {
    u32::try_from(t.as_millis()).unwrap_or(u32::MAX).max(1)
}

fn tcp_connect(host: &str, ep: &Endpoint<'_>, timeout: Duration) -> Result<TcpStream, RemoteError> {
    let connect_err = |message: String| RemoteError::Connect {
        host: host.to_string(),
        message,
    };
    let addrs: Vec<_> = (ep.address, ep.port)
        .to_socket_addrs()
        .map_err(|e| connect_err(format!("{}cannot resolve {}: {e}", ep.label, ep.address)))?
        .collect();
    let mut last = None;
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) if e.kind() == ErrorKind::TimedOut => {
                return Err(RemoteError::Timeout {
                    host: host.to_string(),
                    after: timeout,
                    during: format!("connecting to {addr}{}", ep.on),
                });
            }
            Err(e) => last = Some(format!("{}ssh: {e} ({addr})", ep.label)),
        }
    }
    Err(connect_err(last.unwrap_or_else(|| {
        format!("{}{} resolves to no address", ep.label, ep.address)
    })))
}

/// Handshake over `stream`, host key check (against the host's
/// known_hosts, under its host key policy), authentication.
fn login<S: 'static + std::os::unix::io::AsRawFd>(
    host: &str,
    stream: S,
    ep: &Endpoint<'_>,
    settings: &SshSettings,
    timeout: Duration,
) -> Result<Session, RemoteError> {
    let known_hosts = settings.known_hosts.as_path();
    let other = |message: String| RemoteError::Other {
        host: host.to_string(),
        message,
    };
    let key_err = |message: String| RemoteError::HostKey {
        host: host.to_string(),
        message: format!("{}{message}", ep.label),
    };
    let mut session = Session::new().map_err(|e| other(format!("libssh2: {}", e.message())))?;
    session.set_timeout(timeout_ms(timeout));
    let known = known_hosts::entries_for(known_hosts, ep.address, ep.port).map_err(key_err)?;
    // Ask for the key types known_hosts has for this host, like ssh does:
    // otherwise the server may pick a type we hold no key of.
    let supported = session
        .supported_algs(MethodType::HostKey)
        .unwrap_or_default();
    let mut wanted: Vec<&str> = Vec::new();
    for e in known.iter().filter(|e| !e.revoked) {
        for alg in known_hosts::algorithms_for(&e.key_type) {
            if supported.contains(alg) && !wanted.contains(alg) {
                wanted.push(alg);
            }
        }
    }
    if !wanted.is_empty() {
        session
            .method_pref(MethodType::HostKey, &wanted.join(","))
            .map_err(|e| other(format!("libssh2 host key preference: {}", e.message())))?;
    }
    session.set_tcp_stream(stream);
    let where_ = format!("{}:{}", ep.address, ep.port);
    if let Err(e) = session.handshake() {
        if is_timeout(&e) {
            return Err(RemoteError::Timeout {
                host: host.to_string(),
                after: timeout,
                during: format!("doing the ssh handshake with {where_}{}", ep.on),
            });
        }
        if !wanted.is_empty() && e.message().to_ascii_lowercase().contains("hostkey") {
            return Err(key_err(format!(
                "host key changed: {where_} offers none of the key types {} has for it ({})",
                known_hosts.display(),
                wanted.join(", ")
            )));
        }
        return Err(RemoteError::Connect {
            host: host.to_string(),
            message: format!(
                "{}ssh handshake with {where_} failed: {}",
                ep.label,
                e.message()
            ),
        });
    }
    let Some((blob, _)) = session.host_key() else {
        return Err(key_err(format!("{where_} sent no host key")));
    };
    let blob = blob.to_vec();
    let key_type = known_hosts::blob_type(&blob).unwrap_or_else(|| "unknown".to_string());
    let fp = known_hosts::fingerprint(&blob);
    let shown = format!("{key_type} {fp}");
    if let Some(r) = known.iter().find(|e| e.revoked && e.blob == blob) {
        return Err(key_err(format!(
            "host key {shown} of {where_} is marked @revoked in {}:{}",
            known_hosts.display(),
            r.line
        )));
    }
    if !known.iter().any(|e| !e.revoked && e.blob == blob) {
        let same_type: Vec<&known_hosts::Entry> = known
            .iter()
            .filter(|e| !e.revoked && e.key_type == key_type)
            .collect();
        let name = known_hosts::lookup_name(ep.address, ep.port);
        if known.is_empty() && settings.host_key_policy == HostKeyPolicy::AcceptNew {
            record_new_host_key(known_hosts, &name, &key_type, &blob, ep.address, ep.port)
                .map_err(key_err)?;
            tracing::warn!(
                host,
                "{}trusted the new host key {shown} of {name} on first contact \
                 (--accept-new-host-keys) and recorded it in {}",
                ep.label,
                known_hosts.display()
            );
            authenticate(host, &session, ep, timeout)?;
            return Ok(session);
        }
        return Err(key_err(match same_type.first() {
            Some(e) => format!(
                "host key changed: {where_} offers {shown}, but {}:{} has another {key_type} key \
                 for it",
                known_hosts.display(),
                e.line
            ),
            None => format!(
                "unknown host key {shown} for {name} (not in {}); check it and add it \
                 (ssh-keyscan), or trust it on first contact with --accept-new-host-keys",
                known_hosts.display()
            ),
        }));
    }
    authenticate(host, &session, ep, timeout)?;
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_keys_are_recognized() {
        assert!(key_is_encrypted(
            b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"
        ));
        assert!(key_is_encrypted(
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
        ));
        let openssh = |cipher: &str| {
            let mut raw = b"openssh-key-v1\0".to_vec();
            raw.extend_from_slice(&(cipher.len() as u32).to_be_bytes());
            raw.extend_from_slice(cipher.as_bytes());
            raw.extend_from_slice(&[0; 16]);
            format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
                openssl::base64::encode_block(&raw)
            )
        };
        assert!(key_is_encrypted(openssh("aes256-ctr").as_bytes()));
        assert!(!key_is_encrypted(openssh("none").as_bytes()));
        assert!(!key_is_encrypted(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
        ));
    }

    #[test]
    fn sudo_password_prompts_are_errors() {
        let out = |status, stderr: &str| ExecOutput {
            stdout: Vec::new(),
            stderr: stderr.as_bytes().to_vec(),
            status: Some(status),
        };
        let e = check_sudo("h", &out(1, "sudo: a password is required\n")).unwrap_err();
        assert!(e.to_string().contains("sudo requires a password"), "{e}");
        assert!(check_sudo("h", &out(1, "mysql: a password is required\n")).is_ok());
        assert!(check_sudo("h", &out(0, "")).is_ok());
        assert!(check_sudo("h", &out(127, "sh: 1: sudo: not found\n")).is_err());
    }
}
