//! Sessions, one-time tokens (`user_tokens`) and counted sign-in failures, all keyed by the
//! SHA-256 digest of their secret or by the case-folded user name.

use super::SqliteTx;
use crate::core::lockout::Failures;
use crate::core::model::{Time, UserStatus};
use crate::core::Result;
use crate::rules::storage::{AuthRows, SessionRow, TokenKind, TokenRow};
use crate::store::{from_ms, to_ms};
use rusqlite::{params, OptionalExtension};

impl AuthRows for SqliteTx<'_> {
    fn find_session(&self, digest: &[u8; 32]) -> Result<Option<SessionRow>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT u.id, u.user_name, u.status, s.expires_time
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ?1",
            )?
            .query_row([&digest[..]], |r| {
                let status: String = r.get(2)?;
                Ok(SessionRow {
                    user_id: r.get(0)?,
                    user_name: r.get(1)?,
                    user_status: UserStatus::parse(&status).unwrap_or(UserStatus::Inactive),
                    expires_time: from_ms(r.get(3)?),
                })
            })
            .optional()?)
    }

    fn insert_session(
        &self,
        digest: &[u8; 32],
        user_id: &str,
        created: Time,
        expires: Time,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO sessions (hash, user_id, created_time, expires_time)
             VALUES (?1, ?2, ?3, ?4)",
            params![&digest[..], user_id, to_ms(created), to_ms(expires)],
        )?;
        Ok(())
    }

    fn delete_session(&self, digest: &[u8; 32]) -> Result<()> {
        self.0
            .execute("DELETE FROM sessions WHERE hash = ?1", [&digest[..]])?;
        Ok(())
    }

    fn delete_sessions_of(&self, user_id: &str, keep: Option<&[u8; 32]>) -> Result<()> {
        let keep: &[u8] = keep.map(|k| &k[..]).unwrap_or_default();
        self.0.execute(
            "DELETE FROM sessions WHERE user_id = ?1 AND hash <> ?2",
            params![user_id, keep],
        )?;
        Ok(())
    }

    fn delete_sessions_expired_by(&self, now: Time) -> Result<()> {
        self.0.execute(
            "DELETE FROM sessions WHERE expires_time <= ?1",
            [to_ms(now)],
        )?;
        Ok(())
    }

    fn find_token(&self, digest: &[u8; 32]) -> Result<Option<TokenRow>> {
        Ok(self
            .0
            .prepare_cached("SELECT user_id, kind, expires_time FROM user_tokens WHERE hash = ?1")?
            .query_row([&digest[..]], |r| {
                let kind: String = r.get(1)?;
                Ok(TokenRow {
                    user_id: r.get(0)?,
                    kind: crate::store::token_kind(&kind),
                    expires_time: from_ms(r.get(2)?),
                })
            })
            .optional()?)
    }

    fn insert_token(&self, digest: &[u8; 32], token: &TokenRow) -> Result<()> {
        self.0.execute(
            "INSERT INTO user_tokens (hash, user_id, kind, expires_time) VALUES (?1, ?2, ?3, ?4)",
            params![
                &digest[..],
                token.user_id,
                crate::store::token_kind_name(token.kind),
                to_ms(token.expires_time)
            ],
        )?;
        Ok(())
    }

    fn delete_token(&self, digest: &[u8; 32]) -> Result<bool> {
        Ok(self
            .0
            .execute("DELETE FROM user_tokens WHERE hash = ?1", [&digest[..]])?
            > 0)
    }

    fn delete_tokens_of(&self, user_id: &str, kind: Option<TokenKind>) -> Result<()> {
        match kind {
            Some(kind) => self.0.execute(
                "DELETE FROM user_tokens WHERE user_id = ?1 AND kind = ?2",
                params![user_id, crate::store::token_kind_name(kind)],
            )?,
            None => self
                .0
                .execute("DELETE FROM user_tokens WHERE user_id = ?1", [user_id])?,
        };
        Ok(())
    }

    fn sign_in_failures(&self, name_key: &str) -> Result<Option<Failures>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT failures, last_failure_time FROM sign_in_failures
                 WHERE user_name_key = ?1",
            )?
            .query_row([name_key], |r| {
                Ok(Failures {
                    count: r.get(0)?,
                    last: from_ms(r.get(1)?),
                })
            })
            .optional()?)
    }

    fn set_sign_in_failures(&self, name_key: &str, failures: &Failures) -> Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO sign_in_failures (user_name_key, failures, last_failure_time)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_name_key) DO UPDATE SET
                     failures = excluded.failures,
                     last_failure_time = excluded.last_failure_time",
            )?
            .execute(params![name_key, failures.count, to_ms(failures.last)])?;
        Ok(())
    }

    fn clear_sign_in_failures(&self, name_key: &str) -> Result<()> {
        self.0.execute(
            "DELETE FROM sign_in_failures WHERE user_name_key = ?1",
            [name_key],
        )?;
        Ok(())
    }
}
