//! ZMTP 3.0 spoken by hand over a plain `TcpStream`, for tests that must send
//! what a well-behaved ZeroMQ library never would: broken greetings, frame
//! headers announcing gigabytes, frames replayed or cut short. Either end:
//! [`Zmtp::connect`] is a DEALER, [`Zmtp::accept`] a ROUTER-side peer.
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

const MORE: u8 = 0x01;
const LONG: u8 = 0x02;
const COMMAND: u8 = 0x04;

/// The 64-byte ZMTP 3.0 greeting with the NULL mechanism.
pub fn greeting() -> Vec<u8> {
    let mut g = vec![0u8; 64];
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3;
    g[12..16].copy_from_slice(b"NULL");
    g
}

/// A READY command frame announcing `socket_type` and any other properties.
pub fn ready(socket_type: &str, props: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    let mut prop = |name: &str, value: &[u8]| {
        body.push(name.len() as u8);
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(&(value.len() as u32).to_be_bytes());
        body.extend_from_slice(value);
    };
    prop("Socket-Type", socket_type.as_bytes());
    for (n, v) in props {
        prop(n, v);
    }
    let mut out = header(COMMAND, body.len() as u64);
    out.extend_from_slice(&body);
    out
}

/// A frame header for `len` bytes; `more` when another frame of the same
/// message follows. Long form whenever `len` needs it.
pub fn frame_header(len: u64, more: bool) -> Vec<u8> {
    header(if more { MORE } else { 0 }, len)
}

fn header(flags: u8, len: u64) -> Vec<u8> {
    if len > 255 {
        let mut h = vec![flags | LONG];
        h.extend_from_slice(&len.to_be_bytes());
        h
    } else {
        vec![flags, len as u8]
    }
}

/// One side of a ZMTP connection.
pub struct Zmtp {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Zmtp {
    /// Connects to `127.0.0.1:port` as a DEALER and completes the greeting
    /// and READY exchange.
    pub fn connect(port: u16) -> io::Result<Zmtp> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        Zmtp::handshake(stream, "DEALER")
    }

    /// Accepts one connection on `listener` as a ROUTER would; `TimedOut`
    /// if none comes within 30 s (a peer that died does not hang the test).
    pub fn accept(listener: &TcpListener) -> io::Result<Zmtp> {
        listener.set_nonblocking(true)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        let stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::ErrorKind::TimedOut.into())
                }
                Err(e) => return Err(e),
            }
        };
        stream.set_nonblocking(false)?;
        Zmtp::handshake(stream, "ROUTER")
    }

    fn handshake(mut stream: TcpStream, socket_type: &str) -> io::Result<Zmtp> {
        stream.set_nodelay(true)?;
        stream.write_all(&greeting())?;
        stream.write_all(&ready(socket_type, &[]))?;
        let mut z = Zmtp {
            stream,
            buf: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        z.fill_to(64, deadline)?;
        if z.buf[0] != 0xff || z.buf[9] != 0x7f {
            return Err(io::Error::other("not a ZMTP greeting"));
        }
        z.buf.drain(..64);
        // The peer's READY: the first frame after the greeting is a command.
        match z.next_frame(deadline)? {
            (flags, _) if flags & COMMAND != 0 => Ok(z),
            _ => Err(io::Error::other("no READY after the greeting")),
        }
    }

    /// Sends one message of `frames`.
    pub fn send(&mut self, frames: &[Vec<u8>]) -> io::Result<()> {
        let mut out = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            out.extend(frame_header(f.len() as u64, i + 1 < frames.len()));
            out.extend_from_slice(f);
        }
        self.stream.write_all(&out)
    }

    /// The next message (commands skipped). `TimedOut` when none arrives
    /// within `within`; `UnexpectedEof` (or a reset) when the peer closed.
    pub fn recv(&mut self, within: Duration) -> io::Result<Vec<Vec<u8>>> {
        let deadline = Instant::now() + within;
        let mut frames = Vec::new();
        loop {
            let (flags, body) = self.next_frame(deadline)?;
            if flags & COMMAND != 0 {
                continue;
            }
            frames.push(body);
            if flags & MORE == 0 {
                return Ok(frames);
            }
        }
    }

    /// True when the peer closes the connection within `within` (anything it
    /// sends meanwhile is read and dropped).
    pub fn closed_within(&mut self, within: Duration) -> bool {
        closed_within(&mut self.stream, within)
    }

    fn next_frame(&mut self, deadline: Instant) -> io::Result<(u8, Vec<u8>)> {
        self.fill_to(2, deadline)?;
        let flags = self.buf[0];
        let (skip, len) = if flags & LONG != 0 {
            self.fill_to(9, deadline)?;
            let len = u64::from_be_bytes(self.buf[1..9].try_into().unwrap());
            (9, usize::try_from(len).map_err(io::Error::other)?)
        } else {
            (2, usize::from(self.buf[1]))
        };
        self.fill_to(skip + len, deadline)?;
        let body = self.buf[skip..skip + len].to_vec();
        self.buf.drain(..skip + len);
        Ok((flags, body))
    }

    fn fill_to(&mut self, n: usize, deadline: Instant) -> io::Result<()> {
        let mut chunk = [0u8; 64 * 1024];
        while self.buf.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
                Err(e) if is_timeout(&e) => return Err(io::ErrorKind::TimedOut.into()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// True when the other end closes `stream` within `within`.
pub fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return false;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if is_timeout(&e) => return false,
            Err(_) => return true,
        }
    }
}
