//! OAuth 2.0 token refresh (RFC 6749 §6), one path for every grant the host
//! holds: a company's accounting-system credentials and a Pleo
//! organisation's. Serialised per grant in the process, one replica at a time
//! through a [`crate::config::TokenKeeper`], the result kept before it is
//! used; a refused grant (`invalid_grant`) is marked revoked, not retried.

use std::time::{Duration, Instant};

use crate::config::{OAuth, Secret, Tokens};

/// How long a refresh lease holds: the token request's own timeout and a
/// second to store its result. Past it (the holder died), another replica
/// refreshes; a replica waiting for the lease waits through it at most once,
/// well within a validation's wall time.
pub fn lease_for(timeout: Duration) -> Duration {
    timeout + Duration::from_secs(1)
}

/// Why an access token could not be refreshed.
#[derive(Debug)]
pub enum RefreshError {
    /// The token endpoint refused the refresh token (`invalid_grant`), now
    /// or earlier: the customer must reconnect.
    Revoked,
    /// Anything else (transport, the keeper, the lease held too long).
    Failed(String),
}

impl std::fmt::Display for RefreshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefreshError::Revoked => f.write_str(
                "the token endpoint refused the refresh token (invalid_grant): the company must reconnect",
            ),
            RefreshError::Failed(problem) => f.write_str(problem),
        }
    }
}

/// How a refresh reaches the token endpoint.
#[derive(Debug, Clone, Copy)]
pub struct TokenClient<'a> {
    /// The HTTP client (no proxy, the host's resolver).
    pub client: &'a reqwest::Client,
    /// Timeout of the token request.
    pub timeout: Duration,
    /// Whether plain `http` to a loopback token endpoint is allowed.
    pub allow_http_loopback: bool,
}

/// Refreshes `oauth`'s access token (RFC 6749 §6) unless another user of
/// the grant (in this process, or another replica through the keeper)
/// already did since `used` was sent. With a keeper, one replica refreshes
/// at a time under its lease, and the result is kept before it is used. The
/// one refresh path, for a company's credentials and a Pleo organisation's.
pub async fn refresh(via: &TokenClient<'_>, oauth: &OAuth, used: &str) -> Result<(), RefreshError> {
    let _turn = oauth.refreshing.lock().await;
    // Another user of the grant refreshed since `used` went out, and the
    // token it got is not about to expire itself.
    let live = |tokens: &Tokens| !tokens.due(std::time::SystemTime::now());
    if oauth.access_token().expose() != used && live(&oauth.tokens()) {
        return Ok(());
    }
    let Some(keeper) = oauth.keeper() else {
        if oauth.tokens().revoked {
            return Err(RefreshError::Revoked);
        }
        let tokens = token_endpoint(via, oauth, &oauth.tokens()).await;
        return match tokens {
            Ok(tokens) => {
                oauth.adopt(tokens);
                Ok(())
            }
            Err(error) => {
                if matches!(error, RefreshError::Revoked) {
                    let mut tokens = oauth.tokens();
                    tokens.revoked = true;
                    oauth.adopt(tokens);
                }
                Err(error)
            }
        };
    };
    let keeper_error = |problem: String| RefreshError::Failed(format!("token store: {problem}"));
    let lease = lease_for(via.timeout);
    let give_up = Instant::now() + lease + Duration::from_millis(250);
    let current = loop {
        match adopt_kept(keeper.as_ref(), oauth, used).await? {
            Kept::MovedOn => return Ok(()),
            Kept::Revoked => return Err(RefreshError::Revoked),
            Kept::Due => {}
        }
        if keeper.lease(lease).await.map_err(keeper_error)? {
            // Another replica may have kept its refresh and given the lease
            // up between the read above and this lease: read again under
            // the lease, or its spent refresh token would be sent again.
            match adopt_kept(keeper.as_ref(), oauth, used).await? {
                Kept::Due => break oauth.tokens(),
                kept => {
                    keeper.release(false).await.map_err(keeper_error)?;
                    return match kept {
                        Kept::Revoked => Err(RefreshError::Revoked),
                        _ => Ok(()),
                    };
                }
            }
        }
        if Instant::now() >= give_up {
            return Err(RefreshError::Failed(
                "another replica held the refresh lease too long".to_owned(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    match token_endpoint(via, oauth, &current).await {
        Ok(tokens) => {
            // Kept before it is used: a refresh token rotates, and one
            // kept only in memory is lost with the process.
            if let Err(problem) = keeper.save(&tokens).await {
                let _ = keeper.release(false).await;
                return Err(keeper_error(problem));
            }
            oauth.adopt(tokens);
            Ok(())
        }
        Err(error) => {
            let revoked = matches!(error, RefreshError::Revoked);
            keeper.release(revoked).await.map_err(keeper_error)?;
            if revoked {
                let mut tokens = oauth.tokens();
                tokens.revoked = true;
                oauth.adopt(tokens);
            }
            Err(error)
        }
    }
}

/// What the keeper holds, against the access token a caller sent.
enum Kept {
    /// Another user refreshed since, and its token lives: use it.
    MovedOn,
    /// The grant was refused: the customer must reconnect.
    Revoked,
    /// Nothing newer, or a token about to expire itself: refresh.
    Due,
}

/// Adopts what `keeper` holds into `oauth` and tells whether a refresh is
/// still due after `used` was sent. Another replica's refresh counts only
/// while its token lives: an older one, kept since, is refreshed from here
/// (with the refresh token kept with it, the grant's current one).
async fn adopt_kept(
    keeper: &dyn crate::config::TokenKeeper,
    oauth: &OAuth,
    used: &str,
) -> Result<Kept, RefreshError> {
    let Some(kept) = keeper
        .load()
        .await
        .map_err(|problem| RefreshError::Failed(format!("token store: {problem}")))?
    else {
        return Ok(Kept::Due);
    };
    let moved_on = kept.access.expose() != used && !kept.due(std::time::SystemTime::now());
    let revoked = kept.revoked;
    oauth.adopt(kept);
    Ok(if revoked {
        Kept::Revoked
    } else if moved_on {
        Kept::MovedOn
    } else {
        Kept::Due
    })
}

/// Spends `current`'s refresh token at the token endpoint; the new
/// tokens, the refresh token kept when none came back.
async fn token_endpoint(
    via: &TokenClient<'_>,
    oauth: &OAuth,
    current: &Tokens,
) -> Result<Tokens, RefreshError> {
    // The token endpoint is held to the runtime's transport rule like
    // every origin: plain `http` only to loopback, and only when the
    // operator allowed it.
    if oauth.token_url.scheme() == "http" && !via.allow_http_loopback {
        return Err(RefreshError::Failed(format!(
            "token endpoint {}: plain http is not allowed (sandbox.allowHttpLoopback is off)",
            oauth.token_url
        )));
    }
    let failed = |error: &dyn std::fmt::Display| {
        RefreshError::Failed(format!("token endpoint {}: {error}", oauth.token_url))
    };
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", current.refresh.expose())
        .finish();
    let response = via
        .client
        .post(oauth.token_url.clone())
        .basic_auth(&oauth.client_id, Some(oauth.client_secret().expose()))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .timeout(via.timeout)
        .send()
        .await
        .map_err(|error| failed(&error))?;
    let status = response.status();
    let text = crate::sandbox::outbound::read_within(response, TOKEN_RESPONSE_BYTES)
        .await
        .map_err(|_| failed(&"the answer could not be read within 64 KiB"))?;
    if !status.is_success() {
        #[derive(serde::Deserialize)]
        struct Refusal {
            error: String,
        }
        // RFC 6749 §5.2: an invalid, expired or revoked refresh token is
        // `invalid_grant`.
        let refusal = serde_json::from_slice::<Refusal>(&text).ok();
        if status == reqwest::StatusCode::BAD_REQUEST
            && refusal.is_some_and(|refusal| refusal.error == "invalid_grant")
        {
            return Err(RefreshError::Revoked);
        }
        return Err(failed(&format!("answered {status}")));
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        access_token: String,
        #[serde(default)]
        refresh_token: Option<String>,
        #[serde(default)]
        expires_in: Option<u64>,
    }
    let answer: Answer = serde_json::from_slice(&text).map_err(|error| failed(&error))?;
    if answer.access_token.is_empty() {
        return Err(failed(&"the answer holds an empty access_token"));
    }
    let now = std::time::SystemTime::now();
    Ok(Tokens {
        access: Secret::new(answer.access_token),
        refresh: answer
            .refresh_token
            .filter(|token| !token.is_empty())
            .map_or_else(|| current.refresh.clone(), Secret::new),
        expires_at: answer
            .expires_in
            .map(|seconds| now + Duration::from_secs(seconds.min(10 * 365 * 86_400))),
        refreshed_at: Some(now),
        revoked: false,
    })
}

/// The largest token endpoint answer read.
const TOKEN_RESPONSE_BYTES: usize = 64 << 10;

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::config::{KeeperFuture, TokenKeeper};

    /// A keeper whose other replica keeps `theirs` and gives the lease up
    /// between this replica's first read and its lease.
    struct Racing {
        kept: Mutex<Tokens>,
        theirs: Tokens,
        leased: Mutex<u32>,
        released: Mutex<u32>,
    }

    impl TokenKeeper for Racing {
        fn load(&self) -> KeeperFuture<'_, Option<Tokens>> {
            Box::pin(async move { Ok(Some(self.kept.lock().unwrap().clone())) })
        }
        fn lease(&self, _ttl: Duration) -> KeeperFuture<'_, bool> {
            Box::pin(async move {
                *self.leased.lock().unwrap() += 1;
                *self.kept.lock().unwrap() = self.theirs.clone();
                Ok(true)
            })
        }
        fn save<'a>(&'a self, _tokens: &'a Tokens) -> KeeperFuture<'a, ()> {
            Box::pin(async move { Err("no refresh was due".to_owned()) })
        }
        fn release(&self, _revoked: bool) -> KeeperFuture<'_, ()> {
            Box::pin(async move {
                *self.released.lock().unwrap() += 1;
                Ok(())
            })
        }
    }

    fn tokens(access: &str, refresh: &str, lives: Duration) -> Tokens {
        let now = SystemTime::now();
        Tokens {
            expires_at: Some(now + lives),
            refreshed_at: Some(now),
            ..Tokens::new(Secret::new(access), Secret::new(refresh))
        }
    }

    #[tokio::test]
    async fn a_refresh_kept_between_the_read_and_the_lease_is_adopted_not_repeated() {
        let stale = tokens("stale-access", "spent-refresh", Duration::ZERO);
        let keeper = std::sync::Arc::new(Racing {
            kept: Mutex::new(stale.clone()),
            theirs: tokens("their-access", "their-refresh", Duration::from_secs(600)),
            leased: Mutex::new(0),
            released: Mutex::new(0),
        });
        // Nothing listens on port 9 of loopback: a refresh sent would fail.
        let oauth = OAuth::new(
            url::Url::parse("http://127.0.0.1:9/token").unwrap(),
            "client".into(),
            Secret::new("secret"),
            stale.access.clone(),
            stale.refresh.clone(),
        );
        oauth.keep_with(keeper.clone(), stale);
        let client = reqwest::Client::new();
        let via = TokenClient {
            client: &client,
            timeout: Duration::from_secs(1),
            allow_http_loopback: true,
        };
        refresh(&via, &oauth, "stale-access")
            .await
            .expect("the other replica's tokens are used");
        assert_eq!(oauth.access_token().expose(), "their-access");
        assert_eq!(oauth.tokens().refresh.expose(), "their-refresh");
        assert_eq!(*keeper.leased.lock().unwrap(), 1);
        assert_eq!(*keeper.released.lock().unwrap(), 1, "the lease is given up");
    }
}
