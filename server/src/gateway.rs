//! The nginx gateway's configuration, generated from the app's own settings.
//!
//! Why generated, not hand-written: the gateway must agree with the instances behind it — the
//! largest body the app accepts ([`security::BODY_LIMIT`]), how long a checkout may take (the
//! payment timeout), where the built assets live and under which version, which paths are
//! sign-in and checkout. A copy kept by hand drifts; this one is rendered from the same
//! [`Config`] (the same environment) by `baedal gateway-config` and by `baedal cluster`, and the
//! committed example `deploy/nginx/baedal.conf` is checked against the renderer by a test.
//!
//! What the configuration does, and why:
//! - **Balancing**: `least_conn` over the web instances, so long-lived live streams spread
//!   evenly; connections to them are kept alive (`keepalive`). The upstream lives in a shared
//!   `zone`, so that all of nginx's worker processes count connections and failures together.
//! - **Passive health checks** (open-source nginx has no active ones): a connection refused or
//!   reset marks the instance failed for `fail_timeout` (`max_fails=1`), and the request goes to
//!   the next instance (`proxy_next_upstream`). Pages and other GETs are retried on errors and
//!   timeouts. Server functions (POST) are retried on connection errors only
//!   (`error non_idempotent`, never `timeout`): an error there means the instance refused the
//!   connection, closed a kept-alive one, or died mid-request. The first two never reached the
//!   app; for the third, every state-changing server function is safe to repeat —
//!   `place_order` carries its idempotency key (a repeat gets the same order, charged once),
//!   and the others are transitions guarded by the order's status (a repeat changes nothing
//!   and answers 409). A timeout is not retried: the first attempt may still be running.
//! - **Readiness and rolling restarts**: an instance told to stop fails `/readyz` and keeps
//!   serving through its drain period (for balancers that probe, such as Kubernetes), then
//!   ends its live streams and refuses new connections in the same moment; nginx sends what
//!   would have gone there to another instance. See `RunningServer::drain`.
//! - **`/live`** (Server-Sent Events) is passed unbuffered (`proxy_buffering off`), never
//!   compressed, with a read timeout well above the stream's 15 s keep-alive comments.
//! - **Request ids**: the client's `X-Request-Id` when it is a plain token, else a fresh one
//!   (`$request_id`), passed to the app (which echoes it and logs with it), put in the access
//!   log and on every answer, including the gateway's own refusals.
//! - **Client address**: `X-Forwarded-For` gets the peer's address appended; the app reads the
//!   last entry only with `BAEDAL_TRUST_FORWARDED=true`, which `baedal cluster` sets — the
//!   instances listen on loopback, so only the gateway can reach them.
//! - **Limits**: bodies over the app's limit get 413 here; sign-in and checkout requests per
//!   client address are rate-limited (`limit_req`, 429) before any instance is bothered; the
//!   app's own per-account and per-address limits still apply behind it.
//! - **Assets**: `/pkg/<version>/…` straight from the site directory with the brotli or gzip
//!   file built beside each (`brotli_static`, `gzip_static`) and `immutable` caching; other
//!   static files (the rider's service worker, the manifest) go to the app, which gives them
//!   `no-cache`.
//! - **`/metrics`** is not exposed: operators scrape each instance directly.

use crate::config::Config;
use crate::security;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where Debian's `libnginx-mod-http-brotli-static` puts the module.
pub const BROTLI_STATIC_MODULE: &str = "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so";

/// Everything the rendered configuration depends on (so rendering is a pure function).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    pub listen: std::net::SocketAddr,
    /// The web instances, `host:port`.
    pub upstreams: Vec<String>,
    /// Absolute path of the built site (`BAEDAL_SITE_ROOT`).
    pub site_root: PathBuf,
    /// Absolute path of the run directory (pid, logs, nginx's temporary files).
    pub run_dir: PathBuf,
    /// Largest request body (the app's [`security::BODY_LIMIT`]).
    pub body_limit: usize,
    /// Longest a server function may take (the checkout's wait for its payment, with margin).
    pub api_timeout: Duration,
    pub sign_in_per_minute: u64,
    pub sign_in_burst: u64,
    pub checkout_per_minute: u64,
    pub checkout_burst: u64,
    /// Load Debian's brotli_static module (else only gzip files are served precompressed).
    pub brotli: bool,
    /// nginx started by root would run its workers as `nobody`; the cluster runs it as the
    /// current user, so as root it must say `user root`.
    pub as_root: bool,
}

/// How long a stream may stay silent: four times the app's 15 s keep-alive comment.
const LIVE_READ_TIMEOUT: Duration = Duration::from_secs(60);

impl Gateway {
    /// The gateway for `config`: its `BAEDAL_GATEWAY_*` settings, the app's limits and paths.
    /// Relative paths are taken from the current directory.
    pub fn from_config(config: &Config) -> Gateway {
        let absolute = |path: &Path| {
            if path.is_absolute() {
                path.to_path_buf()
            } else {
                std::env::current_dir()
                    .map(|dir| dir.join(path))
                    .unwrap_or_else(|_| path.to_path_buf())
            }
        };
        Gateway {
            listen: config.gateway.addr,
            upstreams: config.gateway.upstreams.clone(),
            site_root: absolute(&config.site_root),
            run_dir: absolute(&config.gateway.run_dir),
            body_limit: security::BODY_LIMIT,
            // A checkout waits for its payment twice at most (a retry after taking over a
            // claim) plus the database: the same bound the app uses (`checkout_wait`).
            api_timeout: config.payment.timeout * 2 + Duration::from_secs(12),
            sign_in_per_minute: config.gateway.sign_in_per_minute,
            sign_in_burst: config.gateway.sign_in_burst,
            checkout_per_minute: config.gateway.checkout_per_minute,
            checkout_burst: config.gateway.checkout_burst,
            brotli: Path::new(BROTLI_STATIC_MODULE).exists(),
            as_root: running_as_root(),
        }
    }

    /// The example committed as `deploy/nginx/baedal.conf` (default settings, three instances).
    pub fn example() -> Gateway {
        let config = Config::from_lookup(|name| match name {
            "BAEDAL_GATEWAY_UPSTREAMS" => {
                Some("127.0.0.1:3101,127.0.0.1:3102,127.0.0.1:3103".into())
            }
            "BAEDAL_SITE_ROOT" => Some("/srv/baedal/site".into()),
            "BAEDAL_RUN_DIR" => Some("/run/baedal".into()),
            _ => None,
        })
        .expect("the example's settings are valid");
        Gateway {
            brotli: true,
            as_root: false,
            ..Gateway::from_config(&config)
        }
    }

    /// The complete `nginx.conf` (nginx runs with `-c` on it and `-p` on the run directory).
    pub fn render(&self) -> String {
        let run = self.run_dir.display();
        let site = self.site_root.display();
        let api_timeout = self.api_timeout.as_secs().max(1);
        let live_timeout = LIVE_READ_TIMEOUT.as_secs();
        let body_kib = self.body_limit.div_ceil(1024);
        let mut out = String::new();
        let w = &mut out;
        let _ = writeln!(
            w,
            "# nginx in front of Baedal's web instances. GENERATED by `baedal gateway-config` (or
# `baedal cluster`) from the app's settings: change the settings (BAEDAL_GATEWAY_*, BAEDAL_*)
# and generate it again rather than editing it. Why each part is there: server/src/gateway.rs.
#
#   nginx -p {run} -c {run}/nginx.conf -g 'daemon off;'
"
        );
        if self.brotli {
            let _ = writeln!(w, "load_module {BROTLI_STATIC_MODULE};");
        }
        if self.as_root {
            let _ = writeln!(
                w,
                "# Started by root: keep the workers as the current user (they read the site and\n\
                 # write the run directory), as a development cluster does.\nuser root;"
            );
        }
        let _ = writeln!(
            w,
            "worker_processes auto;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;

events {{
    worker_connections 4096;
}}

http {{
    client_body_temp_path {run}/nginx-temp/client_body;
    proxy_temp_path {run}/nginx-temp/proxy;
    fastcgi_temp_path {run}/nginx-temp/fastcgi;
    uwsgi_temp_path {run}/nginx-temp/uwsgi;
    scgi_temp_path {run}/nginx-temp/scgi;

    types {{
        text/html html;
        text/css css;
        application/javascript js;
        application/wasm wasm;
        image/svg+xml svg;
        application/manifest+json webmanifest;
    }}
    default_type application/octet-stream;

    server_tokens off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    # Pages and server-function answers come compressed from the app; assets are compressed at
    # build time; the live stream must never be. So nginx compresses nothing on the fly.
    gzip off;

    # Request ids: the client's when it is a plain token, else a fresh one.
    map $http_x_request_id $baedal_request_id {{
        \"~^[A-Za-z0-9._:-]{{1,128}}$\" $http_x_request_id;
        default $request_id;
    }}

    log_format baedal '$remote_addr [$time_iso8601] \"$request\" $status $body_bytes_sent '
                      'rid=$baedal_request_id upstream=$upstream_addr '
                      'upstream_status=$upstream_status time=$request_time';
    access_log {run}/nginx-access.log baedal;

    # Limits: the app refuses bigger bodies too (413), but here they cost no instance anything.
    client_max_body_size {body_kib}k;
    client_body_buffer_size {body_kib}k;
    client_header_timeout 10s;
    client_body_timeout 10s;
    send_timeout 30s;
    keepalive_timeout 65s;

    # Per client address. Behind another balancer, set real_ip_header / set_real_ip_from so
    # that $binary_remote_addr is the client's, not the balancer's.
    limit_req_zone $binary_remote_addr zone=baedal_sign_in:10m rate={sign_in}r/m;
    limit_req_zone $binary_remote_addr zone=baedal_checkout:10m rate={checkout}r/m;
    limit_req_status 429;
    limit_req_log_level warn;

    upstream baedal_web {{
        # Shared by nginx's worker processes: one view of each instance's connections and
        # failures, not one per worker.
        zone baedal_web 64k;
        least_conn;",
            sign_in = self.sign_in_per_minute,
            checkout = self.checkout_per_minute,
        );
        for upstream in &self.upstreams {
            let _ = writeln!(w, "        server {upstream} max_fails=1 fail_timeout=2s;");
        }
        let _ = writeln!(
            w,
            "        keepalive 64;
        keepalive_timeout 30s;
    }}

    server {{
        listen {listen};

        proxy_http_version 1.1;
        proxy_set_header Connection \"\";
        # The address the client used, port included: the app's same-origin check compares the
        # browser's Origin with it.
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Request-Id $baedal_request_id;
        # One X-Request-Id on every answer, the gateway's own refusals included.
        proxy_hide_header X-Request-Id;
        add_header X-Request-Id $baedal_request_id always;

        proxy_connect_timeout 2s;
        proxy_send_timeout 30s;
        proxy_read_timeout {api_timeout}s;
        proxy_next_upstream error timeout;
        proxy_next_upstream_tries 3;
        proxy_next_upstream_timeout 10s;

        # Pages, and everything not named below.
        location / {{
            proxy_pass http://baedal_web;
        }}

        # Live updates (Server-Sent Events): unbuffered, uncompressed, long-lived.
        location = /live {{
            proxy_pass http://baedal_web;
            proxy_buffering off;
            proxy_cache off;
            proxy_read_timeout {live_timeout}s;
        }}

        # Server functions: retried on connection errors only (see server/src/gateway.rs).
        location /api/ {{
            proxy_pass http://baedal_web;
            proxy_next_upstream error non_idempotent;
        }}

        location = /api/sign_in {{
            limit_req zone=baedal_sign_in burst={sign_in_burst} nodelay;
            proxy_pass http://baedal_web;
            proxy_next_upstream error non_idempotent;
        }}

        location = /api/place_order {{
            limit_req zone=baedal_checkout burst={checkout_burst} nodelay;
            proxy_pass http://baedal_web;
            proxy_next_upstream error non_idempotent;
        }}

        # Build assets, content-addressed: served here, precompressed, cached for a year.
        location ~ \"^/pkg/[0-9a-f]+/[^/]+$\" {{
            root {site};
            gzip_static on;{brotli_line}
            add_header Cache-Control \"public, max-age=31536000, immutable\" always;
            add_header Vary Accept-Encoding always;
            add_header X-Content-Type-Options nosniff always;
            add_header X-Request-Id $baedal_request_id always;
            access_log off;
        }}

        # Operators scrape each instance's /metrics directly.
        location = /metrics {{
            return 404;
        }}
    }}
}}",
            listen = self.listen,
            sign_in_burst = self.sign_in_burst,
            checkout_burst = self.checkout_burst,
            brotli_line = if self.brotli {
                "\n            brotli_static on;"
            } else {
                ""
            },
        );
        out
    }

    /// Writes `nginx.conf` into the run directory (with nginx's temporary directories) and
    /// returns its path.
    pub fn write(&self) -> std::io::Result<PathBuf> {
        for dir in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            std::fs::create_dir_all(self.run_dir.join("nginx-temp").join(dir))?;
        }
        let path = self.run_dir.join("nginx.conf");
        std::fs::write(&path, self.render())?;
        Ok(path)
    }
}

fn running_as_root() -> bool {
    // /proc/self/status: "Uid:\treal\teffective\t…"; no libc needed.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .and_then(|line| line.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_example_is_what_the_generator_renders() {
        let committed = include_str!("../../deploy/nginx/baedal.conf");
        let rendered = Gateway::example().render();
        assert!(
            committed == rendered,
            "deploy/nginx/baedal.conf is not what the generator renders: run \
             `cargo run -p server --bin baedal -- gateway-config --example > deploy/nginx/baedal.conf`"
        );
    }

    #[test]
    fn the_configuration_follows_the_settings() {
        let config = Config::from_lookup(|name| match name {
            "BAEDAL_GATEWAY_UPSTREAMS" => Some("10.0.0.1:3000,10.0.0.2:3000".into()),
            "BAEDAL_GATEWAY_SIGNIN_PER_MIN" => Some("7".into()),
            "BAEDAL_GATEWAY_CHECKOUT_BURST" => Some("3".into()),
            "BAEDAL_PAYMENT_TIMEOUT_MS" => Some("10000".into()),
            "BAEDAL_GATEWAY_ADDR" => Some("0.0.0.0:80".into()),
            _ => None,
        })
        .unwrap();
        let conf = Gateway::from_config(&config).render();
        for needle in [
            "server 10.0.0.1:3000 max_fails=1 fail_timeout=2s;",
            "server 10.0.0.2:3000 max_fails=1 fail_timeout=2s;",
            "zone=baedal_sign_in:10m rate=7r/m;",
            "limit_req zone=baedal_checkout burst=3 nodelay;",
            "proxy_read_timeout 32s;",
            "client_max_body_size 64k;",
            "listen 0.0.0.0:80;",
            "least_conn;",
        ] {
            assert!(conf.contains(needle), "missing {needle:?} in\n{conf}");
        }
        assert_eq!(conf.matches("proxy_pass http://baedal_web;").count(), 5);
    }
}
