//! The `mlgraph` binary: the command line, configuration, the axum router
//! (Leptos pages, REST API, static files) and the demo loader.

// Leptos view types nest deeply; the asset page needs more than the default.
#![recursion_limit = "256"]

/// jemalloc, with SurrealKV's memtable resident from its allocation (see
/// `alloc`).
#[global_allocator]
static GLOBAL: alloc::Allocator = alloc::Allocator;

mod access;
#[cfg(test)]
mod access_tests;
mod alloc;
mod api;
mod auth;
mod bench;
mod bench_history;
mod bench_impact;
mod bench_ingest;
mod bench_pages;
mod bench_search;
mod bench_search_pg;
mod bulk;
mod changes;
mod check;
mod check_cli;
mod config;
mod csp;
mod dbt_cli;
mod export;
#[cfg(test)]
mod export_tests;
#[cfg(test)]
mod fuzz_tests;
mod history;
#[cfg(test)]
mod history_tests;
#[cfg(test)]
mod ingest_tests;
mod kube;
#[cfg(test)]
mod kube_tests;
mod mlflow;
mod openlineage;
mod report;
mod router;
#[cfg(test)]
mod router_tests;
mod scaling;
#[cfg(test)]
mod scaling_tests;
#[cfg(test)]
mod security_tests;
mod seed;
mod webhook;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Settings;

#[derive(Parser)]
#[command(
    name = "mlgraph",
    version,
    about = "An ML asset catalog that stores the whole estate as one graph."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the web app and the REST API (the default command).
    Serve(config::ServeArgs),
    /// Loads the demo catalog, or a synthetic one of any size, into the database.
    SeedDemo {
        #[command(flatten)]
        db: config::DbArgs,
        /// How many assets to generate (the demo has 309; benchmarks go up to 1,000,000).
        #[arg(long, default_value_t = domain::demo::DEMO_ASSETS)]
        assets: usize,
        /// The generator's seed; the same seed and size give the same catalog.
        #[arg(long, default_value_t = domain::demo::DEMO_SEED)]
        seed: u64,
    },
    /// Writes a generated catalog as NDJSON (the import format) without touching a database.
    Gen {
        #[arg(long, default_value_t = domain::demo::DEMO_ASSETS)]
        assets: usize,
        #[arg(long, default_value_t = domain::demo::DEMO_SEED)]
        seed: u64,
        /// Where to write; `-` for standard output.
        #[arg(long, default_value = "-")]
        out: String,
    },
    /// Times lineage queries on the index, a hop-by-hop walk of SurrealDB's edges and PostgreSQL
    /// recursive CTEs over power-law graphs (see scripts/bench.sh).
    Bench(bench::BenchArgs),
    /// Times lineage walks as of now and as of a past moment on power-law graphs with history,
    /// and the index's memory with and without its history (see docs/PERFORMANCE.md).
    BenchHistory(bench_history::HistoryBenchArgs),
    /// Times impact analysis on generated estates (see docs/PERFORMANCE.md).
    BenchImpact(bench_impact::ImpactBenchArgs),
    /// Times OpenLineage ingestion over HTTP from concurrent clients.
    BenchIngest(bench_ingest::IngestBenchArgs),
    /// Times asset pages and the streamed export over HTTP on an existing store.
    BenchPages(bench_pages::PagesBenchArgs),
    /// Times bulk load, start-up, search with facets and deep paging at scale,
    /// beside PostgreSQL's full-text search.
    BenchSearch(bench_search::SearchBenchArgs),
    /// Checks the schemas a change proposes (`check dbt MANIFEST.json` or `check ndjson FILE`)
    /// against a running mlgraph server: diffs, impact and approvals. Exits 0 when nothing
    /// breaking lacks an approved change request, 1 when something does, 2 on errors.
    Check(check_cli::CheckArgs),
    /// Imports an NDJSON file of assets and edges of any size in batches (`import FILE`), a dbt
    /// project (`import dbt MANIFEST.json [--catalog CATALOG.json] [--profiles-dir DIR --target T
    /// | --namespace NS]`), named as openlineage-dbt names the same project's datasets and jobs,
    /// serving endpoints from Kubernetes YAML (`import kube FILE.yaml`, `-` for standard
    /// input: `kubectl get ksvc,isvc -A -o yaml | mlgraph import kube -`), or an MLflow
    /// tracking server and model registry (`import mlflow --url http://HOST:5000
    /// [--experiment NAME]... [--since TIME]`).
    Import {
        #[command(flatten)]
        db: config::DbArgs,
        /// FILE, or `dbt` and the manifest, or `kube` and the YAML, or `mlflow`.
        #[arg(num_args = 1..=2, required = true)]
        what: Vec<PathBuf>,
        /// With `dbt`: the catalog.json that `dbt docs generate` wrote, for column types.
        #[arg(long)]
        catalog: Option<PathBuf>,
        /// With `dbt`: how tables and jobs are named.
        #[command(flatten)]
        naming: dbt_cli::NamingArgs,
        /// With `mlflow`: the server, and what to read.
        #[command(flatten)]
        mlflow: mlflow::MlflowArgs,
        /// With `dbt`, `kube` or `mlflow`: send the import to this running mlgraph server instead of
        /// opening the store (dbt's namespaces are still computed here, from the local
        /// profiles.yml).
        #[arg(long)]
        server: Option<String>,
        /// With `--server`: an API token of an editor.
        #[arg(long, env = "MLGRAPH_TOKEN", requires = "server")]
        token: Option<String>,
    },
    /// Writes the catalog as a static site that works from any static file host
    /// (`--out DIR`), or with `--ndjson` as NDJSON in the import format (`--out FILE`, `-` for
    /// standard output).
    Export(export::ExportArgs),
    /// Writes a lineage report on one asset: FILE.html (self-contained), FILE.svg or FILE.json.
    Report(report::ReportArgs),
    /// Merges assets that two sources name differently (`alias add FROM_ID TO_ID`), and lists
    /// the aliases.
    #[command(subcommand)]
    Alias(AliasCommand),
    /// Manages users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manages API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand)]
enum AliasCommand {
    /// Declares FROM_ID an alias of TO_ID: FROM's edges, runs and metadata move to TO, and
    /// whatever later names FROM lands on TO.
    Add {
        #[command(flatten)]
        db: config::DbArgs,
        from: String,
        to: String,
        /// Ask this running mlgraph server instead of opening the store.
        #[arg(long)]
        server: Option<String>,
        /// With `--server`: an API token of an editor.
        #[arg(long, env = "MLGRAPH_TOKEN", requires = "server")]
        token: Option<String>,
    },
    /// Lists the aliases.
    List {
        #[command(flatten)]
        db: config::DbArgs,
        #[arg(long)]
        server: Option<String>,
        #[arg(long, env = "MLGRAPH_TOKEN", requires = "server")]
        token: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Creates a user; without --password, a random one is made and printed.
    Add {
        #[command(flatten)]
        db: config::DbArgs,
        username: String,
        /// Comma-separated: viewer, editor, approver, operator, admin. Least privilege
        /// by default: name `--roles admin` for the first administrator.
        #[arg(long, default_value = "viewer")]
        roles: String,
        /// Comma-separated teams whose assets the user answers for.
        #[arg(long, default_value = "")]
        teams: String,
        #[arg(long)]
        display_name: Option<String>,
        /// The password (or MLGRAPH_PASSWORD in the environment).
        #[arg(long, env = "MLGRAPH_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Lists users.
    List {
        #[command(flatten)]
        db: config::DbArgs,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Creates a bearer API token for a user and prints it (it is shown only once).
    Create {
        #[command(flatten)]
        db: config::DbArgs,
        /// Whose token.
        #[arg(long)]
        user: String,
        /// A name to tell the token apart, such as the machine that uses it.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to standard error, so that commands writing data to
    // standard output (`export --ndjson --out -`, `gen`) stay clean.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                "info,surrealdb=warn,surrealdb_core=warn,surrealkv=warn".into()
            }),
        )
        .init();
    let cli = Cli::parse();
    match cli
        .command
        .unwrap_or(Command::Serve(config::ServeArgs::default()))
    {
        Command::Serve(args) => {
            let settings = Settings::load(args)?;
            router::serve(settings).await
        }
        Command::SeedDemo { db, assets, seed } => {
            let catalog = config::open(&db).await?;
            let started = std::time::Instant::now();
            let n = seed::load(&catalog, seed, assets).await?;
            catalog.flush_search().map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "loaded {} assets and {} edges in {:.1}s",
                n.0,
                n.1,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Gen { assets, seed, out } => {
            let estate = domain::demo::generate(seed, assets);
            let mut w = config::writer(&out)?;
            seed::write_ndjson(&estate, &mut w)?;
            Ok(())
        }
        Command::Bench(args) => bench::run(args).await,
        Command::BenchHistory(args) => bench_history::run(args).await,
        Command::BenchImpact(args) => bench_impact::run(args).await,
        Command::BenchIngest(args) => bench_ingest::run(args).await,
        Command::BenchPages(args) => bench_pages::run(args).await,
        Command::BenchSearch(args) => bench_search::run(args).await,
        Command::Import {
            db,
            what,
            catalog,
            naming,
            mlflow,
            server,
            token,
        } => {
            if what.len() == 1 && what[0].as_os_str() == "mlflow" {
                let remote = server.as_deref().map(|s| (s, token.as_deref()));
                let args = mlflow::MlflowArgs {
                    namespace: naming.namespace.clone(),
                    ..mlflow
                };
                return mlflow::import_cli(&args, remote, &db).await;
            }
            if mlflow.url.is_some() {
                anyhow::bail!("--url is for `import mlflow`");
            }
            if what.len() == 2 && what[0].as_os_str() == "dbt" {
                let remote = server.as_deref().map(|s| (s, token.as_deref()));
                return dbt_cli::import(&what[1], catalog.as_deref(), &naming, remote, &db).await;
            }
            if what.len() == 2 && what[0].as_os_str() == "kube" {
                let remote = server.as_deref().map(|s| (s, token.as_deref()));
                return kube::import_cli(&what[1], remote, &db).await;
            }
            if server.is_some() {
                anyhow::bail!(
                    "--server is for `import dbt`, `import kube` and `import mlflow`; an NDJSON file goes to POST /api/v1/import"
                );
            }
            let store = config::open(&db).await?;
            let e = |e: catalog::CatalogError| anyhow::anyhow!("{e}");
            if what.len() != 1 {
                anyhow::bail!(
                    "give one NDJSON file, `dbt` and a manifest, or `kube` and a YAML file"
                );
            }
            let out = bulk::import_file(&store, &what[0], "cli").await?;
            println!("{}", serde_json::to_string(&out)?);
            store.flush_search().map_err(e)?;
            Ok(())
        }
        Command::User(UserCommand::Add {
            db,
            username,
            roles,
            teams,
            display_name,
            password,
        }) => {
            let catalog = config::open(&db).await?;
            let roles = domain::auth::parse_roles(&roles).map_err(|e| anyhow::anyhow!("{e}"))?;
            let generated = password.is_none();
            let password = password.unwrap_or_else(catalog::random_password);
            let user = catalog
                .add_user(
                    catalog::NewUser {
                        username: username.clone(),
                        display_name: display_name.unwrap_or_default(),
                        password: password.clone(),
                        roles,
                        teams: teams
                            .split(',')
                            .map(str::trim)
                            .filter(|t| !t.is_empty())
                            .map(str::to_string)
                            .collect(),
                    },
                    "cli",
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string(&user)?);
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        Command::User(UserCommand::List { db }) => {
            let catalog = config::open(&db).await?;
            for u in catalog
                .list_users()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                println!("{}", serde_json::to_string(&u)?);
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create { db, user, name }) => {
            let catalog = config::open(&db).await?;
            let (token, _) = catalog
                .create_token(&user, &name, "cli")
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
            Ok(())
        }
        Command::Alias(AliasCommand::Add {
            db,
            from,
            to,
            server,
            token,
        }) => {
            let new = domain::alias::NewAlias { from, to };
            let out = match server {
                Some(s) => {
                    check_cli::Client::new(&s, token.as_deref())?
                        .post::<serde_json::Value>("/api/v1/aliases", &serde_json::to_value(&new)?)
                        .await?
                }
                None => {
                    let catalog = config::open(&db).await?;
                    let out = catalog
                        .add_alias(new, "cli")
                        .await
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    catalog.flush_search().map_err(|e| anyhow::anyhow!("{e}"))?;
                    serde_json::to_value(out)?
                }
            };
            println!("{}", serde_json::to_string(&out)?);
            Ok(())
        }
        Command::Alias(AliasCommand::List { db, server, token }) => {
            let list = match server {
                Some(s) => {
                    let v: serde_json::Value = check_cli::Client::new(&s, token.as_deref())?
                        .get("/api/v1/aliases")
                        .await?;
                    serde_json::from_value(v["aliases"].clone())?
                }
                None => config::open(&db)
                    .await?
                    .aliases()
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            };
            for a in list {
                println!("{}\t{}", a.from, a.to);
            }
            Ok(())
        }
        Command::Report(args) => report::run(args).await,
        Command::Check(args) => std::process::exit(check_cli::run(args).await),
        Command::Export(args) if args.ndjson => {
            let catalog = config::open(&export::export_db(&args.db)).await?;
            let mut w = config::writer(&args.out.to_string_lossy())?;
            api::write_export(&catalog, &mut w).await?;
            Ok(())
        }
        Command::Export(args) => {
            let started = std::time::Instant::now();
            let out = args.out.clone();
            let stats = export::run(args).await?;
            println!(
                "wrote {} files ({:.1} MB) for {} assets to {} in {:.1}s{}",
                stats.files,
                stats.bytes as f64 / 1e6,
                stats.assets,
                out.display(),
                started.elapsed().as_secs_f64(),
                if stats.interactive {
                    ""
                } else {
                    " (no compiled site found: pages without the graph and explorer)"
                }
            );
            println!("{}", serde_json::to_string(&stats)?);
            Ok(())
        }
    }
}
