//! `surreal`: the real SurrealDB server, built from the `surrealdb-server`
//! crate with SurrealKV storage only, for `scripts/cluster.sh`. It takes the
//! same arguments as SurrealDB's own binary (`surreal start …`).

#![recursion_limit = "256"]

fn main() -> std::process::ExitCode {
    surrealdb_server::init(surrealdb_server::core::CommunityComposer())
}
