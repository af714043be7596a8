//! Fetching feeds and pages over HTTP(S), safely.
//!
//! This module owns every network request the ingest side makes: `varta ingest <url>` and feed
//! polling both come through [`fetch`]. It exists as one small, audited place because Varta is
//! often run on an analyst's workstation or on a server next to internal services, and the URLs
//! it fetches come from untrusted material (feeds, posts, redirects chosen by the sites we are
//! investigating). A fetch must therefore never become a way to reach the analyst's own network
//! (server-side request forgery), and a hostile server must not be able to exhaust memory or hang
//! a collector.
//!
//! What it guarantees:
//! - only `http` and `https` URLs, on the first request and on every redirect hop;
//! - the host is resolved here, every resolved address is checked with [`is_forbidden_ip`], and
//!   ureq is handed exactly those checked addresses through a pinned resolver, so a second DNS
//!   answer (DNS rebinding) can never change where we connect;
//! - redirects are followed here, not by ureq, so each hop gets the same checks; at most
//!   [`FetchPolicy::max_redirects`] of them;
//! - the (decoded) body is capped at [`FetchPolicy::max_body_bytes`]: exceeding it is an error,
//!   never a silent truncation, whatever `Content-Length` claims;
//! - one overall deadline, [`FetchPolicy::timeout`], covers resolution, all hops and the body;
//! - environment proxies (`HTTP_PROXY`, …) are ignored, because a proxy would do its own name
//!   resolution and the address checks above would no longer mean anything.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ureq::Agent;
use ureq::http::Uri;
use ureq::http::header::{CONTENT_TYPE, LOCATION};
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use url::{Host, Url};

/// What a fetch may do. The defaults suit fetching public news sites and feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Allow loopback, private, link-local and other non-public targets. Off by default; turn it
    /// on only for a feed server you run yourself on your own network.
    pub allow_private: bool,
    /// How many redirects to follow before giving up (default 5).
    pub max_redirects: u32,
    /// Largest body accepted, counted after content decoding (default 32 MiB).
    pub max_body_bytes: u64,
    /// Deadline for the whole fetch: name resolution, every redirect hop and the body (default 30 s).
    pub timeout: Duration,
    /// The `User-Agent` header sent with every request.
    pub user_agent: String,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allow_private: false,
            max_redirects: 5,
            max_body_bytes: 32 * 1024 * 1024,
            timeout: Duration::from_secs(30),
            user_agent: format!(
                "Varta/{} (disinformation research; +https://example.invalid/varta)",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

/// A successfully fetched resource (status 2xx).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The URL the body came from, after redirects (without fragment).
    pub final_url: String,
    /// HTTP status of the final response.
    pub status: u16,
    /// Media type from `Content-Type`, lower-cased, without parameters (e.g. `text/html`).
    pub content_type: Option<String>,
    /// The `charset` parameter of `Content-Type`, lower-cased (e.g. `windows-1251`).
    pub charset: Option<String>,
    /// The body, with any `Content-Encoding` (gzip) already removed.
    pub body: Vec<u8>,
    /// The response's `ETag`, to send back as `If-None-Match` on the next poll.
    pub etag: Option<String>,
    /// The response's `Last-Modified`, to send back as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

/// What a poller remembers of the last response, so that an unchanged resource costs the server
/// a `304 Not Modified` instead of its body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The answer to a conditional fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conditional {
    /// The server said 304: nothing new since the validators were given.
    NotModified,
    Fetched(Fetched),
}

/// Why a fetch failed. Messages are meant to be read by an analyst in a log or a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The text is not a URL we can request.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// A scheme other than http or https (file://, ftp://, javascript:, …).
    #[error("refusing URL {url:?}: scheme {scheme:?} is not fetched, only http and https are")]
    UnsupportedScheme { url: String, scheme: String },
    /// The host is (or resolves to) a loopback, private, link-local or otherwise non-public address.
    #[error(
        "refusing to connect to {host} ({addr}): it is a loopback, private, link-local or other \
         non-public address (set allow_private to permit it)"
    )]
    PrivateAddress { host: String, addr: IpAddr },
    /// Name resolution failed or returned nothing.
    #[error("could not resolve host {host}: {reason}")]
    Resolve { host: String, reason: String },
    /// More redirects than the policy allows.
    #[error("too many redirects: gave up after following {limit}, last at {url}")]
    TooManyRedirects { limit: u32, url: String },
    /// A 3xx response without a usable `Location` header.
    #[error("redirect (HTTP {status}) from {url} has no usable Location header: {reason}")]
    BadRedirect {
        url: String,
        status: u16,
        reason: String,
    },
    /// The body was larger than the policy allows (counted after decoding).
    #[error("response body is larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: u64 },
    /// The server answered with a non-success status.
    #[error("server answered HTTP {status}")]
    Http { status: u16 },
    /// The overall deadline passed.
    #[error("timed out (the whole fetch may take at most {timeout:?})")]
    Timeout { timeout: Duration },
    /// TLS handshake or certificate problem.
    #[error("TLS error: {0}")]
    Tls(String),
    /// Connection refused, reset, malformed response and other transport failures.
    #[error("network error: {0}")]
    Transport(String),
}

/// Fetches `url` under `policy`, following redirects itself; see the module doc for the rules.
pub fn fetch(url: &str, policy: &FetchPolicy) -> Result<Fetched, FetchError> {
    match fetch_with(url, policy, &Validators::default(), &Net::SYSTEM)? {
        Conditional::Fetched(f) => Ok(f),
        // Without validators no server may answer 304; one that does has sent nothing.
        Conditional::NotModified => Err(FetchError::Http { status: 304 }),
    }
}

/// Fetches `url` as [`fetch`] does, sending `If-None-Match` / `If-Modified-Since` from
/// `validators` (on every redirect hop: the validators belong to the resource, wherever it is).
pub fn fetch_conditional(
    url: &str,
    policy: &FetchPolicy,
    validators: &Validators,
) -> Result<Conditional, FetchError> {
    fetch_with(url, policy, validators, &Net::SYSTEM)
}

/// Is `ip` an address a fetch of untrusted URLs must not connect to?
///
/// True for loopback, private (10/8, 172.16/12, 192.168/16), shared/CGNAT (100.64/10),
/// link-local (169.254/16, fe80::/10), unspecified, "this network" (0/8), multicast, broadcast and
/// reserved (240/4), documentation and benchmarking ranges, IETF protocol assignments, unique-local
/// (fc00::/7), deprecated site-local (fec0::/10), and for IPv6 anything outside global unicast
/// (2000::/3). IPv6 forms that embed an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64
/// `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the embedded address, because a dual-stack
/// socket or a translator would deliver them there.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0 // "this network", includes 0.0.0.0 (reaches localhost on Linux)
        || a == 10 // private
        || (a == 100 && (64..128).contains(&b)) // shared address space / CGNAT
        || a == 127 // loopback
        || (a == 169 && b == 254) // link-local, includes cloud metadata 169.254.169.254
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated)
        || (a == 192 && b == 168) // private
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224 // multicast 224/4, reserved 240/4, broadcast 255.255.255.255
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    // IPv4-mapped ::ffff:a.b.c.d: a dual-stack socket connects to the IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_forbidden_v4(v4);
    }
    // NAT64 well-known prefix 64:ff9b::/96: a translator forwards to the embedded IPv4 address.
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_forbidden_v4(embedded_v4(seg[6], seg[7]));
    }
    // 6to4 2002:V4ADDR::/48: the relay delivers to the embedded IPv4 address.
    if seg[0] == 0x2002 {
        return is_forbidden_v4(embedded_v4(seg[1], seg[2]));
    }
    // Everything outside global unicast 2000::/3 is loopback, unspecified, IPv4-compatible,
    // discard, unique-local, link-local, site-local, multicast or unassigned: an allow-list is
    // safer than enumerating them.
    if seg[0] & 0xe000 != 0x2000 {
        return true;
    }
    (seg[0] & 0xfe00) == 0x2000 && seg[1] < 0x0200 // 2001::/23 IETF protocol assignments (Teredo, ORCHID, benchmarking)
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation 2001:db8::/32
        || (seg[0] == 0x3fff && seg[1] < 0x1000) // documentation 3fff::/20
        || seg[0] == 0x5f00 // SRv6 segment identifiers, not routable
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// The network-facing decisions, separated so tests can substitute them: which addresses are
/// forbidden and how names resolve. Production always uses [`Net::SYSTEM`].
struct Net<'a> {
    forbidden: &'a dyn Fn(IpAddr) -> bool,
    resolve: &'a ResolveFn,
}

/// Resolves `(host, port)` within the time left.
type ResolveFn = dyn Fn(&str, u16, Duration) -> Result<Vec<SocketAddr>, FetchError>;

impl Net<'static> {
    const SYSTEM: Net<'static> = Net {
        forbidden: &is_forbidden_ip,
        resolve: &system_resolve,
    };
}

fn fetch_with(
    url: &str,
    policy: &FetchPolicy,
    validators: &Validators,
    net: &Net<'_>,
) -> Result<Conditional, FetchError> {
    // A deadline too far away to represent is no deadline at all.
    let deadline = Instant::now().checked_add(policy.timeout);
    let remaining = || -> Result<Duration, FetchError> {
        match deadline {
            None => Ok(policy.timeout),
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Ok(left),
                _ => Err(FetchError::Timeout {
                    timeout: policy.timeout,
                }),
            },
        }
    };

    let mut current = parse_url(url)?;
    let mut redirects = 0u32;
    loop {
        let target = check_target(&current, policy, net, remaining()?)?;
        let mut response = request(&current, target, policy, validators, remaining()?)?;
        let status = response.status().as_u16();
        if status == 304 {
            return Ok(Conditional::NotModified);
        }

        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            if redirects >= policy.max_redirects {
                return Err(FetchError::TooManyRedirects {
                    limit: policy.max_redirects,
                    url: current.to_string(),
                });
            }
            let next = redirect_target(&current, status, response.headers().get(LOCATION))?;
            redirects += 1;
            current = next;
            continue;
        }
        if !(200..300).contains(&status) {
            return Err(FetchError::Http { status });
        }

        let (content_type, charset) = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| parse_content_type(&String::from_utf8_lossy(v.as_bytes())))
            .unwrap_or((None, None));
        let header = |name: ureq::http::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = header(ureq::http::header::ETAG);
        let last_modified = header(ureq::http::header::LAST_MODIFIED);
        let body = read_body(response.body_mut(), policy)?;
        return Ok(Conditional::Fetched(Fetched {
            final_url: current.to_string(),
            status,
            content_type,
            charset,
            body,
            etag,
            last_modified,
        }));
    }
}

/// Parses and vets a URL: absolute, http(s), with a host. Fragments are dropped because they are
/// never sent to a server.
fn parse_url(text: &str) -> Result<Url, FetchError> {
    let mut url = Url::parse(text.trim()).map_err(|e| FetchError::InvalidUrl {
        url: text.to_owned(),
        reason: e.to_string(),
    })?;
    check_scheme(&url)?;
    if url.host().is_none() {
        return Err(FetchError::InvalidUrl {
            url: text.to_owned(),
            reason: "no host".to_owned(),
        });
    }
    url.set_fragment(None);
    Ok(url)
}

fn check_scheme(url: &Url) -> Result<(), FetchError> {
    match url.scheme() {
        "http" | "https" => Ok(()),
        other => Err(FetchError::UnsupportedScheme {
            url: url.to_string(),
            scheme: other.to_owned(),
        }),
    }
}

/// Where one hop will connect: the host as ureq will see it, and the checked addresses.
struct Target {
    host: String,
    addrs: Vec<SocketAddr>,
}

/// Resolves the URL's host (IP literals need no lookup) and refuses the hop if any address is
/// forbidden. "Any", not "all": with several answers we cannot know which one a connection ends up
/// on, and an attacker controlling DNS can mix a public address with an internal one.
fn check_target(
    url: &Url,
    policy: &FetchPolicy,
    net: &Net<'_>,
    time_left: Duration,
) -> Result<Target, FetchError> {
    let port = url
        .port_or_known_default()
        .ok_or_else(|| FetchError::InvalidUrl {
            url: url.to_string(),
            reason: "no port".to_owned(),
        })?;
    let (host, addrs) = match url.host() {
        Some(Host::Ipv4(ip)) => (ip.to_string(), vec![SocketAddr::new(IpAddr::V4(ip), port)]),
        Some(Host::Ipv6(ip)) => (ip.to_string(), vec![SocketAddr::new(IpAddr::V6(ip), port)]),
        Some(Host::Domain(name)) => {
            let name = name.to_ascii_lowercase();
            let addrs = (net.resolve)(&name, port, time_left)?;
            (name, addrs)
        }
        None => {
            return Err(FetchError::InvalidUrl {
                url: url.to_string(),
                reason: "no host".to_owned(),
            });
        }
    };
    if addrs.is_empty() {
        return Err(FetchError::Resolve {
            host,
            reason: "no addresses".to_owned(),
        });
    }
    if !policy.allow_private
        && let Some(bad) = addrs.iter().find(|a| (net.forbidden)(a.ip()))
    {
        return Err(FetchError::PrivateAddress {
            host,
            addr: bad.ip(),
        });
    }
    Ok(Target { host, addrs })
}

/// System name resolution with a deadline. `getaddrinfo` cannot be interrupted, so it runs on a
/// helper thread that we stop waiting for when time is up (the thread ends on its own later).
fn system_resolve(
    host: &str,
    port: u16,
    time_left: Duration,
) -> Result<Vec<SocketAddr>, FetchError> {
    let (tx, rx) = mpsc::sync_channel(1);
    let query = (host.to_owned(), port);
    std::thread::Builder::new()
        .name("varta-resolve".to_owned())
        .spawn(move || {
            let result = query.to_socket_addrs().map(Iterator::collect::<Vec<_>>);
            // The receiver may have given up already; nothing to do then.
            let _ = tx.send(result);
        })
        .map_err(|e| FetchError::Resolve {
            host: host.to_owned(),
            reason: format!("could not start resolver thread: {e}"),
        })?;
    match rx.recv_timeout(time_left) {
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(FetchError::Resolve {
            host: host.to_owned(),
            reason: e.to_string(),
        }),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(FetchError::Resolve {
            host: host.to_owned(),
            reason: format!("no answer within {time_left:?}"),
        }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(FetchError::Resolve {
            host: host.to_owned(),
            reason: "resolver thread ended without an answer".to_owned(),
        }),
    }
}

/// A ureq resolver that answers only with the addresses [`check_target`] already vetted. This is
/// what closes the DNS-rebinding gap: ureq never performs a lookup of its own.
#[derive(Debug)]
struct PinnedResolver {
    host: String,
    addrs: Vec<SocketAddr>,
}

impl Resolver for PinnedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        // http::Uri keeps the brackets around IPv6 literals; url::Host does not.
        let asked = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .unwrap_or_default();
        // Any other host would be a bug (proxies are disabled); refuse rather than guess.
        if !asked.eq_ignore_ascii_case(&self.host) {
            return Err(ureq::Error::HostNotFound);
        }
        let mut out = self.empty();
        for addr in &self.addrs {
            // ureq keeps at most 16 addresses; further ones were checked too, just not offered.
            if out.try_push(*addr).is_err() {
                break;
            }
        }
        Ok(out)
    }
}

/// Sends one GET, without following redirects, connecting only to `target.addrs`.
fn request(
    url: &Url,
    target: Target,
    policy: &FetchPolicy,
    validators: &Validators,
    time_left: Duration,
) -> Result<ureq::http::Response<ureq::Body>, FetchError> {
    let config = Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .user_agent(policy.user_agent.as_str())
        .accept(
            "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,\
             application/xml;q=0.9,*/*;q=0.8",
        )
        .timeout_global(Some(time_left))
        .build();
    // One agent per hop: its pool is keyed by host, and a fresh pinned resolver per hop is the
    // simplest way to guarantee a connection never outlives the check that allowed it.
    let agent = Agent::with_parts(
        config,
        DefaultConnector::new(),
        PinnedResolver {
            host: target.host,
            addrs: target.addrs,
        },
    );
    let mut req = agent.get(url.as_str());
    if let Some(etag) = &validators.etag {
        req = req.header("If-None-Match", etag.as_str());
    }
    if let Some(lm) = &validators.last_modified {
        req = req.header("If-Modified-Since", lm.as_str());
    }
    req.call().map_err(|e| map_ureq_error(e, policy, url))
}

fn map_ureq_error(err: ureq::Error, policy: &FetchPolicy, url: &Url) -> FetchError {
    match err {
        ureq::Error::Timeout(_) => FetchError::Timeout {
            timeout: policy.timeout,
        },
        ureq::Error::Io(e) => map_io_error(e, policy),
        ureq::Error::HostNotFound => FetchError::Resolve {
            host: url.host_str().unwrap_or_default().to_owned(),
            reason: "host not found".to_owned(),
        },
        ureq::Error::BadUri(reason) => FetchError::InvalidUrl {
            url: url.to_string(),
            reason,
        },
        ureq::Error::BodyExceedsLimit(_) => FetchError::BodyTooLarge {
            limit: policy.max_body_bytes,
        },
        ureq::Error::Tls(reason) => FetchError::Tls(reason.to_owned()),
        other => FetchError::Transport(other.to_string()),
    }
}

fn map_io_error(err: std::io::Error, policy: &FetchPolicy) -> FetchError {
    // ureq wraps its own errors (timeouts in particular) in io::Error while the body is read.
    if err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
        .is_some_and(|e| matches!(e, ureq::Error::Timeout(_)))
        || matches!(
            err.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        )
    {
        return FetchError::Timeout {
            timeout: policy.timeout,
        };
    }
    FetchError::Transport(err.to_string())
}

/// Resolves a `Location` header against the URL that returned it and vets the result.
fn redirect_target(
    current: &Url,
    status: u16,
    location: Option<&ureq::http::HeaderValue>,
) -> Result<Url, FetchError> {
    let bad = |reason: String| FetchError::BadRedirect {
        url: current.to_string(),
        status,
        reason,
    };
    let location = location.ok_or_else(|| bad("missing".to_owned()))?;
    // Servers do send raw UTF-8 in Location; url's parser percent-encodes it for us.
    let location = String::from_utf8_lossy(location.as_bytes());
    let location = location.trim();
    if location.is_empty() {
        return Err(bad("empty".to_owned()));
    }
    let mut next = current
        .join(location)
        .map_err(|e| bad(format!("{location:?}: {e}")))?;
    check_scheme(&next)?;
    if next.host().is_none() {
        return Err(bad(format!("{location:?} has no host")));
    }
    next.set_fragment(None);
    Ok(next)
}

/// Splits `Content-Type` into the lower-cased media type and `charset` parameter.
fn parse_content_type(value: &str) -> (Option<String>, Option<String>) {
    let mut parts = value.split(';');
    let media = parts
        .next()
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty());
    let charset = parts.find_map(|param| {
        let (name, val) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let val = val.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        (!val.is_empty()).then(|| val.to_ascii_lowercase())
    });
    (media, charset)
}

/// Reads the body, refusing anything over the limit. `Content-Length` is only used to fail early
/// and to size the buffer; the byte count actually read is what is enforced, so a missing or
/// lying header (or a gzip bomb, which ureq decodes before we count) cannot get past the cap.
fn read_body(body: &mut ureq::Body, policy: &FetchPolicy) -> Result<Vec<u8>, FetchError> {
    let limit = policy.max_body_bytes;
    let too_large = || FetchError::BodyTooLarge { limit };
    let declared = body.content_length();
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    // Never trust the header for more than a modest up-front allocation.
    let initial = declared.unwrap_or(0).min(limit).min(1024 * 1024);
    let mut buf = Vec::with_capacity(usize::try_from(initial).unwrap_or(0));
    // Reading one byte past the limit tells "exactly at the limit" from "over it".
    body.as_reader()
        .take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| map_io_error(e, policy))?;
    if u64::try_from(buf.len()).map_or(true, |n| n > limit) {
        return Err(too_large());
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread::JoinHandle;

    /// How long a test server lives at most, so a failing test can never leave it hanging.
    const SERVER_LIFETIME: Duration = Duration::from_secs(10);

    /// A canned HTTP/1.1 server on 127.0.0.1: `handler` maps the request path to raw response
    /// bytes. It stops after `max_conns` connections or [`SERVER_LIFETIME`], whichever is first.
    struct TestServer {
        port: u16,
        hits: Arc<AtomicUsize>,
        handle: Option<JoinHandle<()>>,
    }

    impl TestServer {
        fn start(
            ip: Ipv4Addr,
            max_conns: usize,
            handler: impl Fn(&str) -> Vec<u8> + Send + 'static,
        ) -> Self {
            let listener = TcpListener::bind((ip, 0)).expect("bind test listener");
            listener.set_nonblocking(true).expect("nonblocking");
            let port = listener.local_addr().expect("local addr").port();
            let hits = Arc::new(AtomicUsize::new(0));
            let counter = Arc::clone(&hits);
            let handle = std::thread::spawn(move || {
                let until = Instant::now() + SERVER_LIFETIME;
                let mut served = 0;
                while served < max_conns && Instant::now() < until {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            served += 1;
                            counter.fetch_add(1, Ordering::SeqCst);
                            serve_one(stream, &handler);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
            Self {
                port,
                hits,
                handle: Some(handle),
            }
        }

        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }

        fn finish(mut self) {
            if let Some(h) = self.handle.take() {
                h.join().expect("server thread");
            }
        }
    }

    fn serve_one(mut stream: TcpStream, handler: &impl Fn(&str) -> Vec<u8>) {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut req = Vec::new();
        let mut chunk = [0u8; 1024];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => req.extend_from_slice(&chunk[..n]),
            }
        }
        let head = String::from_utf8_lossy(&req);
        let mut path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        // Handlers of `/cond…` paths read the request headers too (conditional GET).
        if path.starts_with("/cond") {
            path = head.to_ascii_lowercase();
        }
        // The client may hang up early (that is what a size limit does); ignore write errors.
        let _ = stream.write_all(&handler(&path));
        let _ = stream.flush();
    }

    fn ok(body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=\"Windows-1251\"\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn redirect(status: u16, location: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n"
        )
        .into_bytes()
    }

    fn allow_private() -> FetchPolicy {
        FetchPolicy {
            allow_private: true,
            timeout: Duration::from_secs(5),
            ..FetchPolicy::default()
        }
    }

    /// A redirect chain: `/r/N` redirects to `/r/N-1` (alternating relative and absolute
    /// Locations and redirect codes), `/r/0` is the page.
    fn chain_handler(port: u16) -> impl Fn(&str) -> Vec<u8> + Send + 'static {
        move |path: &str| {
            let n: u32 = path
                .strip_prefix("/r/")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            match n {
                0 => ok("final page"),
                n if n % 2 == 0 => redirect(301, &format!("http://127.0.0.1:{port}/r/{}", n - 1)),
                n => redirect(if n % 3 == 0 { 307 } else { 302 }, &format!("{}", n - 1)),
            }
        }
    }

    #[test]
    fn private_address_refused_by_default_and_error_names_it() {
        let err = fetch("http://127.0.0.1:9/feed.xml", &FetchPolicy::default()).unwrap_err();
        match &err {
            FetchError::PrivateAddress { host, addr } => {
                assert_eq!(host, "127.0.0.1");
                assert_eq!(*addr, IpAddr::V4(Ipv4Addr::LOCALHOST));
            }
            other => panic!("expected PrivateAddress, got {other:?}"),
        }
        assert!(err.to_string().contains("127.0.0.1"), "{err}");
    }

    #[test]
    fn disguised_private_addresses_refused() {
        for url in [
            "http://localhost:9/",
            "http://[::1]:9/",
            "http://[::ffff:127.0.0.1]:9/",
            "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
            "http://2130706433/", // 127.0.0.1 as one decimal number
            "http://0x7f.0.0.1/", // hex octet
            "http://0177.0.0.1/", // octal octet
            "http://169.254.169.254/latest/meta-data/",
            "http://0.0.0.0:9/",
            "http://10.1.2.3/",
            "HTTP://192.168.1.1/",
        ] {
            match fetch(url, &FetchPolicy::default()) {
                Err(FetchError::PrivateAddress { .. }) => {}
                other => panic!("{url}: expected PrivateAddress, got {other:?}"),
            }
        }
    }

    #[test]
    fn allow_private_fetches_body_and_content_type() {
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 1, |_| ok("<p>Привіт</p>"));
        let url = format!("http://127.0.0.1:{}/news#frag", server.port);
        let got = fetch(&url, &allow_private()).expect("fetch");
        assert_eq!(got.status, 200);
        assert_eq!(got.body, "<p>Привіт</p>".as_bytes());
        assert_eq!(got.content_type.as_deref(), Some("text/html"));
        assert_eq!(got.charset.as_deref(), Some("windows-1251"));
        assert_eq!(
            got.final_url,
            format!("http://127.0.0.1:{}/news", server.port)
        );
        server.finish();
    }

    #[test]
    fn redirect_chain_of_max_is_followed() {
        let server = start_chain_server(6);
        let url = format!("http://127.0.0.1:{}/r/5", server.port);
        let got = fetch(&url, &allow_private()).expect("5 redirects are allowed");
        assert_eq!(got.body, b"final page");
        assert_eq!(
            got.final_url,
            format!("http://127.0.0.1:{}/r/0", server.port)
        );
        assert_eq!(server.hits(), 6);
        server.finish();
    }

    /// Starts a chain server; the handler learns its own port through a shared cell.
    fn start_chain_server(max_conns: usize) -> TestServer {
        let port_cell = Arc::new(std::sync::OnceLock::<u16>::new());
        let cell = Arc::clone(&port_cell);
        let server = TestServer::start(Ipv4Addr::LOCALHOST, max_conns, move |path| {
            chain_handler(cell.get().copied().unwrap_or(0))(path)
        });
        port_cell.set(server.port).expect("port set once");
        server
    }

    #[test]
    fn redirect_chain_longer_than_max_fails() {
        let server = start_chain_server(6);
        let url = format!("http://127.0.0.1:{}/r/6", server.port);
        match fetch(&url, &allow_private()) {
            Err(FetchError::TooManyRedirects { limit: 5, .. }) => {}
            other => panic!("expected TooManyRedirects, got {other:?}"),
        }
        // The sixth redirect is seen but not followed.
        assert_eq!(server.hits(), 6);
        server.finish();
    }

    #[test]
    fn zero_redirects_allowed_means_none_followed() {
        let server = start_chain_server(1);
        let url = format!("http://127.0.0.1:{}/r/1", server.port);
        let policy = FetchPolicy {
            max_redirects: 0,
            ..allow_private()
        };
        assert!(matches!(
            fetch(&url, &policy),
            Err(FetchError::TooManyRedirects { limit: 0, .. })
        ));
        server.finish();
    }

    fn small_limit() -> FetchPolicy {
        FetchPolicy {
            max_body_bytes: 1024,
            ..allow_private()
        }
    }

    #[test]
    fn body_over_limit_with_content_length_fails() {
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 1, |_| ok(&"x".repeat(1025)));
        let url = format!("http://127.0.0.1:{}/", server.port);
        assert!(matches!(
            fetch(&url, &small_limit()),
            Err(FetchError::BodyTooLarge { limit: 1024 })
        ));
        server.finish();
    }

    #[test]
    fn body_over_limit_without_content_length_fails() {
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 1, |_| {
            let mut r = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
                .to_vec();
            r.extend(std::iter::repeat_n(b'y', 4096));
            r
        });
        let url = format!("http://127.0.0.1:{}/", server.port);
        assert!(matches!(
            fetch(&url, &small_limit()),
            Err(FetchError::BodyTooLarge { limit: 1024 })
        ));
        server.finish();
    }

    #[test]
    fn chunked_body_over_limit_fails() {
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 1, |_| {
            let mut r =
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    .to_vec();
            for _ in 0..4 {
                r.extend_from_slice(b"200\r\n");
                r.extend(std::iter::repeat_n(b'z', 0x200));
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(b"0\r\n\r\n");
            r
        });
        let url = format!("http://127.0.0.1:{}/", server.port);
        assert!(matches!(
            fetch(&url, &small_limit()),
            Err(FetchError::BodyTooLarge { limit: 1024 })
        ));
        server.finish();
    }

    #[test]
    fn huge_declared_length_fails_before_reading() {
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 1, |_| {
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\nabc"
                .to_vec()
        });
        let url = format!("http://127.0.0.1:{}/", server.port);
        assert!(matches!(
            fetch(&url, &small_limit()),
            Err(FetchError::BodyTooLarge { limit: 1024 })
        ));
        server.finish();
    }

    fn gzip_response(plain: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(plain).expect("gzip");
        let packed = enc.finish().expect("gzip");
        let mut r = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Encoding: gzip\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            packed.len()
        )
        .into_bytes();
        r.extend_from_slice(&packed);
        r
    }

    #[test]
    fn gzip_body_is_decoded() {
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 1, |_| gzip_response(b"<rss/>"));
        let url = format!("http://127.0.0.1:{}/feed", server.port);
        let got = fetch(&url, &small_limit()).expect("gzip fetch");
        assert_eq!(got.body, b"<rss/>");
        server.finish();
    }

    #[test]
    fn gzip_bomb_is_capped_after_decoding() {
        // About 100 bytes on the wire, 1 MiB once inflated: the cap counts inflated bytes.
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 1, |_| {
            gzip_response(&vec![b'0'; 1024 * 1024])
        });
        let url = format!("http://127.0.0.1:{}/", server.port);
        assert!(matches!(
            fetch(&url, &small_limit()),
            Err(FetchError::BodyTooLarge { limit: 1024 })
        ));
        server.finish();
    }

    #[test]
    fn body_exactly_at_limit_is_accepted() {
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 1, |_| {
            let mut r = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
            r.extend(std::iter::repeat_n(b'a', 1024));
            r
        });
        let url = format!("http://127.0.0.1:{}/", server.port);
        let got = fetch(&url, &small_limit()).expect("at the limit");
        assert_eq!(got.body.len(), 1024);
        server.finish();
    }

    #[test]
    fn conditional_get_sends_validators_and_reads_304() {
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 2, |req: &str| {
            if req.contains("if-none-match: \"v1\"") {
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec()
            } else {
                b"HTTP/1.1 200 OK\r\nETag: \"v1\"\r\nLast-Modified: Mon, 07 Dec 2026 10:00:00 GMT\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi".to_vec()
            }
        });
        let url = format!("http://127.0.0.1:{}/cond", server.port);
        let first = fetch_conditional(&url, &allow_private(), &Validators::default()).unwrap();
        let Conditional::Fetched(f) = first else {
            panic!("expected a body")
        };
        assert_eq!(f.etag.as_deref(), Some("\"v1\""));
        assert_eq!(
            f.last_modified.as_deref(),
            Some("Mon, 07 Dec 2026 10:00:00 GMT")
        );
        let v = Validators {
            etag: f.etag,
            last_modified: f.last_modified,
        };
        assert_eq!(
            fetch_conditional(&url, &allow_private(), &v).unwrap(),
            Conditional::NotModified
        );
        server.finish();
    }

    #[test]
    fn http_error_status_is_reported() {
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 1, |_| {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        });
        let url = format!("http://127.0.0.1:{}/gone", server.port);
        let err = fetch(&url, &allow_private()).unwrap_err();
        assert!(matches!(err, FetchError::Http { status: 404 }), "{err:?}");
        assert!(err.to_string().contains("404"));
        server.finish();
    }

    #[test]
    fn redirect_without_location_is_an_error() {
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 1, |_| {
            b"HTTP/1.1 302 Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        });
        let url = format!("http://127.0.0.1:{}/", server.port);
        assert!(matches!(
            fetch(&url, &allow_private()),
            Err(FetchError::BadRedirect { status: 302, .. })
        ));
        server.finish();
    }

    #[test]
    fn redirect_to_other_scheme_is_refused() {
        for target in ["file:///etc/passwd", "ftp://example.com/x", "gopher://x/"] {
            let loc = target.to_owned();
            let server = TestServer::start(Ipv4Addr::LOCALHOST, 1, move |_| redirect(302, &loc));
            let url = format!("http://127.0.0.1:{}/", server.port);
            match fetch(&url, &allow_private()) {
                Err(FetchError::UnsupportedScheme { .. }) => {}
                other => panic!("{target}: expected UnsupportedScheme, got {other:?}"),
            }
            server.finish();
        }
    }

    #[test]
    fn non_http_schemes_refused() {
        for url in [
            "file:///etc/passwd",
            "ftp://ftp.example.com/feed.xml",
            "javascript:alert(1)",
            "data:text/html,hi",
            "gopher://example.com/",
        ] {
            match fetch(url, &allow_private()) {
                Err(FetchError::UnsupportedScheme { scheme, .. }) => {
                    assert!(!scheme.starts_with("http"), "{url}");
                }
                other => panic!("{url}: expected UnsupportedScheme, got {other:?}"),
            }
        }
    }

    #[test]
    fn garbage_urls_are_invalid() {
        for url in ["", "not a url", "/relative/path", "http://", "http://[::1"] {
            match fetch(url, &allow_private()) {
                Err(FetchError::InvalidUrl { .. }) => {}
                other => panic!("{url:?}: expected InvalidUrl, got {other:?}"),
            }
        }
    }

    #[test]
    fn slow_server_times_out() {
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 1, |_| {
            std::thread::sleep(Duration::from_millis(1500));
            ok("late")
        });
        let url = format!("http://127.0.0.1:{}/", server.port);
        let policy = FetchPolicy {
            timeout: Duration::from_millis(300),
            ..allow_private()
        };
        let started = Instant::now();
        let err = fetch(&url, &policy).unwrap_err();
        assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        server.finish();
    }

    // The next tests run with allow_private = false against 127.0.0.1 by swapping in a policy
    // that treats 127.0.0.1 (only) as public, and a fake DNS.

    fn fetch_net(url: &str, net: &Net<'_>) -> Result<Fetched, FetchError> {
        match fetch_with(url, &FetchPolicy::default(), &Validators::default(), net)? {
            Conditional::Fetched(f) => Ok(f),
            Conditional::NotModified => panic!("304 without validators"),
        }
    }

    fn public_loopback(ip: IpAddr) -> bool {
        ip != IpAddr::V4(Ipv4Addr::LOCALHOST) && is_forbidden_ip(ip)
    }

    #[test]
    fn redirect_to_forbidden_address_is_refused_after_allowed_first_hop() {
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 1, |_| {
            redirect(302, "http://127.0.0.2:8080/admin")
        });
        let net = Net {
            forbidden: &public_loopback,
            resolve: &system_resolve,
        };
        let url = format!("http://127.0.0.1:{}/", server.port);
        match fetch_net(&url, &net) {
            Err(FetchError::PrivateAddress { host, addr }) => {
                assert_eq!(host, "127.0.0.2");
                assert_eq!(addr, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
            }
            other => panic!("expected PrivateAddress, got {other:?}"),
        }
        assert_eq!(server.hits(), 1);
        server.finish();
    }

    #[test]
    fn names_resolve_through_the_checked_pinned_addresses() {
        // "news.test" does not exist in real DNS: the fetch can only succeed if ureq connects to
        // the address our resolver vetted, never doing a lookup of its own.
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 2, |path| match path {
            "/start" => redirect(302, "/end"),
            _ => ok("pinned"),
        });
        let resolve = |host: &str, port: u16, _: Duration| match host {
            "news.test" => Ok(vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)]),
            _ => Err(FetchError::Resolve {
                host: host.to_owned(),
                reason: "unknown".to_owned(),
            }),
        };
        let net = Net {
            forbidden: &public_loopback,
            resolve: &resolve,
        };
        let url = format!("http://NEWS.test:{}/start", server.port);
        let got = fetch_net(&url, &net).expect("fetch");
        assert_eq!(got.body, b"pinned");
        assert_eq!(
            got.final_url,
            format!("http://news.test:{}/end", server.port)
        );
        server.finish();
    }

    #[test]
    fn any_forbidden_resolved_address_refuses_the_host() {
        // A rebinding-style answer: one public address, one internal. We refuse the host even
        // though a connection might have gone to the public one.
        let server = TestServer::start(Ipv4Addr::LOCALHOST, 1, |_| {
            redirect(302, "http://rebind.test/")
        });
        let resolve = |host: &str, port: u16, _: Duration| {
            Ok(match host {
                "rebind.test" => vec![
                    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
                    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)), port),
                ],
                _ => vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)],
            })
        };
        let net = Net {
            forbidden: &public_loopback,
            resolve: &resolve,
        };
        let url = format!("http://start.test:{}/", server.port);
        match fetch_net(&url, &net) {
            Err(FetchError::PrivateAddress { host, addr }) => {
                assert_eq!(host, "rebind.test");
                assert_eq!(addr, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)));
            }
            other => panic!("expected PrivateAddress, got {other:?}"),
        }
        server.finish();
    }

    #[test]
    fn pinned_resolver_refuses_other_hosts() {
        let r = PinnedResolver {
            host: "news.test".to_owned(),
            addrs: vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 80)],
        };
        let config = Agent::config_builder().build();
        let other: Uri = "http://evil.test/".parse().expect("uri");
        assert!(r.resolve(&other, &config, NextTimeout::default()).is_err());
        let same: Uri = "http://news.test/".parse().expect("uri");
        let got = r
            .resolve(&same, &config, NextTimeout::default())
            .expect("pinned host");
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn forbidden_ip_table() {
        let forbidden = [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.0.1",
            "192.168.255.255",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:192.168.1.1",
            "::ffff:0.0.0.0",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:db8::1",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fd12:3456:789a::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff05::2",
        ];
        let allowed = [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "126.255.255.255",
            "128.0.0.1",
            "169.253.1.1",
            "169.255.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.167.1.1",
            "192.169.1.1",
            "198.17.1.1",
            "198.20.1.1",
            "203.0.114.1",
            "223.255.255.255",
            "91.198.174.192",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "2001:4860:4860::8888",
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "2001:200::1",
        ];
        for s in forbidden {
            let ip: IpAddr = s.parse().expect(s);
            assert!(is_forbidden_ip(ip), "{s} should be forbidden");
        }
        for s in allowed {
            let ip: IpAddr = s.parse().expect(s);
            assert!(!is_forbidden_ip(ip), "{s} should be allowed");
        }
    }

    #[test]
    fn every_v4_forbidden_address_stays_forbidden_when_mapped_to_v6() {
        // Walk a stride through the whole IPv4 space: the mapped and NAT64 forms must always
        // agree with the plain form.
        let mut x: u32 = 0;
        loop {
            let v4 = Ipv4Addr::from(x);
            let plain = is_forbidden_ip(IpAddr::V4(v4));
            assert_eq!(
                plain,
                is_forbidden_ip(IpAddr::V6(v4.to_ipv6_mapped())),
                "{v4}"
            );
            let [a, b, c, d] = v4.octets();
            let nat64 = Ipv6Addr::new(
                0x64,
                0xff9b,
                0,
                0,
                0,
                0,
                u16::from_be_bytes([a, b]),
                u16::from_be_bytes([c, d]),
            );
            assert_eq!(plain, is_forbidden_ip(IpAddr::V6(nat64)), "{v4}");
            match x.checked_add(65_521) {
                Some(next) => x = next,
                None => break,
            }
        }
    }

    #[test]
    fn content_type_parsing() {
        assert_eq!(
            parse_content_type("text/html; charset=UTF-8"),
            (Some("text/html".into()), Some("utf-8".into()))
        );
        assert_eq!(
            parse_content_type("Application/RSS+XML;Charset=\"windows-1251\" ; q=1"),
            (
                Some("application/rss+xml".into()),
                Some("windows-1251".into())
            )
        );
        assert_eq!(
            parse_content_type("text/plain"),
            (Some("text/plain".into()), None)
        );
        assert_eq!(parse_content_type(""), (None, None));
        assert_eq!(parse_content_type("; charset="), (None, None));
    }

    #[test]
    fn relative_locations_resolve_against_current_url() {
        let base = Url::parse("https://news.example/uk/2024/03/story?id=1").expect("base");
        let hv = |s: &str| ureq::http::HeaderValue::from_str(s).expect("header");
        let cases = [
            ("/amp/story", "https://news.example/amp/story"),
            ("other", "https://news.example/uk/2024/03/other"),
            ("../02/x#top", "https://news.example/uk/2024/02/x"),
            ("//cdn.example/a", "https://cdn.example/a"),
            ("?page=2", "https://news.example/uk/2024/03/story?page=2"),
            ("http://plain.example/", "http://plain.example/"),
        ];
        for (loc, want) in cases {
            let got = redirect_target(&base, 302, Some(&hv(loc))).expect(loc);
            assert_eq!(got.as_str(), want, "{loc}");
        }
        assert!(matches!(
            redirect_target(&base, 301, None),
            Err(FetchError::BadRedirect { status: 301, .. })
        ));
        assert!(matches!(
            redirect_target(&base, 301, Some(&hv("file:///etc/passwd"))),
            Err(FetchError::UnsupportedScheme { .. })
        ));
    }
}
