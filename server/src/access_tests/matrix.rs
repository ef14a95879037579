//! The role × endpoint matrix: every route, every role, over HTTP.

use super::*;

#[tokio::test]
async fn every_role_gets_exactly_the_endpoints_it_should() {
    let (catalog, tokens) = demo_with_users().await;
    let app = build(
        catalog.clone(),
        options(),
        AuthState::new(true, Some(ADMIN.into())),
    );
    let proposer = &tokens.last().unwrap().1;
    let (dataset, column) = dataset_and_column();
    let change = json!({"dataset": dataset, "changes": [{"op": "drop", "column": column}]});
    // Two requests by someone else, so no role here is their proposer.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (s, _, text) = send(
            &app,
            As::Bearer(proposer),
            "POST",
            "/api/v1/change-requests",
            Some(change.clone()),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{text}");
        ids.push(
            serde_json::from_str::<Value>(&text).unwrap()["id"]
                .as_u64()
                .unwrap(),
        );
    }
    let (cr, cr2) = (ids[0], ids[1]);
    let service = crate::router_tests::demo_service();
    let asset = json!({"kind": "dataset", "namespace": "matrix", "name": "t", "schema": []});
    let edge = json!({"from": "dataset:matrix:t", "to": "dataset:matrix:u", "kind": "derives"});
    use Role::*;
    let anyone: &[Role] = &[Viewer, Editor, Approver, Operator, Admin];
    // (method, path, body, roles allowed, whether anonymous callers are).
    let ds = enc(&dataset);
    let matrix: Vec<Row> = vec![
        // Reads, open to every caller (anonymous reads are on here).
        (
            "GET",
            format!(
                "/api/v1/column-lineage?nodeId={}",
                enc(&format!(
                    "datasetField:{}:{column}",
                    dataset.trim_start_matches("dataset:")
                ))
            ),
            None,
            anyone,
            true,
        ),
        ("GET", "/api/v1/edges/0123".into(), None, anyone, true),
        ("GET", "/api/v1/hubs".into(), None, anyone, true),
        ("GET", "/api/v1/jobs/runs/none".into(), None, anyone, true),
        (
            "GET",
            format!("/api/v1/lineage?nodeId={ds}&depth=2"),
            None,
            anyone,
            true,
        ),
        ("GET", "/api/v1/namespaces".into(), None, anyone, true),
        (
            "GET",
            "/api/v1/namespaces/demo/datasets".into(),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            "/api/v1/namespaces/demo/datasets/none".into(),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            "/api/v1/namespaces/demo/jobs".into(),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            "/api/v1/namespaces/demo/jobs/none".into(),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            "/api/v1/namespaces/demo/jobs/none/runs".into(),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/paths?from={ds}&to={ds}"),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/refresh-plan/{ds}"),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/services/{}/manifest", enc(&service)),
            None,
            anyone,
            true,
        ),
        // Signing in is for everyone (a malformed attempt: 400, not counted).
        (
            "POST",
            "/api/v1/session".into(),
            Some(json!({"username": "", "password": ""})),
            anyone,
            true,
        ),
        ("POST", "/signout".into(), None, anyone, true),
        (
            "POST",
            "/rpc/asset".into(),
            Some(json!(format!("id={ds}&more=&offset="))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/asset_record".into(),
            Some(json!(format!("id={ds}"))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/change_requests".into(),
            Some(json!("state=")),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/expand".into(),
            Some(json!(format!("id={ds}"))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/graph".into(),
            Some(json!(format!("id={ds}"))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/graph_outline".into(),
            Some(json!(format!("id={ds}&up=2&down=2"))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/graph_as_of".into(),
            Some(json!(format!(
                "id={ds}&up=2&down=2&as_of=2026-01-01T00%3A00%3A00Z"
            ))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/graph_compare".into(),
            Some(json!(format!(
                "id={ds}&up=2&down=2&compare=2026-01-01T00%3A00%3A00Z"
            ))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/lineage_moments".into(),
            Some(json!(format!("id={ds}&depth=2"))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/hubs".into(),
            Some(json!("limit=5")),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/ingestion".into(),
            Some(json!("source=")),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/path".into(),
            Some(json!(format!("from={ds}&to={ds}"))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/runs".into(),
            Some(json!(format!("job={ds}"))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/scaling".into(),
            Some(json!(format!("id={}", enc(&service)))),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/search".into(),
            Some(json!("query=q%3Dwatch")),
            anyone,
            true,
        ),
        ("POST", "/rpc/whoami".into(), Some(json!("")), anyone, true),
        ("GET", "/api/v1/assets?q=watch".into(), None, anyone, true),
        (
            "GET",
            format!("/api/v1/assets/{}", enc(&dataset)),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/lineage/{}", enc(&dataset)),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!(
                "/api/v1/lineage/{}/diff?from=2026-01-01T00:00:00Z",
                enc(&dataset)
            ),
            None,
            anyone,
            true,
        ),
        (
            "PUT",
            "/api/v1/assets/dataset:matrix:t".into(),
            Some(asset),
            &[Editor, Admin],
            false,
        ),
        (
            "POST",
            "/api/v1/edges".into(),
            Some(edge),
            &[Editor, Admin],
            false,
        ),
        (
            "DELETE",
            "/api/v1/edges/0123".into(),
            None,
            &[Editor, Admin],
            false,
        ),
        (
            "DELETE",
            "/api/v1/assets/dataset:matrix:gone".into(),
            None,
            &[Editor, Admin],
            false,
        ),
        (
            "POST",
            "/api/v1/import".into(),
            None,
            &[Editor, Admin],
            false,
        ),
        ("GET", "/api/v1/export".into(), None, anyone, true),
        ("GET", "/api/v1/aliases".into(), None, anyone, true),
        // Services and their policies: administrators only. A document
        // without a kind is skipped, so nothing changes.
        (
            "POST",
            "/api/v1/import/kube".into(),
            Some(json!("kind: [unclosed")),
            &[Admin],
            false,
        ),
        // MLflow: the server fetches the URL it is given, so
        // administrators only; this one is no http URL, so nothing is read.
        (
            "POST",
            "/api/v1/import/mlflow".into(),
            Some(json!({"url": "ftp://nowhere"})),
            &[Admin],
            false,
        ),
        // Malformed (one id is no asset id), so nothing is merged.
        (
            "POST",
            "/api/v1/aliases".into(),
            Some(json!({"from": "nope", "to": "dataset:matrix:t"})),
            &[Editor, Admin],
            false,
        ),
        // Ingestion: an OpenLineage event and a dbt manifest (both
        // malformed, so an allowed caller gets a 400 and nothing changes).
        (
            "POST",
            "/api/v1/lineage".into(),
            Some(json!({"eventType": "START"})),
            &[Editor, Admin],
            false,
        ),
        (
            "POST",
            "/api/v1/import/dbt".into(),
            Some(json!({"metadata": {}})),
            &[Editor, Admin],
            false,
        ),
        (
            "POST",
            "/api/v1/simulate".into(),
            Some(
                json!({"service": service, "traffic": {"kind": "constant", "qps": 1000.0}, "duration_s": 5.0}),
            ),
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/assets/{}/report", enc(&dataset)),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/change-requests/{cr}/report"),
            None,
            anyone,
            true,
        ),
        ("DELETE", "/api/v1/session".into(), None, anyone, true),
        (
            "POST",
            "/api/v1/impact".into(),
            Some(change.clone()),
            anyone,
            true,
        ),
        (
            "POST",
            "/api/v1/change-requests".into(),
            Some(change.clone()),
            &[Editor, Admin],
            false,
        ),
        (
            "POST",
            "/api/v1/change-requests/find".into(),
            Some(change.clone()),
            anyone,
            true,
        ),
        (
            "POST",
            "/api/v1/check".into(),
            Some(json!({"datasets": [{"dataset": dataset, "schema": []}]})),
            anyone,
            true,
        ),
        (
            "GET",
            "/api/v1/change-requests?state=open".into(),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/change-requests/{cr}"),
            None,
            anyone,
            true,
        ),
        (
            "GET",
            format!("/api/v1/change-requests/{cr}/impact?format=csv"),
            None,
            anyone,
            true,
        ),
        (
            "POST",
            format!("/api/v1/change-requests/{cr}/comment"),
            Some(json!({"text": "hi"})),
            &[Editor, Approver, Admin],
            false,
        ),
        (
            "POST",
            format!("/api/v1/change-requests/{cr}/recompute"),
            None,
            &[Admin],
            false,
        ),
        (
            "POST",
            format!("/api/v1/change-requests/{cr}/approve"),
            None,
            &[Approver, Admin],
            false,
        ),
        (
            "POST",
            format!("/api/v1/change-requests/{cr2}/reject"),
            None,
            &[Approver, Admin],
            false,
        ),
        (
            "POST",
            format!("/api/v1/change-requests/{cr}/apply"),
            None,
            &[Editor, Approver, Admin],
            false,
        ),
        (
            "POST",
            format!("/api/v1/change-requests/{cr2}/withdraw"),
            None,
            &[Admin],
            false,
        ),
        (
            "POST",
            format!("/api/v1/change-requests/{cr2}/submit"),
            None,
            &[Admin],
            false,
        ),
        ("GET", "/api/v1/inbox".into(), None, anyone, false),
        ("GET", "/api/v1/notifications".into(), None, anyone, false),
        (
            "POST",
            "/api/v1/notifications/read".into(),
            None,
            anyone,
            false,
        ),
        (
            "POST",
            "/api/v1/tokens".into(),
            Some(json!({"name": "m"})),
            anyone,
            false,
        ),
        ("GET", "/api/v1/tokens".into(), None, anyone, false),
        (
            "POST",
            "/api/v1/tokens".into(),
            Some(json!({"name": "m", "user": "proposer"})),
            &[Admin],
            false,
        ),
        (
            "DELETE",
            "/api/v1/tokens/mlt_000000".into(),
            None,
            anyone,
            false,
        ),
        (
            "DELETE",
            "/api/v1/tokens/mlt_000000?user=proposer".into(),
            None,
            &[Admin],
            false,
        ),
        (
            "POST",
            "/api/v1/session/password".into(),
            Some(json!({"current_password": "not it at all", "new_password": "long enough"})),
            anyone,
            false,
        ),
        (
            "PATCH",
            "/api/v1/users/nobody".into(),
            Some(json!({"disabled": true})),
            &[Admin],
            false,
        ),
        ("GET", "/api/v1/users".into(), None, &[Admin], false),
        (
            "POST",
            "/api/v1/users".into(),
            Some(json!({"username": "x", "password": "short", "roles": ["viewer"]})),
            &[Admin],
            false,
        ),
        ("GET", "/api/v1/audit".into(), None, &[Admin], false),
        ("GET", "/api/v1/session".into(), None, anyone, true),
        (
            "GET",
            format!("/api/v1/services/{}/scaling", enc(&service)),
            None,
            anyone,
            true,
        ),
        (
            "PUT",
            format!("/api/v1/services/{}/scaling", enc(&service)),
            Some(json!({"policy": domain::scaling::ScalingPolicy::default()})),
            &[Operator, Admin],
            false,
        ),
        (
            "POST",
            format!("/api/v1/services/{}/metrics", enc(&service)),
            Some(json!({"concurrency": 3.0, "qps": 100.0, "p99_ms": 200.0, "pods": 2})),
            &[Operator, Admin],
            false,
        ),
        (
            "POST",
            "/rpc/apply_scaling".into(),
            Some(
                json!({"id": service, "policy": domain::scaling::ScalingPolicy::default(), "version": 999, "note": ""}),
            ),
            &[Operator, Admin],
            false,
        ),
        // Server functions, which the pages call, check the same rules.
        (
            "POST",
            "/rpc/impact".into(),
            Some(change.clone()),
            anyone,
            true,
        ),
        (
            "POST",
            "/rpc/propose".into(),
            Some(
                json!({"dataset": dataset, "title": "", "description": "", "changes": change["changes"], "draft": true}),
            ),
            &[Editor, Admin],
            false,
        ),
        (
            "POST",
            "/rpc/change_request_step".into(),
            Some(json!(format!("id={cr}&step=comment&text=hi&version=999"))),
            &[Editor, Approver, Admin],
            false,
        ),
        (
            "POST",
            "/rpc/change_request_step".into(),
            Some(json!(format!("id={cr2}&step=approve&text=&version=999"))),
            &[Approver, Admin],
            false,
        ),
        (
            "POST",
            "/rpc/change_request_step".into(),
            Some(json!(format!("id={cr2}&step=apply&text=&version=999"))),
            &[Editor, Approver, Admin],
            false,
        ),
        (
            "POST",
            "/rpc/change_request_step".into(),
            Some(json!(format!("id={cr2}&step=withdraw&text=&version=999"))),
            &[Admin],
            false,
        ),
        (
            "POST",
            "/rpc/change_request".into(),
            Some(json!(format!("id={cr}"))),
            anyone,
            true,
        ),
        ("POST", "/rpc/inbox".into(), Some(json!("")), anyone, false),
        (
            "POST",
            "/rpc/notifications".into(),
            Some(json!("")),
            anyone,
            false,
        ),
        (
            "POST",
            "/rpc/mark_read".into(),
            Some(json!("")),
            anyone,
            false,
        ),
        (
            "POST",
            "/rpc/audit".into(),
            Some(json!("actor=")),
            &[Admin],
            false,
        ),
        (
            "POST",
            "/rpc/users".into(),
            Some(json!("")),
            &[Admin],
            false,
        ),
        (
            "POST",
            "/rpc/add_user".into(),
            Some(json!(
                "username=x&display_name=&password=short&roles=viewer&teams="
            )),
            &[Admin],
            false,
        ),
        (
            "POST",
            "/rpc/change_user".into(),
            Some(json!("username=nobody&roles=viewer&teams=&disabled=false")),
            &[Admin],
            false,
        ),
        (
            "POST",
            "/rpc/my_tokens".into(),
            Some(json!("")),
            anyone,
            false,
        ),
        (
            "POST",
            "/rpc/create_my_token".into(),
            Some(json!("name=")),
            anyone,
            false,
        ),
        (
            "POST",
            "/rpc/revoke_my_token".into(),
            Some(json!("prefix=mlt_000000")),
            anyone,
            false,
        ),
        (
            "POST",
            "/rpc/rollback_scaling".into(),
            Some(json!(format!("id={}&to=1&version=999", enc(&service)))),
            &[Operator, Admin],
            false,
        ),
        (
            "POST",
            "/rpc/preview_scaling".into(),
            Some(
                json!({"id": service, "proposed": domain::scaling::ScalingPolicy::default(), "scenario": "quarter", "duration_s": 5.0, "trace_csv": ""}),
            ),
            anyone,
            true,
        ),
    ];
    assert_every_route_has_a_row(&matrix);
    let mut wrong = Vec::new();
    for (method, path, body, roles, anonymous) in &matrix {
        for (role, token) in tokens.iter().take(6) {
            let who = match role {
                None => As::Anonymous,
                Some(_) => As::Bearer(token),
            };
            let (s, _, text) = send(&app, who, method, path, body.clone(), &[]).await;
            let allowed = match role {
                None => *anonymous,
                Some(r) => roles.contains(r),
            };
            let denied = s == StatusCode::UNAUTHORIZED || s == StatusCode::FORBIDDEN;
            let expected_status = match role {
                None => StatusCode::UNAUTHORIZED,
                Some(_) => StatusCode::FORBIDDEN,
            };
            if allowed == denied || (!allowed && s != expected_status) {
                let role = role.map_or("anonymous", |r| r.as_str());
                wrong.push(format!("{method} {path} as {role}: {s} {text}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
