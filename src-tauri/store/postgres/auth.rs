//! Sessions, one-time tokens (`user_tokens`) and counted sign-in failures, all keyed by the
//! SHA-256 digest of their secret or by the case-folded user name.

use super::PgTx;
use crate::core::lockout::Failures;
use crate::core::model::{Time, UserStatus};
use crate::core::Result;
use crate::rules::storage::{AuthRows, SessionRow, TokenKind, TokenRow};
use crate::store::{from_ms, to_ms};

impl AuthRows for PgTx<'_> {
    fn find_session(&self, digest: &[u8; 32]) -> Result<Option<SessionRow>> {
        Ok(self
            .query_opt(
                "SELECT u.id, u.user_name, u.status, s.expires_time
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = $1",
                &[&&digest[..]],
            )?
            .map(|r| {
                let status: &str = r.get(2);
                SessionRow {
                    user_id: r.get(0),
                    user_name: r.get(1),
                    user_status: UserStatus::parse(status).unwrap_or(UserStatus::Inactive),
                    expires_time: from_ms(r.get(3)),
                }
            }))
    }

    fn insert_session(
        &self,
        digest: &[u8; 32],
        user_id: &str,
        created: Time,
        expires: Time,
    ) -> Result<()> {
        self.execute(
            "INSERT INTO sessions (hash, user_id, created_time, expires_time)
             VALUES ($1, $2, $3, $4)",
            &[&&digest[..], &user_id, &to_ms(created), &to_ms(expires)],
        )?;
        Ok(())
    }

    fn delete_session(&self, digest: &[u8; 32]) -> Result<()> {
        self.execute("DELETE FROM sessions WHERE hash = $1", &[&&digest[..]])?;
        Ok(())
    }

    fn delete_sessions_of(&self, user_id: &str, keep: Option<&[u8; 32]>) -> Result<()> {
        let keep: &[u8] = keep.map(|k| &k[..]).unwrap_or_default();
        self.execute(
            "DELETE FROM sessions WHERE user_id = $1 AND hash <> $2",
            &[&user_id, &keep],
        )?;
        Ok(())
    }

    fn delete_sessions_expired_by(&self, now: Time) -> Result<()> {
        self.execute(
            "DELETE FROM sessions WHERE expires_time <= $1",
            &[&to_ms(now)],
        )?;
        Ok(())
    }

    fn find_token(&self, digest: &[u8; 32]) -> Result<Option<TokenRow>> {
        Ok(self
            .query_opt(
                "SELECT user_id, kind, expires_time FROM user_tokens WHERE hash = $1",
                &[&&digest[..]],
            )?
            .map(|r| {
                let kind: &str = r.get(1);
                TokenRow {
                    user_id: r.get(0),
                    kind: crate::store::token_kind(kind),
                    expires_time: from_ms(r.get(2)),
                }
            }))
    }

    fn insert_token(&self, digest: &[u8; 32], token: &TokenRow) -> Result<()> {
        self.execute(
            "INSERT INTO user_tokens (hash, user_id, kind, expires_time) VALUES ($1, $2, $3, $4)",
            &[
                &&digest[..],
                &token.user_id,
                &crate::store::token_kind_name(token.kind),
                &to_ms(token.expires_time),
            ],
        )?;
        Ok(())
    }

    fn delete_token(&self, digest: &[u8; 32]) -> Result<bool> {
        Ok(self.execute("DELETE FROM user_tokens WHERE hash = $1", &[&&digest[..]])? > 0)
    }

    fn delete_tokens_of(&self, user_id: &str, kind: Option<TokenKind>) -> Result<()> {
        match kind {
            Some(kind) => self.execute(
                "DELETE FROM user_tokens WHERE user_id = $1 AND kind = $2",
                &[&user_id, &crate::store::token_kind_name(kind)],
            )?,
            None => self.execute("DELETE FROM user_tokens WHERE user_id = $1", &[&user_id])?,
        };
        Ok(())
    }

    fn sign_in_failures(&self, name_key: &str) -> Result<Option<Failures>> {
        Ok(self
            .query_opt(
                "SELECT failures, last_failure_time FROM sign_in_failures
                 WHERE user_name_key = $1",
                &[&name_key],
            )?
            .map(|r| Failures {
                count: u32::try_from(r.get::<_, i32>(0)).unwrap_or(0),
                last: from_ms(r.get(1)),
            }))
    }

    fn set_sign_in_failures(&self, name_key: &str, failures: &Failures) -> Result<()> {
        let count = i32::try_from(failures.count).unwrap_or(i32::MAX);
        self.execute(
            "INSERT INTO sign_in_failures (user_name_key, failures, last_failure_time)
             VALUES ($1, $2, $3)
             ON CONFLICT (user_name_key) DO UPDATE SET
                 failures = excluded.failures,
                 last_failure_time = excluded.last_failure_time",
            &[&name_key, &count, &to_ms(failures.last)],
        )?;
        Ok(())
    }

    fn clear_sign_in_failures(&self, name_key: &str) -> Result<()> {
        self.execute(
            "DELETE FROM sign_in_failures WHERE user_name_key = $1",
            &[&name_key],
        )?;
        Ok(())
    }
}
