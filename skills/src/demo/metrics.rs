//! Metrics: one series per instance, sampled from the estate's functions of time.

use super::estate::{EnvSim, Metric, Sim};
use super::{BACKEND_NAME, DemoEstate};
use crate::backends::{BackendError, MetricsBackend, Series};
use crate::skill::Window;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// Points per series: enough for a smooth line on a chat-sized chart.
pub(super) const POINTS: usize = 120;

/// The demo's [`MetricsBackend`].
pub(crate) struct DemoMetrics(pub Arc<DemoEstate>);

/// `POINTS` evenly spaced times from `from` to just before `to`.
fn times(window: Window) -> Vec<DateTime<Utc>> {
    let span = (window.to - window.from).num_milliseconds();
    (0..POINTS).map(|i| window.from + Duration::milliseconds(span * i as i64 / POINTS as i64)).collect()
}

/// Checks a window is not empty.
pub(super) fn check_window(window: Window, call: &str) -> Result<(), BackendError> {
    if window.to <= window.from {
        return Err(BackendError::new(BACKEND_NAME, call, "the window is empty (its end is not after its start)"));
    }
    Ok(())
}

impl DemoEstate {
    /// Series of `metric` for each instance of `service` in `env` over `window`;
    /// memory is in MB, the rest in [`Metric::unit`].
    pub(super) fn instance_series(
        &self,
        env: &EnvSim,
        service: &str,
        metric: Metric,
        window: Window,
        call: &str,
    ) -> Result<Vec<Series>, BackendError> {
        let svc = env
            .service(service)
            .ok_or_else(|| BackendError::not_found(BACKEND_NAME, call, format!("service '{service}'")))?;
        let sim = Sim { seed: self.seed, start: self.start, env, svc };
        let ts = times(window);
        Ok(svc
            .instances
            .iter()
            .map(|inst| Series {
                name: format!("{}/{}", svc.spec.name, inst.index),
                points: ts.iter().map(|&t| (t, scaled(metric, sim.sample(inst, metric, t)))).collect(),
            })
            .collect())
    }

    /// One series per service: `metric` summed over its instances.
    pub(super) fn service_totals(&self, env: &EnvSim, metric: Metric, window: Window) -> Vec<Series> {
        let ts = times(window);
        env.services
            .iter()
            .map(|svc| {
                let sim = Sim { seed: self.seed, start: self.start, env, svc };
                let points = ts
                    .iter()
                    .map(|&t| (t, scaled(metric, svc.instances.iter().map(|i| sim.sample(i, metric, t)).sum())))
                    .collect();
                Series { name: svc.spec.name.to_string(), points }
            })
            .collect()
    }
}

/// Memory in MB for charts; other metrics as they are.
fn scaled(metric: Metric, v: f64) -> f64 {
    if metric == Metric::Memory { v / (1024.0 * 1024.0) } else { v }
}

#[async_trait]
impl MetricsBackend for DemoMetrics {
    fn name(&self) -> &str {
        BACKEND_NAME
    }

    async fn series(&self, service: &str, metric: &str, window: Window) -> Result<Vec<Series>, BackendError> {
        let call = format!("series {service} {metric}");
        check_window(window, &call)?;
        let m = Metric::parse(metric).ok_or_else(|| {
            BackendError::new(
                BACKEND_NAME,
                &call,
                format!("unknown metric '{metric}' (known: {})", Metric::NAMES.join(", ")),
            )
        })?;
        let estate = self.0.read();
        let env = super::services::env_of(&estate, None, &call)?;
        self.0.instance_series(env, service, m, window, &call)
    }
}

#[cfg(test)]
mod tests {
    use super::POINTS;
    use crate::demo::testing::{Fixture, t0};
    use crate::skill::Window;
    use chrono::Duration;

    fn last_hour() -> Window {
        Window { from: t0() - Duration::hours(1), to: t0() }
    }

    #[tokio::test]
    async fn one_series_per_instance_with_120_points() {
        let fx = Fixture::new();
        let series = fx.backends.metrics.series("payments-api", "cpu", last_hour()).await.unwrap();
        assert_eq!(series.len(), 3);
        assert!(series.iter().all(|s| s.points.len() == POINTS));
        assert_eq!(series[2].name, "payments-api/2");
        let first = &series[0].points;
        assert_eq!(first[0].0, last_hour().from);
        assert!(first.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(first.iter().all(|(_, v)| (0.0..=100.0).contains(v)));
        // Moves over time, smoothly.
        let (min, max) = first.iter().fold((f64::MAX, f64::MIN), |(lo, hi), (_, v)| (lo.min(*v), hi.max(*v)));
        assert!(max - min > 1.0, "cpu should vary over an hour: {min}..{max}");
    }

    #[tokio::test]
    async fn repeatable_for_a_seed_and_different_across_seeds() {
        let a = Fixture::with_seed(1).backends.metrics.series("latte", "latency_p99", last_hour()).await.unwrap();
        let b = Fixture::with_seed(1).backends.metrics.series("latte", "latency_p99", last_hour()).await.unwrap();
        let c = Fixture::with_seed(2).backends.metrics.series("latte", "latency_p99", last_hour()).await.unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[tokio::test]
    async fn crashed_instance_reports_zero_after_the_crash() {
        let fx = Fixture::new();
        let series = fx.backends.metrics.series("search", "requests", last_hour()).await.unwrap();
        let crashed = &series[1].points;
        assert!(crashed.first().unwrap().1 > 0.0);
        assert_eq!(crashed.last().unwrap().1, 0.0);
    }

    #[tokio::test]
    async fn rejects_unknown_metric_service_and_empty_window() {
        let fx = Fixture::new();
        let m = &fx.backends.metrics;
        assert!(m.series("latte", "bogus", last_hour()).await.unwrap_err().cause.contains("latency_p99"));
        assert!(m.series("nope", "cpu", last_hour()).await.unwrap_err().not_found);
        let empty = Window { from: t0(), to: t0() };
        assert!(m.series("latte", "cpu", empty).await.is_err());
    }
}
