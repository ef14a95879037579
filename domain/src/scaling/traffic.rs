//! Traffic shapes and traces, and the size limits of one simulation.

use super::*;

/// The arrival rate over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Traffic {
    Constant {
        qps: f64,
    },
    /// A cosine day: `base_qps` at t = 0, `peak_qps` half a period later.
    Diurnal {
        base_qps: f64,
        peak_qps: f64,
        period_s: f64,
    },
    /// `spike_qps` for `duration_s` from `start_s`, `base_qps` otherwise.
    Spike {
        base_qps: f64,
        spike_qps: f64,
        start_s: f64,
        duration_s: f64,
    },
    /// (seconds, qps) points, linear in between and flat beyond the ends.
    Trace {
        points: Vec<(f64, f64)>,
    },
}

impl Traffic {
    /// The arrival rate at `t` seconds; never negative.
    pub fn qps_at(&self, t: f64) -> f64 {
        let q = match self {
            Traffic::Constant { qps } => *qps,
            Traffic::Diurnal {
                base_qps,
                peak_qps,
                period_s,
            } => {
                if *period_s > 0.0 {
                    let phase = std::f64::consts::TAU * t / period_s;
                    base_qps + (peak_qps - base_qps) * 0.5 * (1.0 - phase.cos())
                } else {
                    *base_qps
                }
            }
            Traffic::Spike {
                base_qps,
                spike_qps,
                start_s,
                duration_s,
            } => {
                if t >= *start_s && t < start_s + duration_s {
                    *spike_qps
                } else {
                    *base_qps
                }
            }
            Traffic::Trace { points } => trace_at(points, t),
        };
        if q.is_finite() {
            q.max(0.0)
        } else {
            0.0
        }
    }
}

impl Traffic {
    /// The highest arrival rate over `[0, duration_s]`, exactly: where the
    /// rate can peak between samples (a trace's rows, a spike's edges, the
    /// crests of a diurnal curve), those instants are looked at too.
    pub fn peak_within(&self, duration_s: f64) -> f64 {
        let d = duration_s.max(0.0);
        let mut at: Vec<f64> = vec![0.0, d];
        match self {
            Traffic::Constant { .. } => {}
            Traffic::Diurnal { period_s, .. } => {
                // A cosine's extremes are at multiples of half its period.
                if *period_s > 0.0 {
                    let half = period_s / 2.0;
                    let crests = (d / half).floor().min(10_000.0) as usize;
                    at.extend((1..=crests).map(|k| k as f64 * half));
                }
            }
            Traffic::Spike {
                start_s,
                duration_s: spike,
                ..
            } => {
                if *spike > 0.0 && *start_s < d && start_s + spike > 0.0 {
                    at.push(start_s.max(0.0));
                }
            }
            Traffic::Trace { points } => {
                // A row's own rate counts even where rows share a time.
                let rows = points.iter().filter(|p| (0.0..=d).contains(&p.0)).map(|p| {
                    if p.1.is_finite() {
                        p.1.max(0.0)
                    } else {
                        f64::INFINITY
                    }
                });
                let ends = at.iter().map(|&t| self.qps_at(t));
                return rows.chain(ends).fold(0.0, f64::max);
            }
        }
        at.into_iter().map(|t| self.qps_at(t)).fold(0.0, f64::max)
    }
}

/// The most rows a trace may have.
pub const MAX_TRACE_ROWS: usize = 100_000;

fn trace_at(points: &[(f64, f64)], t: f64) -> f64 {
    let Some(&(t0, q0)) = points.first() else {
        return 0.0;
    };
    if t <= t0 {
        return q0;
    }
    // The first point strictly after t; the segment ends there.
    let i = points.partition_point(|&(pt, _)| pt <= t);
    if i >= points.len() {
        return points[points.len() - 1].1;
    }
    let (ta, qa) = points[i - 1];
    let (tb, qb) = points[i];
    if tb > ta {
        qa + (qb - qa) * (t - ta) / (tb - ta)
    } else {
        qb
    }
}

/// The most requests one simulation may model, so a request cannot tie
/// up the server for long.
pub const MAX_SIMULATED_REQUESTS: f64 = 30_000_000.0;
pub const MAX_SIMULATED_SECONDS: f64 = 600.0;

/// Checks a simulation's size before it runs; a trace given as JSON must
/// also be what `parse_trace_csv` would accept.
pub fn check_size(traffic: &Traffic, duration_s: f64) -> Result<()> {
    if let Traffic::Trace { points } = traffic {
        if points.len() > MAX_TRACE_ROWS {
            return Err(ValidationError::new(
                "traffic.points",
                format!("a trace may have at most {MAX_TRACE_ROWS} rows"),
            ));
        }
        if let Some(i) = points
            .iter()
            .position(|p| !(p.0.is_finite() && p.1.is_finite() && p.0 >= 0.0 && p.1 >= 0.0))
        {
            return Err(ValidationError::new(
                format!("traffic.points[{i}]"),
                "times and rates must be finite numbers ≥ 0",
            ));
        }
        // Finite from here on, so the comparison is total.
        for (i, w) in points.windows(2).enumerate() {
            if w[1].0 <= w[0].0 {
                return Err(ValidationError::new(
                    format!("traffic.points[{}]", i + 1),
                    "times must increase",
                ));
            }
        }
    }
    if !(duration_s > 0.0 && duration_s <= MAX_SIMULATED_SECONDS) {
        return Err(ValidationError::new(
            "duration_s",
            format!("must be above 0 and at most {MAX_SIMULATED_SECONDS} seconds"),
        ));
    }
    let peak = traffic.peak_within(duration_s);
    if !peak.is_finite() || peak < 0.0 {
        return Err(ValidationError::new(
            "traffic",
            "rates must be zero or more",
        ));
    }
    if peak * duration_s > MAX_SIMULATED_REQUESTS {
        return Err(ValidationError::new(
            "traffic",
            format!(
                "{:.0} requests over {duration_s} s is more than the {MAX_SIMULATED_REQUESTS:.0} one simulation may model; shorten it",
                peak * duration_s
            ),
        ));
    }
    Ok(())
}

/// Reads a traffic trace: a header line, then `seconds,qps` rows with
/// strictly increasing times. Blank lines are skipped; errors name the line
/// (`line 3`), counting from 1.
pub fn parse_trace_csv(text: &str) -> Result<Traffic> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty());
    let Some((header_no, header)) = lines.next() else {
        return Err(ValidationError::new(
            "line 1",
            "the trace is empty; expected a header line `seconds,qps`",
        ));
    };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    if cols.len() != 2 || cols.iter().any(|c| c.parse::<f64>().is_ok()) {
        return Err(ValidationError::new(
            format!("line {header_no}"),
            "expected a header line with two columns, such as `seconds,qps`",
        ));
    }
    let mut points: Vec<(f64, f64)> = Vec::new();
    for (no, line) in lines {
        let field = format!("line {no}");
        let mut parts = line.split(',');
        let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ValidationError::new(
                field,
                "expected two columns: seconds,qps",
            ));
        };
        let number = |s: &str, what: &str| -> Result<f64> {
            match s.trim().parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
                Ok(_) => Err(ValidationError::new(
                    field.clone(),
                    format!("{what} must be a finite number ≥ 0"),
                )),
                Err(_) => Err(ValidationError::new(
                    field.clone(),
                    format!("{what} `{}` is not a number", s.trim()),
                )),
            }
        };
        let t = number(a, "seconds")?;
        let q = number(b, "qps")?;
        if let Some(&(prev, _)) = points.last() {
            if t <= prev {
                return Err(ValidationError::new(
                    field,
                    format!("times must increase (previous row is at {prev} s)"),
                ));
            }
        }
        if points.len() == MAX_TRACE_ROWS {
            return Err(ValidationError::new(
                field,
                format!("a trace may have at most {MAX_TRACE_ROWS} rows"),
            ));
        }
        points.push((t, q));
    }
    if points.is_empty() {
        return Err(ValidationError::new(
            format!("line {}", header_no + 1),
            "the trace has no rows after its header",
        ));
    }
    Ok(Traffic::Trace { points })
}
