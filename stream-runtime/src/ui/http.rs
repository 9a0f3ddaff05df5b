//! A small HTTP/1.1 server for GET requests on `std::net`: one thread accepts and answers
//! connections one after the other (`Connection: close`), with time-outs so a silent client
//! cannot hold it.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The largest request head read.
const MAX_HEAD: usize = 8 << 10;
/// How long a client may take to send its request or read the response.
const CLIENT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A response.
#[derive(Debug, PartialEq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
}

impl Response {
    pub(crate) fn ok(content_type: &'static str, body: String) -> Response {
        Response { status: 200, content_type, body }
    }

    /// A 404 with `message` as JSON (`{"message": ...}`), as Spark's REST API answers.
    pub(crate) fn not_found(message: String) -> Response {
        Response { status: 404, content_type: JSON, body: serde_json::json!({ "message": message }).to_string() }
    }

    /// A 404 page saying `html` (already escaped).
    pub(crate) fn not_found_page(html: String) -> Response {
        Response { status: 404, content_type: HTML, body: html }
    }
}

pub(crate) const JSON: &str = "application/json";
pub(crate) const HTML: &str = "text/html; charset=utf-8";
pub(crate) const SVG: &str = "image/svg+xml";
pub(crate) const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Binds `addr`, trying up to `retries` following ports while the port is taken.
pub(crate) fn bind(addr: SocketAddr, retries: u16) -> io::Result<TcpListener> {
    let mut addr = addr;
    let mut left = retries;
    loop {
        match TcpListener::bind(addr) {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && left > 0 && addr.port() != 0 => {
                left -= 1;
                addr.set_port(addr.port().wrapping_add(1).max(1));
            }
            other => return other,
        }
    }
}

/// The serving thread and how to stop it.
#[derive(Debug)]
pub(crate) struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Server {
    /// Serves `listener` on a thread of its own, answering each GET with `handler(path, query)`.
    pub(crate) fn start(
        listener: TcpListener,
        handler: impl Fn(&str, &str) -> Response + Send + 'static,
    ) -> io::Result<Server> {
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new().name("sluice-ui".into()).spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(conn) = conn {
                        if let Err(e) = serve(conn, &handler) {
                            tracing::debug!("Streaming UI: a request failed: {e}");
                        }
                    }
                }
            })?
        };
        Ok(Server { addr, stop, thread })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting (waking the thread with a connection of its own) and joins it.
    pub(crate) fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        // Without the wake-up connection the thread would wait in `accept` forever: leave it.
        if TcpStream::connect_timeout(&wake, CLIENT_TIMEOUT).is_ok() {
            let _ = self.thread.join();
        }
    }
}

/// Answers one connection.
fn serve(mut conn: TcpStream, handler: &impl Fn(&str, &str) -> Response) -> io::Result<()> {
    conn.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    conn.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
        if head.len() > MAX_HEAD {
            return respond(&mut conn, &status_only(431, "request header too large"), false);
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut words = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let target = target.split('#').next().unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let response = match method {
        "GET" | "HEAD" if path.starts_with('/') => handler(path, query),
        "GET" | "HEAD" => status_only(400, "bad request"),
        _ => status_only(405, "only GET and HEAD are served"),
    };
    respond(&mut conn, &response, method == "HEAD")
}

fn status_only(status: u16, message: &str) -> Response {
    Response { status, content_type: "text/plain; charset=utf-8", body: format!("{message}\n") }
}

fn respond(conn: &mut TcpStream, r: &Response, head_only: bool) -> io::Result<()> {
    let reason = match r.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "",
    };
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        r.status,
        r.content_type,
        r.body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(r.body.as_bytes());
    }
    conn.write_all(&out)?;
    conn.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(request.as_bytes()).unwrap();
        let mut s = String::new();
        c.read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn answers_get_refuses_other_methods_and_stops() {
        let listener = bind("127.0.0.1:0".parse().unwrap(), 0).unwrap();
        let server =
            Server::start(listener, |p, q| Response::ok(JSON, format!("{{\"path\":\"{p}\",\"q\":\"{q}\"}}"))).unwrap();
        let r = get(server.addr(), "GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\n\r\n");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.ends_with("\r\n\r\n{\"path\":\"/a/b\",\"q\":\"x=1\"}"), "{r}");
        assert!(r.contains("Content-Length: 25\r\n"), "{r}");
        assert!(get(server.addr(), "POST / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405 "));
        assert!(get(server.addr(), "GET x HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400 "));
        let head = get(server.addr(), "HEAD /a HTTP/1.1\r\n\r\n");
        assert!(head.ends_with("\r\n\r\n") && head.contains("Content-Length: 20\r\n"), "{head}");
        let addr = server.addr();
        server.stop();
        assert!(TcpStream::connect(addr).is_err(), "still listening after stop");
    }

    #[test]
    fn a_taken_port_is_an_error_unless_retries_are_allowed() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        assert_eq!(bind(addr, 0).unwrap_err().kind(), io::ErrorKind::AddrInUse);
        let next = bind(addr, 16).unwrap().local_addr().unwrap();
        assert!(next.port() > addr.port() && next.port() <= addr.port() + 16, "{next}");
    }
}
