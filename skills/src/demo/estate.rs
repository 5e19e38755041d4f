//! The estate's mutable state (what restarts change) and the functions of time
//! that give every instance its CPU, memory, traffic and errors.
//!
//! An instance's history is a list of epochs (started, crashed, restarted); a
//! metric at time `t` is a smooth function of the time elapsed since the estate
//! started plus seeded noise, shaped by the epoch `t` falls in. Nothing is
//! stored per sample, so any window can be computed, repeatably.

use super::catalog::{ENVS, EnvSpec, SERVICES, ServiceSpec};
use super::noise::{SmoothCursor, hash, key, smooth, unit};
use crate::backends::InstanceState;
use chrono::{DateTime, Duration, Utc};
use std::f64::consts::TAU;

/// One stretch of an instance's life.
#[derive(Debug, Clone)]
pub(crate) struct Epoch {
    /// When it began.
    pub start: DateTime<Utc>,
    /// The state throughout.
    pub state: InstanceState,
    /// Began with a restart (CPU spikes while it warms up).
    pub restarted: bool,
    /// Memory leaks towards the quota until the next epoch (the OOM story).
    pub leak: bool,
}

/// One instance and its history.
#[derive(Debug, Clone)]
pub(crate) struct InstanceSim {
    pub index: u32,
    /// Oldest first; never empty.
    pub epochs: Vec<Epoch>,
    pub restarts: u32,
    pub last_termination: Option<String>,
    pub key: u64,
}

/// One service in one environment.
#[derive(Debug, Clone)]
pub(crate) struct ServiceSim {
    pub spec: &'static ServiceSpec,
    pub instances: Vec<InstanceSim>,
    pub key: u64,
}

/// One environment.
#[derive(Debug, Clone)]
pub(crate) struct EnvSim {
    pub spec: &'static EnvSpec,
    pub services: Vec<ServiceSim>,
}

/// Everything that changes.
#[derive(Debug, Clone)]
pub(crate) struct Estate {
    pub envs: Vec<EnvSim>,
}

/// The metrics the demo can compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metric {
    Cpu,
    Memory,
    Requests,
    Errors,
    LatencyP99,
    Connections,
}

impl Metric {
    /// Every metric, for error messages.
    pub const NAMES: &'static [&'static str] = &["cpu", "memory", "requests", "errors", "latency_p99", "connections"];

    /// Parses a metric name as the metrics backend receives it.
    pub fn parse(name: &str) -> Option<Metric> {
        Some(match name.to_ascii_lowercase().as_str() {
            "cpu" => Metric::Cpu,
            "memory" | "mem" => Metric::Memory,
            "requests" | "rps" => Metric::Requests,
            "errors" => Metric::Errors,
            "latency_p99" | "p99" => Metric::LatencyP99,
            "connections" => Metric::Connections,
            _ => return None,
        })
    }

    /// The unit values are in, for axis labels.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Cpu => "%",
            Metric::Memory => "MB",
            Metric::Requests => "req/s",
            Metric::Errors => "errors/s",
            Metric::LatencyP99 => "ms",
            Metric::Connections => "connections",
        }
    }
}

/// Where an instance is in its life at some moment.
struct Life {
    running: bool,
    /// When the epoch began.
    start: DateTime<Utc>,
    /// Seconds since the epoch began.
    age: f64,
    restarted: bool,
    /// How far a leaking epoch has got towards its end, 0..=1.
    leak: Option<f64>,
}

impl Estate {
    /// The estate as it stands at `start`.
    pub fn new(start: DateTime<Utc>) -> Estate {
        let envs = ENVS
            .iter()
            .map(|env| EnvSim {
                spec: env,
                services: SERVICES.iter().map(|svc| service_at_start(env, svc, start)).collect(),
            })
            .collect();
        Estate { envs }
    }

    /// An environment by name, case-insensitive; the first when `None`.
    pub fn env(&self, name: Option<&str>) -> Option<&EnvSim> {
        match name {
            None => self.envs.first(),
            Some(n) => self.envs.iter().find(|e| e.spec.name.eq_ignore_ascii_case(n.trim())),
        }
    }

    /// Mutable [`Estate::env`].
    pub fn env_mut(&mut self, name: Option<&str>) -> Option<&mut EnvSim> {
        match name {
            None => self.envs.first_mut(),
            Some(n) => self.envs.iter_mut().find(|e| e.spec.name.eq_ignore_ascii_case(n.trim())),
        }
    }

    /// Environment names, for error messages.
    pub fn env_names(&self) -> Vec<&'static str> {
        self.envs.iter().map(|e| e.spec.name).collect()
    }
}

impl EnvSim {
    /// A service by name, case-insensitive.
    pub fn service(&self, name: &str) -> Option<&ServiceSim> {
        self.services.iter().find(|s| s.spec.name.eq_ignore_ascii_case(name.trim()))
    }

    /// Mutable [`EnvSim::service`].
    pub fn service_mut(&mut self, name: &str) -> Option<&mut ServiceSim> {
        self.services.iter_mut().find(|s| s.spec.name.eq_ignore_ascii_case(name.trim()))
    }
}

fn service_at_start(env: &'static EnvSpec, spec: &'static ServiceSpec, start: DateTime<Utc>) -> ServiceSim {
    let count = if env.single_instance { 1 } else { spec.instances.len() };
    let svc_key = key(env.name) ^ key(spec.name).rotate_left(17);
    let instances = spec
        .instances
        .iter()
        .take(count)
        .zip(0u32..)
        .map(|(inst, index)| {
            let crash = if env.single_instance { None } else { inst.crash.as_ref() };
            let mut epochs = vec![Epoch {
                start: start - Duration::seconds(inst.up_for),
                state: InstanceState::Running,
                restarted: false,
                leak: crash.is_some(),
            }];
            if let Some(c) = crash {
                epochs.push(Epoch {
                    start: start - Duration::seconds(c.ago),
                    state: InstanceState::Crashed,
                    restarted: false,
                    leak: false,
                });
            }
            InstanceSim {
                index,
                epochs,
                restarts: crash.map_or(0, |c| c.restarts),
                last_termination: crash.map(|c| c.reason.to_string()),
                key: svc_key ^ u64::from(index + 1).wrapping_mul(0x9E37_79B9),
            }
        })
        .collect();
    ServiceSim { spec, instances, key: svc_key }
}

impl InstanceSim {
    /// The current epoch.
    pub fn current(&self) -> Option<&Epoch> {
        self.epochs.last()
    }

    /// Restarts the instance at `now`: a fresh running epoch; a crashed one counts a restart.
    pub fn restart(&mut self, now: DateTime<Utc>) {
        let was = self.current().map(|e| e.state);
        if matches!(was, Some(InstanceState::Crashed | InstanceState::Down)) {
            self.restarts += 1;
        }
        self.epochs.push(Epoch { start: now, state: InstanceState::Running, restarted: true, leak: false });
    }

    /// Whether it was serving at `t`.
    pub fn running_at(&self, t: DateTime<Utc>) -> bool {
        self.life(t).running
    }

    fn life(&self, t: DateTime<Utc>) -> Life {
        let idx = self.epochs.iter().rposition(|e| e.start <= t);
        let Some(i) = idx else {
            // Before the first recorded epoch: an older, calm life.
            let start = self.epochs.first().map_or(t, |e| e.start) - Duration::days(1);
            let age = secs(t - start).max(0.0);
            return Life { running: true, start, age, restarted: false, leak: None };
        };
        let epoch = &self.epochs[i];
        let age = secs(t - epoch.start);
        let leak = if epoch.leak {
            let end = self.epochs.get(i + 1).map_or(t, |n| n.start);
            let span = secs(end - epoch.start).max(1.0);
            Some((age / span).clamp(0.0, 1.0))
        } else {
            None
        };
        Life {
            running: epoch.state == InstanceState::Running,
            start: epoch.start,
            age,
            restarted: epoch.restarted,
            leak,
        }
    }
}

fn secs(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

/// Everything needed to evaluate one service's metrics in one environment.
pub(crate) struct Sim<'a> {
    pub seed: u64,
    pub start: DateTime<Utc>,
    pub env: &'a EnvSim,
    pub svc: &'a ServiceSim,
}

impl Sim<'_> {
    fn elapsed(&self, t: DateTime<Utc>) -> f64 {
        secs(t - self.start)
    }

    /// Relative traffic of the service at `t`, around 1 (hourly wave plus noise).
    pub fn load(&self, t: DateTime<Utc>) -> f64 {
        let e = self.elapsed(t);
        let phase = (self.svc.key % 1000) as f64 / 1000.0 * TAU;
        let wave = 0.25 * (TAU * e / 3600.0 + phase).sin();
        (1.0 + wave + 0.15 * smooth(self.seed, self.svc.key ^ 0x10AD, e, 300.0)).max(0.05)
    }

    /// Share of requests failing at `t`: a calm baseline with bursts.
    pub fn error_ratio(&self, inst: &InstanceSim, t: DateTime<Utc>) -> f64 {
        self.error_ratios(inst).ratio(t, self_leak(inst, t))
    }

    /// [`Sim::error_ratio`] of one instance at many times (a window's log lines):
    /// the same values, with the noise's grid values kept between calls.
    pub fn error_ratios<'s>(&'s self, inst: &'s InstanceSim) -> ErrorRatios<'s> {
        ErrorRatios {
            sim: self,
            inst,
            burst: SmoothCursor::new(self.seed, self.svc.key ^ 0xE770, 900.0),
            own: SmoothCursor::new(self.seed, inst.key ^ 0xE771, 240.0),
        }
    }

    /// The value of `metric` for one instance at `t`.
    pub fn sample(&self, inst: &InstanceSim, metric: Metric, t: DateTime<Utc>) -> f64 {
        let life = inst.life(t);
        if !life.running {
            return 0.0;
        }
        let spec = self.svc.spec;
        let e = self.elapsed(t);
        let jitter = |salt: u64, period: f64| smooth(self.seed, inst.key ^ salt, e, period);
        let load = self.load(t) * (1.0 + 0.05 * jitter(0x1, 30.0));
        let env_load = self.env.spec.load;
        let share = spec.rps * env_load / spec.instances.len().max(1) as f64;
        let leak = life.leak.unwrap_or(0.0);
        match metric {
            Metric::Cpu => {
                let base = spec.cpu * (0.4 + 0.6 * env_load) * load * (1.0 + leak);
                // A restart starts with a JIT/cache-warming spike that fades in a few minutes.
                let peak = 85.0 + 10.0 * unit(hash(&[self.seed, inst.key, life.start.timestamp() as u64]));
                let cpu = if life.restarted { base + (peak - base).max(0.0) * (-life.age / 45.0).exp() } else { base };
                cpu.clamp(0.2, 100.0)
            }
            Metric::Memory => {
                let warm = 1.0 - (-life.age / 1200.0).exp();
                let mem = spec.mem as f64 * (0.55 + 0.45 * warm) * (1.0 + 0.04 * jitter(0x2, 600.0));
                let quota = spec.mem_quota as f64;
                let mem = mem + (quota * 0.97 - mem).max(0.0) * leak.powf(1.5);
                if quota > 0.0 { mem.min(quota * 0.99) } else { mem }
            }
            Metric::Requests => share * load,
            Metric::Errors => share * load * self.error_ratio(inst, t),
            Metric::LatencyP99 => {
                let burst = jitter(0x3, 900.0).max(0.0);
                let warmup = if life.restarted { 2.0 * (-life.age / 60.0).exp() } else { 0.0 };
                spec.p99_ms * (0.8 + 0.3 * load + 2.0 * burst + warmup + leak)
            }
            Metric::Connections => share * load * 1.5 * (1.0 + 0.1 * jitter(0x4, 120.0)),
        }
    }

    /// Disk in use by one instance at `t` (a fresh container after each restart).
    pub fn disk(&self, inst: &InstanceSim, t: DateTime<Utc>) -> f64 {
        let life = inst.life(t);
        if !life.running {
            return 0.0;
        }
        let growth = (life.age / 86_400.0).min(1.0);
        let e = self.elapsed(t);
        self.svc.spec.disk as f64 * (0.95 + 0.05 * growth + 0.005 * smooth(self.seed, inst.key ^ 0xD15C, e, 900.0))
    }
}

/// See [`Sim::error_ratios`].
pub(crate) struct ErrorRatios<'s> {
    sim: &'s Sim<'s>,
    inst: &'s InstanceSim,
    burst: SmoothCursor,
    own: SmoothCursor,
}

impl ErrorRatios<'_> {
    /// [`Sim::error_ratio`] at `t` when the instance is serving then
    /// ([`InstanceSim::running_at`]), `None` when it is not.
    pub fn when_running(&mut self, t: DateTime<Utc>) -> Option<f64> {
        let life = self.inst.life(t);
        life.running.then(|| self.ratio(t, life.leak.unwrap_or(0.0)))
    }

    fn ratio(&mut self, t: DateTime<Utc>, leak: f64) -> f64 {
        let e = self.sim.elapsed(t);
        let burst = self.burst.at(e).max(0.0);
        let own = 1.0 + 0.3 * self.own.at(e);
        self.sim.svc.spec.error_ratio * (1.0 + 4.0 * burst * burst) * own + leak * 0.2
    }
}

fn self_leak(inst: &InstanceSim, t: DateTime<Utc>) -> f64 {
    inst.life(t).leak.unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 14, 10, 0, 0).single().unwrap()
    }

    #[test]
    fn search_has_one_crashed_instance_that_leaked_first() {
        let estate = Estate::new(start());
        let env = estate.env(None).unwrap();
        let search = env.service("search").unwrap();
        let crashed = &search.instances[1];
        assert_eq!(crashed.current().unwrap().state, InstanceState::Crashed);
        assert_eq!(crashed.last_termination.as_deref(), Some("OOMKilled"));
        let sim = Sim { seed: 1, start: start(), env, svc: search };
        let before = start() - Duration::minutes(13);
        let quota = search.spec.mem_quota as f64;
        assert!(sim.sample(crashed, Metric::Memory, before) > quota * 0.9, "memory climbs to the quota before the OOM");
        assert_eq!(sim.sample(crashed, Metric::Cpu, start()), 0.0);
    }

    #[test]
    fn staging_is_single_instance_and_healthy() {
        let estate = Estate::new(start());
        let staging = estate.env(Some("STAGING")).unwrap();
        assert!(staging.services.iter().all(|s| s.instances.len() == 1));
        assert!(staging.services.iter().all(|s| s.instances[0].current().unwrap().state == InstanceState::Running));
        assert!(estate.env(Some("dev")).is_none());
    }

    #[test]
    fn restart_spikes_cpu_then_settles() {
        let mut estate = Estate::new(start());
        let now = start() + Duration::minutes(5);
        let env = estate.env_mut(None).unwrap();
        let latte = env.service_mut("latte").unwrap();
        latte.instances[0].restart(now);
        let env = estate.env(None).unwrap();
        let latte = env.service("latte").unwrap();
        let sim = Sim { seed: 3, start: start(), env, svc: latte };
        assert!(sim.sample(&latte.instances[0], Metric::Cpu, now) > 80.0);
        assert!(sim.sample(&latte.instances[0], Metric::Cpu, now + Duration::minutes(10)) < 40.0);
    }
}
