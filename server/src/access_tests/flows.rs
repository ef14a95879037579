//! Whole flows over the API: a change request through to its webhook,
//! tokens and passwords, and the sign-in limit shared by servers.

use super::*;

#[tokio::test]
async fn a_change_request_walks_through_the_api_and_reaches_the_webhook() {
    // A real HTTP receiver that fails its first delivery, to see a retry.
    let received = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::<Value>::new()));
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let hook = {
        let received = received.clone();
        let calls = calls.clone();
        axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let received = received.clone();
                let calls = calls.clone();
                async move {
                    // Each delivery is signed over its timestamp and body.
                    let header =
                        |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("");
                    let at: u64 = header("x-mlgraph-timestamp").parse().unwrap_or(0);
                    if header("x-mlgraph-signature")
                        != crate::webhook::signature("hook-secret", at, &body)
                        || header("x-mlgraph-delivery").is_empty()
                    {
                        return StatusCode::UNAUTHORIZED;
                    }
                    if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    received
                        .lock()
                        .await
                        .push(serde_json::from_str(&body).unwrap());
                    StatusCode::NO_CONTENT
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, hook).await.unwrap() });

    let (catalog, tokens) = demo_with_users().await;
    catalog.set_webhook_enabled(true);
    tokio::spawn(crate::webhook::deliver(
        catalog.clone(),
        format!("http://{addr}/hook"),
        Some("hook-secret".into()),
    ));
    let app = build(catalog.clone(), options(), AuthState::new(true, None));
    let token = |r: Role| token_of(&tokens, r);
    let (dataset, column) = dataset_and_column();
    let (s, _, text) = send(
        &app,
        As::Bearer(&token(Role::Editor)),
        "POST",
        "/api/v1/impact?format=csv",
        Some(json!({"dataset": dataset, "changes": [{"op": "drop", "column": column}]})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(text.starts_with("id,kind,name,hops,severity"), "{text}");
    let (s, _, text) = send(
        &app,
        As::Bearer(&token(Role::Editor)),
        "POST",
        "/api/v1/impact",
        Some(json!({"dataset": dataset, "changes": [{"op": "explode", "column": column}]})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(text.contains("changes[0].op"), "{text}");

    let (s, _, text) = send(
        &app,
        As::Bearer(&token(Role::Editor)),
        "POST",
        "/api/v1/change-requests",
        Some(json!({"dataset": dataset, "changes": [{"op": "drop", "column": column}]})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let cr: Value = serde_json::from_str(&text).unwrap();
    let id = cr["id"].as_u64().unwrap();
    assert!(cr["approver_status"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["approved_by"].is_null()));
    let version = cr["version"].as_u64().unwrap().to_string();
    let (s, _, text) = send(
        &app,
        As::Bearer(&token(Role::Approver)),
        "POST",
        &format!("/api/v1/change-requests/{id}/approve"),
        Some(json!({"text": "looks right"})),
        &[("if-match", &version)],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    // The same version again is stale now.
    let (s, _, text) = send(
        &app,
        As::Bearer(&token(Role::Approver)),
        "POST",
        &format!("/api/v1/change-requests/{id}/comment"),
        Some(json!({"text": "late"})),
        &[("if-match", &version)],
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{text}");
    let (s, _, text) = send(
        &app,
        As::Bearer(&token(Role::Editor)),
        "POST",
        &format!("/api/v1/change-requests/{id}/apply"),
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["state"],
        "applied"
    );

    // Three events (opened, approved, applied), the first after a retry.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if received.lock().await.len() >= 3 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the webhook got {:?}",
            received.lock().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let got = received.lock().await;
    let mut types: Vec<&str> = got.iter().map(|e| e["type"].as_str().unwrap()).collect();
    types.sort();
    assert_eq!(
        types,
        vec![
            "change_request.applied",
            "change_request.approved",
            "change_request.opened"
        ]
    );
    assert!(
        calls.load(std::sync::atomic::Ordering::SeqCst) >= 4,
        "one failed attempt was retried"
    );
    assert_eq!(catalog.webhook_counts().await.unwrap(), (3, 0));
}

#[tokio::test]
async fn tokens_are_revoked_and_passwords_changed_over_the_api() {
    let (catalog, tokens) = demo_with_users().await;
    let app = build(catalog.clone(), options(), AuthState::new(true, None));
    let admin = &tokens
        .iter()
        .find(|(r, _)| *r == Some(Role::Admin))
        .unwrap()
        .1;
    let editor = &tokens
        .iter()
        .find(|(r, _)| *r == Some(Role::Editor))
        .unwrap()
        .1;
    let json_of = |text: &str| serde_json::from_str::<Value>(text).unwrap();

    // A second token, listed by prefix and revoked by it: it stops at once.
    let (s, _, text) = send(
        &app,
        As::Bearer(editor),
        "POST",
        "/api/v1/tokens",
        Some(json!({"name": "laptop"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let created = json_of(&text);
    let (laptop, prefix) = (
        created["token"].as_str().unwrap().to_string(),
        created["prefix"].as_str().unwrap().to_string(),
    );
    let (s, _, text) = send(
        &app,
        As::Bearer(&laptop),
        "GET",
        "/api/v1/tokens",
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(json_of(&text)["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["prefix"] == prefix.as_str()));
    let revoke = format!("/api/v1/tokens/{prefix}");
    let (s, _, text) = send(&app, As::Bearer(editor), "DELETE", &revoke, None, &[]).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{text}");
    let (s, _, _) = send(
        &app,
        As::Bearer(&laptop),
        "GET",
        "/api/v1/tokens",
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a revoked token is refused");
    let (s, _, text) = send(&app, As::Bearer(editor), "DELETE", &revoke, None, &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{text}");
    let (s, _, text) = send(
        &app,
        As::Bearer(editor),
        "DELETE",
        "/api/v1/tokens/nonsense",
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(json_of(&text)["field"], "prefix", "{text}");

    // A password change by cookie: the wrong current password is named,
    // the new one works, the old one does not, and the session stays.
    let (s, h, text) = send(
        &app,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(json!({"username": "editor", "password": "password-1"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let secret = h["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("mlgraph_session=")
        .to_string();
    let origin = [
        ("origin", "http://127.0.0.1:3000"),
        ("host", "127.0.0.1:3000"),
    ];
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let (s, _, text) = send(
        &app,
        As::Cookie(&secret),
        "POST",
        "/api/v1/session/password",
        Some(change("password-2", "password-3")),
        &origin,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(json_of(&text)["field"], "current_password", "{text}");
    let (s, _, text) = send(
        &app,
        As::Cookie(&secret),
        "POST",
        "/api/v1/session/password",
        Some(json!({"current_password": "password-1"})),
        &origin,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("new_password"), "{text}");
    let (s, _, text) = send(
        &app,
        As::Cookie(&secret),
        "POST",
        "/api/v1/session/password",
        Some(change("password-1", "password-3")),
        &origin,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{text}");
    let (s, _, text) = send(
        &app,
        As::Cookie(&secret),
        "GET",
        "/api/v1/session",
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(json_of(&text)["user"], "editor", "the session stays");
    for (password, status) in [
        ("password-1", StatusCode::UNAUTHORIZED),
        ("password-3", StatusCode::OK),
    ] {
        let (s, _, text) = send(
            &app,
            As::Anonymous,
            "POST",
            "/api/v1/session",
            Some(json!({"username": "editor", "password": password})),
            &[],
        )
        .await;
        assert_eq!(s, status, "{password}: {text}");
    }

    // Admins disable a user (their tokens stop) and are refused a change
    // that would leave no enabled admin.
    let (s, _, text) = send(
        &app,
        As::Bearer(admin),
        "PATCH",
        "/api/v1/users/editor",
        Some(json!({"disabled": true})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert_eq!(json_of(&text)["disabled"], true);
    let (s, _, _) = send(&app, As::Bearer(editor), "GET", "/api/v1/tokens", None, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, text) = send(
        &app,
        As::Bearer(admin),
        "PATCH",
        "/api/v1/users/admin",
        Some(json!({"roles": ["viewer"]})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(json_of(&text)["field"], "roles", "{text}");
    let (s, _, text) = send(
        &app,
        As::Bearer(admin),
        "PATCH",
        "/api/v1/users/editor",
        Some(json!({"colour": "blue"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("colour"), "{text}");
}

/// Two servers on one database share the sign-in limit: failures counted
/// by one hold back attempts at the other.
#[tokio::test]
async fn servers_on_one_database_share_the_sign_in_limit() {
    let (catalog, _) = demo_with_users().await;
    let first = build(catalog.clone(), options(), AuthState::new(true, None));
    let second = build(catalog.clone(), options(), AuthState::new(true, None));
    let attempt = |app: &axum::Router, password: &str| {
        let app = app.clone();
        let body = json!({"username": "editor", "password": password});
        async move {
            send(
                &app,
                As::Anonymous,
                "POST",
                "/api/v1/session",
                Some(body),
                &[],
            )
            .await
            .0
        }
    };
    // A name no user can have is refused, and not counted.
    let (s, _, text) = send(
        &first,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(json!({"username": "no such name!", "password": "x"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("\"field\":\"username\""), "{text}");
    for _ in 0..5 {
        assert_eq!(
            attempt(&first, "wrong guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt(&second, "password-1").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the other server knows of the failures"
    );
}
