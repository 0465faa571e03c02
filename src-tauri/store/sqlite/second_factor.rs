//! Two-step sign-in: `second_factors` (sealed secrets), `recovery_codes` and
//! `sign_in_challenges`, the last two keyed by the SHA-256 digest of their secret.

use super::SqliteTx;
use crate::core::model::Time;
use crate::core::Result;
use crate::rules::storage::{ChallengeRow, SecondFactorRow, SecondFactorRows};
use crate::store::{challenge_kind, challenge_kind_name, from_ms, to_ms};
use rusqlite::{params, OptionalExtension};

impl SecondFactorRows for SqliteTx<'_> {
    fn second_factor(&self, user_id: &str) -> Result<Option<SecondFactorRow>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT secret, confirmed, last_step FROM second_factors WHERE user_id = ?1",
            )?
            .query_row([user_id], |r| {
                Ok(SecondFactorRow {
                    secret: r.get(0)?,
                    confirmed: r.get(1)?,
                    last_step: r.get(2)?,
                })
            })
            .optional()?)
    }

    fn put_second_factor(&self, user_id: &str, row: &SecondFactorRow, now: Time) -> Result<()> {
        self.0.execute(
            "INSERT INTO second_factors (user_id, secret, confirmed, last_step, created_time)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret,
                 confirmed = excluded.confirmed, last_step = excluded.last_step,
                 created_time = excluded.created_time",
            params![
                user_id,
                row.secret,
                row.confirmed,
                row.last_step,
                to_ms(now)
            ],
        )?;
        Ok(())
    }

    fn set_second_factor_step(&self, user_id: &str, step: i64) -> Result<()> {
        self.0.execute(
            "UPDATE second_factors SET last_step = ?2 WHERE user_id = ?1",
            params![user_id, step],
        )?;
        Ok(())
    }

    fn delete_second_factor(&self, user_id: &str) -> Result<()> {
        for table in ["second_factors", "recovery_codes", "sign_in_challenges"] {
            self.0.execute(
                &format!("DELETE FROM {table} WHERE user_id = ?1"),
                [user_id],
            )?;
        }
        Ok(())
    }

    fn any_sealed_secret(&self) -> Result<Option<Vec<u8>>> {
        Ok(self
            .0
            .prepare_cached("SELECT secret FROM second_factors LIMIT 1")?
            .query_row([], |r| r.get(0))
            .optional()?)
    }

    fn replace_recovery_codes(&self, user_id: &str, digests: &[[u8; 32]]) -> Result<()> {
        self.0
            .execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user_id])?;
        let mut insert = self
            .0
            .prepare_cached("INSERT INTO recovery_codes (hash, user_id) VALUES (?1, ?2)")?;
        for digest in digests {
            insert.execute(params![&digest[..], user_id])?;
        }
        Ok(())
    }

    fn use_recovery_code(&self, user_id: &str, digest: &[u8; 32]) -> Result<bool> {
        Ok(self.0.execute(
            "DELETE FROM recovery_codes WHERE hash = ?1 AND user_id = ?2",
            params![&digest[..], user_id],
        )? == 1)
    }

    fn recovery_codes_left(&self, user_id: &str) -> Result<u64> {
        let count: i64 = self
            .0
            .prepare_cached("SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1")?
            .query_row([user_id], |r| r.get(0))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn insert_challenge(&self, digest: &[u8; 32], challenge: &ChallengeRow) -> Result<()> {
        self.0.execute(
            "INSERT INTO sign_in_challenges (hash, user_id, kind, expires_time)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                &digest[..],
                challenge.user_id,
                challenge_kind_name(challenge.kind),
                to_ms(challenge.expires_time)
            ],
        )?;
        Ok(())
    }

    fn find_challenge(&self, digest: &[u8; 32]) -> Result<Option<ChallengeRow>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT user_id, kind, expires_time FROM sign_in_challenges WHERE hash = ?1",
            )?
            .query_row([&digest[..]], |r| {
                let kind: String = r.get(1)?;
                Ok(ChallengeRow {
                    user_id: r.get(0)?,
                    kind: challenge_kind(&kind),
                    expires_time: from_ms(r.get(2)?),
                })
            })
            .optional()?)
    }

    fn delete_challenge(&self, digest: &[u8; 32]) -> Result<bool> {
        Ok(self.0.execute(
            "DELETE FROM sign_in_challenges WHERE hash = ?1",
            [&digest[..]],
        )? == 1)
    }

    fn delete_challenges_expired_by(&self, now: Time) -> Result<()> {
        self.0.execute(
            "DELETE FROM sign_in_challenges WHERE expires_time <= ?1",
            [to_ms(now)],
        )?;
        Ok(())
    }
}
