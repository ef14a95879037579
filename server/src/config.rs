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
}

#[derive(Args, Clone, Default)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// The address to listen on. Default: `site-addr` in Leptos.toml, else 127.0.0.1:3000.
    #[arg(long, env = "LEPTOS_SITE_ADDR")]
    pub addr: Option<String>,
    /// Whether to load the demo catalog into an empty database (`0` starts empty).
    #[arg(long, env = "MLGRAPH_DEMO")]
    pub demo: Option<String>,
    /// Where the compiled site (wasm, CSS, public files) is. Default: `site-root` in Leptos.toml.
    #[arg(long, env = "LEPTOS_SITE_ROOT")]
    pub site_root: Option<String>,
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
}

pub struct Settings {
    pub db: String,
    pub demo: bool,
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
    catalog::Catalog::connect(&url)
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
        let demo = match args.demo.as_deref() {
            Some("0" | "false" | "no" | "off") => false,
            Some("1" | "true" | "yes" | "on") => true,
            Some(other) => anyhow::bail!("MLGRAPH_DEMO must be 0 or 1, not {other:?}"),
            None => file.demo.unwrap_or(true),
        };
        Ok(Settings {
            db: db_url(&args.db)?,
            demo,
            leptos,
        })
    }
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
