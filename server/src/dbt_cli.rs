//! The dbt side of the command line. `mlgraph import dbt` and `mlgraph check
//! dbt` name a project's tables and jobs as openlineage-dbt does for the
//! same project, profile and target. The dataset namespace comes from
//! `profiles.yml`, found where dbt looks for it; only the connection's
//! address is read from it, never a credential, and nothing of it leaves
//! the machine.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use domain::dbt::{profile_namespace, DbtCommand, Naming, ProfileTarget};
use serde_json::Value;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct NamingArgs {
    /// The namespace of the tables, overriding the one computed from profiles.yml.
    #[arg(long, conflicts_with_all = ["profiles_dir", "profile"])]
    pub namespace: Option<String>,
    /// Where profiles.yml is (default, as dbt: $DBT_PROFILES_DIR, the project directory, the
    /// current directory, then ~/.dbt).
    #[arg(long)]
    pub profiles_dir: Option<PathBuf>,
    /// The profile (default: `profile:` in dbt_project.yml).
    #[arg(long)]
    pub profile: Option<String>,
    /// The target (default: $DBT_TARGET, then the profile's `target:`).
    #[arg(long, env = "DBT_TARGET")]
    pub target: Option<String>,
    /// The dbt project directory (default: the one holding the manifest's target/ folder, or
    /// the current directory).
    #[arg(long)]
    pub project_dir: Option<PathBuf>,
    /// The namespace of the jobs, as dbt-ol takes it from $OPENLINEAGE_NAMESPACE.
    #[arg(long, env = "OPENLINEAGE_NAMESPACE", default_value = "dbt")]
    pub job_namespace: String,
    /// The command the project runs under dbt-ol: `run` or `build` (which names jobs `….build.run`).
    #[arg(long, default_value = "run")]
    pub dbt_command: String,
}

/// The naming, and a line for the user when the tables' namespace could not
/// be computed.
pub fn resolve(args: &NamingArgs, manifest: &Path) -> anyhow::Result<(Naming, Option<String>)> {
    let command: DbtCommand = args
        .dbt_command
        .parse()
        .map_err(|e| anyhow!("--dbt-command: {e}"))?;
    let mut naming = Naming {
        datasets: args.namespace.clone(),
        jobs: Some(args.job_namespace.clone()),
        command,
    };
    if naming.datasets.is_some() {
        return Ok((naming, None));
    }
    let project = project_dir(args, manifest);
    let Some(profiles_path) = profiles_file(args, project.as_deref())? else {
        return Ok((
            naming,
            Some(
                "no profiles.yml found (--profiles-dir, $DBT_PROFILES_DIR, the project directory, ~/.dbt): \
                 tables are named in dbt://ADAPTER, where no dbt-ol event meets them; give --profiles-dir or --namespace"
                    .to_string(),
            ),
        ));
    };
    let target = target(args, project.as_deref(), &profiles_path)?;
    naming.datasets = Some(target.namespace);
    Ok((naming, None))
}

/// The profile's target that names the tables.
pub fn target(
    args: &NamingArgs,
    project: Option<&Path>,
    profiles_path: &Path,
) -> anyhow::Result<ProfileTarget> {
    let profiles = read_yaml(profiles_path)?;
    let env = |name: &str| std::env::var(name).ok();
    let profile = match &args.profile {
        Some(p) => p.clone(),
        None => project_profile(project, &profiles)?,
    };
    profile_namespace(&profiles, &profile, args.target.as_deref(), &env)
        .map_err(|e| anyhow!("{}: {e}", profiles_path.display()))
}

/// The project directory: as given, else the folder above the manifest's
/// `target/` when it holds dbt_project.yml, else the current directory
/// when it does.
fn project_dir(args: &NamingArgs, manifest: &Path) -> Option<PathBuf> {
    if let Some(dir) = &args.project_dir {
        return Some(dir.clone());
    }
    let above = manifest
        .canonicalize()
        .ok()
        .and_then(|m| m.parent()?.parent().map(Path::to_path_buf));
    above
        .into_iter()
        .chain(std::env::current_dir().ok())
        .find(|d| d.join("dbt_project.yml").is_file())
}

/// profiles.yml where dbt looks for it. A directory that was named but
/// lacks the file is an error, not a reason to look elsewhere.
fn profiles_file(args: &NamingArgs, project: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    let named = args
        .profiles_dir
        .clone()
        .map(|d| (d, "--profiles-dir"))
        .or_else(|| {
            std::env::var_os("DBT_PROFILES_DIR").map(|d| (PathBuf::from(d), "$DBT_PROFILES_DIR"))
        });
    if let Some((dir, how)) = named {
        let file = dir.join("profiles.yml");
        if !file.is_file() {
            bail!("{how} names {}, which holds no profiles.yml", dir.display());
        }
        return Ok(Some(file));
    }
    let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".dbt"));
    Ok(project
        .map(Path::to_path_buf)
        .into_iter()
        .chain(std::env::current_dir().ok())
        .chain(home)
        .map(|d| d.join("profiles.yml"))
        .find(|f| f.is_file()))
}

/// `profile:` of dbt_project.yml, or the only profile of profiles.yml.
fn project_profile(project: Option<&Path>, profiles: &Value) -> anyhow::Result<String> {
    if let Some(dir) = project {
        let file = dir.join("dbt_project.yml");
        if file.is_file() {
            let project = read_yaml(&file)?;
            let env = |name: &str| std::env::var(name).ok();
            return match project["profile"].as_str() {
                Some(p) => domain::dbt::naming::render(p, &env)
                    .map_err(|e| anyhow!("{}: profile {e}", file.display())),
                None => bail!("{} names no profile; give --profile", file.display()),
            };
        }
    }
    let names: Vec<&String> = profiles
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys())
        .filter(|k| *k != "config")
        .collect();
    match names.as_slice() {
        [only] => Ok(only.to_string()),
        _ => bail!("no dbt_project.yml names the profile; give --profile or --project-dir"),
    }
}

fn read_yaml(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut yaml: serde_yaml::Value =
        serde_yaml::from_str(&text).with_context(|| format!("{} is not YAML", path.display()))?;
    yaml.apply_merge()
        .with_context(|| format!("{}: merging YAML anchors", path.display()))?;
    serde_json::to_value(yaml)
        .with_context(|| format!("{} has keys that are not text", path.display()))
}

/// `mlgraph import dbt`: parses the manifest here, naming as `naming`
/// says, and writes it to the store, or with `server` sends it to a
/// running mlgraph (`POST /api/v1/import/dbt`) with the namespaces
/// computed here. Prints the import's outcome as JSON.
pub async fn import(
    manifest_path: &Path,
    catalog_path: Option<&Path>,
    naming: &NamingArgs,
    remote: Option<(&str, Option<&str>)>,
    db: &crate::config::DbArgs,
) -> anyhow::Result<()> {
    let read = |p: &Path| -> anyhow::Result<Value> {
        let text = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", p.display()))
    };
    let manifest = read(manifest_path)?;
    let catalog = catalog_path.map(read).transpose()?;
    let (naming, note) = resolve(naming, manifest_path)?;
    if let Some(note) = note {
        eprintln!("mlgraph import dbt: {note}");
    }
    // Parsed here in both cases, so a bad manifest fails before any upload.
    let import = domain::dbt::parse_manifest(&manifest, catalog.as_ref(), &naming)
        .map_err(|e| anyhow!("{}: {e}", manifest_path.display()))?;
    let out: Value = match remote {
        Some((server, token)) => {
            let client = crate::check_cli::Client::new(server, token)?;
            let mut query = vec![
                ("namespace", import.namespace.as_str()),
                ("job_namespace", import.job_namespace.as_str()),
            ];
            if naming.command == DbtCommand::Build {
                query.push(("command", "build"));
            }
            let query: Vec<String> = query
                .into_iter()
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        percent_encoding::utf8_percent_encode(
                            v,
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    )
                })
                .collect();
            let body = serde_json::json!({"manifest": manifest, "catalog": catalog});
            client
                .post(&format!("/api/v1/import/dbt?{}", query.join("&")), &body)
                .await?
        }
        None => {
            let store = crate::config::open(db).await?;
            let out = store
                .import_dbt(import, "cli")
                .await
                .map_err(|e| anyhow!("{e}"))?;
            store.flush_search().map_err(|e| anyhow!("{e}"))?;
            serde_json::to_value(out)?
        }
    };
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(profiles: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dbt_project.yml"),
            "name: shop\nprofile: shop\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("profiles.yml"), profiles).unwrap();
        std::fs::create_dir(dir.path().join("target")).unwrap();
        std::fs::write(dir.path().join("target/manifest.json"), "{}").unwrap();
        dir
    }

    fn args(dir: &Path) -> NamingArgs {
        NamingArgs {
            profiles_dir: Some(dir.to_path_buf()),
            job_namespace: "dbt".into(),
            dbt_command: "run".into(),
            ..NamingArgs::default()
        }
    }

    #[test]
    fn the_profile_of_the_project_names_the_tables() {
        let dir = project(
            "shop:\n  target: dev\n  outputs:\n    dev: &dev\n      type: postgres\n      host: pg.dev\n      port: 5432\n      password: secret\n    prod:\n      <<: *dev\n      host: pg.prod\nother:\n  outputs: {}\n",
        );
        let manifest = dir.path().join("target/manifest.json");
        let (naming, note) = resolve(&args(dir.path()), &manifest).unwrap();
        assert_eq!(naming.datasets.as_deref(), Some("postgres://pg.dev:5432"));
        assert_eq!((naming.jobs.as_deref(), note), (Some("dbt"), None));
        let prod = NamingArgs {
            target: Some("prod".into()),
            ..args(dir.path())
        };
        let (naming, _) = resolve(&prod, &manifest).unwrap();
        assert_eq!(naming.datasets.as_deref(), Some("postgres://pg.prod:5432"));
        let bad = NamingArgs {
            target: Some("qa".into()),
            ..args(dir.path())
        };
        let err = resolve(&bad, &manifest).unwrap_err().to_string();
        assert!(err.contains("profiles.yml") && err.contains("qa"), "{err}");
        let build = NamingArgs {
            dbt_command: "test".into(),
            ..args(dir.path())
        };
        assert!(resolve(&build, &manifest)
            .unwrap_err()
            .to_string()
            .contains("--dbt-command"));
    }

    #[test]
    fn a_named_directory_without_profiles_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve(&args(dir.path()), &dir.path().join("manifest.json"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--profiles-dir") && err.contains("no profiles.yml"),
            "{err}"
        );
    }
}
