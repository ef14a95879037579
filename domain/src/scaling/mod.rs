//! A discrete-event simulator of a service asset (a production serving
//! endpoint) under autoscaling, so that an operator can preview what a change
//! to its scaling policy does before rolling it out.
//!
//! The model has four parts. Traffic is a Poisson arrival process whose rate
//! follows a [`Traffic`] shape; the rate is held constant over 10 ms
//! segments, which is exact for a memoryless process and cheap to sample. A
//! load balancer sends each request to one ready pod by an [`LbPolicy`]. A pod
//! serves requests with continuous batching ([`PerfModel`]): every decode step
//! advances each request in its batch by one output token and takes
//! `a + c·batch` milliseconds, a request joining the batch pays its prefill in
//! its first step, and requests beyond `max_batch` wait in the pod's FIFO
//! queue until a slot frees at a step boundary. The autoscaler is Knative's
//! KPA ([`kpa_decide`]): every 2 s it reads per-second averages of observed
//! concurrency (requests queued or in a batch, over all pods), sizes the
//! fleet to keep each pod at `target_concurrency × target_utilization`, and
//! switches to a short panic window when demand outruns capacity. New pods
//! take [`StartupProfile::cold_start_s`] to become ready, which is where lazy
//! image pulls pay off.
//!
//! The simulator is built for hundreds of thousands of requests per second:
//! events are per pod decode step rather than per token, each pod files its
//! requests in a ring of buckets by the step at which they finish, and
//! latencies go into a log-scale histogram rather than a list. The reference
//! case ([`reference_policy`]: 200,000 queries per second on about 170 pods)
//! simulates a minute of traffic, twelve million requests, in well under a
//! second.
//!
//! A run starts in the middle of things: the initial pods are ready and the
//! autoscaler's history holds a full stable window of the concurrency they
//! would carry at the t = 0 rate, so a right-sized fleet is not scaled down
//! for the moment it takes empty pods to fill. Requests that find no ready
//! pod wait in a buffer, as in Knative's activator, and count as demand, so a
//! service can scale from zero. Requests still in flight when the simulated
//! time ends run to completion without new arrivals, so that every request is
//! counted exactly once as completed, dropped or timed out.

mod balancer;
mod kpa;
pub mod manifest;
mod policy;
mod sim;
mod stats;
#[cfg(test)]
mod tests;
mod traffic;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::error::{Result, ValidationError};

pub use balancer::queueing_mean_time;
use balancer::{route, LoadBuckets};
pub use kpa::*;
pub use policy::*;
pub use sim::*;
use stats::*;
pub use traffic::*;

/// How often the autoscaler decides, in seconds; Knative's tick interval.
pub const TICK_S: f64 = 2.0;

/// The arrival rate is held constant over segments this long, in seconds.
/// Ten milliseconds is far below any traffic shape's time scale and keeps
/// the cost of re-reading the shape negligible.
const RATE_SEGMENT_S: f64 = 0.01;
