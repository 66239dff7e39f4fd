//! Where the server's time goes, for profiling under load. Off unless
//! `GOVDECK_SERVER_TIMINGS=1` is set when the server opens its database;
//! then every database call records, per call name, how long it waited for
//! its lane and connection (the blocking pool's start included), how long it
//! ran, and (on Linux, from `/proc/thread-self/schedstat`) how much of that
//! run was CPU and how much was spent runnable but waiting for a core; and
//! every request records its time inside the server. The table is logged
//! when the server stops; a database call that ran 20 ms or more is logged at once. Off, each call pays one branch.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The environment variable that turns the timings on.
pub const ENV: &str = "GOVDECK_SERVER_TIMINGS";

/// A database call that runs this long is also logged on its own.
const SLOW_RUN: Duration = Duration::from_millis(20);

/// A thread's scheduler counters: nanoseconds on a CPU and runnable-but-waiting.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sched {
    cpu_ns: u64,
    runqueue_ns: u64,
}

impl Sched {
    /// The calling thread's counters, where the kernel tells them.
    pub fn now() -> Option<Sched> {
        let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let mut fields = text.split_whitespace().map(|field| field.parse::<u64>().ok());
        Some(Sched { cpu_ns: fields.next()??, runqueue_ns: fields.next()?? })
    }

    fn since(self, earlier: Sched) -> Sched {
        Sched {
            cpu_ns: self.cpu_ns.saturating_sub(earlier.cpu_ns),
            runqueue_ns: self.runqueue_ns.saturating_sub(earlier.runqueue_ns),
        }
    }
}

/// What one call spent.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub waited: Duration,
    pub ran: Duration,
    pub sched: Option<Sched>,
}

#[derive(Default)]
struct Stat {
    waited_us: Vec<u32>,
    ran_us: Vec<u32>,
    cpu_us: u64,
    runqueue_us: u64,
}

fn micros(duration: Duration) -> u32 {
    u32::try_from(duration.as_micros()).unwrap_or(u32::MAX)
}

/// The recorded calls, by name; `None` when timings are off.
#[derive(Default)]
pub struct Timings {
    stats: Option<Mutex<BTreeMap<String, Stat>>>,
}

impl Timings {
    /// On when [`ENV`] is set to anything but `0` or empty.
    pub fn from_env() -> Timings {
        let on = std::env::var(ENV).is_ok_and(|value| !value.is_empty() && value != "0");
        Timings::new(on)
    }

    pub fn new(on: bool) -> Timings {
        Timings { stats: on.then(Mutex::default) }
    }

    pub fn enabled(&self) -> bool {
        self.stats.is_some()
    }

    pub fn record(&self, name: &str, sample: Sample) {
        let Some(stats) = &self.stats else { return };
        let mut stats = stats.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !stats.contains_key(name) {
            stats.insert(name.to_string(), Stat::default());
        }
        let Some(stat) = stats.get_mut(name) else { return };
        if sample.ran >= SLOW_RUN && !name.starts_with("http ") {
            let (cpu, runqueue) =
                sample.sched.map_or((0.0, 0.0), |sched| (sched.cpu_ns as f64 / 1e6, sched.runqueue_ns as f64 / 1e6));
            tracing::info!(
                "slow {name}: waited {:.2} ms, ran {:.2} ms ({cpu:.2} ms CPU, {runqueue:.2} ms waiting for a core)",
                sample.waited.as_secs_f64() * 1e3,
                sample.ran.as_secs_f64() * 1e3
            );
        }
        stat.waited_us.push(micros(sample.waited));
        stat.ran_us.push(micros(sample.ran));
        if let Some(sched) = sample.sched {
            stat.cpu_us += sched.cpu_ns / 1000;
            stat.runqueue_us += sched.runqueue_ns / 1000;
        }
    }

    /// The table of every name recorded: count, wait and run p50 / p99 / max
    /// in ms; in s, the total run time and how much of it was CPU and how
    /// much runnable but waiting for a core (the rest: blocked, on I/O or a lock).
    pub fn report(&self) -> Option<String> {
        let stats = self.stats.as_ref()?;
        let mut stats = stats.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out = format!(
            "{:<22} {:>7} {:>23} {:>23} {:>8} {:>8} {:>8}\n",
            "call", "count", "wait p50/p99/max ms", "run p50/p99/max ms", "run s", "cpu s", "runq s"
        );
        for (name, stat) in stats.iter_mut() {
            let triple = |values: &mut Vec<u32>| {
                values.sort_unstable();
                let at = |p: f64| {
                    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
                    f64::from(values[rank.clamp(1, values.len()) - 1]) / 1000.0
                };
                format!("{:.2}/{:.2}/{:.2}", at(50.0), at(99.0), at(100.0))
            };
            let _ = writeln!(
                out,
                "{name:<22} {:>7} {:>23} {:>23} {:>8.2} {:>8.2} {:>8.2}",
                stat.ran_us.len(),
                triple(&mut stat.waited_us),
                triple(&mut stat.ran_us),
                stat.ran_us.iter().map(|&us| u64::from(us)).sum::<u64>() as f64 / 1e6,
                stat.cpu_us as f64 / 1e6,
                stat.runqueue_us as f64 / 1e6
            );
        }
        Some(out)
    }
}

/// Times one call on the thread that runs it: made where the call was
/// asked for, started once it holds its connection.
pub struct Stopwatch {
    asked: Instant,
    started: Option<(Instant, Option<Sched>)>,
    on: bool,
}

impl Stopwatch {
    pub fn asked(timings: &Timings) -> Stopwatch {
        Stopwatch { asked: Instant::now(), started: None, on: timings.enabled() }
    }

    pub fn start(&mut self) {
        if self.on {
            self.started = Some((Instant::now(), Sched::now()));
        }
    }

    pub fn finish(self, timings: &Timings, name: &str) {
        let Some((started, sched)) = self.started else { return };
        let sched = sched.zip(Sched::now()).map(|(before, after)| after.since(before));
        timings.record(name, Sample { waited: started - self.asked, ran: started.elapsed(), sched });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_records_nothing_and_reports_nothing() {
        let timings = Timings::new(false);
        let mut clock = Stopwatch::asked(&timings);
        clock.start();
        clock.finish(&timings, "decide");
        assert!(timings.report().is_none());
    }

    #[test]
    fn on_reports_each_name_with_its_count() {
        let timings = Timings::new(true);
        for ms in [1, 2, 3] {
            timings.record(
                "decide",
                Sample { waited: Duration::from_millis(ms), ran: Duration::from_millis(10 * ms), sched: None },
            );
        }
        let report = timings.report().unwrap();
        let line = report.lines().find(|line| line.starts_with("decide")).unwrap();
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[1], "3");
        assert_eq!(fields[2], "2.00/3.00/3.00");
        assert_eq!(fields[3], "20.00/30.00/30.00");
        assert_eq!(fields[4], "0.06");
    }
}
