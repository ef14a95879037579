//! Settings: `Leptos.toml` holds the defaults, `MLGRAPH_*` and `LEPTOS_*`
//! environment variables override it, and command-line flags override both.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use clap::Args;

/// The file that holds the defaults, relative to the working directory.
pub const CONFIG_FILE: &str = "Leptos.toml";
pub const DEFAULT_DB: &str = "surrealkv://./data/mlgraph.db";

#[derive(Args, Clone, Default)]
pub struct DbArgs {
    /// The database: `surrealkv://PATH` (embedded, on disk), `mem://` (embedded, in memory) or
    /// `ws://HOST:PORT` (a SurrealDB server). Default: `[mlgraph] db` in Leptos.toml, else
    /// surrealkv://./data/mlgraph.db.
    #[arg(long, env = "MLGRAPH_DB")]
    pub db: Option<String>,
    /// The block cache of an embedded SurrealKV store, in MiB (at least 16). Default 1024.
    /// SurrealDB's own default would be half the machine's memory minus 1 GiB.
    #[arg(long, env = "MLGRAPH_STORE_CACHE_MB")]
    pub store_cache_mb: Option<u64>,
    /// The memtable of an embedded SurrealKV store, in MiB (at least 64): the largest
    /// transaction it can take. Default 256; SurrealDB's own would be 1024 on this machine.
    #[arg(long, env = "MLGRAPH_STORE_MEMTABLE_MB")]
    pub store_memtable_mb: Option<u64>,
}

impl DbArgs {
    /// How the embedded store is opened.
    pub fn store_options(&self) -> catalog::StoreOptions {
        catalog::StoreOptions {
            cache_mb: self
                .store_cache_mb
                .unwrap_or(catalog::DEFAULT_STORE_CACHE_MB),
            memtable_mb: self
                .store_memtable_mb
                .unwrap_or(catalog::DEFAULT_STORE_MEMTABLE_MB),
        }
    }
}

#[derive(Args, Clone, Default)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The address to listen on. Default: `site-addr` in Leptos.toml, else 127.0.0.1:3000.
    #[arg(long, env = "LEPTOS_SITE_ADDR")]
    pub addr: Option<String>,
    /// Whether to load the demo catalog and demo users into an empty database.
    /// Default: on for the embedded default path and `mem://`, off for any
    /// other database (a production start), unless `[mlgraph] demo` says.
    #[arg(long, env = "MLGRAPH_DEMO")]
    pub demo: Option<String>,
    /// Where the compiled site (wasm, CSS, public files) is. Default: `site-root` in Leptos.toml.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<String>,
    /// Whether callers who have not signed in may read (`0` turns anonymous access off).
    /// Default: `[mlgraph] anonymous` in Leptos.toml, else on.
    #[arg(long, env = "MLGRAPH_ANONYMOUS")]
    pub anonymous: Option<String>,
    /// A URL that receives a JSON POST for every change-request state change.
    #[arg(long, env = "MLGRAPH_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// Days of ingestion log to keep (older entries are pruned hourly; 0 keeps all).
    #[arg(long, env = "MLGRAPH_INGEST_LOG_DAYS", default_value_t = catalog::DEFAULT_INGEST_LOG_DAYS)]
    pub ingest_log_days: u32,
    /// The secret webhook POSTs are signed with (X-Mlgraph-Signature: sha256=HMAC).
    #[arg(long, env = "MLGRAPH_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// A bearer token accepted as an admin, for automation.
    #[arg(long, env = "MLGRAPH_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// The password of every demo user; without it each gets a random one, printed at first start.
    #[arg(long, env = "MLGRAPH_DEMO_PASSWORD", hide_env_values = true)]
    pub demo_password: Option<String>,
    /// Whether the session cookie is `Secure` (set it when users reach the
    /// server over HTTPS, directly or through a proxy). Default off.
    #[arg(long, env = "MLGRAPH_SECURE_COOKIES")]
    pub secure_cookies: Option<String>,
    /// Addresses of reverse proxies whose `X-Forwarded-For` names the client
    /// (comma-separated IPs). Without it, the TCP peer is the client.
    #[arg(long, env = "MLGRAPH_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// How many days a new API token lasts.
    #[arg(long, env = "MLGRAPH_TOKEN_DAYS", default_value_t = catalog::DEFAULT_TOKEN_DAYS)]
    pub token_days: u32,
    /// Days of lineage history to keep: edges that ended and assets deleted
    /// before then are forgotten hourly, and `as_of` earlier is refused.
    /// 0 (the default) keeps everything.
    #[arg(long, env = "MLGRAPH_HISTORY_DAYS", default_value_t = 0)]
    pub history_days: u32,
}

/// mlgraph's own section of Leptos.toml.
#[derive(serde::Deserialize, Default)]
struct FileSettings {
    #[serde(default)]
    mlgraph: MlgraphSection,
}

#[derive(serde::Deserialize, Default)]
struct MlgraphSection {
    db: Option<String>,
    demo: Option<bool>,
    anonymous: Option<bool>,
    webhook_url: Option<String>,
}

pub struct Settings {
    pub db: String,
    /// How the embedded store is opened.
    pub store: catalog::StoreOptions,
    pub demo: bool,
    pub anonymous: bool,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub ingest_log_days: u32,
    pub admin_token: Option<String>,
    pub demo_password: Option<String>,
    pub secure_cookies: bool,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub token_days: u32,
    pub history_days: u32,
    pub leptos: leptos::config::LeptosOptions,
}

fn file_settings() -> anyhow::Result<MlgraphSection> {
    if !Path::new(CONFIG_FILE).exists() {
        return Ok(MlgraphSection::default());
    }
    let text = std::fs::read_to_string(CONFIG_FILE)?;
    // The Leptos section comes first; mlgraph's is a table after it.
    let section = match text.find("[mlgraph]") {
        Some(pos) => &text[pos..],
        None => "",
    };
    let parsed: FileSettings =
        toml::from_str(section).with_context(|| format!("reading [mlgraph] in {CONFIG_FILE}"))?;
    Ok(parsed.mlgraph)
}

/// The database URL from the flag or environment, then the file.
pub fn db_url(args: &DbArgs) -> anyhow::Result<String> {
    Ok(match &args.db {
        Some(url) => url.clone(),
        None => file_settings()?
            .db
            .unwrap_or_else(|| DEFAULT_DB.to_string()),
    })
}

/// Opens the catalog, creating the directory of an on-disk database.
pub async fn open(args: &DbArgs) -> anyhow::Result<catalog::Catalog> {
    let url = db_url(args)?;
    if let Some(path) = url.strip_prefix("surrealkv://") {
        if let Some(parent) = Path::new(path).parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
    }
    catalog::Catalog::connect_with(&url, args.store_options())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

impl Settings {
    pub fn load(args: ServeArgs) -> anyhow::Result<Self> {
        if let Some(addr) = &args.addr {
            std::env::set_var("LEPTOS_SITE_ADDR", addr);
        }
        if let Some(root) = &args.site_root {
            std::env::set_var("LEPTOS_SITE_ROOT", root);
        }
        let conf_file = if Path::new(CONFIG_FILE).exists() {
            Some(CONFIG_FILE)
        } else {
            None
        };
        let leptos = leptos::config::get_configuration(conf_file)
            .map_err(|e| anyhow::anyhow!("reading {CONFIG_FILE}: {e}"))?
            .leptos_options;
        let file = file_settings()?;
        let db = db_url(&args.db)?;
        let demo_by_default = db == DEFAULT_DB || db.starts_with("mem://");
        let demo = switch("MLGRAPH_DEMO", args.demo.as_deref())?
            .unwrap_or(file.demo.unwrap_or(demo_by_default));
        let trusted_proxies = args
            .trusted_proxies
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<std::net::IpAddr>().map_err(|_| {
                    anyhow::anyhow!("MLGRAPH_TRUSTED_PROXIES: {p:?} is not an IP address")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if args.token_days == 0 {
            anyhow::bail!("MLGRAPH_TOKEN_DAYS must be at least 1");
        }
        let anonymous = switch("MLGRAPH_ANONYMOUS", args.anonymous.as_deref())?
            .unwrap_or(file.anonymous.unwrap_or(true));
        let webhook_url = args
            .webhook_url
            .clone()
            .or(file.webhook_url)
            .filter(|u| !u.is_empty());
        if let Some(url) = &webhook_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                anyhow::bail!(
                    "MLGRAPH_WEBHOOK_URL must start with http:// or https://, not {url:?}"
                );
            }
        }
        Ok(Settings {
            db,
            store: args.db.store_options(),
            demo,
            anonymous,
            webhook_url,
            webhook_secret: args.webhook_secret.clone().filter(|t| !t.is_empty()),
            ingest_log_days: args.ingest_log_days,
            admin_token: args.admin_token.clone().filter(|t| !t.is_empty()),
            demo_password: args.demo_password.clone().filter(|t| !t.is_empty()),
            secure_cookies: switch("MLGRAPH_SECURE_COOKIES", args.secure_cookies.as_deref())?
                .unwrap_or(false),
            trusted_proxies,
            token_days: args.token_days,
            history_days: args.history_days,
            leptos,
        })
    }
}

/// Reads an on/off setting.
fn switch(name: &str, value: Option<&str>) -> anyhow::Result<Option<bool>> {
    Ok(match value {
        None => None,
        Some("0" | "false" | "no" | "off") => Some(false),
        Some("1" | "true" | "yes" | "on") => Some(true),
        Some(other) => anyhow::bail!("{name} must be 0 or 1, not {other:?}"),
    })
}

/// A file or standard output.
pub fn writer(out: &str) -> anyhow::Result<Box<dyn Write + Send>> {
    Ok(if out == "-" {
        Box::new(std::io::BufWriter::new(std::io::stdout()))
    } else {
        Box::new(std::io::BufWriter::new(
            std::fs::File::create(out).with_context(|| format!("creating {out}"))?,
        ))
    })
}
