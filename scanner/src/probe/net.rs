//! The probe's network: address parsing, connecting with a deadline, a
//! stream whose every read and write shares that deadline, and the wording
//! of I/O errors and durations in probe records.

use super::*;

pub(super) enum IoKind {
    Timeout,
    Reset,
    Closed,
    Other,
}

pub(super) fn kind(e: &io::Error) -> IoKind {
    match e.kind() {
        // A socket read timeout surfaces as WouldBlock on Unix.
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => IoKind::Timeout,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => IoKind::Reset,
        io::ErrorKind::UnexpectedEof => IoKind::Closed,
        _ => IoKind::Other,
    }
}

/// `3s`, `500ms`, `1.5s`: how durations appear in messages.
pub(super) fn human(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Splits `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address.
pub(super) fn split_address(address: &str) -> Result<(String, u16), String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("invalid port {p:?} in address {address:?}"))
    };
    let address = address.trim();
    if address.is_empty() {
        return Err("empty address".to_string());
    }
    if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("unclosed '[' in address {address:?}"))?;
        return match after {
            "" => Ok((host.to_string(), DEFAULT_PORT)),
            _ => match after.strip_prefix(':') {
                Some(p) => Ok((host.to_string(), port(p)?)),
                None => Err(format!(
                    "unexpected {after:?} after ']' in address {address:?}"
                )),
            },
        };
    }
    match address.rsplit_once(':') {
        None => Ok((address.to_string(), DEFAULT_PORT)),
        // More than one colon: a bare IPv6 address.
        Some((host, _)) if host.contains(':') => Ok((address.to_string(), DEFAULT_PORT)),
        Some((host, p)) => Ok((host.to_string(), port(p)?)),
    }
}

pub(super) fn connect_tcp(
    addrs: &[SocketAddr],
    deadline: Instant,
    timeout: Duration,
) -> Result<TcpStream, Failure> {
    let mut last = None;
    for addr in addrs {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(addr, remaining) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some((*addr, e)),
        }
    }
    let message = match last {
        Some((addr, e)) => match e.kind() {
            io::ErrorKind::ConnectionRefused => format!("connection refused by {addr}"),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                format!("timed out after {} connecting to {addr}", human(timeout))
            }
            _ => format!("cannot connect to {addr}: {e}"),
        },
        None => format!("timed out after {} connecting", human(timeout)),
    };
    Err(Failure::new(message))
}

/// A TCP stream whose every read and write waits at most until the deadline.
pub(super) struct DeadlineTcp {
    pub(super) stream: TcpStream,
    pub(super) deadline: Instant,
}

impl DeadlineTcp {
    fn remaining(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::ErrorKind::TimedOut.into())
        } else {
            Ok(left)
        }
    }
}

impl Read for DeadlineTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.remaining()?;
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

impl Write for DeadlineTcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.remaining()?;
        self.stream.set_write_timeout(Some(left))?;
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// The stream under the TLS handshake: refuses to start I/O past the
/// deadline, and keeps the first bytes the server sends so that a MySQL
/// error packet in place of a ServerHello can be told apart.
pub(super) struct Conn<S> {
    pub(super) inner: S,
    pub(super) deadline: Instant,
    pub(super) seen: Option<Vec<u8>>,
}

/// Enough of the server's first answer to hold an ERR packet's header.
const SEEN_MAX: usize = 64;

impl<S: Read> Read for Conn<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if Instant::now() >= self.deadline {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let n = self.inner.read(buf)?;
        if let Some(seen) = &mut self.seen {
            let room = SEEN_MAX.saturating_sub(seen.len()).min(n);
            seen.extend_from_slice(&buf[..room]);
        }
        Ok(n)
    }
}

impl<S: Write> Write for Conn<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if Instant::now() >= self.deadline {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
