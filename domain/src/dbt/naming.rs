//! Names that meet openlineage-dbt's. A dbt project run under `dbt-ol`
//! reports its tables and build steps as OpenLineage datasets and jobs; an
//! import of the same project's manifest must name them the same way, or the
//! catalog holds two parallel graphs of one project.
//!
//! openlineage-dbt names them as follows, and so does this module:
//! - a table is the dataset `DATABASE.SCHEMA.ALIAS` (a source: its `name`)
//!   in the namespace of the warehouse, computed from the profile's target
//!   per adapter ([`profile_namespace`]), as OpenLineage's naming
//!   conventions write it (`postgres://HOST:PORT`, `snowflake://ACCOUNT`,
//!   `bigquery`, `duckdb://PATH` …);
//! - a model's build step is the job `DATABASE.SCHEMA.PACKAGE.MODEL` in the
//!   job namespace (`OPENLINEAGE_NAMESPACE`, default `dbt`), with `.build.run`
//!   appended under `dbt build`; a snapshot's ends in `.snapshot`.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ValidationError;

/// dbt-ol's job namespace when `OPENLINEAGE_NAMESPACE` is not set.
pub const DEFAULT_JOB_NAMESPACE: &str = "dbt";

/// The dbt command the project runs under dbt-ol; `dbt-ol run` and
/// `dbt-ol build` name a model's job differently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DbtCommand {
    #[default]
    Run,
    Build,
}

impl FromStr for DbtCommand {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "run" => Ok(Self::Run),
            "build" => Ok(Self::Build),
            other => Err(ValidationError::new(
                "command",
                format!("{other:?} is no dbt command mlgraph names jobs after; use run or build"),
            )),
        }
    }
}

/// How an import names what it creates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Naming {
    /// The namespace of the tables, usually from [`profile_namespace`].
    /// Without it, `dbt://ADAPTER`, which meets nothing another source
    /// reports.
    pub datasets: Option<String>,
    /// The namespace of the build steps and exposures, as
    /// `OPENLINEAGE_NAMESPACE` gives it to dbt-ol; default `dbt`.
    pub jobs: Option<String>,
    pub command: DbtCommand,
}

/// The OpenLineage job name of the step that builds a model, seed or
/// snapshot (`rt`). dbt-ol reports no seeds; theirs follow the snapshot's
/// pattern, so every step of a project is named alike.
pub fn job_name(node: &Value, uid: &str, rt: &str, command: DbtCommand) -> String {
    let local = uid.strip_prefix(&format!("{rt}.")).unwrap_or(uid);
    let base: Vec<&str> = [
        node["database"].as_str(),
        node["schema"].as_str(),
        Some(local),
    ]
    .into_iter()
    .flatten()
    .filter(|p| !p.is_empty())
    .collect();
    let base = base.join(".");
    let build = command == DbtCommand::Build;
    match (rt, build) {
        ("model", false) => base,
        ("model", true) => format!("{base}.build.run"),
        (other, false) => format!("{base}.{other}"),
        (other, true) => format!("{base}.build.{other}"),
    }
}

/// The target of a profile that an import names its tables after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileTarget {
    pub profile: String,
    pub target: String,
    /// The profile's `type`, such as `postgres`.
    pub adapter: String,
    /// The dataset namespace, as openlineage-dbt computes it.
    pub namespace: String,
}

/// Reads `profiles.yml` (as JSON values) for `profile` and its `target`
/// (default: the profile's own `target`), and computes the dataset
/// namespace of its adapter. `env` answers `env_var(...)` calls, the only
/// Jinja profiles.yml commonly holds; other Jinja is refused with the field
/// named, as guessing would split the graph silently.
pub fn profile_namespace(
    profiles: &Value,
    profile: &str,
    target: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ProfileTarget, ValidationError> {
    let entry = &profiles[profile];
    if !entry.is_object() {
        let known: Vec<&str> = profiles
            .as_object()
            .map(|m| {
                m.keys()
                    .map(String::as_str)
                    .filter(|k| *k != "config")
                    .collect()
            })
            .unwrap_or_default();
        return Err(ValidationError::new(
            "profile",
            format!(
                "{profile:?} is not in profiles.yml (it has: {})",
                if known.is_empty() {
                    "no profiles".to_string()
                } else {
                    known.join(", ")
                }
            ),
        ));
    }
    let target = match target {
        Some(t) => t.to_string(),
        None => setting(entry, "target", profile, env)?.ok_or_else(|| {
            ValidationError::new(
                format!("{profile}.target"),
                "is missing; name the target with --target",
            )
        })?,
    };
    let output = &entry["outputs"][&target];
    let at = format!("{profile}.outputs.{target}");
    if !output.is_object() {
        return Err(ValidationError::new(
            format!("{profile}.outputs"),
            format!("has no target {target:?}"),
        ));
    }
    let get = |key: &str| setting(output, key, &at, env);
    let need = |key: &str| {
        get(key)?.ok_or_else(|| ValidationError::new(format!("{at}.{key}"), "is missing"))
    };
    let adapter = need("type")?.to_ascii_lowercase();
    let host_port = |scheme: &str, host: &str, default_port: Option<&str>| {
        let port = match (get("port")?, default_port) {
            (Some(p), _) => p,
            (None, Some(d)) => d.to_string(),
            (None, None) => return Err(ValidationError::new(format!("{at}.port"), "is missing")),
        };
        Ok(format!("{scheme}://{}:{port}", need(host)?))
    };
    let namespace = match adapter.as_str() {
        "snowflake" => format!("snowflake://{}", snowflake_account(&need("account")?)),
        "bigquery" => "bigquery".to_string(),
        "redshift" => host_port("redshift", "host", Some("5439"))?,
        "postgres" => host_port("postgres", "host", Some("5432"))?,
        "clickhouse" => host_port("clickhouse", "host", None)?,
        "trino" => host_port("trino", "host", None)?,
        "presto" | "watsonx_presto" => host_port("presto", "host", None)?,
        "databricks" => format!("databricks://{}", need("host")?),
        "sqlserver" => host_port("mssql", "server", None)?,
        "fabric" => match get("port")? {
            Some(port) => format!("fabric-warehouse://{}:{port}", need("server")?),
            None => format!("fabric-warehouse://{}", need("server")?),
        },
        "dremio" => host_port("dremio", "software_host", None)?,
        "athena" => format!("awsathena://athena.{}.amazonaws.com", need("region_name")?),
        "glue" => {
            let account = match get("account_id")? {
                Some(a) => a,
                None => {
                    let arn = need("role_arn")?;
                    arn.split(':').nth(4).filter(|a| !a.is_empty()).map(str::to_string).ok_or_else(|| {
                        ValidationError::new(format!("{at}.role_arn"), format!("{arn:?} is no IAM role ARN"))
                    })?
                }
            };
            format!("arn:aws:glue:{}:{account}", need("region")?)
        }
        // dbt-duckdb opens an in-memory database when no path is given.
        "duckdb" => format!("duckdb://{}", get("path")?.unwrap_or_else(|| ":memory:".into())),
        "spark" => {
            let method = need("method")?;
            let port = match (get("port")?, method.as_str()) {
                (Some(p), _) => format!(":{p}"),
                (None, "http" | "odbc") => ":443".to_string(),
                (None, "thrift") => ":10001".to_string(),
                (None, _) => String::new(),
            };
            if !["thrift", "odbc", "http"].contains(&method.as_str()) {
                return Err(ValidationError::new(
                    format!("{at}.method"),
                    format!("{method:?} is not a Spark connection method openlineage-dbt names (thrift, odbc, http)"),
                ));
            }
            format!("spark://{}{port}", need("host")?)
        }
        other => {
            return Err(ValidationError::new(
                format!("{at}.type"),
                format!(
                    "adapter {other:?} has no OpenLineage naming that mlgraph knows; give the namespace with --namespace"
                ),
            ))
        }
    };
    Ok(ProfileTarget {
        profile: profile.to_string(),
        target,
        adapter,
        namespace,
    })
}

/// A Snowflake account as OpenLineage names it: an `org-account` name as
/// it is, a legacy locator completed with its region and cloud (AWS
/// us-west-1 when they are left out).
pub fn snowflake_account(account: &str) -> String {
    let parts: Vec<&str> = account.split('.').collect();
    if parts[0].contains('-') {
        return parts[0].to_string();
    }
    match parts.len() {
        1 => format!("{}.us-west-1.aws", parts[0]),
        2 => format!("{}.{}.aws", parts[0], parts[1]),
        _ => account.to_string(),
    }
}

/// One setting of a profile or target, rendered: text and numbers as
/// text, `{{ env_var('NAME') }}` and `{{ env_var('NAME', 'default') }}`
/// replaced. `None` when absent or null.
fn setting(
    object: &Value,
    key: &str,
    at: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, ValidationError> {
    let raw = match &object[key] {
        Value::Null => return Ok(None),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => {
            return Err(ValidationError::new(
                format!("{at}.{key}"),
                "must be text or a number",
            ))
        }
    };
    render(&raw, env)
        .map(Some)
        .map_err(|message| ValidationError::new(format!("{at}.{key}"), message))
}

/// Renders the `env_var` calls of a profiles.yml value.
pub fn render(raw: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("{raw:?} opens {{{{ without closing it"))?;
        out.push_str(&env_var_call(after[..end].trim(), env)?);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out.trim().to_string())
}

/// `env_var('NAME')` or `env_var('NAME', 'default')`, optionally piped
/// through dbt's type filters, which change nothing in a name.
fn env_var_call(expr: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let unsupported = || {
        format!(
            "uses Jinja ({{{{ {expr} }}}}) that mlgraph does not evaluate; only env_var(...) is; give the namespace with --namespace"
        )
    };
    let mut pieces = expr.split('|').map(str::trim);
    let call = pieces.next().unwrap_or_default();
    for filter in pieces {
        if ![
            "as_number",
            "as_text",
            "as_native",
            "as_bool",
            "int",
            "string",
            "trim",
        ]
        .contains(&filter)
        {
            return Err(unsupported());
        }
    }
    let args = call
        .strip_prefix("env_var")
        .map(str::trim_start)
        .and_then(|a| a.strip_prefix('('))
        .and_then(|a| a.trim_end().strip_suffix(')'))
        .ok_or_else(unsupported)?;
    let mut literals = Vec::new();
    let mut rest = args.trim();
    while !rest.is_empty() {
        let (literal, tail) = literal(rest).ok_or_else(unsupported)?;
        literals.push(literal);
        rest = tail.trim_start();
        rest = match rest.strip_prefix(',') {
            Some(t) => t.trim_start(),
            None if rest.is_empty() => rest,
            None => return Err(unsupported()),
        };
    }
    match literals.as_slice() {
        [name] => env(name)
            .ok_or_else(|| format!("needs the environment variable {name}, which is not set")),
        [name, default] => Ok(env(name).unwrap_or_else(|| default.clone())),
        _ => Err(unsupported()),
    }
}

/// A quoted string or a number at the start of `s`, and what follows it.
fn literal(s: &str) -> Option<(String, &str)> {
    let quote = s.chars().next()?;
    if quote == '\'' || quote == '"' {
        let end = s[1..].find(quote)? + 1;
        return Some((s[1..end].to_string(), &s[end + 1..]));
    }
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .unwrap_or(s.len());
    (end > 0).then(|| (s[..end].to_string(), &s[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn ns(output: Value) -> Result<String, ValidationError> {
        let profiles = json!({"p": {"target": "dev", "outputs": {"dev": output}}});
        profile_namespace(&profiles, "p", None, &no_env).map(|t| t.namespace)
    }

    #[test]
    fn each_adapter_names_its_warehouse_as_openlineage_dbt_does() {
        let cases = [
            (
                json!({"type": "postgres", "host": "db.internal", "port": 5432}),
                "postgres://db.internal:5432",
            ),
            (
                json!({"type": "postgres", "host": "db.internal"}),
                "postgres://db.internal:5432",
            ),
            (
                json!({"type": "redshift", "host": "r.example.com", "port": 5439}),
                "redshift://r.example.com:5439",
            ),
            (
                json!({"type": "snowflake", "account": "myorg-myaccount"}),
                "snowflake://myorg-myaccount",
            ),
            (
                json!({"type": "snowflake", "account": "xy12345"}),
                "snowflake://xy12345.us-west-1.aws",
            ),
            (
                json!({"type": "snowflake", "account": "xy12345.us-east-2"}),
                "snowflake://xy12345.us-east-2.aws",
            ),
            (
                json!({"type": "snowflake", "account": "xy12345.east-us-2.azure"}),
                "snowflake://xy12345.east-us-2.azure",
            ),
            (json!({"type": "bigquery", "project": "p"}), "bigquery"),
            (
                json!({"type": "duckdb", "path": "/data/shop.duckdb"}),
                "duckdb:///data/shop.duckdb",
            ),
            (
                json!({"type": "duckdb", "path": "shop.duckdb"}),
                "duckdb://shop.duckdb",
            ),
            (json!({"type": "duckdb"}), "duckdb://:memory:"),
            (
                json!({"type": "spark", "method": "thrift", "host": "spark"}),
                "spark://spark:10001",
            ),
            (
                json!({"type": "spark", "method": "http", "host": "h"}),
                "spark://h:443",
            ),
            (
                json!({"type": "spark", "method": "odbc", "host": "h", "port": 8443}),
                "spark://h:8443",
            ),
            (
                json!({"type": "databricks", "host": "abc.cloud.databricks.com"}),
                "databricks://abc.cloud.databricks.com",
            ),
            (
                json!({"type": "trino", "host": "t", "port": 8080}),
                "trino://t:8080",
            ),
            (
                json!({"type": "sqlserver", "server": "s", "port": 1433}),
                "mssql://s:1433",
            ),
            (
                json!({"type": "athena", "region_name": "eu-west-1"}),
                "awsathena://athena.eu-west-1.amazonaws.com",
            ),
            (
                json!({"type": "glue", "region": "eu-west-1", "role_arn": "arn:aws:iam::123456789012:role/r"}),
                "arn:aws:glue:eu-west-1:123456789012",
            ),
        ];
        for (output, want) in cases {
            assert_eq!(ns(output.clone()).unwrap(), want, "{output}");
        }
    }

    #[test]
    fn missing_settings_and_unknown_adapters_are_named() {
        let err = ns(json!({"type": "snowflake"})).unwrap_err();
        assert_eq!(err.field, "p.outputs.dev.account");
        let err = ns(json!({"type": "trino", "host": "t"})).unwrap_err();
        assert_eq!(err.field, "p.outputs.dev.port");
        let err = ns(json!({"type": "oracle", "host": "o"})).unwrap_err();
        assert_eq!(err.field, "p.outputs.dev.type");
        assert!(err.message.contains("--namespace"), "{}", err.message);
        let err = ns(json!({"type": "spark", "method": "session", "host": "h"})).unwrap_err();
        assert_eq!(err.field, "p.outputs.dev.method");
        let profiles = json!({"p": {"target": "dev", "outputs": {"dev": {"type": "bigquery"}}}});
        let err = profile_namespace(&profiles, "q", None, &no_env).unwrap_err();
        assert!(
            err.message.contains("\"q\"") && err.message.contains("p"),
            "{}",
            err.message
        );
        let err = profile_namespace(&profiles, "p", Some("prod"), &no_env).unwrap_err();
        assert_eq!(err.field, "p.outputs");
    }

    #[test]
    fn the_target_defaults_to_the_profiles_and_env_vars_are_rendered() {
        let profiles = json!({"shop": {
            "target": "{{ env_var('DBT_TARGET', 'dev') }}",
            "outputs": {
                "dev": {"type": "postgres", "host": "localhost", "port": "{{ env_var('PGPORT') | as_number }}"},
                "prod": {"type": "postgres", "host": "{{ env_var(\"PGHOST\") }}", "port": 5432},
            }
        }});
        let env = |name: &str| match name {
            "PGPORT" => Some("6543".to_string()),
            "PGHOST" => Some("pg.prod".to_string()),
            _ => None,
        };
        let dev = profile_namespace(&profiles, "shop", None, &env).unwrap();
        assert_eq!(
            (dev.target.as_str(), dev.namespace.as_str()),
            ("dev", "postgres://localhost:6543")
        );
        let prod = profile_namespace(&profiles, "shop", Some("prod"), &env).unwrap();
        assert_eq!(prod.namespace, "postgres://pg.prod:5432");
        let err = profile_namespace(&profiles, "shop", Some("prod"), &no_env).unwrap_err();
        assert_eq!(err.field, "shop.outputs.prod.host");
        assert!(err.message.contains("PGHOST"), "{}", err.message);
    }

    #[test]
    fn other_jinja_is_refused_rather_than_guessed() {
        for raw in [
            "{{ target.name }}",
            "{{ env_var('A') ~ 'x' }}",
            "{{ env_var('A') | upper }}",
            "{{ env_var('A'",
        ] {
            assert!(render(raw, &|_| Some("v".into())).is_err(), "{raw}");
        }
        assert_eq!(
            render("pre-{{env_var('A')}}-post", &|_| Some("v".into())).unwrap(),
            "pre-v-post"
        );
        assert_eq!(render("{{ env_var('A', 5432) }}", &no_env).unwrap(), "5432");
    }

    #[test]
    fn job_names_follow_dbt_ol_for_run_and_build() {
        let node = json!({"database": "jaffle", "schema": "main"});
        let (run, build) = (DbtCommand::Run, DbtCommand::Build);
        let cases = [
            (
                "model.jaffle_shop.customers",
                "model",
                run,
                "jaffle.main.jaffle_shop.customers",
            ),
            (
                "model.jaffle_shop.customers",
                "model",
                build,
                "jaffle.main.jaffle_shop.customers.build.run",
            ),
            (
                "snapshot.s.orders",
                "snapshot",
                run,
                "jaffle.main.s.orders.snapshot",
            ),
            (
                "snapshot.s.orders",
                "snapshot",
                build,
                "jaffle.main.s.orders.build.snapshot",
            ),
        ];
        for (uid, rt, command, want) in cases {
            assert_eq!(job_name(&node, uid, rt, command), want);
        }
        let no_database = json!({"schema": "main"});
        assert_eq!(
            job_name(&no_database, "seed.s.raw", "seed", run),
            "main.s.raw.seed"
        );
        assert_eq!("build".parse::<DbtCommand>().unwrap(), build);
        assert_eq!("test".parse::<DbtCommand>().unwrap_err().field, "command");
    }
}
