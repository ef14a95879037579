//! The database schema, applied idempotently at every start.

use crate::store::Store;
use crate::Result;

/// Every definition uses `IF NOT EXISTS` (or, for the three tables that
/// became SCHEMALESS, `OVERWRITE` with the same result each time), so
/// applying the schema to an existing database changes nothing. A later change to a definition needs
/// an `OVERWRITE` step here, in order, never an edit of an old line. What
/// is no longer needed is removed with `REMOVE … IF EXISTS` (see the end
/// of the asset table): search moved to the search index, so the full-text
/// index, its analyzer and the owner and tag indexes went, and no query
/// reads assets by name.
const SCHEMA: &str = r#"

-- The three tables that bulk loads write have no field definitions:
-- SurrealDB evaluates each definition for each record, which cost a
-- quarter of a load. The writers validate every row (domain's checks) and
-- set the times themselves (catalog/src/rows.rs). Edges are a plain table
-- whose `in` and `out` are record links: a relation table also writes four
-- graph pointers per edge, and that was half of an edge's cost, for
-- traversals that the lineage index answers instead. These overwrite the
-- earlier SCHEMAFULL and RELATION definitions of an existing store; the
-- rows stay as they are.
DEFINE TABLE OVERWRITE asset TYPE NORMAL SCHEMALESS;
REMOVE FIELD IF EXISTS key ON asset;
REMOVE FIELD IF EXISTS kind ON asset;
REMOVE FIELD IF EXISTS namespace ON asset;
REMOVE FIELD IF EXISTS name ON asset;
REMOVE FIELD IF EXISTS description ON asset;
REMOVE FIELD IF EXISTS owners ON asset;
REMOVE FIELD IF EXISTS tags ON asset;
REMOVE FIELD IF EXISTS domain ON asset;
REMOVE FIELD IF EXISTS schema ON asset;
REMOVE FIELD IF EXISTS properties ON asset;
REMOVE FIELD IF EXISTS version ON asset;
REMOVE FIELD IF EXISTS search_text ON asset;
REMOVE FIELD IF EXISTS created_at ON asset;
REMOVE FIELD IF EXISTS updated_at ON asset;
-- Every index costs each write a key of its own: in a transaction of
-- 5,000 new assets with their versions and edges, each of these took about
-- a seventh of the time (docs/PERFORMANCE.md, "Indexes a write pays for").
-- Record ids are the keys, so `key` needs no index; the few reads by kind
-- ask the lineage index which assets to read.
REMOVE INDEX IF EXISTS asset_key ON asset;
REMOVE INDEX IF EXISTS asset_kind ON asset;
REMOVE INDEX IF EXISTS asset_name ON asset;
REMOVE INDEX IF EXISTS asset_owners ON asset;
REMOVE INDEX IF EXISTS asset_tags ON asset;
REMOVE INDEX IF EXISTS asset_search ON asset;
REMOVE ANALYZER IF EXISTS asset_text;

DEFINE TABLE OVERWRITE edge TYPE NORMAL SCHEMALESS;
REMOVE FIELD IF EXISTS in ON edge;
REMOVE FIELD IF EXISTS out ON edge;
REMOVE FIELD IF EXISTS key ON edge;
REMOVE FIELD IF EXISTS kind ON edge;
REMOVE FIELD IF EXISTS columns ON edge;
REMOVE FIELD IF EXISTS first_seen ON edge;
REMOVE FIELD IF EXISTS last_seen ON edge;
REMOVE INDEX IF EXISTS edge_key ON edge;
DEFINE INDEX IF NOT EXISTS edge_in ON edge FIELDS in;
DEFINE INDEX IF NOT EXISTS edge_out ON edge FIELDS out;

DEFINE TABLE OVERWRITE asset_version TYPE NORMAL SCHEMALESS;
REMOVE FIELD IF EXISTS asset ON asset_version;
REMOVE FIELD IF EXISTS version ON asset_version;
REMOVE FIELD IF EXISTS at ON asset_version;
REMOVE FIELD IF EXISTS by ON asset_version;
REMOVE FIELD IF EXISTS changes ON asset_version;
REMOVE FIELD IF EXISTS snapshot ON asset_version;
-- A version's record id is `[asset, version]`, so an asset's history is
-- a range of record ids and a second write of one version fails on its id.
-- Rows of stores made before have random ids and are given theirs at start
-- (`migrate_versions`).
REMOVE INDEX IF EXISTS asset_version_key ON asset_version;

-- What ended: edges deleted, dropped by a re-import or gone with their
-- asset, and deleted assets, with when they began and ended. The lineage
-- index reads them at a rebuild to answer walks as of a past moment.
DEFINE TABLE IF NOT EXISTS edge_history TYPE NORMAL SCHEMALESS;
DEFINE TABLE IF NOT EXISTS asset_history TYPE NORMAL SCHEMALESS;

DEFINE TABLE IF NOT EXISTS meta SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS version ON meta TYPE int DEFAULT 0;
DEFINE FIELD IF NOT EXISTS uid ON meta TYPE option<string>;
DEFINE FIELD IF NOT EXISTS importing ON meta TYPE option<int>;
DEFINE FIELD IF NOT EXISTS versions_keyed ON meta TYPE option<bool>;

DEFINE TABLE IF NOT EXISTS user SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS username ON user TYPE string;
DEFINE FIELD IF NOT EXISTS display_name ON user TYPE string;
DEFINE FIELD IF NOT EXISTS roles ON user TYPE array<string>;
DEFINE FIELD IF NOT EXISTS teams ON user TYPE array<string> DEFAULT [];
DEFINE FIELD IF NOT EXISTS password_hash ON user TYPE string;
DEFINE FIELD IF NOT EXISTS disabled ON user TYPE bool DEFAULT false;
DEFINE FIELD IF NOT EXISTS created_at ON user TYPE datetime VALUE $before ?? time::now();

DEFINE TABLE IF NOT EXISTS api_token SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS user ON api_token TYPE string;
DEFINE FIELD IF NOT EXISTS name ON api_token TYPE string;
DEFINE FIELD IF NOT EXISTS prefix ON api_token TYPE string;
DEFINE FIELD IF NOT EXISTS created_at ON api_token TYPE datetime VALUE $before ?? time::now();
DEFINE FIELD IF NOT EXISTS revoked ON api_token TYPE bool DEFAULT false;
DEFINE FIELD IF NOT EXISTS expires_at ON api_token TYPE option<datetime>;
DEFINE INDEX IF NOT EXISTS api_token_user ON api_token FIELDS user;

DEFINE TABLE IF NOT EXISTS sign_in_limit SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS failures ON sign_in_limit TYPE int;
DEFINE FIELD IF NOT EXISTS started ON sign_in_limit TYPE int;
DEFINE INDEX IF NOT EXISTS sign_in_limit_started ON sign_in_limit FIELDS started;
DEFINE FIELD IF NOT EXISTS last ON sign_in_limit TYPE option<int>;
DEFINE INDEX IF NOT EXISTS sign_in_limit_last ON sign_in_limit FIELDS last;

DEFINE TABLE IF NOT EXISTS session SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS user ON session TYPE string;
DEFINE FIELD IF NOT EXISTS expires_at ON session TYPE datetime;

DEFINE TABLE IF NOT EXISTS audit SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS at ON audit TYPE datetime DEFAULT time::now();
DEFINE FIELD IF NOT EXISTS actor ON audit TYPE string;
DEFINE FIELD IF NOT EXISTS action ON audit TYPE string;
DEFINE FIELD IF NOT EXISTS target ON audit TYPE string;
DEFINE FIELD IF NOT EXISTS detail ON audit TYPE object FLEXIBLE DEFAULT {};
DEFINE INDEX IF NOT EXISTS audit_at ON audit FIELDS at;

DEFINE TABLE IF NOT EXISTS change_request SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS doc ON change_request TYPE object FLEXIBLE;
DEFINE FIELD IF NOT EXISTS state ON change_request TYPE string;
DEFINE FIELD IF NOT EXISTS dataset ON change_request TYPE string;
DEFINE FIELD IF NOT EXISTS version ON change_request TYPE int;
DEFINE INDEX IF NOT EXISTS change_request_state ON change_request FIELDS state;
DEFINE INDEX IF NOT EXISTS change_request_dataset ON change_request FIELDS dataset;

DEFINE TABLE IF NOT EXISTS notification SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS recipient ON notification TYPE string;
DEFINE FIELD IF NOT EXISTS at ON notification TYPE datetime DEFAULT time::now();
DEFINE FIELD IF NOT EXISTS change_request ON notification TYPE int;
DEFINE FIELD IF NOT EXISTS event ON notification TYPE string;
DEFINE FIELD IF NOT EXISTS message ON notification TYPE string;
DEFINE FIELD IF NOT EXISTS read ON notification TYPE bool DEFAULT false;
DEFINE INDEX IF NOT EXISTS notification_recipient ON notification FIELDS recipient;

DEFINE TABLE IF NOT EXISTS webhook_outbox SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS event ON webhook_outbox TYPE object FLEXIBLE;
DEFINE FIELD IF NOT EXISTS attempts ON webhook_outbox TYPE int DEFAULT 0;
DEFINE FIELD IF NOT EXISTS next_at ON webhook_outbox TYPE datetime DEFAULT time::now();
DEFINE FIELD IF NOT EXISTS delivered ON webhook_outbox TYPE bool DEFAULT false;
DEFINE FIELD IF NOT EXISTS last_error ON webhook_outbox TYPE option<string>;
DEFINE INDEX IF NOT EXISTS webhook_outbox_pending ON webhook_outbox FIELDS delivered, next_at;

DEFINE TABLE IF NOT EXISTS asset_alias SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS alias ON asset_alias TYPE string;
DEFINE FIELD IF NOT EXISTS target ON asset_alias TYPE string;
DEFINE FIELD IF NOT EXISTS by ON asset_alias TYPE string;
DEFINE FIELD IF NOT EXISTS at ON asset_alias TYPE datetime DEFAULT time::now();
DEFINE INDEX IF NOT EXISTS asset_alias_target ON asset_alias FIELDS target;
DEFINE TABLE IF NOT EXISTS run SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS run_id ON run TYPE string;
DEFINE FIELD IF NOT EXISTS job ON run TYPE string;
DEFINE FIELD IF NOT EXISTS state ON run TYPE string;
DEFINE FIELD IF NOT EXISTS started_at ON run TYPE option<string>;
DEFINE FIELD IF NOT EXISTS ended_at ON run TYPE option<string>;
DEFINE FIELD IF NOT EXISTS events ON run TYPE array<array<string>> DEFAULT [];
DEFINE FIELD IF NOT EXISTS facets ON run TYPE object FLEXIBLE DEFAULT {};
DEFINE FIELD IF NOT EXISTS facet_sources ON run TYPE option<object> FLEXIBLE;
DEFINE INDEX IF NOT EXISTS run_job ON run FIELDS job;

DEFINE TABLE IF NOT EXISTS ingest_event SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS at ON ingest_event TYPE datetime DEFAULT time::now();
DEFINE FIELD IF NOT EXISTS source ON ingest_event TYPE string;
DEFINE FIELD IF NOT EXISTS kind ON ingest_event TYPE string;
DEFINE FIELD IF NOT EXISTS summary ON ingest_event TYPE string;
DEFINE FIELD IF NOT EXISTS ok ON ingest_event TYPE bool;
DEFINE FIELD IF NOT EXISTS problems ON ingest_event TYPE array<object> FLEXIBLE DEFAULT [];
DEFINE INDEX IF NOT EXISTS ingest_event_at ON ingest_event FIELDS at;

DEFINE TABLE IF NOT EXISTS scaling_policy SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS service ON scaling_policy TYPE string;
DEFINE FIELD IF NOT EXISTS version ON scaling_policy TYPE int;
DEFINE FIELD IF NOT EXISTS at ON scaling_policy TYPE datetime DEFAULT time::now();
DEFINE FIELD IF NOT EXISTS by ON scaling_policy TYPE string;
DEFINE FIELD IF NOT EXISTS note ON scaling_policy TYPE string DEFAULT '';
DEFINE FIELD IF NOT EXISTS policy ON scaling_policy TYPE object FLEXIBLE;
DEFINE FIELD IF NOT EXISTS changes ON scaling_policy TYPE array<array<string>> DEFAULT [];
DEFINE INDEX IF NOT EXISTS scaling_policy_key ON scaling_policy FIELDS service, version UNIQUE;

DEFINE TABLE IF NOT EXISTS service_metric SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS service ON service_metric TYPE string;
DEFINE FIELD IF NOT EXISTS at ON service_metric TYPE datetime DEFAULT time::now();
DEFINE FIELD IF NOT EXISTS concurrency ON service_metric TYPE float;
DEFINE FIELD IF NOT EXISTS qps ON service_metric TYPE float;
DEFINE FIELD IF NOT EXISTS p99_ms ON service_metric TYPE float;
DEFINE FIELD IF NOT EXISTS pods ON service_metric TYPE option<int>;
DEFINE INDEX IF NOT EXISTS service_metric_service ON service_metric FIELDS service, at;

DEFINE TABLE IF NOT EXISTS import_cursor SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS source ON import_cursor TYPE string;
DEFINE FIELD IF NOT EXISTS since_ms ON import_cursor TYPE int;
DEFINE FIELD IF NOT EXISTS at ON import_cursor TYPE datetime DEFAULT time::now();
"#;

pub(crate) async fn migrate(db: &Store) -> Result<()> {
    let res = db.query(SCHEMA).await?;
    crate::error::first_real_error(res)?;
    migrate_versions(db).await
}

/// Version rows moved per transaction when a store's are given their ids.
const VERSION_BATCH: usize = 2_000;

/// Gives the version rows of a store made before versions were keyed by
/// `[asset, version]` their record ids, a batch per transaction, once: a
/// flag in `meta` records that it is done, so a start that was stopped
/// half-way carries on. Random ids are strings, which sort before arrays,
/// so each batch reads on from where the last one ended and stops at the
/// first row that has its id.
async fn migrate_versions(db: &Store) -> Result<()> {
    let mut res = db
        .query("RETURN meta:schema.versions_keyed ?? false")
        .await?;
    let done: Option<bool> = res.take(0)?;
    if done == Some(true) {
        return Ok(());
    }
    let mut after = String::new();
    let mut moved = 0usize;
    loop {
        let res = db
            .query(
                r#"BEGIN;
LET $old = SELECT * FROM type::record('asset_version', $after>..) LIMIT $limit;
LET $old = array::filter($old, |$v| type::is_string(record::id($v.id)));
FOR $v IN $old {
    DELETE $v.id;
    CREATE type::record('asset_version', [$v.asset, $v.version]) CONTENT object::remove($v, 'id');
};
RETURN $old.map(|$v| record::id($v.id));
COMMIT;"#,
            )
            .bind(("after", after.clone()))
            .bind(("limit", VERSION_BATCH))
            .await?;
        let mut res = crate::error::first_real_error(res)?;
        let n = res.num_statements();
        let keys: Vec<String> = res.take(n - 2)?;
        moved += keys.len();
        match keys.last() {
            Some(last) if keys.len() == VERSION_BATCH => after = last.clone(),
            _ => break,
        }
    }
    if moved > 0 {
        tracing::info!(rows = moved, "asset versions keyed by asset and version");
    }
    db.query("UPSERT meta:schema SET versions_keyed = true RETURN NONE")
        .await?
        .check()?;
    Ok(())
}
