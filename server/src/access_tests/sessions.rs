//! Sign-in with cookies and its rate limit, the origin check, and
//! anonymous access turned off.

use super::*;

#[tokio::test]
async fn sign_in_sets_a_strict_cookie_and_failures_are_rate_limited() {
    let (catalog, _) = demo_with_users().await;
    let app = build(catalog.clone(), options(), AuthState::new(true, None));
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
    let set = h.get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let secret = set
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("mlgraph_session=")
        .to_string();
    assert!(
        !set.contains("Secure"),
        "plain HTTP cannot keep a Secure cookie"
    );
    let (_, h, _) = send(
        &app,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(json!({"username": "editor", "password": "password-1"})),
        &[("x-forwarded-proto", "https")],
    )
    .await;
    let forged = h.get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(
        !forged.contains("Secure"),
        "a client-sent X-Forwarded-Proto decides nothing: {forged}"
    );
    // MLGRAPH_SECURE_COOKIES=1 does.
    let behind_tls = build(
        catalog.clone(),
        options(),
        AuthState::configured(true, None, true, vec![]),
    );
    let (_, h, _) = send(
        &behind_tls,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(json!({"username": "editor", "password": "password-1"})),
        &[],
    )
    .await;
    let secure = h.get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(secure.contains("; Secure"), "{secure}");
    let (_, _, me) = send(
        &app,
        As::Cookie(&secret),
        "GET",
        "/api/v1/session",
        None,
        &[],
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&me).unwrap()["user"],
        "editor"
    );
    // The cookie lets the editor write.
    let (s, _, text) = send(
        &app,
        As::Cookie(&secret),
        "PUT",
        "/api/v1/assets/dataset:cookie:t",
        Some(json!({"kind": "dataset", "namespace": "cookie", "name": "t"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let log = catalog
        .audit_log(Some("editor"), Some("dataset:cookie:t"), 10)
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "the write is audited under the user's name");
    // Signing out ends the session.
    let (s, _, _) = send(
        &app,
        As::Cookie(&secret),
        "DELETE",
        "/api/v1/session",
        None,
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, me) = send(
        &app,
        As::Cookie(&secret),
        "GET",
        "/api/v1/session",
        None,
        &[],
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Value>(&me).unwrap()["via"],
        "anonymous"
    );

    let bad = json!({"username": "viewer", "password": "wrong password"});
    for _ in 0..5 {
        let (s, _, text) = send(
            &app,
            As::Anonymous,
            "POST",
            "/api/v1/session",
            Some(bad.clone()),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(text.contains("\"field\":\"password\""), "{text}");
    }
    let right = json!({"username": "viewer", "password": "password-1"});
    let (s, h, _) = send(
        &app,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(right),
        &[],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert!(h.get("retry-after").is_some());
    let (s, _, text) = send(
        &app,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(json!({"username": "viewer", "password": "x".repeat(20_000)})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    let (s, _, _) = send(
        &app,
        As::Bearer("mlt_forged"),
        "GET",
        "/api/v1/assets",
        None,
        &[],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "a bad token is refused, not ignored"
    );
}

#[tokio::test]
async fn other_origins_cannot_change_anything() {
    let (catalog, tokens) = demo_with_users().await;
    let app = build(catalog, options(), AuthState::new(true, None));
    let admin = &tokens
        .iter()
        .find(|(r, _)| *r == Some(Role::Admin))
        .unwrap()
        .1;
    let body = Some(json!({"kind": "dataset", "namespace": "o", "name": "t"}));
    let (s, _, text) = send(
        &app,
        As::Bearer(admin),
        "PUT",
        "/api/v1/assets/dataset:o:t",
        body.clone(),
        &[
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:3000"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("\"field\":\"origin\""));
    let (s, _, _) = send(
        &app,
        As::Bearer(admin),
        "GET",
        "/api/v1/assets/dataset:o:t",
        None,
        &[("origin", "http://evil.example")],
    )
    .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "reads from anywhere are fine, and nothing was written"
    );
    let (s, _, text) = send(
        &app,
        As::Bearer(admin),
        "PUT",
        "/api/v1/assets/dataset:o:t",
        body,
        &[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
}

#[tokio::test]
async fn anonymous_access_can_be_turned_off() {
    let (catalog, tokens) = demo_with_users().await;
    let app = build(catalog, options(), AuthState::new(false, None));
    let (s, _, _) = send(&app, As::Anonymous, "GET", "/api/v1/assets", None, &[]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, h, _) = send(&app, As::Anonymous, "GET", "/graph", None, &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(h.get("location").unwrap(), "/signin?next=%2Fgraph");
    let viewer = &tokens
        .iter()
        .find(|(r, _)| *r == Some(Role::Viewer))
        .unwrap()
        .1;
    let (s, _, _) = send(&app, As::Bearer(viewer), "GET", "/api/v1/assets", None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, text) = send(
        &app,
        As::Anonymous,
        "POST",
        "/api/v1/session",
        Some(json!({"username": "viewer", "password": "password-1"})),
        &[],
    )
    .await;
    assert_eq!(s, StatusCode::OK, "signing in stays open: {text}");
}
