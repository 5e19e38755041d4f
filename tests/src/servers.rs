//! Real servers started for tests on 127.0.0.1: Prometheus (with backfilled
//! data) and Alertmanager, from Debian's `prometheus` and
//! `prometheus-alertmanager` packages. Real servers catch what a fake would
//! agree with wrongly: PromQL parsing and escaping, error envelopes, result
//! shapes. A missing binary fails the test saying what to install; it never
//! skips, so CI cannot go green without having run them.

use chrono::{DateTime, Duration, Utc};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;
use tempfile::TempDir;

/// How long a server may take to become ready (slow shared CI machines).
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// The path of `program` on `$PATH` (or in /usr/bin), or a panic naming the
/// Debian package that provides it.
fn binary(program: &str, package: &str) -> PathBuf {
    let dirs = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    dirs.into_iter().chain([PathBuf::from("/usr/bin")]).map(|d| d.join(program)).find(|p| p.is_file()).unwrap_or_else(
        || {
            panic!(
                "`{program}` is not installed; these tests run the real server. \
                 Install it with `sudo apt-get install -y {package}` (Debian/Ubuntu)."
            )
        },
    )
}

/// A free port on 127.0.0.1 (bound, then released for the server to take).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// A started server process, killed on drop.
#[derive(Debug)]
struct Daemon {
    name: &'static str,
    child: Child,
    log: PathBuf,
    url: String,
}

impl Daemon {
    fn spawn(name: &'static str, mut cmd: Command, dir: &Path, port: u16) -> Daemon {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap_or_else(|e| panic!("creating {}: {e}", log.display()));
        let err = out.try_clone().unwrap_or_else(|e| panic!("log file: {e}"));
        let child =
            cmd.stdin(Stdio::null()).stdout(out).stderr(err).spawn().unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Daemon { name, child, log, url: format!("http://127.0.0.1:{port}") }
    }

    /// The last lines of the server's log, for failure messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Polls `GET path` until `ok(body)`, panicking with the log if the server
    /// exits or takes longer than [`READY_WITHIN`].
    async fn wait_for(&mut self, path: &str, what: &str, ok: impl Fn(&str) -> bool) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) before {what}; its log:\n{}", self.name, self.log_tail());
            }
            let answer = client.get(format!("{}{path}", self.url)).send().await;
            if let Ok(resp) = answer
                && resp.status().is_success()
                && let Ok(body) = resp.text().await
                && ok(&body)
            {
                return;
            }
            if started.elapsed() > READY_WITHIN {
                panic!("{} not {what} within {READY_WITHIN:?}; its log:\n{}", self.name, self.log_tail());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a real Prometheus.
#[derive(Debug, Clone, Copy)]
pub struct Prometheus;

/// A Prometheus serving backfilled data on 127.0.0.1; killed on drop.
#[derive(Debug)]
pub struct RunningPrometheus {
    daemon: Daemon,
    _dir: TempDir,
}

impl Prometheus {
    /// Backfills `seed_openmetrics` (OpenMetrics text, timestamps in seconds, in
    /// the past, ending with `# EOF`) with `promtool tsdb create-blocks-from
    /// openmetrics`, starts Prometheus on those blocks and waits until it is
    /// ready and its queries see the data. An empty seed starts an empty server.
    pub async fn start(seed_openmetrics: &str) -> RunningPrometheus {
        let prometheus = binary("prometheus", "prometheus");
        let promtool = binary("promtool", "prometheus");
        let dir = crate::temp_dir("pipilu-prometheus");
        let data = dir.path().join("data");
        let seeded = !seed_openmetrics.trim().is_empty();
        if seeded {
            let seed = dir.path().join("seed.om");
            std::fs::write(&seed, seed_openmetrics).unwrap_or_else(|e| panic!("writing {}: {e}", seed.display()));
            let out = Command::new(&promtool)
                .args(["tsdb", "create-blocks-from", "openmetrics"])
                .arg(&seed)
                .arg(&data)
                .output()
                .unwrap_or_else(|e| panic!("running promtool: {e}"));
            assert!(
                out.status.success(),
                "promtool could not backfill the seed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\nscrape_configs: []\n")
            .unwrap_or_else(|e| panic!("writing {}: {e}", config.display()));
        let port = free_port();
        let mut cmd = Command::new(prometheus);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // Backfilled blocks are old; a short retention would delete them.
            .arg("--storage.tsdb.retention.time=3650d")
            .arg("--log.level=warn");
        let mut daemon = Daemon::spawn("prometheus", cmd, dir.path(), port);
        daemon.wait_for("/-/ready", "ready", |_| true).await;
        if seeded {
            // Blocks are loaded at start, but wait until a query really sees them.
            let path = format!(
                "/api/v1/series?match[]=%7B__name__%3D~%22.%2B%22%7D&start={}",
                Utc::now().timestamp() - 86_400 * 30
            );
            daemon.wait_for(&path, "serving the seeded data", |b| b.contains("\"__name__\"")).await;
        }
        RunningPrometheus { daemon, _dir: dir }
    }
}

impl RunningPrometheus {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.daemon.url.clone()
    }
}

/// Starts a real Alertmanager.
#[derive(Debug, Clone, Copy)]
pub struct Alertmanager;

/// An Alertmanager on 127.0.0.1 without clustering; killed on drop.
#[derive(Debug)]
pub struct RunningAlertmanager {
    daemon: Daemon,
    _dir: TempDir,
}

impl Alertmanager {
    /// Starts Alertmanager with a config that routes everything to a receiver
    /// that sends nothing, and waits until it is ready.
    pub async fn start() -> RunningAlertmanager {
        let alertmanager = binary("prometheus-alertmanager", "prometheus-alertmanager");
        let dir = crate::temp_dir("pipilu-alertmanager");
        let config = dir.path().join("alertmanager.yml");
        std::fs::write(&config, "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
            .unwrap_or_else(|e| panic!("writing {}: {e}", config.display()));
        let storage = dir.path().join("data");
        let port = free_port();
        let mut cmd = Command::new(alertmanager);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", storage.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // Empty: no gossip port, no peers.
            .arg("--cluster.listen-address=")
            .arg("--log.level=warn");
        let mut daemon = Daemon::spawn("alertmanager", cmd, dir.path(), port);
        daemon.wait_for("/-/ready", "ready", |_| true).await;
        RunningAlertmanager { daemon, _dir: dir }
    }
}

impl RunningAlertmanager {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.daemon.url.clone()
    }
}

/// A seeded service: its pods and how busy it is.
struct Seeded {
    pods: &'static [&'static str],
    /// CPU cores used per pod.
    cores: f64,
    /// Working set per pod, MiB.
    mib: f64,
    /// Requests per second per pod.
    rps: f64,
    /// Share of requests answered 5xx.
    error_share: f64,
}

/// The services [`seed_openmetrics`] writes, in namespace `default`.
pub const SEEDED_PODS: [&str; 4] =
    ["latte-7d9f8b6c4-x2k4q", "latte-7d9f8b6c4-m8r2p", "payments-api-5c6d7f8b9-q7w3e", "payments-api-5c6d7f8b9-z9t4k"];

const SERVICES: [Seeded; 2] = [
    Seeded { pods: &[SEEDED_PODS[0], SEEDED_PODS[1]], cores: 0.35, mib: 320.0, rps: 40.0, error_share: 0.01 },
    Seeded { pods: &[SEEDED_PODS[2], SEEDED_PODS[3]], cores: 0.12, mib: 180.0, rps: 12.0, error_share: 0.05 },
];

/// Latency histogram buckets (seconds) and the share of requests within each:
/// the p99 falls between 0.25 and 0.5 s.
const BUCKETS: [(&str, f64); 6] =
    [("0.05", 0.5), ("0.1", 0.8), ("0.25", 0.95), ("0.5", 0.995), ("1", 1.0), ("+Inf", 1.0)];

/// OpenMetrics text for [`SEEDED_PODS`] (`latte` and `payments-api`): cAdvisor
/// cpu and memory and HTTP request counters and latency histograms, one sample
/// a minute for `hours` hours up to a minute before `now`, ending with `# EOF`.
pub fn seed_openmetrics(now: DateTime<Utc>, hours: i64) -> String {
    let end = now - Duration::minutes(1);
    let times: Vec<i64> = (0..=hours * 60).rev().map(|m| (end - Duration::minutes(m)).timestamp()).collect();
    let t0 = times.first().copied().unwrap_or_default();
    // Counters grow at a rate that wobbles a little, so graphs are not flat.
    let counter = |rate: f64, ts: i64, phase: f64| {
        let s = (ts - t0) as f64;
        rate * s + rate * 300.0 * ((s / 1800.0 + phase).sin() + 1.0)
    };
    let mut out = String::new();
    let pods = || SERVICES.iter().flat_map(|s| s.pods.iter().enumerate().map(move |(i, p)| (s, *p, i as f64)));
    let labels = |pod: &str| format!("namespace=\"default\",pod=\"{pod}\",container=\"app\"");

    out.push_str("# TYPE container_cpu_usage_seconds counter\n");
    for (s, pod, i) in pods() {
        for ts in &times {
            let v = counter(s.cores, *ts, i);
            let _ = writeln!(out, "container_cpu_usage_seconds_total{{{}}} {v:.3} {ts}", labels(pod));
        }
    }
    out.push_str("# TYPE container_memory_working_set_bytes gauge\n");
    for (s, pod, i) in pods() {
        for ts in &times {
            let mib = s.mib * (1.0 + 0.1 * (((ts - t0) as f64) / 1200.0 + i).sin());
            let _ =
                writeln!(out, "container_memory_working_set_bytes{{{}}} {:.0} {ts}", labels(pod), mib * 1_048_576.0);
        }
    }
    out.push_str("# TYPE http_requests counter\n");
    for (s, pod, i) in pods() {
        for (code, share) in [("200", 1.0 - s.error_share), ("500", s.error_share)] {
            for ts in &times {
                let v = counter(s.rps * share, *ts, i);
                let _ = writeln!(out, "http_requests_total{{{},code=\"{code}\"}} {v:.3} {ts}", labels(pod));
            }
        }
    }
    out.push_str("# TYPE http_request_duration_seconds histogram\n");
    for (s, pod, i) in pods() {
        for (le, share) in BUCKETS {
            for ts in &times {
                let v = counter(s.rps * share, *ts, i);
                let _ =
                    writeln!(out, "http_request_duration_seconds_bucket{{{},le=\"{le}\"}} {v:.3} {ts}", labels(pod));
            }
        }
        for ts in &times {
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{}}} {:.3} {ts}",
                labels(pod),
                counter(s.rps, *ts, i)
            );
        }
        for ts in &times {
            let v = counter(s.rps * 0.08, *ts, i);
            let _ = writeln!(out, "http_request_duration_seconds_sum{{{}}} {v:.3} {ts}", labels(pod));
        }
    }
    out.push_str("# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "Install it with `sudo apt-get install -y prometheus-nonesuch`")]
    fn a_missing_binary_says_what_to_install() {
        binary("pipilu-no-such-server", "prometheus-nonesuch");
    }

    #[test]
    fn the_seed_is_openmetrics_in_the_past() {
        let now = Utc::now();
        let seed = seed_openmetrics(now, 1);
        assert!(seed.ends_with("# EOF\n"));
        let last = seed.lines().filter_map(|l| l.rsplit(' ').next()?.parse::<i64>().ok()).max().unwrap_or_default();
        assert!(last < now.timestamp(), "samples lie in the past");
        assert!(SEEDED_PODS.iter().all(|p| seed.contains(p)));
    }
}
