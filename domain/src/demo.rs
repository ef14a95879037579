//! A deterministic, seeded generator of a believable streaming-company ML
//! estate: event streams and member data feed warehouse tables, which feed
//! feature-store features, which train ranking, artwork, search and growth
//! models, which are evaluated offline and in A/B tests, deployed to serving
//! endpoints and called by product surfaces.
//!
//! One "shard" is a complete estate of a little over 300 assets. Larger
//! catalogs (for benchmarks) repeat the shard per region, and every shard
//! reads the same global hubs (`title_metadata`, `member_profiles`), so hubs
//! grow with the catalog the way they do in real estates.

use std::collections::BTreeMap;

use serde_json::json;

use crate::asset::{asset_id, Asset, AssetKind, Field};
use crate::edge::{edge_id, ColumnMapping, Edge, EdgeKind};

/// The size of the demo catalog that a new server loads.
/// Exactly one shard: the global estate, with no regional copies.
pub const DEMO_ASSETS: usize = 309;
pub const DEMO_SEED: u64 = 42;

/// A generated estate.
#[derive(Debug, Clone, Default)]
pub struct Estate {
    pub assets: Vec<Asset>,
    pub edges: Vec<Edge>,
}

/// SplitMix64: tiny, fast and stable across platforms and releases, which a
/// reproducible demo needs more than statistical quality.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
    pub fn float(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
    /// `k` distinct items, in the order first drawn.
    pub fn sample<T: Clone>(&mut self, items: &[T], k: usize) -> Vec<T> {
        let mut idx: Vec<usize> = (0..items.len()).collect();
        let k = k.min(items.len());
        for i in 0..k {
            let j = i + self.below(idx.len() - i);
            idx.swap(i, j);
        }
        idx[..k].iter().map(|&i| items[i].clone()).collect()
    }
}

const PEOPLE: &[&str] = &[
    "ana.silva",
    "ben.okafor",
    "chen.wei",
    "dana.kowalski",
    "emeka.obi",
    "fatima.haddad",
    "gus.lindqvist",
    "hana.sato",
    "ivan.petrov",
    "julia.moreau",
    "kofi.mensah",
    "lena.fischer",
    "marco.rossi",
    "nadia.rahman",
    "omar.farouk",
    "priya.nair",
    "quinn.taylor",
    "rosa.diaz",
];
const REGIONS: &[&str] = &[
    "us", "eu", "latam", "apac", "uk", "ca", "br", "in", "jp", "kr",
];

/// One raw source: name, namespace, team, domain, description, columns.
struct Source {
    name: &'static str,
    namespace: &'static str,
    team: &'static str,
    domain: &'static str,
    description: &'static str,
    columns: &'static [(&'static str, &'static str, bool)],
    global: bool,
}

const ID: (&str, &str, bool) = ("member_id", "string", false);
const PROFILE: (&str, &str, bool) = ("profile_id", "string", false);
const TITLE: (&str, &str, bool) = ("title_id", "string", false);
const TS: (&str, &str, bool) = ("event_ts", "timestamp", false);
const DEVICE: (&str, &str, bool) = ("device_type", "string", true);
const COUNTRY: (&str, &str, bool) = ("country", "string", true);

const SOURCES: &[Source] = &[
    Source {
        name: "playback_events",
        namespace: "kafka://events-prod",
        team: "playback-data",
        domain: "playback",
        global: false,
        description:
            "Every play, pause, seek and stop from every client, one event per state change.",
        columns: &[
            ("event_id", "string", false),
            ID,
            PROFILE,
            TITLE,
            DEVICE,
            COUNTRY,
            TS,
            ("position_ms", "long", false),
            ("duration_ms", "long", false),
            ("bitrate_kbps", "int", true),
            ("playback_quality", "string", true),
        ],
    },
    Source {
        name: "member_profiles",
        namespace: "postgres://members-db:5432",
        team: "member-data",
        domain: "growth",
        global: true,
        description:
            "Member accounts and their profiles: plan, country, language and maturity settings.",
        columns: &[
            ID,
            PROFILE,
            COUNTRY,
            ("plan_tier", "string", false),
            ("signup_date", "date", false),
            ("language", "string", true),
            ("maturity_level", "string", true),
            ("is_kids", "boolean", false),
            ("email", "string", true),
        ],
    },
    Source {
        name: "title_metadata",
        namespace: "postgres://content-db:5432",
        team: "content-data",
        domain: "content",
        global: true,
        description:
            "The catalogue of titles: genre, release year, runtime, ratings and original language.",
        columns: &[
            TITLE,
            ("title_name", "string", false),
            ("genre", "string", true),
            ("release_year", "int", true),
            ("runtime_min", "int", true),
            ("maturity_rating", "string", true),
            ("original_language", "string", true),
            ("is_original", "boolean", false),
        ],
    },
    Source {
        name: "search_events",
        namespace: "kafka://events-prod",
        team: "search-ml",
        domain: "search",
        global: false,
        description: "Search queries typed by members and the results they clicked.",
        columns: &[
            ("event_id", "string", false),
            ID,
            PROFILE,
            ("query_text", "string", true),
            ("result_count", "int", false),
            ("clicked_title_id", "string", true),
            DEVICE,
            TS,
        ],
    },
    Source {
        name: "impression_events",
        namespace: "kafka://events-prod",
        team: "playback-data",
        domain: "personalization",
        global: false,
        description:
            "Which titles were shown to whom, in which row and position, with which artwork.",
        columns: &[
            ("event_id", "string", false),
            ID,
            PROFILE,
            TITLE,
            ("row_id", "string", false),
            ("position", "int", false),
            ("artwork_id", "string", true),
            DEVICE,
            TS,
        ],
    },
    Source {
        name: "artwork_catalog",
        namespace: "s3://artwork-assets",
        team: "artwork-ml",
        domain: "artwork",
        global: false,
        description:
            "Every artwork image per title with its size, dominant colour and text detection.",
        columns: &[
            ("artwork_id", "string", false),
            TITLE,
            ("image_uri", "string", false),
            ("width", "int", false),
            ("height", "int", false),
            ("dominant_color", "string", true),
            ("has_text", "boolean", true),
        ],
    },
    Source {
        name: "device_telemetry",
        namespace: "kafka://events-prod",
        team: "playback-data",
        domain: "playback",
        global: false,
        description:
            "Client health signals: start-up time, rebuffers, network type and app version.",
        columns: &[
            ("device_id", "string", false),
            ID,
            DEVICE,
            ("os_version", "string", true),
            ("app_version", "string", true),
            ("network_type", "string", true),
            ("startup_ms", "int", true),
            ("rebuffer_count", "int", true),
            TS,
        ],
    },
    Source {
        name: "billing_events",
        namespace: "kafka://events-prod",
        team: "payments-risk",
        domain: "payments",
        global: false,
        description: "Charges, refunds, plan changes and cancellations.",
        columns: &[
            ID,
            ("event_type", "string", false),
            ("amount", "decimal(10,2)", true),
            ("currency", "string", true),
            ("plan_tier", "string", true),
            ("payment_method", "string", true),
            TS,
        ],
    },
    Source {
        name: "thumbs_ratings",
        namespace: "kafka://events-prod",
        team: "personalization-algorithms",
        domain: "personalization",
        global: false,
        description: "Explicit thumbs-up and thumbs-down ratings.",
        columns: &[ID, PROFILE, TITLE, ("rating", "int", false), TS],
    },
    Source {
        name: "title_availability",
        namespace: "postgres://content-db:5432",
        team: "content-data",
        domain: "content",
        global: false,
        description: "Licensing windows: where and when each title may be shown.",
        columns: &[
            TITLE,
            COUNTRY,
            ("available_from", "date", false),
            ("available_until", "date", true),
            ("license_type", "string", false),
        ],
    },
    Source {
        name: "ab_allocations",
        namespace: "postgres://experiments-db:5432",
        team: "experimentation",
        domain: "growth",
        global: false,
        description: "Which A/B test cell each member was allocated to.",
        columns: &[
            ID,
            ("test_id", "string", false),
            ("cell", "int", false),
            ("allocated_ts", "timestamp", false),
        ],
    },
    Source {
        name: "customer_contacts",
        namespace: "postgres://support-db:5432",
        team: "member-data",
        domain: "growth",
        global: false,
        description: "Customer service contacts with channel, reason and resolution.",
        columns: &[
            ("contact_id", "string", false),
            ID,
            ("channel", "string", false),
            ("reason", "string", true),
            ("resolved", "boolean", true),
            TS,
        ],
    },
    Source {
        name: "trailer_plays",
        namespace: "kafka://events-prod",
        team: "playback-data",
        domain: "personalization",
        global: false,
        description: "Trailer and preview autoplays, with how long they were watched.",
        columns: &[
            ("event_id", "string", false),
            ID,
            PROFILE,
            TITLE,
            ("watched_ms", "long", false),
            ("muted", "boolean", true),
            TS,
        ],
    },
    Source {
        name: "notification_sends",
        namespace: "kafka://events-prod",
        team: "growth-ml",
        domain: "growth",
        global: false,
        description: "Push, e-mail and in-app notifications sent, opened and clicked.",
        columns: &[
            ("notification_id", "string", false),
            ID,
            ("channel", "string", false),
            TITLE,
            ("opened", "boolean", true),
            ("clicked", "boolean", true),
            TS,
        ],
    },
    Source {
        name: "download_events",
        namespace: "kafka://events-prod",
        team: "playback-data",
        domain: "playback",
        global: false,
        description: "Offline downloads started, completed and deleted on mobile devices.",
        columns: &[
            ("event_id", "string", false),
            ID,
            PROFILE,
            TITLE,
            DEVICE,
            ("status", "string", false),
            TS,
        ],
    },
];

/// A warehouse table built by one ETL job: name, inputs, team, domain, the
/// columns it has, and a sentence.
struct Table {
    name: &'static str,
    inputs: &'static [&'static str],
    team: &'static str,
    domain: &'static str,
    columns: &'static [(&'static str, &'static str, bool)],
    description: &'static str,
}

const TABLES: &[Table] = &[
    Table {
        name: "member_daily_watch",
        inputs: &["playback_events", "member_profiles"],
        team: "playback-data",
        domain: "playback",
        columns: &[
            ID,
            PROFILE,
            COUNTRY,
            ("ds", "date", false),
            ("watch_seconds", "double", false),
            ("play_count", "long", false),
            ("completion_rate", "double", true),
            ("distinct_titles", "long", false),
            ("abandon_count", "long", false),
        ],
        description: "Per-member daily viewing: seconds watched, plays, completions and abandons.",
    },
    Table {
        name: "title_daily_engagement",
        inputs: &["playback_events", "title_metadata", "thumbs_ratings"],
        team: "content-data",
        domain: "content",
        columns: &[
            TITLE,
            ("ds", "date", false),
            ("genre", "string", true),
            ("plays", "long", false),
            ("watch_seconds", "double", false),
            ("completion_rate", "double", true),
            ("thumbs_up_rate", "double", true),
            ("unique_viewers", "long", false),
        ],
        description: "Per-title daily engagement joined to title metadata and ratings.",
    },
    Table {
        name: "member_sessions",
        inputs: &["playback_events", "device_telemetry"],
        team: "playback-data",
        domain: "playback",
        columns: &[
            ("session_id", "string", false),
            ID,
            DEVICE,
            ("session_start", "timestamp", false),
            ("session_seconds", "double", false),
            ("titles_played", "int", false),
            ("rebuffer_count", "int", true),
        ],
        description: "Viewing sessions stitched from playback and telemetry events.",
    },
    Table {
        name: "impressions_enriched",
        inputs: &["impression_events", "title_metadata", "member_profiles"],
        team: "personalization-algorithms",
        domain: "personalization",
        columns: &[
            ID,
            PROFILE,
            TITLE,
            ("row_id", "string", false),
            ("position", "int", false),
            ("artwork_id", "string", true),
            ("genre", "string", true),
            COUNTRY,
            TS,
        ],
        description:
            "Impressions joined with title and member attributes, the base of every ranking label.",
    },
    Table {
        name: "play_attribution",
        inputs: &["impressions_enriched", "playback_events"],
        team: "personalization-algorithms",
        domain: "personalization",
        columns: &[
            ID,
            TITLE,
            ("row_id", "string", false),
            ("position", "int", false),
            ("artwork_id", "string", true),
            ("played", "boolean", false),
            ("watch_seconds", "double", true),
            TS,
        ],
        description: "Which impression led to which play, within a 24 hour attribution window.",
    },
    Table {
        name: "member_search_daily",
        inputs: &["search_events", "member_profiles"],
        team: "search-ml",
        domain: "search",
        columns: &[
            ID,
            ("ds", "date", false),
            ("search_count", "long", false),
            ("zero_result_rate", "double", true),
            ("click_through_rate", "double", true),
            ("distinct_queries", "long", false),
        ],
        description: "Per-member daily search activity and success.",
    },
    Table {
        name: "query_title_clicks",
        inputs: &["search_events", "title_metadata"],
        team: "search-ml",
        domain: "search",
        columns: &[
            ("query_norm", "string", false),
            TITLE,
            ("ds", "date", false),
            ("impressions", "long", false),
            ("clicks", "long", false),
            ("click_through_rate", "double", true),
        ],
        description: "Normalised queries and the titles members clicked for them.",
    },
    Table {
        name: "artwork_performance",
        inputs: &["play_attribution", "artwork_catalog"],
        team: "artwork-ml",
        domain: "artwork",
        columns: &[
            ("artwork_id", "string", false),
            TITLE,
            ("ds", "date", false),
            ("impressions", "long", false),
            ("take_rate", "double", true),
            ("dominant_color", "string", true),
        ],
        description: "Take rate of every artwork variant per title and day.",
    },
    Table {
        name: "device_daily_quality",
        inputs: &["device_telemetry", "member_sessions"],
        team: "playback-data",
        domain: "playback",
        columns: &[
            ("device_id", "string", false),
            DEVICE,
            ("ds", "date", false),
            ("startup_ms_p95", "double", true),
            ("rebuffer_rate", "double", true),
            ("avg_bitrate_kbps", "double", true),
        ],
        description: "Per-device daily streaming quality.",
    },
    Table {
        name: "member_billing_status",
        inputs: &["billing_events", "member_profiles"],
        team: "payments-risk",
        domain: "payments",
        columns: &[
            ID,
            ("ds", "date", false),
            ("plan_tier", "string", false),
            ("tenure_days", "int", false),
            ("failed_payments_30d", "int", false),
            ("is_cancelled", "boolean", false),
        ],
        description: "Daily billing status per member: plan, tenure and payment failures.",
    },
    Table {
        name: "member_ratings_daily",
        inputs: &["thumbs_ratings"],
        team: "personalization-algorithms",
        domain: "personalization",
        columns: &[
            ID,
            ("ds", "date", false),
            ("thumbs_up_count", "long", false),
            ("thumbs_down_count", "long", false),
        ],
        description: "Daily explicit feedback per member.",
    },
    Table {
        name: "title_availability_current",
        inputs: &["title_availability", "title_metadata"],
        team: "content-data",
        domain: "content",
        columns: &[
            TITLE,
            COUNTRY,
            ("is_available", "boolean", false),
            ("days_left", "int", true),
            ("genre", "string", true),
        ],
        description: "Today's availability of every title in every country.",
    },
    Table {
        name: "trailer_engagement",
        inputs: &["trailer_plays", "title_metadata"],
        team: "personalization-algorithms",
        domain: "personalization",
        columns: &[
            TITLE,
            ("ds", "date", false),
            ("autoplays", "long", false),
            ("avg_watched_ms", "double", true),
            ("unmute_rate", "double", true),
        ],
        description: "Daily trailer autoplay engagement per title.",
    },
    Table {
        name: "notification_outcomes",
        inputs: &["notification_sends", "playback_events"],
        team: "growth-ml",
        domain: "growth",
        columns: &[
            ("notification_id", "string", false),
            ID,
            ("channel", "string", false),
            ("opened", "boolean", true),
            ("played_within_24h", "boolean", false),
            TS,
        ],
        description: "Whether a notification led to a play within a day.",
    },
    Table {
        name: "member_contact_history",
        inputs: &["customer_contacts", "member_billing_status"],
        team: "member-data",
        domain: "growth",
        columns: &[
            ID,
            ("contacts_90d", "int", false),
            ("last_reason", "string", true),
            ("unresolved_count", "int", false),
        ],
        description: "Customer service history per member over 90 days.",
    },
    Table {
        name: "download_daily",
        inputs: &["download_events", "member_profiles"],
        team: "playback-data",
        domain: "playback",
        columns: &[
            ID,
            ("ds", "date", false),
            ("downloads", "long", false),
            ("completed_rate", "double", true),
        ],
        description: "Daily offline downloads per member.",
    },
    Table {
        name: "experiment_exposures",
        inputs: &["ab_allocations", "member_sessions"],
        team: "experimentation",
        domain: "growth",
        columns: &[
            ID,
            ("test_id", "string", false),
            ("cell", "int", false),
            ("first_exposed_ts", "timestamp", false),
            ("session_seconds", "double", true),
        ],
        description: "A/B test allocations joined with the sessions that exposed members to them.",
    },
    Table {
        name: "title_similarity_pairs",
        inputs: &["title_daily_engagement", "title_metadata"],
        team: "personalization-algorithms",
        domain: "personalization",
        columns: &[
            TITLE,
            ("similar_title_id", "string", false),
            ("co_watch_score", "double", false),
            ("genre_overlap", "double", true),
        ],
        description: "Pairs of titles that are watched by the same members.",
    },
];

/// A feature family: an entity, the table it comes from, the metric
/// columns it aggregates and the windows it is computed over.
struct FeatureFamily {
    entity: &'static str,
    key: &'static str,
    table: &'static str,
    metrics: &'static [&'static str],
    windows: &'static [&'static str],
    team: &'static str,
    domain: &'static str,
}

const FEATURES: &[FeatureFamily] = &[
    FeatureFamily {
        entity: "member",
        key: "member_id",
        table: "member_daily_watch",
        metrics: &[
            "watch_seconds",
            "play_count",
            "completion_rate",
            "distinct_titles",
            "abandon_count",
        ],
        windows: &["1d", "7d", "28d", "90d"],
        team: "personalization-algorithms",
        domain: "personalization",
    },
    FeatureFamily {
        entity: "title",
        key: "title_id",
        table: "title_daily_engagement",
        metrics: &[
            "plays",
            "watch_seconds",
            "completion_rate",
            "thumbs_up_rate",
            "unique_viewers",
        ],
        windows: &["1d", "7d", "28d"],
        team: "content-ml",
        domain: "content",
    },
    FeatureFamily {
        entity: "member",
        key: "member_id",
        table: "member_search_daily",
        metrics: &["search_count", "zero_result_rate", "click_through_rate"],
        windows: &["7d", "28d"],
        team: "search-ml",
        domain: "search",
    },
    FeatureFamily {
        entity: "artwork",
        key: "artwork_id",
        table: "artwork_performance",
        metrics: &["take_rate", "impressions"],
        windows: &["7d", "28d"],
        team: "artwork-ml",
        domain: "artwork",
    },
    FeatureFamily {
        entity: "device",
        key: "device_id",
        table: "device_daily_quality",
        metrics: &["startup_ms_p95", "rebuffer_rate", "avg_bitrate_kbps"],
        windows: &["1d", "7d"],
        team: "playback-data",
        domain: "playback",
    },
    FeatureFamily {
        entity: "member",
        key: "member_id",
        table: "member_billing_status",
        metrics: &["tenure_days", "failed_payments_30d"],
        windows: &["1d"],
        team: "payments-risk",
        domain: "payments",
    },
    FeatureFamily {
        entity: "member",
        key: "member_id",
        table: "member_ratings_daily",
        metrics: &["thumbs_up_count", "thumbs_down_count"],
        windows: &["28d", "90d"],
        team: "personalization-algorithms",
        domain: "personalization",
    },
    FeatureFamily {
        entity: "title",
        key: "title_id",
        table: "trailer_engagement",
        metrics: &["autoplays", "avg_watched_ms", "unmute_rate"],
        windows: &["7d"],
        team: "personalization-algorithms",
        domain: "personalization",
    },
    FeatureFamily {
        entity: "member",
        key: "member_id",
        table: "notification_outcomes",
        metrics: &["opened", "played_within_24h"],
        windows: &["28d"],
        team: "growth-ml",
        domain: "growth",
    },
    FeatureFamily {
        entity: "member",
        key: "member_id",
        table: "download_daily",
        metrics: &["downloads", "completed_rate"],
        windows: &["28d"],
        team: "playback-data",
        domain: "playback",
    },
    FeatureFamily {
        entity: "member",
        key: "member_id",
        table: "member_contact_history",
        metrics: &["contacts_90d", "unresolved_count"],
        windows: &["90d"],
        team: "member-data",
        domain: "growth",
    },
];

/// A model: name, the feature tables it draws on, the table its labels come
/// from, framework, team, domain, what it does, the service that serves it
/// and the surfaces that call that service.
struct ModelSpec {
    name: &'static str,
    feature_tables: &'static [&'static str],
    labels_from: &'static str,
    framework: &'static str,
    metric: &'static str,
    team: &'static str,
    domain: &'static str,
    description: &'static str,
    service: &'static str,
}

const MODELS: &[ModelSpec] = &[
    ModelSpec { name: "home_ranker", feature_tables: &["member_daily_watch", "title_daily_engagement", "member_ratings_daily"], labels_from: "play_attribution", framework: "pytorch", metric: "ndcg@10", team: "personalization-algorithms", domain: "personalization", description: "Ranks titles within each row of the home page.", service: "ranking-svc" },
    ModelSpec { name: "row_selector", feature_tables: &["member_daily_watch", "member_ratings_daily"], labels_from: "play_attribution", framework: "pytorch", metric: "ndcg@10", team: "personalization-algorithms", domain: "personalization", description: "Chooses which rows appear on the home page, and in which order.", service: "page-generation-svc" },
    ModelSpec { name: "continue_watching_ranker", feature_tables: &["member_daily_watch", "title_daily_engagement"], labels_from: "play_attribution", framework: "lightgbm", metric: "auc", team: "personalization-algorithms", domain: "personalization", description: "Orders the continue-watching row by likelihood of resuming.", service: "ranking-svc" },
    ModelSpec { name: "because_you_watched", feature_tables: &["title_daily_engagement", "member_ratings_daily"], labels_from: "title_similarity_pairs", framework: "pytorch", metric: "recall@50", team: "personalization-algorithms", domain: "personalization", description: "Finds titles similar to one the member finished.", service: "similarity-svc" },
    ModelSpec { name: "artwork_personalizer", feature_tables: &["artwork_performance", "member_daily_watch"], labels_from: "artwork_performance", framework: "vowpal-wabbit", metric: "take_rate_lift", team: "artwork-ml", domain: "artwork", description: "A contextual bandit that picks the artwork each member sees for each title.", service: "artwork-svc" },
    ModelSpec { name: "artwork_text_detector", feature_tables: &["artwork_performance"], labels_from: "artwork_performance", framework: "tensorflow", metric: "f1", team: "artwork-ml", domain: "artwork", description: "Detects text and logos in artwork images.", service: "artwork-svc" },
    ModelSpec { name: "search_ranker", feature_tables: &["member_search_daily", "title_daily_engagement", "member_daily_watch"], labels_from: "query_title_clicks", framework: "xgboost", metric: "mrr", team: "search-ml", domain: "search", description: "Ranks search results for a query and a member.", service: "search-svc" },
    ModelSpec { name: "query_autocomplete", feature_tables: &["member_search_daily"], labels_from: "query_title_clicks", framework: "pytorch", metric: "accuracy@5", team: "search-ml", domain: "search", description: "Completes partial queries as members type.", service: "search-svc" },
    ModelSpec { name: "churn_predictor", feature_tables: &["member_billing_status", "member_daily_watch", "member_contact_history"], labels_from: "member_billing_status", framework: "xgboost", metric: "auc", team: "growth-ml", domain: "growth", description: "Predicts which members will cancel within 30 days.", service: "growth-svc" },
    ModelSpec { name: "notification_timing", feature_tables: &["notification_outcomes", "member_daily_watch"], labels_from: "notification_outcomes", framework: "lightgbm", metric: "auc", team: "growth-ml", domain: "growth", description: "Picks the hour to send each member a notification.", service: "messaging-svc" },
    ModelSpec { name: "title_demand_forecaster", feature_tables: &["title_daily_engagement", "trailer_engagement"], labels_from: "title_daily_engagement", framework: "prophet", metric: "mape", team: "content-ml", domain: "content", description: "Forecasts viewing hours of new titles for content planning.", service: "content-insights-svc" },
    ModelSpec { name: "trailer_autoplay_selector", feature_tables: &["trailer_engagement", "member_daily_watch"], labels_from: "trailer_engagement", framework: "pytorch", metric: "auc", team: "personalization-algorithms", domain: "personalization", description: "Chooses which trailer autoplays in the billboard.", service: "page-generation-svc" },
    ModelSpec { name: "adaptive_bitrate_policy", feature_tables: &["device_daily_quality"], labels_from: "member_sessions", framework: "tensorflow", metric: "rebuffer_reduction", team: "playback-data", domain: "playback", description: "Chooses the streaming bitrate that avoids rebuffers.", service: "streaming-quality-svc" },
    ModelSpec { name: "payment_fraud_detector", feature_tables: &["member_billing_status", "member_contact_history"], labels_from: "member_billing_status", framework: "xgboost", metric: "precision@1pct", team: "payments-risk", domain: "payments", description: "Flags fraudulent sign-ups and payment attempts.", service: "payments-risk-svc" },
    ModelSpec { name: "download_recommender", feature_tables: &["download_daily", "member_daily_watch"], labels_from: "download_daily", framework: "lightgbm", metric: "ndcg@10", team: "personalization-algorithms", domain: "personalization", description: "Suggests titles to download before a trip.", service: "ranking-svc" },
    ModelSpec { name: "maturity_classifier", feature_tables: &["title_daily_engagement"], labels_from: "title_availability_current", framework: "pytorch", metric: "f1", team: "content-ml", domain: "content", description: "Predicts maturity ratings for titles awaiting review.", service: "content-insights-svc" },
    ModelSpec { name: "support_intent_classifier", feature_tables: &["member_contact_history"], labels_from: "member_contact_history", framework: "transformers", metric: "accuracy", team: "member-data", domain: "growth", description: "Routes customer service contacts by predicted intent.", service: "support-svc" },
    ModelSpec { name: "title_embedding", feature_tables: &["title_daily_engagement", "trailer_engagement"], labels_from: "title_similarity_pairs", framework: "pytorch", metric: "recall@50", team: "personalization-algorithms", domain: "personalization", description: "Learns title embeddings shared by ranking, search and similarity.", service: "similarity-svc" },
    ModelSpec { name: "llm_synopsis_assistant", feature_tables: &["title_daily_engagement"], labels_from: "title_similarity_pairs", framework: "vllm", metric: "helpfulness", team: "ml-platform", domain: "content", description: "A custom LLM that answers member questions about titles; 200k queries per second at P99 under 1 s.", service: "llm-assistant-svc" },
    ModelSpec { name: "experiment_uplift_model", feature_tables: &["member_daily_watch", "member_billing_status"], labels_from: "experiment_exposures", framework: "econml", metric: "qini", team: "experimentation", domain: "growth", description: "Estimates heterogeneous treatment effects of A/B tests.", service: "growth-svc" },
];

/// Product surfaces and the services they call.
const APPLICATIONS: &[(&str, &[&str], &str, &str)] = &[
    (
        "home_page",
        &["ranking-svc", "page-generation-svc", "artwork-svc"],
        "Every device",
        "The home page: rows of personalised titles.",
    ),
    (
        "continue_watching_row",
        &["ranking-svc"],
        "Every device",
        "The row of titles the member started.",
    ),
    (
        "search_page",
        &["search-svc", "artwork-svc"],
        "Every device",
        "Search with autocomplete and ranked results.",
    ),
    (
        "title_details_page",
        &["similarity-svc", "artwork-svc", "llm-assistant-svc"],
        "Every device",
        "A title's page, with more-like-this and the assistant.",
    ),
    (
        "billboard",
        &["page-generation-svc", "artwork-svc"],
        "TV and web",
        "The large trailer at the top of the home page.",
    ),
    (
        "push_notifications",
        &["messaging-svc"],
        "Mobile",
        "Push notifications about new seasons and picks.",
    ),
    (
        "playback_client",
        &["streaming-quality-svc"],
        "Every device",
        "The video player's bitrate selection.",
    ),
    (
        "downloads_tab",
        &["ranking-svc"],
        "Mobile",
        "Smart downloads and download suggestions.",
    ),
    (
        "retention_campaigns",
        &["growth-svc", "messaging-svc"],
        "E-mail",
        "Win-back and save offers for members at risk.",
    ),
    (
        "checkout_flow",
        &["payments-risk-svc"],
        "Web",
        "Sign-up and payment.",
    ),
    (
        "content_planning_tool",
        &["content-insights-svc"],
        "Internal",
        "Studio and licensing forecasts.",
    ),
    (
        "help_center",
        &["support-svc", "llm-assistant-svc"],
        "Web and mobile",
        "Self-service help and contact routing.",
    ),
    (
        "kids_home_page",
        &["ranking-svc", "artwork-svc"],
        "Every device",
        "The kids profile's home page.",
    ),
];

/// Builds the estate shard by shard until it holds `n` assets, then drops
/// whatever the last shard made beyond `n` (with the edges that touch it).
pub fn generate(seed: u64, n: usize) -> Estate {
    let mut rng = Rng::new(seed);
    let mut estate = Estate::default();
    let mut shard = 0usize;
    while estate.assets.len() < n {
        let mut b = Builder {
            rng: &mut rng,
            estate: Estate::default(),
            suffix: suffix(shard),
            shard,
        };
        b.shard();
        let Estate { assets, edges } = b.estate;
        estate.assets.extend(assets);
        estate.edges.extend(edges);
        shard += 1;
    }
    if estate.assets.len() > n {
        estate.assets.truncate(n);
        let kept: std::collections::HashSet<&str> =
            estate.assets.iter().map(|a| a.id.as_str()).collect();
        let edges = std::mem::take(&mut estate.edges);
        estate.edges = edges
            .into_iter()
            .filter(|e| kept.contains(e.from.as_str()) && kept.contains(e.to.as_str()))
            .collect();
    }
    estate
}

/// The demo catalog a new server loads.
pub fn demo() -> Estate {
    generate(DEMO_SEED, DEMO_ASSETS)
}

fn suffix(shard: usize) -> String {
    match shard {
        0 => String::new(),
        s if s <= REGIONS.len() => format!("_{}", REGIONS[s - 1]),
        s => format!("_r{s}"),
    }
}

struct Builder<'r> {
    rng: &'r mut Rng,
    estate: Estate,
    suffix: String,
    shard: usize,
}

fn fields(cols: &[(&str, &str, bool)]) -> Vec<Field> {
    cols.iter()
        .map(|(n, t, null)| Field::new(n, t, *null))
        .collect()
}

impl Builder<'_> {
    fn owners(&mut self, team: &str) -> Vec<String> {
        let mut o = vec![team.to_string()];
        if self.rng.chance(70) {
            o.push(self.rng.pick(PEOPLE).to_string());
        }
        o
    }

    #[allow(clippy::too_many_arguments)]
    fn asset(
        &mut self,
        kind: AssetKind,
        namespace: &str,
        name: String,
        description: String,
        team: &str,
        domain: &str,
        tags: Vec<&str>,
        schema: Vec<Field>,
        properties: BTreeMap<String, serde_json::Value>,
    ) -> String {
        let id = asset_id(kind, namespace, &name);
        let owners = self.owners(team);
        self.estate.assets.push(Asset {
            id: id.clone(),
            kind,
            namespace: namespace.to_string(),
            name,
            description,
            owners,
            tags: tags.into_iter().map(String::from).collect(),
            domain: Some(domain.to_string()),
            schema,
            properties,
            version: 0,
            created_at: None,
            updated_at: None,
        });
        id
    }

    fn edge(&mut self, from: &str, kind: EdgeKind, to: &str, columns: Vec<ColumnMapping>) {
        self.estate.edges.push(Edge {
            id: edge_id(from, kind, to),
            from: from.to_string(),
            to: to.to_string(),
            kind,
            columns,
            first_seen: None,
            last_seen: None,
        });
    }

    fn source_id(&self, name: &str) -> String {
        let s = SOURCES
            .iter()
            .find(|s| s.name == name)
            .expect("known source");
        let n = if s.global {
            name.to_string()
        } else {
            format!("{name}{}", self.suffix)
        };
        asset_id(AssetKind::Dataset, s.namespace, &n)
    }

    fn table_id(&self, name: &str) -> String {
        if SOURCES.iter().any(|s| s.name == name) {
            return self.source_id(name);
        }
        asset_id(
            AssetKind::Dataset,
            "iceberg://warehouse",
            &format!("{name}{}", self.suffix),
        )
    }

    fn columns_of(name: &str) -> Vec<&'static str> {
        if let Some(s) = SOURCES.iter().find(|s| s.name == name) {
            return s.columns.iter().map(|c| c.0).collect();
        }
        TABLES
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.columns.iter().map(|c| c.0).collect())
            .unwrap_or_default()
    }

    fn shard(&mut self) {
        let sfx = self.suffix.clone();
        let region = if self.shard == 0 {
            "global".to_string()
        } else {
            sfx.trim_start_matches('_').to_string()
        };

        // Raw sources. Global hubs exist once, in the first shard.
        for s in SOURCES {
            if s.global && self.shard > 0 {
                continue;
            }
            let name = if s.global {
                s.name.to_string()
            } else {
                format!("{}{sfx}", s.name)
            };
            let mut tags = vec!["raw", "tier-1"];
            if s.columns
                .iter()
                .any(|c| c.0 == "member_id" || c.0 == "email")
            {
                tags.push("pii");
            }
            tags.push(if s.namespace.starts_with("kafka") {
                "streaming"
            } else {
                "batch"
            });
            let props = BTreeMap::from([
                (
                    "format".to_string(),
                    json!(if s.namespace.starts_with("kafka") {
                        "avro"
                    } else if s.namespace.starts_with("s3") {
                        "parquet"
                    } else {
                        "table"
                    }),
                ),
                (
                    "retention_days".to_string(),
                    json!(if s.namespace.starts_with("kafka") {
                        7
                    } else {
                        3650
                    }),
                ),
                ("region".to_string(), json!(region)),
            ]);
            self.asset(
                AssetKind::Dataset,
                s.namespace,
                name,
                s.description.to_string(),
                s.team,
                s.domain,
                tags,
                fields(s.columns),
                props,
            );
        }

        // Warehouse tables, each with the Spark job that builds it. The
        // table derives from its inputs column by column where names match.
        for t in TABLES {
            let table = self.table_id(t.name);
            let tier = *self.rng.pick(&["gold", "silver"]);
            let rows = 1_000_000 + self.rng.below(900_000_000) as u64;
            let props = BTreeMap::from([
                ("format".to_string(), json!("iceberg")),
                ("row_count".to_string(), json!(rows)),
                (
                    "partitioned_by".to_string(),
                    json!(if t.columns.iter().any(|c| c.0 == "ds") {
                        "ds"
                    } else {
                        "none"
                    }),
                ),
                ("region".to_string(), json!(region)),
            ]);
            let mut tags = vec![tier, "batch"];
            if t.columns.iter().any(|c| c.0 == "member_id") {
                tags.push("pii");
            }
            self.asset(
                AssetKind::Dataset,
                "iceberg://warehouse",
                format!("{}{sfx}", t.name),
                t.description.to_string(),
                t.team,
                t.domain,
                tags,
                fields(t.columns),
                props,
            );
            let hour = self.rng.below(24);
            let job = self.asset(
                AssetKind::Workflow,
                "airflow",
                format!("build_{}{sfx}", t.name),
                format!("Daily Spark job that builds {}{sfx}.", t.name),
                t.team,
                t.domain,
                vec!["spark", "daily"],
                vec![],
                BTreeMap::from([
                    ("engine".to_string(), json!("spark")),
                    ("schedule".to_string(), json!(format!("0 {hour} * * *"))),
                ]),
            );
            for input in t.inputs {
                let from = self.table_id(input);
                let out_cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
                let mapping: Vec<ColumnMapping> = Self::columns_of(input)
                    .into_iter()
                    .filter(|c| out_cols.contains(c))
                    .map(|c| ColumnMapping {
                        from: c.to_string(),
                        to: c.to_string(),
                        transform: Some("identity".into()),
                    })
                    .collect();
                self.edge(&from, EdgeKind::Reads, &job, vec![]);
                self.edge(&from, EdgeKind::Derives, &table, mapping);
            }
            self.edge(&job, EdgeKind::Writes, &table, vec![]);
        }

        // Features, one per metric and window, each written by its family's
        // feature pipeline and derived from one table column.
        let mut by_table: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for fam in FEATURES {
            let table = self.table_id(fam.table);
            let parallelism = 8 + self.rng.below(56);
            let pipeline = self.asset(
                AssetKind::Workflow,
                "flink",
                format!("{}_features_from_{}{sfx}", fam.entity, fam.table),
                format!(
                    "Streaming feature pipeline that aggregates {} into {} features.",
                    fam.table, fam.entity
                ),
                fam.team,
                fam.domain,
                vec!["flink", "streaming", "feature-pipeline"],
                vec![],
                BTreeMap::from([
                    ("engine".to_string(), json!("flink")),
                    ("parallelism".to_string(), json!(parallelism)),
                ]),
            );
            self.edge(&table, EdgeKind::Reads, &pipeline, vec![]);
            for metric in fam.metrics {
                for window in fam.windows {
                    let name = format!("{}_{metric}_{window}{sfx}", fam.entity);
                    let agg = if metric.ends_with("rate") || metric.ends_with("_p95") {
                        "avg"
                    } else {
                        "sum"
                    };
                    let schema = vec![
                        Field::new(fam.key, "string", false),
                        Field::new("value", "double", true),
                        Field::new("as_of", "timestamp", false),
                    ];
                    let mut tags = vec![
                        "feature-store",
                        if *window == "1d" { "online" } else { "offline" },
                    ];
                    if self.rng.chance(15) {
                        tags.push("experimental");
                    }
                    let f = self.asset(
                        AssetKind::Feature,
                        "feature-store",
                        name,
                        format!(
                            "{} of {metric} per {} over the last {window}.",
                            if agg == "avg" { "Average" } else { "Total" },
                            fam.entity
                        ),
                        fam.team,
                        fam.domain,
                        tags,
                        schema,
                        BTreeMap::from([
                            ("entity".to_string(), json!(fam.entity)),
                            ("window".to_string(), json!(window)),
                            ("aggregation".to_string(), json!(agg)),
                        ]),
                    );
                    self.edge(&pipeline, EdgeKind::Writes, &f, vec![]);
                    let key_from = if Self::columns_of(fam.table).contains(&fam.key) {
                        fam.key
                    } else {
                        "member_id"
                    };
                    self.edge(
                        &table,
                        EdgeKind::Derives,
                        &f,
                        vec![
                            ColumnMapping {
                                from: key_from.to_string(),
                                to: fam.key.to_string(),
                                transform: Some("group by".into()),
                            },
                            ColumnMapping {
                                from: metric.to_string(),
                                to: "value".to_string(),
                                transform: Some(format!("{agg} over {window}")),
                            },
                        ],
                    );
                    by_table.entry(fam.table).or_default().push(f);
                }
            }
        }

        // Models: each trained by its own workflow on a sample of features
        // from its tables and on a label table, evaluated offline and in an
        // A/B test, and deployed to a service.
        let mut services: BTreeMap<&str, String> = BTreeMap::new();
        for m in MODELS {
            let mut pool: Vec<String> = Vec::new();
            for t in m.feature_tables {
                pool.extend(by_table.get(t).cloned().unwrap_or_default());
            }
            let k = 4 + self.rng.below(5);
            let chosen = self.rng.sample(&pool, k);
            let label_table = self.table_id(m.labels_from);
            let labels = self.asset(
                AssetKind::Dataset,
                "iceberg://training",
                format!("{}_training_labels{sfx}", m.name),
                format!(
                    "Labelled examples for {}, built from {}.",
                    m.name, m.labels_from
                ),
                m.team,
                m.domain,
                vec!["training-data", "silver"],
                vec![
                    Field::new("example_id", "string", false),
                    Field::new("label", "double", false),
                    Field::new("weight", "double", true),
                    Field::new("ds", "date", false),
                ],
                BTreeMap::from([("format".to_string(), json!("parquet"))]),
            );
            self.edge(&label_table, EdgeKind::Derives, &labels, vec![]);
            let input_names: Vec<String> = chosen
                .iter()
                .map(|id| {
                    id.rsplit(':')
                        .next()
                        .unwrap_or(id)
                        .trim_end_matches(sfx.as_str())
                        .to_string()
                })
                .collect();
            let mut schema: Vec<Field> = input_names
                .iter()
                .map(|n| Field::new(n, "double", true))
                .collect();
            schema.push(Field::new("score", "double", false));
            let metric_value = (self.rng.float(0.55, 0.93) * 1000.0).round() / 1000.0;
            let registry_version = 1 + self.rng.below(40);
            let model = self.asset(
                AssetKind::Model,
                "model-registry",
                format!("{}{sfx}", m.name),
                m.description.to_string(),
                m.team,
                m.domain,
                vec![
                    "production",
                    if m.framework == "pytorch" || m.framework == "tensorflow" {
                        "deep-learning"
                    } else {
                        "gbdt"
                    },
                ],
                schema,
                BTreeMap::from([
                    ("framework".to_string(), json!(m.framework)),
                    ("metrics".to_string(), json!({ m.metric: metric_value })),
                    ("registry_version".to_string(), json!(registry_version)),
                ]),
            );
            let trainer = self.asset(
                AssetKind::Workflow,
                "metaflow",
                format!("train_{}{sfx}", m.name),
                format!("Weekly training pipeline for {}.", m.name),
                m.team,
                m.domain,
                vec!["training", "weekly"],
                vec![],
                BTreeMap::from([
                    ("engine".to_string(), json!("metaflow")),
                    ("schedule".to_string(), json!("weekly")),
                    (
                        "gpu".to_string(),
                        json!(m.framework == "pytorch" || m.framework == "vllm"),
                    ),
                ]),
            );
            for (feature, input) in chosen.iter().zip(&input_names) {
                self.edge(
                    feature,
                    EdgeKind::Trains,
                    &model,
                    vec![ColumnMapping {
                        from: "value".into(),
                        to: input.clone(),
                        transform: None,
                    }],
                );
                self.edge(feature, EdgeKind::Reads, &trainer, vec![]);
            }
            self.edge(
                &labels,
                EdgeKind::Trains,
                &model,
                vec![ColumnMapping {
                    from: "label".into(),
                    to: "score".into(),
                    transform: Some("target".into()),
                }],
            );
            self.edge(&labels, EdgeKind::Reads, &trainer, vec![]);
            self.edge(&trainer, EdgeKind::Writes, &model, vec![]);

            let offline = self.asset(
                AssetKind::Evaluation,
                "experiments",
                format!("{}_offline_eval{sfx}", m.name),
                format!("Offline evaluation of {} on a held-out week.", m.name),
                m.team,
                m.domain,
                vec!["offline"],
                vec![],
                BTreeMap::from([("metrics".to_string(), json!({ m.metric: metric_value, "baseline": (metric_value * 0.97 * 1000.0).round() / 1000.0 }))]),
            );
            self.edge(&model, EdgeKind::Evaluates, &offline, vec![]);
            self.edge(&labels, EdgeKind::Evaluates, &offline, vec![]);
            let lift = (self.rng.float(-0.5, 2.5) * 100.0).round() / 100.0;
            let p_value = (self.rng.float(0.001, 0.2) * 1000.0).round() / 1000.0;
            let ab = self.asset(
                AssetKind::Evaluation,
                "experiments",
                format!("{}_ab_test{sfx}", m.name),
                format!(
                    "Online A/B test of {} against the production model.",
                    m.name
                ),
                "experimentation",
                m.domain,
                vec![
                    "ab-test",
                    if lift > 0.0 { "winner" } else { "inconclusive" },
                ],
                vec![],
                BTreeMap::from([(
                    "metrics".to_string(),
                    json!({ "streaming_hours_lift_pct": lift, "p_value": p_value }),
                )]),
            );
            self.edge(&model, EdgeKind::Evaluates, &ab, vec![]);
            let exposures = self.table_id("experiment_exposures");
            self.edge(&exposures, EdgeKind::Evaluates, &ab, vec![]);

            let audit = self.asset(
                AssetKind::Evaluation,
                "experiments",
                format!("{}_fairness_audit{sfx}", m.name),
                format!("Fairness and robustness audit of {} across countries, devices and profile types.", m.name),
                "responsible-ml",
                m.domain,
                vec!["audit", "quarterly"],
                vec![],
                BTreeMap::from([("metrics".to_string(), json!({ "max_group_gap": (metric_value * 0.05 * 1000.0).round() / 1000.0 }))]),
            );
            self.edge(&model, EdgeKind::Evaluates, &audit, vec![]);
            self.edge(&labels, EdgeKind::Evaluates, &audit, vec![]);

            let svc = match services.get(m.service) {
                Some(s) => s.clone(),
                None => {
                    let replicas = 4 + self.rng.below(60);
                    let p99 = 20 + self.rng.below(400);
                    let s = self.asset(
                        AssetKind::Service,
                        "serving-prod",
                        format!("{}{sfx}", m.service),
                        format!("Production serving endpoint {}.", m.service),
                        "ml-platform",
                        m.domain,
                        vec!["production", "tier-1", "realtime"],
                        vec![],
                        BTreeMap::from([
                            (
                                "endpoint".to_string(),
                                json!(format!(
                                    "https://{}{sfx}.serving.internal/v1/predict",
                                    m.service
                                )),
                            ),
                            ("replicas".to_string(), json!(replicas)),
                            ("p99_ms".to_string(), json!(p99)),
                        ]),
                    );
                    services.insert(m.service, s.clone());
                    s
                }
            };
            self.edge(&model, EdgeKind::Deploys, &svc, vec![]);
        }

        // Each service logs its predictions through a logging job into a
        // table that monitoring reads.
        let svc_ids: Vec<(&str, String)> = services.iter().map(|(k, v)| (*k, v.clone())).collect();
        for (name, svc) in &svc_ids {
            let logger = self.asset(
                AssetKind::Workflow,
                "flink",
                format!("log_{}{sfx}", name.replace('-', "_")),
                format!("Streams {name}'s requests and predictions into the warehouse."),
                "ml-platform",
                "platform",
                vec!["logging", "streaming"],
                vec![],
                BTreeMap::from([("engine".to_string(), json!("flink"))]),
            );
            self.edge(svc, EdgeKind::Calls, &logger, vec![]);
            let log = self.asset(
                AssetKind::Dataset,
                "iceberg://warehouse",
                format!("{}_prediction_log{sfx}", name.replace('-', "_")),
                format!("Every request to {name} with its features and prediction."),
                "ml-platform",
                "platform",
                vec!["logs", "bronze", "pii"],
                vec![
                    Field::new("request_id", "string", false),
                    Field::new("member_id", "string", true),
                    Field::new("model_version", "string", false),
                    Field::new("prediction", "double", true),
                    Field::new("latency_ms", "double", false),
                    Field::new("event_ts", "timestamp", false),
                ],
                BTreeMap::from([("format".to_string(), json!("iceberg"))]),
            );
            self.edge(&logger, EdgeKind::Writes, &log, vec![]);
            let monitor = self.asset(
                AssetKind::Workflow,
                "airflow",
                format!("monitor_{}{sfx}", name.replace('-', "_")),
                format!("Hourly drift and latency monitoring for {name}."),
                "ml-platform",
                "platform",
                vec!["monitoring", "hourly"],
                vec![],
                BTreeMap::from([
                    ("engine".to_string(), json!("airflow")),
                    ("schedule".to_string(), json!("0 * * * *")),
                ]),
            );
            self.edge(&log, EdgeKind::Reads, &monitor, vec![]);
        }

        // Product surfaces.
        for (app, calls, platform, description) in APPLICATIONS {
            let a = self.asset(
                AssetKind::Application,
                "product",
                format!("{app}{sfx}"),
                description.to_string(),
                "product-engineering",
                "product",
                vec!["member-facing"],
                vec![],
                BTreeMap::from([("platform".to_string(), json!(platform))]),
            );
            for svc in *calls {
                if let Some(s) = services.get(svc) {
                    let s = s.clone();
                    self.edge(&s, EdgeKind::Calls, &a, vec![]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    #[test]
    fn demo_is_large_enough_and_covers_every_kind() {
        let e = demo();
        assert!(e.assets.len() >= 300, "{} assets", e.assets.len());
        assert!(e.edges.len() >= 600, "{} edges", e.edges.len());
        for k in AssetKind::ALL {
            assert!(e.assets.iter().any(|a| a.kind == k), "no {k}");
        }
        assert!(e.edges.iter().filter(|x| !x.columns.is_empty()).count() > 50);
    }

    #[test]
    fn demo_is_valid_and_consistent() {
        let e = generate(7, 1500);
        assert_eq!(e.assets.len(), 1500);
        let by_id: HashMap<&str, &Asset> = e.assets.iter().map(|a| (a.id.as_str(), a)).collect();
        assert_eq!(by_id.len(), e.assets.len(), "asset ids are unique");
        let mut ids = HashSet::new();
        for a in &e.assets {
            a.validate().unwrap();
        }
        for x in &e.edges {
            assert!(ids.insert(x.id.as_str()), "edge ids are unique");
            let (f, t) = (by_id[x.from.as_str()], by_id[x.to.as_str()]);
            x.check_ends(f, t)
                .unwrap_or_else(|err| panic!("{} -> {}: {err}", x.from, x.to));
        }
    }

    #[test]
    fn the_demo_is_exactly_one_shard() {
        let e = generate(DEMO_SEED, DEMO_ASSETS + 1);
        assert!(e.assets[..DEMO_ASSETS]
            .iter()
            .all(|a| !a.name.ends_with("_us")));
        assert!(
            e.assets[DEMO_ASSETS].name.ends_with("_us"),
            "{}",
            e.assets[DEMO_ASSETS].name
        );
    }

    #[test]
    fn generator_is_deterministic_and_seeded() {
        let a = generate(1, 400);
        let b = generate(1, 400);
        assert_eq!(a.assets, b.assets);
        assert_eq!(a.edges, b.edges);
        let c = generate(2, 400);
        assert_ne!(a.assets, c.assets);
    }

    #[test]
    fn shared_hubs_have_many_consumers() {
        let e = generate(DEMO_SEED, 5000);
        let hub = asset_id(
            AssetKind::Dataset,
            "postgres://content-db:5432",
            "title_metadata",
        );
        let consumers = e.edges.iter().filter(|x| x.from == hub).count();
        assert!(consumers > 50, "{consumers}");
    }
}

/// A synthetic graph for benchmarks: `n` assets, each new one reading from
/// about `per_asset` earlier ones picked by preferential attachment, so a
/// few assets become hubs and fan-out follows a power law, as in real
/// estates where a handful of tables feed everything. Every 50th asset is a
/// model trained on its inputs and every 10th a feature; the rest are
/// datasets. Edges point from older to newer assets, so the graph is
/// acyclic and the oldest assets reach most of it.
pub fn power_law(seed: u64, n: usize, per_asset: usize) -> Estate {
    let mut rng = Rng::new(seed);
    let kind_of = |i: usize| match i % 50 {
        49 => AssetKind::Model,
        9 | 19 | 29 | 39 => AssetKind::Feature,
        _ => AssetKind::Dataset,
    };
    let mut estate = Estate {
        assets: Vec::with_capacity(n),
        edges: Vec::with_capacity(n * per_asset),
    };
    // Each non-model asset appears here once, plus once per edge it feeds:
    // drawing from it picks an asset in proportion to its fan-out.
    let mut urn: Vec<u32> = Vec::with_capacity(n * (per_asset + 1));
    let mut parents: Vec<usize> = Vec::with_capacity(per_asset);
    for i in 0..n {
        let kind = kind_of(i);
        let name = format!("t{i:07}");
        let id = asset_id(kind, "bench", &name);
        parents.clear();
        if i > 0 {
            for _ in 0..per_asset.min(i) * 2 {
                if parents.len() == per_asset.min(i) {
                    break;
                }
                let p = if urn.is_empty() || rng.chance(20) {
                    rng.below(i)
                } else {
                    *rng.pick(&urn) as usize
                };
                if kind_of(p) != AssetKind::Model && !parents.contains(&p) {
                    parents.push(p);
                }
            }
        }
        for &p in &parents {
            let from = &estate.assets[p].id;
            let edge_kind = if kind == AssetKind::Model {
                EdgeKind::Trains
            } else {
                EdgeKind::Derives
            };
            estate.edges.push(Edge {
                id: crate::edge::edge_id(from, edge_kind, &id),
                from: from.clone(),
                to: id.clone(),
                kind: edge_kind,
                columns: vec![],
                first_seen: None,
                last_seen: None,
            });
            urn.push(p as u32);
        }
        if kind != AssetKind::Model {
            urn.push(i as u32);
        }
        estate.assets.push(Asset {
            owners: vec![format!("team-{}", i % 40)],
            ..Asset::bare(id, kind, "bench".into(), name)
        });
    }
    estate
}

#[cfg(test)]
mod power_law_tests {
    use super::*;

    #[test]
    fn power_law_graphs_are_valid_acyclic_and_have_hubs() {
        let e = power_law(7, 5_000, 5);
        assert_eq!(e.assets.len(), 5_000);
        let per_asset = e.edges.len() as f64 / 5_000.0;
        assert!(
            (4.5..=5.0).contains(&per_asset),
            "{per_asset} edges per asset"
        );
        let index: std::collections::HashMap<&str, &Asset> =
            e.assets.iter().map(|a| (a.id.as_str(), a)).collect();
        let mut fanout: std::collections::HashMap<&str, usize> = Default::default();
        for edge in &e.edges {
            let (from, to) = (index[edge.from.as_str()], index[edge.to.as_str()]);
            edge.check_ends(from, to).unwrap();
            assert!(from.name < to.name, "edges point from older to newer");
            *fanout.entry(edge.from.as_str()).or_default() += 1;
        }
        let max = fanout.values().copied().max().unwrap();
        assert!(max > 100, "the biggest hub feeds {max} assets");
        assert_eq!(power_law(7, 5_000, 5).edges, e.edges, "seeded");
    }
}
