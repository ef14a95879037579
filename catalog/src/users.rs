//! Users, sign-in sessions and API tokens. Passwords are stored as argon2
//! hashes; session and token secrets are random and stored only as their
//! SHA-256, so a copy of the database lets nobody sign in.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use domain::auth::{validate_password, validate_username, Role, Throttle, TokenInfo, User};
use domain::ValidationError;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::audit::Audit;
use crate::error::{first_real_error, CatalogError, Result, INVALID_MARK, NOT_FOUND_MARK};
use crate::Catalog;

/// How long a sign-in lasts.
pub const SESSION_HOURS: i64 = 12;

/// What it takes to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub roles: Vec<Role>,
    pub teams: Vec<String>,
}

/// What an admin may change about a user; `None` leaves a part as it is.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<Role>>,
    #[serde(default)]
    pub teams: Option<Vec<String>>,
    #[serde(default)]
    pub disabled: Option<bool>,
    /// A new password, set without the old one (an admin's reset).
    #[serde(default)]
    pub password: Option<String>,
}

/// A random secret, as 64 hex digits after a prefix that says what it is.
fn secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The key a secret is stored under.
fn digest(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CatalogError::Corrupt(format!("hashing a password: {e}")))
}

fn password_matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to check unknown user names against, so that a wrong name takes
/// as long to refuse as a wrong password and names cannot be probed.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password").unwrap_or_default())
}

fn row_to_user(row: Value) -> Result<User> {
    serde_json::from_value(row).map_err(|e| CatalogError::Corrupt(format!("user row: {e}")))
}

const USER_FIELDS: &str = "username, display_name, roles, teams, disabled";

impl Catalog {
    pub async fn add_user(&self, new: NewUser, by: &str) -> Result<User> {
        validate_username(&new.username)?;
        validate_password(&new.password)?;
        if new.roles.is_empty() {
            return Err(ValidationError::new("roles", "name at least one role").into());
        }
        if new.display_name.len() > 200 {
            return Err(ValidationError::new("display_name", "must be at most 200 bytes").into());
        }
        let password = new.password.clone();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| CatalogError::Corrupt(e.to_string()))??;
        let display = if new.display_name.trim().is_empty() {
            new.username.clone()
        } else {
            new.display_name.trim().to_string()
        };
        let doc = json!({
            "username": new.username,
            "display_name": display,
            "roles": new.roles,
            "teams": new.teams,
            "password_hash": hash,
        });
        let audit = Audit::new(
            "user.create",
            &new.username,
            json!({"roles": new.roles, "teams": new.teams}),
        );
        let res = self
            .db
            .query(
                "BEGIN;
                 LET $rid = type::record('user', $name);
                 IF $rid.username != NONE {
                     THROW 'mlgraph-conflict: a user named ' + $name + ' already exists';
                 };
                 CREATE $rid CONTENT $doc;
                 CREATE audit CONTENT $audit;
                 COMMIT;",
            )
            .bind(("name", new.username.clone()))
            .bind(("doc", doc))
            .bind(("audit", audit.row(by)))
            .await?;
        first_real_error(res)?;
        self.get_user(&new.username)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("user {:?}", new.username)))
    }

    pub async fn get_user(&self, username: &str) -> Result<Option<User>> {
        let mut res = self
            .db
            .query(format!(
                "SELECT {USER_FIELDS} FROM ONLY type::record('user', $name)"
            ))
            .bind(("name", username.to_string()))
            .await?;
        let row: Option<Value> = res.take(0)?;
        row.filter(|r| !r.is_null()).map(row_to_user).transpose()
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        let mut res = self
            .db
            .query(format!("SELECT {USER_FIELDS} FROM user ORDER BY username"))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        rows.into_iter().map(row_to_user).collect()
    }

    pub async fn count_users(&self) -> Result<u64> {
        self.count("SELECT count() AS n FROM user GROUP ALL").await
    }

    /// Checks a user name and password. On success it opens a session and
    /// returns its secret (for the cookie) with the user.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<Option<(String, User)>> {
        let Some(user) = self.sign_in_check(username, password).await? else {
            return Ok(None);
        };
        let token = secret("mls_");
        let res = self
            .db
            .query(
                "BEGIN;
                 CREATE type::record('session', $key) SET user = $user, expires_at = time::now() + <duration> $ttl;
                 CREATE audit CONTENT $audit;
                 COMMIT;",
            )
            .bind(("key", digest(&token)))
            .bind(("user", user.username.clone()))
            .bind(("ttl", format!("{SESSION_HOURS}h")))
            .bind((
                "audit",
                Audit::new("session.create", &user.username, json!({})).row(&user.username),
            ))
            .await?;
        first_real_error(res)?;
        Ok(Some((token, user)))
    }

    /// The user a session secret belongs to, if the session is live.
    pub async fn session_user(&self, token: &str) -> Result<Option<User>> {
        if !token.starts_with("mls_") || token.len() > 100 {
            return Ok(None);
        }
        let mut res = self
            .db
            .query(format!(
                "LET $s = type::record('session', $key);
                 LET $live = $s.expires_at != NONE AND $s.expires_at >= time::now();
                 IF $s.expires_at != NONE AND !$live {{ DELETE $s; }};
                 RETURN IF $live {{ (SELECT {USER_FIELDS} FROM ONLY type::record('user', $s.user)) }} ELSE {{ NONE }};"
            ))
            .bind(("key", digest(token)))
            .await?;
        let row: Option<Value> = res.take(3)?;
        Ok(row
            .filter(|r| !r.is_null())
            .map(row_to_user)
            .transpose()?
            .filter(|u| !u.disabled))
    }

    pub async fn sign_out(&self, token: &str) -> Result<()> {
        let res = self
            .db
            .query(
                "BEGIN;
                 LET $s = type::record('session', $key);
                 IF $s.user != NONE {
                     CREATE audit SET actor = $s.user, action = 'session.delete', target = $s.user, detail = {};
                     DELETE $s;
                 };
                 COMMIT;",
            )
            .bind(("key", digest(token)))
            .await?;
        first_real_error(res)?;
        Ok(())
    }

    /// How many days new API tokens last (`MLGRAPH_TOKEN_DAYS`).
    pub fn set_token_days(&self, days: u32) {
        self.token_days
            .store(days.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    pub fn token_days(&self) -> u32 {
        self.token_days.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Makes an API token for `username`, lasting [`Catalog::token_days`],
    /// and returns its secret, which is never stored and cannot be shown
    /// again.
    pub async fn create_token(
        &self,
        username: &str,
        name: &str,
        by: &str,
    ) -> Result<(String, TokenInfo)> {
        if self.get_user(username).await?.is_none() {
            return Err(
                ValidationError::new("user", format!("no user is named {username:?}")).into(),
            );
        }
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(ValidationError::new("name", "must be 1 to 100 bytes").into());
        }
        let token = secret("mlt_");
        let prefix: String = token.chars().take(10).collect();
        let res = self
            .db
            .query(
                "BEGIN;
                 CREATE type::record('api_token', $key) SET user = $user, name = $name, prefix = $prefix, expires_at = time::now() + duration::from_days($days);
                 CREATE audit CONTENT $audit;
                 COMMIT;",
            )
            .bind(("key", digest(&token)))
            .bind(("user", username.to_string()))
            .bind(("name", name.to_string()))
            .bind(("prefix", prefix.clone()))
            .bind(("days", i64::from(self.token_days())))
            .bind((
                "audit",
                Audit::new("token.create", username, json!({"name": name, "prefix": prefix})).row(by),
            ))
            .await?;
        first_real_error(res)?;
        Ok((
            token,
            TokenInfo {
                user: username.to_string(),
                name: name.to_string(),
                prefix,
                created_at: String::new(),
                expires_at: String::new(),
            },
        ))
    }

    /// Revokes `username`'s live tokens whose secret starts with `prefix`
    /// (as listed); a revoked token stops working at once.
    pub async fn revoke_token(&self, username: &str, prefix: &str, by: &str) -> Result<()> {
        let well_formed = prefix.len() == 10
            && prefix.starts_with("mlt_")
            && prefix[4..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            return Err(ValidationError::new(
                "prefix",
                "must be a token's first ten characters, as listed (mlt_ and six hex digits)",
            )
            .into());
        }
        let res = self
            .db
            .query(
                "BEGIN;
                 LET $hit = (UPDATE api_token SET revoked = true WHERE user = $user AND prefix = $prefix AND revoked = false);
                 IF array::len($hit) = 0 { THROW $missing; };
                 CREATE audit CONTENT $audit;
                 COMMIT;",
            )
            .bind(("user", username.to_string()))
            .bind(("prefix", prefix.to_string()))
            .bind((
                "missing",
                format!("{NOT_FOUND_MARK} live token {prefix:?} of {username:?}"),
            ))
            .bind((
                "audit",
                Audit::new("token.revoke", username, json!({"prefix": prefix})).row(by),
            ))
            .await?;
        first_real_error(res)?;
        Ok(())
    }

    /// Changes a user's own password after checking the current one. Every
    /// other session of theirs ends; `keep_session` (the secret of the
    /// session making the change, if any) stays signed in.
    pub async fn change_password(
        &self,
        username: &str,
        current: &str,
        new: &str,
        keep_session: Option<&str>,
    ) -> Result<()> {
        validate_password(new).map_err(|e| ValidationError::new("new_password", e.message))?;
        if self.sign_in_check(username, current).await?.is_none() {
            return Err(
                ValidationError::new("current_password", "is not this user's password").into(),
            );
        }
        self.set_password(username, new, keep_session).await
    }

    /// Checks a password without opening a session: the user, if it is
    /// theirs and they are not disabled.
    async fn sign_in_check(&self, username: &str, password: &str) -> Result<Option<User>> {
        let mut res = self
            .db
            .query(format!(
                "SELECT {USER_FIELDS}, password_hash FROM ONLY type::record('user', $name)"
            ))
            .bind(("name", username.to_string()))
            .await?;
        let row: Option<Value> = res.take(0)?;
        let row = row.filter(|r| !r.is_null());
        let stored = row
            .as_ref()
            .and_then(|r| r["password_hash"].as_str())
            .map(str::to_string);
        let given = password.to_string();
        let ok = tokio::task::spawn_blocking(move || match stored {
            Some(h) => password_matches(&given, &h),
            None => {
                password_matches(&given, decoy_hash());
                false
            }
        })
        .await
        .map_err(|e| CatalogError::Corrupt(e.to_string()))?;
        match row.filter(|_| ok) {
            Some(row) => Ok(Some(row_to_user(row)?).filter(|u| !u.disabled)),
            None => Ok(None),
        }
    }

    /// Stores a new password hash and ends the user's other sessions, with
    /// the audit record, in one transaction.
    async fn set_password(
        &self,
        username: &str,
        password: &str,
        keep_session: Option<&str>,
    ) -> Result<()> {
        let password = password.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| CatalogError::Corrupt(e.to_string()))??;
        let keep = keep_session.map(digest).unwrap_or_default();
        let res = self
            .db
            .query(
                "BEGIN;
                 LET $rid = type::record('user', $name);
                 IF $rid.username = NONE { THROW $missing; };
                 UPDATE $rid SET password_hash = $hash;
                 DELETE session WHERE user = $name AND id != type::record('session', $keep);
                 UPDATE api_token SET revoked = true WHERE user = $name AND revoked = false;
                 CREATE audit CONTENT $audit;
                 COMMIT;",
            )
            .bind(("name", username.to_string()))
            .bind(("hash", hash))
            .bind(("keep", keep))
            .bind(("missing", format!("{NOT_FOUND_MARK} user {username:?}")))
            .bind((
                "audit",
                Audit::new("user.password", username, json!({})).row(username),
            ))
            .await?;
        first_real_error(res)?;
        Ok(())
    }

    /// Changes a user's name, roles, teams, state or password (admins).
    /// Disabling a user ends their sessions. A change that would leave no
    /// enabled admin is refused, so the catalog cannot lock itself out.
    pub async fn change_user(&self, username: &str, change: UserChange, by: &str) -> Result<User> {
        // Only the parts given are written, so an edit of one part cannot
        // undo another admin's concurrent edit of another.
        let mut set: serde_json::Map<String, Value> = serde_json::Map::new();
        if let Some(d) = &change.display_name {
            if d.trim().is_empty() || d.len() > 200 {
                return Err(ValidationError::new("display_name", "must be 1 to 200 bytes").into());
            }
            set.insert("display_name".into(), json!(d.trim()));
        }
        if let Some(roles) = &change.roles {
            if roles.is_empty() {
                return Err(ValidationError::new("roles", "name at least one role").into());
            }
            set.insert("roles".into(), json!(roles));
        }
        if let Some(teams) = &change.teams {
            set.insert("teams".into(), json!(teams));
        }
        if let Some(d) = change.disabled {
            set.insert("disabled".into(), json!(d));
        }
        if let Some(p) = change.password.clone() {
            validate_password(&p)?;
            let hash = tokio::task::spawn_blocking(move || hash_password(&p))
                .await
                .map_err(|e| CatalogError::Corrupt(e.to_string()))??;
            set.insert("password_hash".into(), json!(hash));
        }
        let lockout = format!(
            "{INVALID_MARK} {}: {username} is the only enabled admin; make someone else admin first",
            if change.disabled == Some(true) { "disabled" } else { "roles" },
        );
        let audit = Audit::new(
            "user.change",
            username,
            json!({
                "display_name": change.display_name,
                "roles": change.roles,
                "teams": change.teams,
                "disabled": change.disabled,
                "password_reset": change.password.is_some(),
            }),
        );
        // The admin check runs after the update, in the same transaction,
        // so two admins demoting each other at once cannot both succeed. It
        // refuses only a change that takes the last enabled admin away (a
        // catalog run with MLGRAPH_ADMIN_TOKEN alone may have none).
        let res = self
            .db
            .query(
                "BEGIN;
                 LET $rid = type::record('user', $name);
                 IF $rid.username = NONE { THROW $missing; };
                 LET $admins = (SELECT VALUE username FROM user WHERE disabled = false AND roles CONTAINS 'admin');
                 UPDATE $rid MERGE $set;
                 IF $set.disabled = true OR $set.password_hash != NONE { DELETE session WHERE user = $name; };
                 IF $set.password_hash != NONE { UPDATE api_token SET revoked = true WHERE user = $name AND revoked = false; };
                 IF array::len($admins) > 0 AND array::len(SELECT VALUE username FROM user WHERE disabled = false AND roles CONTAINS 'admin') = 0 { THROW $lockout; };
                 CREATE audit CONTENT $audit;
                 COMMIT;",
            )
            .bind(("name", username.to_string()))
            .bind(("set", Value::Object(set)))
            .bind(("lockout", lockout))
            .bind(("missing", format!("{NOT_FOUND_MARK} user {username:?}")))
            .bind(("audit", audit.row(by)))
            .await?;
        first_real_error(res)?;
        self.get_user(username)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("user {username:?}")))
    }

    /// Counts a sign-in attempt against each of `keys` (such as `user:ana`
    /// and `ip:10.0.0.7`, each with its [`Throttle`]) before the password is
    /// checked. The counters live in the store, so every server that shares
    /// the database shares them. Answers how many seconds to wait if any
    /// key's throttle holds this attempt back; such an attempt counts
    /// against none of the keys. A key quiet for `window_s` starts afresh.
    pub async fn begin_sign_in(
        &self,
        keys: &[(String, Throttle)],
        window_s: u64,
    ) -> Result<Option<u64>> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let cutoff = now.saturating_sub(window_s);
        // Seconds to wait, given a row as it was before this attempt.
        let wait_for = |row: &Value, throttle: &Throttle| -> Option<u64> {
            let last = row["last"].as_u64()?;
            if last <= cutoff {
                return None;
            }
            let failures = row["failures"].as_u64().unwrap_or(0);
            let at = last + throttle.delay_s(failures);
            (at > now).then(|| at - now)
        };
        let rids: Vec<surrealdb::types::RecordId> = keys
            .iter()
            .map(|(k, _)| surrealdb::types::RecordId::new("sign_in_limit", k.as_str()))
            .collect();
        let mut res = self
            .db
            .query("SELECT record::id(id) AS key, failures, last FROM $rids")
            .bind(("rids", rids))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        let throttle_of = |key: &str| keys.iter().find(|(k, _)| k == key).map(|(_, t)| *t);
        if let Some(wait) = rows
            .iter()
            .filter_map(|r| wait_for(r, &throttle_of(r["key"].as_str()?)?))
            .max()
        {
            return Ok(Some(wait));
        }
        let mut wait: Option<u64> = None;
        for (key, throttle) in keys {
            // One atomic upsert per key, so parallel attempts cannot both
            // read the same count (a lost write conflict is retried); each
            // sees the row as the attempt before it left it.
            let mut tries = 0;
            let before = loop {
                let res = self
                    .db
                    .query(
                        "UPSERT type::record('sign_in_limit', $key) SET
                           failures = IF last = NONE OR last <= $cutoff { 1 } ELSE { failures + 1 },
                           started = IF last = NONE OR last <= $cutoff { $now } ELSE { started },
                           last = $now
                         RETURN BEFORE",
                    )
                    .bind(("key", key.clone()))
                    .bind(("now", now as i64))
                    .bind(("cutoff", cutoff as i64))
                    .await?;
                match first_real_error(res) {
                    Ok(mut res) => {
                        let row: Option<Value> = res.take(0)?;
                        break row.unwrap_or_default();
                    }
                    Err(CatalogError::Conflict(_)) if tries < 20 => tries += 1,
                    Err(e) => return Err(e),
                }
            };
            if let Some(left) = wait_for(&before, throttle) {
                wait = Some(wait.map_or(left, |w| w.max(left)));
            }
        }
        Ok(wait)
    }

    /// A sign-in succeeded: its keys start afresh.
    pub async fn clear_sign_in(&self, keys: &[String]) -> Result<()> {
        let rids: Vec<surrealdb::types::RecordId> = keys
            .iter()
            .map(|k| surrealdb::types::RecordId::new("sign_in_limit", k.as_str()))
            .collect();
        let res = self.db.query("DELETE $rids").bind(("rids", rids)).await?;
        first_real_error(res)?;
        Ok(())
    }

    /// Deletes sign-in counters whose window is over (the server does it
    /// hourly).
    pub async fn prune_sign_in_limits(&self, window_s: u64) -> Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let res = self
            .db
            .query("DELETE sign_in_limit WHERE last = NONE OR last <= $cutoff RETURN NONE")
            .bind(("cutoff", now.saturating_sub(window_s) as i64))
            .await?;
        first_real_error(res)?;
        Ok(())
    }

    /// The user an API token acts for, if the token is known.
    pub async fn token_user(&self, token: &str) -> Result<Option<User>> {
        if !token.starts_with("mlt_") || token.len() > 100 {
            return Ok(None);
        }
        let mut res = self
            .db
            .query(format!(
                "LET $t = type::record('api_token', $key);
                 RETURN IF $t.user != NONE AND $t.revoked = false AND ($t.expires_at ?? ($t.created_at + duration::from_days($days))) > time::now() {{ (SELECT {USER_FIELDS} FROM ONLY type::record('user', $t.user)) }} ELSE {{ NONE }};"
            ))
            .bind(("key", digest(token)))
            .bind(("days", i64::from(self.token_days())))
            .await?;
        let row: Option<Value> = res.take(1)?;
        Ok(row
            .filter(|r| !r.is_null())
            .map(row_to_user)
            .transpose()?
            .filter(|u| !u.disabled))
    }

    pub async fn list_tokens(&self, username: &str) -> Result<Vec<TokenInfo>> {
        let mut res = self
            .db
            .query("SELECT user, name, prefix, <string> created_at AS created_at, <string> (expires_at ?? (created_at + duration::from_days($days))) AS expires_at FROM api_token WHERE user = $user AND revoked = false AND (expires_at ?? (created_at + duration::from_days($days))) > time::now() ORDER BY created_at")
            .bind(("user", username.to_string()))
            .bind(("days", i64::from(self.token_days())))
            .await?;
        let rows: Vec<Value> = res.take(0)?;
        rows.into_iter()
            .map(|r| {
                serde_json::from_value(r)
                    .map_err(|e| CatalogError::Corrupt(format!("token row: {e}")))
            })
            .collect()
    }
}

/// How many days an API token lasts unless `MLGRAPH_TOKEN_DAYS` says
/// otherwise.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;

/// A random password of 20 letters and digits, for generated accounts.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}
