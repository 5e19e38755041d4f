//! What the demo estate contains: services, their instances and quotas, and the
//! environments. Plain data, so the story the demo tells is easy to read and change.

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;
const MIN: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// How one instance looks when the estate starts.
#[derive(Debug)]
pub(crate) struct InstanceSpec {
    /// Seconds it has been up when the estate starts.
    pub up_for: i64,
    /// Set when it has crashed.
    pub crash: Option<CrashSpec>,
}

/// A crashed instance: when, how often, and why.
#[derive(Debug)]
pub(crate) struct CrashSpec {
    /// Seconds before the estate's start it crashed.
    pub ago: i64,
    /// Restarts so far.
    pub restarts: u32,
    /// Why it terminated.
    pub reason: &'static str,
}

/// A service: its instances, quotas and typical load (per instance unless noted).
#[derive(Debug)]
pub(crate) struct ServiceSpec {
    pub name: &'static str,
    pub instances: &'static [InstanceSpec],
    pub mem_quota: u64,
    pub disk_quota: u64,
    /// Typical CPU, percent of a core.
    pub cpu: f64,
    /// Typical warm memory, bytes.
    pub mem: u64,
    /// Typical disk use, bytes.
    pub disk: u64,
    /// Requests per second for the whole service.
    pub rps: f64,
    /// Share of requests that fail on a calm day.
    pub error_ratio: f64,
    /// Typical p99 latency, milliseconds.
    pub p99_ms: f64,
}

/// An environment: its name and how busy it is compared with prod.
#[derive(Debug)]
pub(crate) struct EnvSpec {
    pub name: &'static str,
    pub load: f64,
    /// Staging runs one instance per service and nothing has crashed there.
    pub single_instance: bool,
}

const fn up(up_for: i64) -> InstanceSpec {
    InstanceSpec { up_for, crash: None }
}

/// The environments; the first is the default.
pub(crate) const ENVS: &[EnvSpec] = &[
    EnvSpec { name: "prod", load: 1.0, single_instance: false },
    EnvSpec { name: "staging", load: 0.15, single_instance: true },
];

/// The services, in the order `list` returns them.
pub(crate) const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        name: "latte",
        instances: &[up(2 * HOUR + 5 * MIN), up(2 * HOUR + 4 * MIN + 12)],
        mem_quota: GIB,
        disk_quota: GIB,
        cpu: 12.0,
        mem: 300 * MIB,
        disk: 120 * MIB,
        rps: 180.0,
        error_ratio: 0.004,
        p99_ms: 45.0,
    },
    ServiceSpec {
        name: "payments-api",
        instances: &[up(3 * DAY + 4 * HOUR), up(3 * DAY + 4 * HOUR - 40), up(DAY + 2 * HOUR)],
        mem_quota: 2 * GIB,
        disk_quota: GIB,
        cpu: 24.0,
        mem: 700 * MIB,
        disk: 210 * MIB,
        rps: 90.0,
        error_ratio: 0.01,
        p99_ms: 320.0,
    },
    ServiceSpec {
        name: "auth",
        instances: &[up(5 * HOUR + 12 * MIN), up(5 * HOUR + 11 * MIN)],
        mem_quota: 512 * MIB,
        disk_quota: 512 * MIB,
        cpu: 8.0,
        mem: 180 * MIB,
        disk: 60 * MIB,
        rps: 240.0,
        error_ratio: 0.002,
        p99_ms: 30.0,
    },
    ServiceSpec {
        name: "search",
        instances: &[
            up(19 * HOUR + 30 * MIN),
            InstanceSpec {
                up_for: 6 * HOUR,
                crash: Some(CrashSpec { ago: 12 * MIN, restarts: 7, reason: "OOMKilled" }),
            },
        ],
        mem_quota: 2 * GIB,
        disk_quota: 4 * GIB,
        cpu: 35.0,
        mem: 1300 * MIB,
        disk: 2100 * MIB,
        rps: 60.0,
        error_ratio: 0.008,
        p99_ms: 210.0,
    },
    ServiceSpec {
        name: "loadbalancers",
        instances: &[up(12 * DAY + 3 * HOUR), up(12 * DAY + 3 * HOUR - 95)],
        mem_quota: 256 * MIB,
        disk_quota: 256 * MIB,
        cpu: 15.0,
        mem: 90 * MIB,
        disk: 20 * MIB,
        rps: 650.0,
        error_ratio: 0.003,
        p99_ms: 60.0,
    },
    ServiceSpec {
        name: "checkout",
        instances: &[up(HOUR + 20 * MIN), up(HOUR + 19 * MIN)],
        mem_quota: GIB,
        disk_quota: GIB,
        cpu: 18.0,
        mem: 420 * MIB,
        disk: 150 * MIB,
        rps: 40.0,
        error_ratio: 0.006,
        p99_ms: 400.0,
    },
];
