//! Jump hosts and port forwards: a direct-tcpip channel relayed to a local
//! socket, copying both ways until one side is done.

use super::*;

/// Logs in to the jump host, opens a direct-tcpip channel to the target and
/// relays it to a local socket for the inner session.
pub(super) fn via_jump(
    host: &str,
    jump: &JumpSettings,
    target: &InventoryHost,
    timeout: Duration,
) -> Result<(UnixStream, JoinHandle<()>), RemoteError> {
    let ep = Endpoint {
        label: format!("jump host {}: ", jump.address),
        on: format!(" on jump host {}", jump.address),
        address: &jump.address,
        port: jump.port,
        user: &jump.user,
        identity_file: jump.identity_file.as_deref(),
    };
    let tcp = tcp_connect(host, &ep, timeout)?;
    let bastion = login(host, tcp, &ep, &target.ssh, timeout)?;
    let channel = bastion
        .channel_direct_tcpip(&target.address, target.ssh.port, None)
        .map_err(|e| {
            if is_timeout(&e) {
                RemoteError::Timeout {
                    host: host.to_string(),
                    after: timeout,
                    during: format!(
                        "jump host {} connecting to {}:{}",
                        jump.address, target.address, target.ssh.port
                    ),
                }
            } else {
                RemoteError::Connect {
                    host: host.to_string(),
                    message: format!(
                        "jump host {} could not connect to {}:{}: {}",
                        jump.address,
                        target.address,
                        target.ssh.port,
                        e.message()
                    ),
                }
            }
        })?;
    let (inner, outer) = UnixStream::pair().map_err(|e| RemoteError::Other {
        host: host.to_string(),
        message: format!("socket pair for the jump relay: {e}"),
    })?;
    let name = host.to_string();
    let relay = std::thread::Builder::new()
        .name(format!("ssh-jump-{host}"))
        .spawn(move || {
            relay(&name, &bastion, channel, outer);
            let _ = bastion.disconnect(Some(ssh2::DisconnectCode::ByApplication), "done", None);
        })
        .map_err(|e| RemoteError::Other {
            host: host.to_string(),
            message: format!("starting the jump relay: {e}"),
        })?;
    Ok((inner, relay))
}

/// The local end of a relay: a Unix socket (jump hosts) or an accepted
/// loopback TCP connection (port forwards).
pub(super) trait LocalEnd: Read + Write {
    fn set_nonblocking(&self, yes: bool) -> std::io::Result<()>;
    fn shutdown_write(&self);
}

impl LocalEnd for UnixStream {
    fn set_nonblocking(&self, yes: bool) -> std::io::Result<()> {
        UnixStream::set_nonblocking(self, yes)
    }
    fn shutdown_write(&self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
}

impl LocalEnd for TcpStream {
    fn set_nonblocking(&self, yes: bool) -> std::io::Result<()> {
        TcpStream::set_nonblocking(self, yes)
    }
    fn shutdown_write(&self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
}

/// Copies bytes both ways between a channel and the local end until one
/// side is done (see the module comment). The session must be used by
/// nobody else meanwhile: it runs in non-blocking mode here.
pub(super) fn relay(host: &str, session: &Session, mut channel: Channel, mut local: impl LocalEnd) {
    if let Err(e) = local.set_nonblocking(true) {
        tracing::debug!(host, "relay: {e}");
        return;
    }
    session.set_blocking(false);
    let mut up: Vec<u8> = Vec::new();
    let mut down: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let (mut local_eof, mut remote_eof, mut sent_eof, mut shut) = (false, false, false, false);
    let mut idle: u32 = 0;
    let mut local_closed_at: Option<Instant> = None;
    let why: String = loop {
        let mut progress = false;
        if up.is_empty() && !local_eof {
            match local.read(&mut buf) {
                Ok(0) => {
                    local_eof = true;
                    local_closed_at = Some(Instant::now());
                    progress = true;
                }
                Ok(n) => {
                    up.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(e) if would_block(&e) => {}
                Err(e) => break format!("local side: {e}"),
            }
        }
        if !up.is_empty() {
            match channel.write(&up) {
                Ok(n) => {
                    up.drain(..n);
                    progress |= n > 0;
                }
                Err(e) if would_block(&e) => {}
                Err(e) => break format!("channel: {e}"),
            }
        }
        if local_eof && up.is_empty() && !sent_eof {
            match channel.send_eof() {
                Ok(()) => sent_eof = true,
                Err(e) if matches!(e.code(), ErrorCode::Session(LIBSSH2_ERROR_EAGAIN)) => {}
                Err(e) => break format!("channel: {}", e.message()),
            }
        }
        if down.is_empty() && !remote_eof {
            match channel.read(&mut buf) {
                Ok(0) => {
                    if channel.eof() {
                        remote_eof = true;
                        progress = true;
                    }
                }
                Ok(n) => {
                    down.extend_from_slice(&buf[..n]);
                    progress = true;
                }
                Err(e) if would_block(&e) => {}
                Err(e) => break format!("channel: {e}"),
            }
        }
        if !down.is_empty() {
            match local.write(&down) {
                Ok(n) => {
                    down.drain(..n);
                    progress |= n > 0;
                }
                Err(e) if would_block(&e) => {}
                // The inner session is gone: nothing left to deliver.
                Err(_) => break "local side closed".to_string(),
            }
        }
        if remote_eof && down.is_empty() && !shut {
            local.shutdown_write();
            shut = true;
        }
        if local_eof
            && sent_eof
            && (remote_eof || local_closed_at.is_some_and(|t| t.elapsed() > Duration::from_secs(2)))
        {
            break "closed".to_string();
        }
        if remote_eof && shut && local_eof {
            break "closed".to_string();
        }
        if progress {
            idle = 0;
        } else {
            idle = idle.saturating_add(1);
            // 50 us doubling to 2 ms: quick replies stay quick; after about
            // two idle seconds, 10 ms, so a waiting relay costs next to nothing.
            let micros = if idle > 1000 {
                10_000
            } else {
                (50u64 << idle.min(6)).min(2000)
            };
            std::thread::sleep(Duration::from_micros(micros));
        }
    };
    tracing::debug!(host, "relay ended: {why}");
    session.set_blocking(true);
    session.set_timeout(1000);
    let _ = channel.close();
}

pub(super) fn would_block(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted)
}
