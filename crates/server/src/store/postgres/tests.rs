//! The PostgreSQL store's own rules, with two stores (two pools: two instances) on one schema:
//! migrations under the lock and a newer schema refused, and the one-time things consumed once
//! when both instances ask at the same moment. The behaviour every store shares runs through
//! the whole test suite on PostgreSQL (`BANKID_OIDC_TEST_DATABASE_URL`).

use super::{PgOptions, PgStore, SCHEMA_VERSION};
use crate::secret::{new_id, random_token};
use crate::store::fixtures::{client, code, completion, flow_at, user};
use crate::store::*;

/// Two stores on one new schema, or None when the tests run on SQLite only.
async fn two_instances() -> Option<(PgStore, PgStore)> {
    let Ok(url) = std::env::var("BANKID_OIDC_TEST_DATABASE_URL") else {
        eprintln!(
            "BANKID_OIDC_TEST_DATABASE_URL is not set: skipping the PostgreSQL store's tests"
        );
        return None;
    };
    let first = PgStore::temporary(&url).await.unwrap();
    let schema = first.temporary.as_ref().unwrap().schema.clone();
    let mut options = PgOptions::new(&url);
    options.schema = Some(schema);
    let second = PgStore::open(&options).await.unwrap();
    Some((first, second))
}

fn issued(c: &AuthorizationCode) -> Issued {
    Issued {
        access: AccessTokenRecord {
            jti: new_id(),
            grant_id: c.grant_id.clone(),
            client_id: c.client_id.clone(),
            issued_at: 11,
            expires_at: 311,
            token_hash: Some(random_token()),
            nnin_consent: false,
        },
        refresh: None,
    }
}

#[tokio::test]
async fn instances_starting_together_both_find_the_schema_and_a_newer_one_is_refused() {
    let Ok(url) = std::env::var("BANKID_OIDC_TEST_DATABASE_URL") else {
        return;
    };
    let admin = PgStore::connect(&PgOptions::new(&url)).unwrap();
    let schema = format!("test_{}", new_id().to_lowercase().replace('-', "_"));
    admin
        .execute_batch(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let mut options = PgOptions::new(&url);
    options.schema = Some(schema.clone());
    // Four opening a new schema at once: each waits for the migration lock, one migrates.
    let opened = futures_join_all((0..4).map(|_| {
        let options = options.clone();
        async move { PgStore::open(&options).await }
    }))
    .await;
    for store in &opened {
        let store = store.as_ref().unwrap();
        assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION);
    }
    let store = opened.into_iter().next().unwrap().unwrap();
    store
        .execute_batch("UPDATE bankid_oidc_schema SET version = version + 1")
        .await
        .unwrap();
    let refused = PgStore::open(&options).await.unwrap_err().to_string();
    assert!(refused.contains("made by a newer bankid-oidc"), "{refused}");
    // Refused means untouched: the records are as they were.
    assert_eq!(store.schema_version().await.unwrap(), SCHEMA_VERSION + 1);
    admin
        .execute_batch(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

/// Runs the futures at once, each on a task of its own; their outputs in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_asked_of_two_instances_at_once_is_redeemed_by_one() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let user = user(&new_id());
    a.add_user(&user).await.unwrap();
    a.add_client(&client("shop")).await.unwrap();
    for round in 0..20 {
        let c = code(&user.id, "shop", &new_id());
        a.issue_code(&c, 10).await.unwrap();
        // Every other round with a refresh token: the redemption writes both or neither.
        let with_refresh = |c: &AuthorizationCode| {
            let mut issued = issued(c);
            issued.refresh = (round % 2 == 1).then(|| RefreshToken {
                token_hash: StoreKey::of(&random_token()),
                grant_id: c.grant_id.clone(),
                parent_hash: None,
                client_id: c.client_id.clone(),
                user_id: c.user_id.clone(),
                scope: c.scope.clone(),
                session_id: c.session_id.clone(),
                method: c.method,
                auth_time: c.auth_time,
                api_version: c.api_version,
                issued_at: 11,
                expires_at: 1000,
                used_at: None,
            });
            issued
        };
        let (at_a, at_b) = (with_refresh(&c), with_refresh(&c));
        let (first, second) = tokio::join!(
            a.redeem_code(&c.code_hash, 20, &at_a),
            b.redeem_code(&c.code_hash, 20, &at_b),
        );
        let (first, second) = (first.unwrap(), second.unwrap());
        let a_won = first == Consumed::Fresh;
        let mut outcomes = [first, second];
        outcomes.sort_by_key(|o| format!("{o:?}"));
        assert_eq!(
            outcomes,
            [Consumed::AlreadyUsed, Consumed::Fresh],
            "round {round}"
        );
        // Only the winner's tokens are stored.
        let (won, lost) = if a_won {
            (&at_a, &at_b)
        } else {
            (&at_b, &at_a)
        };
        assert!(
            b.live_access_token(&won.access.jti)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            a.live_access_token(&lost.access.jti)
                .await
                .unwrap()
                .is_none()
        );
        if let (Some(won), Some(lost)) = (&won.refresh, &lost.refresh) {
            assert!(a.refresh_token(&won.token_hash).await.unwrap().is_some());
            assert!(b.refresh_token(&lost.token_hash).await.unwrap().is_none());
        }
    }
    let unknown = code(&user.id, "shop", &new_id());
    let tokens = issued(&unknown);
    let outcome = a.redeem_code(&unknown.code_hash, 20, &tokens).await;
    assert_eq!(outcome.unwrap(), Consumed::Unknown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_step_and_a_jti_and_a_pushed_request_are_taken_once_across_instances() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let (flows_a, flows_b) = (super::PgFlows::new(&a), super::PgFlows::new(&b));
    for round in 0..20 {
        // A login step posted to both: one advances it.
        let flow = flow_at(&format!("flow-{round}-{}", new_id()), 10, 600);
        assert!(a.create_flow_for_test(&flow).await);
        let mut next = flow.clone();
        next.step = Step::Otp;
        let (first, second) = tokio::join!(
            flows_a.advance_flow(&next, Step::Nnin),
            flows_b.advance_flow(&next, Step::Nnin),
        );
        assert_ne!(
            first.unwrap(),
            second.unwrap(),
            "round {round}: one step wins"
        );
        // The flow ended at both: one is told it ended it.
        let (first, second) = tokio::join!(
            flows_a.finish_flow(&flow.id, 600),
            flows_b.finish_flow(&flow.id, 600),
        );
        assert_ne!(
            first.unwrap(),
            second.unwrap(),
            "round {round}: one ends it"
        );
        assert_eq!(flows_b.flow(&flow.id, 20).await.unwrap(), FlowState::Ended);
        // A client assertion's jti at both: one is fresh, the other a replay.
        let jti = new_id();
        let (first, second) = tokio::join!(
            a.record_client_jwt_jti("shop", &jti, 100, 20),
            b.record_client_jwt_jti("shop", &jti, 100, 20),
        );
        assert_ne!(first.unwrap(), second.unwrap(), "round {round}: one jti");
        // Once expired, the same jti is new again.
        assert!(
            a.record_client_jwt_jti("shop", &jti, 300, 100)
                .await
                .unwrap()
        );
        // A pushed request taken at both: one gets it.
        let uri = StoreKey::of(&random_token());
        a.push_request(&uri, "shop", "{}", 100).await.unwrap();
        let (first, second) = tokio::join!(
            a.take_pushed_request(&uri, "shop", 20),
            b.take_pushed_request(&uri, "shop", 20),
        );
        let mut taken = [first.unwrap(), second.unwrap()];
        taken.sort_by_key(|t| format!("{t:?}"));
        assert_eq!(
            taken,
            [Taken::Request("{}".into()), Taken::Used],
            "round {round}"
        );
    }
}

/// The live session a login stored, found by its cookie.
async fn session(store: &PgStore, login: &NewLogin) -> Option<Session> {
    store.session_by_cookie(&login.cookie, 20).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_ended_at_two_instances_at_once_stores_one_session_and_code() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let (flows_a, flows_b) = (super::PgFlows::new(&a), super::PgFlows::new(&b));
    let user = user(&new_id());
    a.add_user(&user).await.unwrap();
    a.add_client(&client("shop")).await.unwrap();
    let logged_in = |c: &Completion| c.login.clone().unwrap();
    let mut previous: Option<NewLogin> = None;
    for round in 0..10 {
        let flow_id = format!("flow-{round}-{}", new_id());
        // Each round replaces the session the round before stored, as a browser logging in
        // again does: the replaced one goes only with the end that is stored.
        let replaced = previous.as_ref().map(|l| l.session.id.as_str());
        let (at_a, at_b) = (
            completion(&user.id, replaced),
            completion(&user.id, replaced),
        );
        let (first, second) = tokio::join!(
            flows_a.finish_flow_completing(&flow_id, 600, &at_a, None, &a),
            flows_b.finish_flow_completing(&flow_id, 600, &at_b, None, &b),
        );
        let (first, second) = (first.unwrap(), second.unwrap());
        let mut endings = [first, second];
        endings.sort_by_key(|e| format!("{e:?}"));
        assert_eq!(
            endings,
            [Ending::AlreadyEnded, Ending::Ended],
            "round {round}"
        );
        let first = first == Ending::Ended;
        let (won, lost) = if first {
            (&at_a, &at_b)
        } else {
            (&at_b, &at_a)
        };
        assert!(
            session(&b, &logged_in(won)).await.is_some(),
            "round {round}"
        );
        assert!(a.code(&won.code.code_hash).await.unwrap().is_some());
        assert_eq!(session(&b, &logged_in(lost)).await, None, "round {round}");
        assert_eq!(
            a.code(&lost.code.code_hash).await.unwrap(),
            None,
            "round {round}"
        );
        if let Some(replaced) = previous.take() {
            assert_eq!(session(&b, &replaced).await, None, "round {round}");
        }
        assert_eq!(flows_b.flow(&flow_id, 20).await.unwrap(), FlowState::Ended);
        // Ended (a cancel, say): a late end stores nothing and leaves the session it names.
        let late = completion(&user.id, Some(&logged_in(won).session.id));
        let ending = flows_a
            .finish_flow_completing(&flow_id, 600, &late, None, &a)
            .await
            .unwrap();
        assert_eq!(ending, Ending::AlreadyEnded);
        assert_eq!(a.code(&late.code.code_hash).await.unwrap(), None);
        assert!(
            session(&b, &logged_in(won)).await.is_some(),
            "round {round}"
        );
        previous = Some(logged_in(won));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secrets_counted_at_two_instances_lock_the_user_once() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let user = user(&new_id());
    a.add_user(&user).await.unwrap();
    // Ten wrong secrets, five at each instance at once, with a limit of five: exactly five are
    // counted and the fifth locks; the rest find the lock.
    let attempts = futures_join_all((0..10).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let id = user.id.clone();
        async move { store.count_login_failure(&id, 100, 5, 900).await.unwrap() }
    }))
    .await;
    let counted: Vec<_> = attempts
        .iter()
        .filter_map(|a| match a {
            Attempt::Counted {
                failed_attempts, ..
            } => Some(*failed_attempts),
            Attempt::Refused => None,
        })
        .collect();
    let mut sorted = counted.clone();
    sorted.sort();
    assert_eq!(sorted, [1, 2, 3, 4, 5], "{attempts:?}");
    let stored = b.user(&user.id).await.unwrap().unwrap();
    assert_eq!(stored.locked_until, Some(1000));
    // A right secret while locked is refused at either instance.
    assert!(!a.accept_login_secret(&user.id, 200, true).await.unwrap());
    assert!(!b.accept_login_secret(&user.id, 200, true).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_key_is_made_once_when_two_instances_start_on_a_new_database() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let (first, second) = tokio::join!(
        crate::keys::Keyring::load_or_create(&a, KeySet::Signing, 10),
        crate::keys::Keyring::load_or_create(&b, KeySet::Signing, 10),
    );
    let (first, second) = (first.unwrap().0, second.unwrap().0);
    assert_eq!(first.active_kid(), second.active_kid());
    assert_eq!(a.signing_keys(KeySet::Signing).await.unwrap().len(), 1);
    // Housekeeping at both at once: one does it, the other skips; neither fails.
    let (first, second) = tokio::join!(a.purge_expired(10_000, 0), b.purge_expired(10_000, 0));
    first.unwrap();
    second.unwrap();
    a.ping().await.unwrap();
    assert!(a.pool_status().is_some());
}

#[tokio::test]
async fn a_users_scripts_go_with_the_user_and_none_is_set_for_a_user_who_is_gone() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let user = user(&new_id());
    a.add_user(&user).await.unwrap();
    let answer = AppScripted {
        answer: AppScript::Deny,
        delay: 0,
    };
    assert!(a.set_app_script(&user.id, Some(answer)).await.unwrap());
    assert!(
        a.set_login_script(&user.id, Some(LoginScript::AccessDenied))
            .await
            .unwrap()
    );
    assert!(b.remove_user(&user.id, 10).await.unwrap());
    assert_eq!(a.app_script(&user.id).await.unwrap(), None);
    assert_eq!(a.login_script(&user.id).await.unwrap(), None);
    // A user who is gone gets no script, at either instance.
    assert!(!b.set_app_script(&user.id, Some(answer)).await.unwrap());
    assert!(
        !a.set_login_script(&user.id, Some(LoginScript::AccessDenied))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_login_end_checks_the_password_failures_and_lock_in_its_statement() {
    let Some((a, _)) = two_instances().await else {
        return;
    };
    let flows = super::PgFlows::new(&a);
    crate::store::fixtures::a_login_end_checks_the_password_failures_and_lock(&flows, &a).await;
}
