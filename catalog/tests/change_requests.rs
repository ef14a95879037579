//! Users, impact analysis and change requests against the real embedded
//! SurrealDB: the demo estate, lifecycle steps, optimistic concurrency,
//! staleness, applying a change, notifications and the audit log.

use catalog::{Catalog, CatalogError, NewUser, UserChange};
use domain::auth::{Principal, Role, Via};
use domain::change_request::{ChangeRequest, CrState, NewChangeRequest, Step};
use domain::demo::demo;
use domain::impact::{ChangeOp, SchemaChange, Severity};
use domain::record::ImportBatch;
use domain::{AssetKind, EdgeKind};

async fn demo_catalog() -> Catalog {
    let c = Catalog::connect("mem://").await.unwrap();
    let e = demo();
    c.import(
        ImportBatch {
            assets: e.assets,
            edges: e.edges,
        },
        vec![],
        "seed",
    )
    .await
    .unwrap();
    c
}

fn who(user: &str, roles: &[Role], teams: &[&str]) -> Principal {
    Principal {
        user: user.into(),
        display_name: user.into(),
        roles: roles.to_vec(),
        teams: teams.iter().map(|t| t.to_string()).collect(),
        via: Via::Session,
    }
}

fn drop(column: &str) -> SchemaChange {
    SchemaChange {
        op: ChangeOp::Drop,
        column: column.into(),
        new_name: None,
        data_type: None,
        nullable: None,
    }
}

/// Opens a request to drop one column.
async fn open_drop(c: &Catalog, by: &Principal, dataset: &str, column: &str) -> ChangeRequest {
    c.open_change_request(
        NewChangeRequest {
            dataset: dataset.to_string(),
            title: String::new(),
            description: String::new(),
            changes: vec![drop(column)],
            draft: false,
            source_url: None,
            check_report: None,
        },
        by,
    )
    .await
    .unwrap()
}

/// A dataset column of the demo that feeds, through mapped edges, a
/// feature that trains a model: found from the estate, not hard-coded.
fn column_feeding_a_model() -> (String, String, String) {
    let e = demo();
    let kind = |id: &str| e.assets.iter().find(|a| a.id == id).map(|a| a.kind);
    for d in &e.edges {
        if d.kind != EdgeKind::Derives || kind(&d.from) != Some(AssetKind::Dataset) {
            continue;
        }
        for m in &d.columns {
            let trains = e.edges.iter().find(|t| {
                t.kind == EdgeKind::Trains
                    && t.from == d.to
                    && t.columns.iter().any(|tm| tm.from == m.to)
            });
            if let Some(t) = trains {
                return (d.from.clone(), m.from.clone(), t.to.clone());
            }
        }
    }
    panic!("the demo has no column that feeds a model");
}

#[tokio::test]
async fn users_sign_in_with_sessions_and_tokens() {
    let c = Catalog::connect("mem://").await.unwrap();
    let ana = c
        .add_user(
            NewUser {
                username: "ana".into(),
                display_name: "Ana".into(),
                password: "correct horse".into(),
                roles: vec![Role::Editor],
                teams: vec!["team-a".into()],
            },
            "cli",
        )
        .await
        .unwrap();
    assert_eq!(ana.roles, vec![Role::Editor]);
    let dup = c
        .add_user(
            NewUser {
                username: "ana".into(),
                display_name: String::new(),
                password: "another one".into(),
                roles: vec![Role::Viewer],
                teams: vec![],
            },
            "cli",
        )
        .await
        .unwrap_err();
    assert!(matches!(dup, CatalogError::Conflict(_)), "{dup}");
    let short = c
        .add_user(
            NewUser {
                username: "bob".into(),
                display_name: String::new(),
                password: "short".into(),
                roles: vec![Role::Viewer],
                teams: vec![],
            },
            "cli",
        )
        .await
        .unwrap_err();
    assert!(matches!(short, CatalogError::Invalid(ref v) if v.field == "password"));

    assert!(c.sign_in("ana", "wrong password").await.unwrap().is_none());
    assert!(c
        .sign_in("nobody", "correct horse")
        .await
        .unwrap()
        .is_none());
    let (secret, user) = c.sign_in("ana", "correct horse").await.unwrap().unwrap();
    assert_eq!(user.username, "ana");
    assert_eq!(
        c.session_user(&secret).await.unwrap().unwrap().teams,
        vec!["team-a"]
    );
    assert!(c.session_user("mls_forged").await.unwrap().is_none());
    c.sign_out(&secret).await.unwrap();
    assert!(c.session_user(&secret).await.unwrap().is_none());

    let (token, info) = c.create_token("ana", "ci", "ana").await.unwrap();
    assert!(token.starts_with(&info.prefix));
    assert_eq!(c.token_user(&token).await.unwrap().unwrap().username, "ana");
    assert!(c.token_user("mlt_0000").await.unwrap().is_none());
    assert_eq!(c.list_tokens("ana").await.unwrap().len(), 1);

    let log = c.audit_log(None, None, 100).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|r| r.action.as_str()).collect();
    for a in [
        "user.create",
        "session.create",
        "session.delete",
        "token.create",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert_eq!(
        actions.iter().filter(|a| **a == "user.create").count(),
        1,
        "the refused duplicate left no audit record"
    );
}

fn new_user(name: &str, roles: Vec<Role>) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: String::new(),
        password: "first password".into(),
        roles,
        teams: vec![],
    }
}

#[tokio::test]
async fn tokens_are_revoked_passwords_changed_and_the_last_admin_kept() {
    let c = Catalog::connect("mem://").await.unwrap();
    c.add_user(new_user("root", vec![Role::Admin]), "cli")
        .await
        .unwrap();
    c.add_user(new_user("ana", vec![Role::Editor]), "cli")
        .await
        .unwrap();

    // Revoking a token stops it at once; a second revoke finds nothing.
    let (token, info) = c.create_token("ana", "laptop", "ana").await.unwrap();
    let (other, _) = c.create_token("ana", "ci", "ana").await.unwrap();
    c.revoke_token("ana", &info.prefix, "ana").await.unwrap();
    assert!(c.token_user(&token).await.unwrap().is_none());
    assert!(
        c.token_user(&other).await.unwrap().is_some(),
        "only that token"
    );
    assert_eq!(c.list_tokens("ana").await.unwrap().len(), 1);
    let again = c
        .revoke_token("ana", &info.prefix, "ana")
        .await
        .unwrap_err();
    assert!(matches!(again, CatalogError::NotFound(_)), "{again}");
    let theirs = c
        .revoke_token("root", &info.prefix, "root")
        .await
        .unwrap_err();
    assert!(matches!(theirs, CatalogError::NotFound(_)), "{theirs}");

    // A password change needs the current password, keeps the session
    // that made it and ends the others.
    let (here, _) = c.sign_in("ana", "first password").await.unwrap().unwrap();
    let (elsewhere, _) = c.sign_in("ana", "first password").await.unwrap().unwrap();
    let wrong = c
        .change_password("ana", "not it at all", "second password", Some(&here))
        .await
        .unwrap_err();
    assert!(matches!(wrong, CatalogError::Invalid(ref v) if v.field == "current_password"));
    let short = c
        .change_password("ana", "first password", "short", Some(&here))
        .await
        .unwrap_err();
    assert!(matches!(short, CatalogError::Invalid(ref v) if v.field == "new_password"));
    c.change_password("ana", "first password", "second password", Some(&here))
        .await
        .unwrap();
    assert!(c.session_user(&here).await.unwrap().is_some());
    assert!(c.session_user(&elsewhere).await.unwrap().is_none());
    assert!(c.sign_in("ana", "first password").await.unwrap().is_none());
    assert!(c.sign_in("ana", "second password").await.unwrap().is_some());
    // A password change revokes the user's tokens: whoever took the old
    // password may have made one.
    assert!(c.token_user(&other).await.unwrap().is_none());
    assert!(c.list_tokens("ana").await.unwrap().is_empty());
    // Tokens expire after the configured days.
    c.set_token_days(30);
    let (fresh, _) = c.create_token("ana", "fresh", "ana").await.unwrap();
    assert!(c.token_user(&fresh).await.unwrap().is_some());
    let listed = c.list_tokens("ana").await.unwrap();
    let (created, expires) = (&listed[0].created_at, &listed[0].expires_at);
    let day = |s: &str| {
        s.trim_start_matches("d'")
            .get(..10)
            .unwrap_or_default()
            .to_string()
    };
    assert_ne!(day(created), day(expires), "{created} .. {expires}");
    assert!(expires > created, "{created} .. {expires}");

    // Admins change roles, disable users (ending their sessions and
    // tokens' use) and reset passwords.
    let changed = c
        .change_user(
            "ana",
            UserChange {
                roles: Some(vec![Role::Editor, Role::Approver]),
                teams: Some(vec!["growth".into()]),
                ..UserChange::default()
            },
            "root",
        )
        .await
        .unwrap();
    assert_eq!(changed.roles, vec![Role::Editor, Role::Approver]);
    assert_eq!(changed.teams, vec!["growth"]);
    let (live, _) = c.sign_in("ana", "second password").await.unwrap().unwrap();
    let off = UserChange {
        disabled: Some(true),
        ..UserChange::default()
    };
    c.change_user("ana", off, "root").await.unwrap();
    assert!(c.session_user(&live).await.unwrap().is_none());
    assert!(c.token_user(&other).await.unwrap().is_none());
    assert!(c.sign_in("ana", "second password").await.unwrap().is_none());
    let reset = UserChange {
        disabled: Some(false),
        password: Some("third password".into()),
        ..UserChange::default()
    };
    c.change_user("ana", reset, "root").await.unwrap();
    assert!(c.sign_in("ana", "third password").await.unwrap().is_some());
    assert!(
        c.token_user(&fresh).await.unwrap().is_none(),
        "a reset revokes the tokens too"
    );

    // The only enabled admin cannot be demoted or disabled; once there is
    // another admin they can. Nothing of a refused change is kept.
    for change in [
        UserChange {
            roles: Some(vec![Role::Viewer]),
            ..UserChange::default()
        },
        UserChange {
            disabled: Some(true),
            ..UserChange::default()
        },
    ] {
        let e = c.change_user("root", change, "root").await.unwrap_err();
        assert!(matches!(e, CatalogError::Invalid(_)), "{e}");
    }
    assert_eq!(
        c.get_user("root").await.unwrap().unwrap().roles,
        vec![Role::Admin]
    );
    let promote = UserChange {
        roles: Some(vec![Role::Admin]),
        ..UserChange::default()
    };
    c.change_user("ana", promote, "root").await.unwrap();
    let demote = UserChange {
        roles: Some(vec![Role::Viewer]),
        ..UserChange::default()
    };
    c.change_user("root", demote, "ana").await.unwrap();
    let missing = c
        .change_user("nobody", UserChange::default(), "ana")
        .await
        .unwrap_err();
    assert!(matches!(missing, CatalogError::NotFound(_)), "{missing}");

    let log = c.audit_log(None, None, 100).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|r| r.action.as_str()).collect();
    for a in ["token.revoke", "user.password", "user.change"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
}

/// A change writes only the parts it names, and a catalog without any
/// admin user (run with MLGRAPH_ADMIN_TOKEN alone) can still be managed.
#[tokio::test]
async fn user_changes_write_only_what_they_name() {
    let c = Catalog::connect("mem://").await.unwrap();
    c.add_user(new_user("val", vec![Role::Viewer]), "token")
        .await
        .unwrap();
    let roles = UserChange {
        roles: Some(vec![Role::Editor]),
        ..UserChange::default()
    };
    c.change_user("val", roles, "token").await.unwrap();
    let teams = UserChange {
        teams: Some(vec!["growth".into()]),
        ..UserChange::default()
    };
    let after = c.change_user("val", teams, "token").await.unwrap();
    assert_eq!(after.roles, vec![Role::Editor], "roles kept");
    assert_eq!(after.teams, vec!["growth"]);
    let off = UserChange {
        disabled: Some(true),
        ..UserChange::default()
    };
    assert!(c.change_user("val", off, "token").await.unwrap().disabled);
}

/// A non-breaking change needs no owner's approval, but every owner of an
/// affected asset is still told.
#[tokio::test]
async fn owners_of_a_non_breaking_change_are_notified() {
    let c = demo_catalog().await;
    let (dataset, _, _) = column_feeding_a_model();
    let owners = c.get_asset(&dataset).await.unwrap().owners;
    assert!(!owners.is_empty(), "the demo dataset has owners");
    let ana = who("ana", &[Role::Editor], &[]);
    let add = SchemaChange {
        op: ChangeOp::Add,
        column: "note".into(),
        new_name: None,
        data_type: Some("string".into()),
        nullable: Some(true),
    };
    let cr = c
        .open_change_request(
            NewChangeRequest {
                dataset: dataset.clone(),
                title: String::new(),
                description: String::new(),
                changes: vec![add],
                draft: false,
                source_url: None,
                check_report: None,
            },
            &ana,
        )
        .await
        .unwrap();
    assert_eq!(cr.impact.severity, Severity::NonBreaking);
    assert!(
        cr.required_approvers.is_empty(),
        "{:?}",
        cr.required_approvers
    );
    let member = who("olu", &[Role::Viewer], &[owners[0].as_str()]);
    let notes = c.notifications(&member, 50).await.unwrap();
    assert!(
        notes.iter().any(|n| n.change_request == cr.id),
        "the owner {} was told: {notes:?}",
        owners[0]
    );
}

#[tokio::test]
async fn impact_of_dropping_a_column_reaches_the_model_and_its_service() {
    let c = demo_catalog().await;
    let (dataset, column, model) = column_feeding_a_model();
    let report = c.impact(&dataset, &[drop(&column)]).await.unwrap();
    let m = report
        .affected
        .iter()
        .find(|a| a.id == model)
        .expect("the model is affected");
    assert_eq!(m.severity, Severity::Breaking);
    assert!(!m.chains.is_empty());
    assert_eq!(m.chains[0][0].asset, dataset);
    assert_eq!(m.chains[0][0].column, column);
    assert!(
        report.services.iter().any(|s| s.production),
        "a production service is hit"
    );
    assert!(!report.owners.is_empty());
    assert!(report.refresh_plan.len() >= 2);

    let err = c
        .impact(&dataset, &[drop("no_such_column")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, CatalogError::Invalid(ref v) if v.field == "changes[0].column"),
        "{err}"
    );
    let err = c.impact(&model, &[drop("x")]).await.unwrap_err();
    assert!(
        matches!(err, CatalogError::Invalid(ref v) if v.field == "dataset"),
        "{err}"
    );
}

#[tokio::test]
async fn a_change_request_is_opened_approved_and_applied() {
    let c = demo_catalog().await;
    let (dataset, column, model) = column_feeding_a_model();
    let before = c.get_asset(&dataset).await.unwrap();
    let ana = who("ana", &[Role::Editor], &[]);
    let cr = c
        .open_change_request(
            NewChangeRequest {
                dataset: dataset.clone(),
                title: String::new(),
                description: "no longer collected".into(),
                changes: vec![drop(&column)],
                draft: false,
                source_url: None,
                check_report: None,
            },
            &ana,
        )
        .await
        .unwrap();
    assert_eq!(cr.state, CrState::Open);
    assert!(cr.title.contains(&column));
    assert!(cr.impact.affected.iter().any(|a| a.id == model));
    let model_owners = c.get_asset(&model).await.unwrap().owners;
    for o in &model_owners {
        assert!(cr.required_approvers.contains(o), "{o} must approve");
    }
    // Every required approver was told.
    let owner = who("someone", &[Role::Viewer], &[&model_owners[0]]);
    let notes = c.notifications(&owner, 50).await.unwrap();
    assert!(notes
        .iter()
        .any(|n| n.change_request == cr.id && n.event == "opened"));

    // The proposer cannot approve; a stranger with no role cannot either.
    let err = c
        .change_request_step(cr.id, Step::Approve, &ana, "", None)
        .await
        .unwrap_err();
    assert!(matches!(err, CatalogError::Forbidden(_)), "{err}");
    let err = c
        .change_request_step(
            cr.id,
            Step::Approve,
            &who("sam", &[Role::Editor], &[]),
            "",
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CatalogError::Forbidden(_)), "{err}");
    // Applying before approval is refused on the state.
    let err = c
        .change_request_step(cr.id, Step::Apply, &ana, "", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CatalogError::Refused(ref v) if v.field == "state"),
        "{err}"
    );
    // A stale version is a conflict.
    let err = c
        .change_request_step(cr.id, Step::Comment, &ana, "hello", Some(cr.version + 5))
        .await
        .unwrap_err();
    assert!(matches!(err, CatalogError::Conflict(_)), "{err}");

    let ben = who("ben", &[Role::Approver], &[]);
    let approved = c
        .change_request_step(cr.id, Step::Approve, &ben, "fine", Some(cr.version))
        .await
        .unwrap();
    assert_eq!(approved.state, CrState::Approved);
    let applied = c
        .change_request_step(cr.id, Step::Apply, &ana, "", None)
        .await
        .unwrap();
    assert_eq!(applied.state, CrState::Applied);
    assert_eq!(applied.applied_schema_version, Some(before.version + 1));
    let after = c.get_asset(&dataset).await.unwrap();
    assert_eq!(after.version, before.version + 1);
    assert!(after.column(&column).is_none());
    assert_eq!(after.schema.len(), before.schema.len() - 1);
    // The dropped column's mappings went with it.
    for e in c.export_edges(None, 100_000).await.unwrap() {
        if e.from == dataset {
            assert!(e.columns.iter().all(|m| m.from != column), "{e:?}");
        }
    }
    let stored = c.get_change_request(cr.id).await.unwrap();
    assert_eq!(stored.state, CrState::Applied);
    assert!(!stored.stale, "a final request is never stale");
    let log = c
        .audit_log(None, Some(&format!("change_request:{}", cr.id)), 50)
        .await
        .unwrap();
    assert!(log.iter().any(|r| r.action == "change_request.apply"));
    assert_eq!(log.len(), 3, "open, approve, apply: {log:?}");
    let listed = c
        .list_change_requests(Some(CrState::Applied), None)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].impact.affected.is_empty(),
        "a listing leaves out the affected assets"
    );
    assert_eq!(listed[0].impact.severity, Severity::Breaking);
    assert_eq!(listed[0].required_approvers, stored.required_approvers);
    assert!(c
        .list_change_requests(Some(CrState::Open), None)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_renamed_column_keeps_its_lineage() {
    let c = demo_catalog().await;
    let (dataset, column, _) = column_feeding_a_model();
    let ana = who("ana", &[Role::Editor], &[]);
    let rename = SchemaChange {
        op: ChangeOp::Rename,
        column: column.clone(),
        new_name: Some(format!("{column}_v2")),
        data_type: None,
        nullable: None,
    };
    let cr = c
        .open_change_request(
            NewChangeRequest {
                dataset: dataset.clone(),
                title: "rename".into(),
                description: String::new(),
                changes: vec![rename],
                draft: false,
                source_url: None,
                check_report: None,
            },
            &ana,
        )
        .await
        .unwrap();
    let mapped_before = c
        .export_edges(None, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.from == dataset && e.columns.iter().any(|m| m.from == column))
        .count();
    assert!(mapped_before > 0);
    let ben = who("ben", &[Role::Approver], &[]);
    c.change_request_step(cr.id, Step::Approve, &ben, "", None)
        .await
        .unwrap();
    c.change_request_step(cr.id, Step::Apply, &ben, "", None)
        .await
        .unwrap();
    let edges = c.export_edges(None, 100_000).await.unwrap();
    let renamed = format!("{column}_v2");
    let mapped_after = edges
        .iter()
        .filter(|e| e.from == dataset && e.columns.iter().any(|m| m.from == renamed))
        .count();
    assert_eq!(mapped_after, mapped_before);
    assert!(c
        .get_asset(&dataset)
        .await
        .unwrap()
        .column(&renamed)
        .is_some());
}

fn new_asset(kind: &str, namespace: &str, name: &str) -> domain::Asset {
    domain::asset::AssetInput {
        kind: Some(kind.into()),
        namespace: Some(namespace.into()),
        name: Some(name.into()),
        ..Default::default()
    }
    .into_asset(None)
    .unwrap()
}

#[tokio::test]
async fn only_changes_that_move_the_impact_make_a_request_stale() {
    let c = demo_catalog().await;
    let (dataset, column, model) = column_feeding_a_model();
    let ana = who("ana", &[Role::Editor], &[]);
    let cr = open_drop(&c, &ana, &dataset, &column).await;
    let before = c.graph_version().await.unwrap();

    // A table elsewhere in the estate moves the graph, not this impact.
    c.put_asset(new_asset("dataset", "elsewhere", "unrelated"), None, "ana")
        .await
        .unwrap();
    assert!(c.graph_version().await.unwrap() > before);
    assert!(!c.get_change_request(cr.id).await.unwrap().stale);
    let listed = c.list_change_requests(None, None).await.unwrap();
    assert!(!listed.iter().find(|r| r.id == cr.id).unwrap().stale);

    // A new service deployed from the affected model is in the impact now.
    let service = new_asset("service", "serving-new", "fresh_endpoint");
    c.put_asset(service.clone(), None, "ana").await.unwrap();
    let deploy = domain::Edge {
        id: domain::edge::edge_id(&model, EdgeKind::Deploys, &service.id),
        from: model.clone(),
        to: service.id.clone(),
        kind: EdgeKind::Deploys,
        columns: vec![],
        first_seen: None,
        last_seen: None,
    };
    c.put_edge(deploy, "ana").await.unwrap();
    assert!(c.get_change_request(cr.id).await.unwrap().stale);
    let listed = c.list_change_requests(None, None).await.unwrap();
    assert!(listed.iter().find(|r| r.id == cr.id).unwrap().stale);
    let fresh = c
        .change_request_step(cr.id, Step::Recompute, &ana, "", None)
        .await
        .unwrap();
    assert!(fresh.impact.affected.iter().any(|a| a.id == service.id));
    assert!(!c.get_change_request(cr.id).await.unwrap().stale);
}

#[tokio::test]
async fn a_request_goes_stale_when_the_graph_moves() {
    let c = demo_catalog().await;
    let (dataset, column, _) = column_feeding_a_model();
    let ana = who("ana", &[Role::Editor], &[]);
    let cr = open_drop(&c, &ana, &dataset, &column).await;
    // A change to the dataset itself makes the snapshot stale.
    let mut a = c.get_asset(&dataset).await.unwrap();
    a.description = "edited".into();
    c.put_asset(a, None, "ana").await.unwrap();
    assert!(c.get_change_request(cr.id).await.unwrap().stale);
    let ben = who("ben", &[Role::Approver], &[]);
    let err = c
        .change_request_step(cr.id, Step::Approve, &ben, "", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CatalogError::Refused(ref v) if v.field == "impact"),
        "{err}"
    );
    let fresh = c
        .change_request_step(cr.id, Step::Recompute, &ana, "", None)
        .await
        .unwrap();
    assert!(!fresh.stale);
    assert!(!c.get_change_request(cr.id).await.unwrap().stale);
    c.change_request_step(cr.id, Step::Approve, &ben, "", None)
        .await
        .unwrap();
    c.change_request_step(cr.id, Step::Apply, &ana, "", None)
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_steps_lose_no_update() {
    let c = demo_catalog().await;
    let (dataset, column, _) = column_feeding_a_model();
    let ana = who("ana", &[Role::Editor], &[]);
    let cr = open_drop(&c, &ana, &dataset, &column).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let c = c.clone();
        let id = cr.id;
        tasks.push(tokio::spawn(async move {
            let p = who(&format!("user{i}"), &[Role::Editor], &[]);
            c.change_request_step(id, Step::Comment, &p, &format!("comment {i}"), None)
                .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(CatalogError::Conflict(_)) => {}
            Err(other) => panic!("a concurrent step failed with {other}"),
        }
    }
    assert!(ok >= 1);
    let stored = c.get_change_request(cr.id).await.unwrap();
    assert_eq!(
        stored.comments.len(),
        ok,
        "every comment that was acknowledged is stored, and only those"
    );
    assert_eq!(stored.version, cr.version + ok as u64);
}
