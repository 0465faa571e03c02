//! Sign-in through the identity provider: `user_identities` (who is linked to which
//! `(issuer, sub)`) and `provider_sign_ins` (by the SHA-256 digest of their secret).

use super::SqliteTx;
use crate::core::model::Time;
use crate::core::Result;
use crate::rules::storage::{ProviderRows, ProviderSignInRow, ProviderStep};
use crate::store::{from_ms, to_ms};
use rusqlite::{params, OptionalExtension};

impl ProviderRows for SqliteTx<'_> {
    fn linked_user(&self, issuer: &str, subject: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .prepare_cached(
                "SELECT user_id FROM user_identities WHERE issuer = ?1 AND subject = ?2",
            )?
            .query_row([issuer, subject], |r| r.get(0))
            .optional()?)
    }

    fn link_identity(&self, issuer: &str, subject: &str, user_id: &str, now: Time) -> Result<()> {
        self.0.execute(
            "INSERT INTO user_identities (issuer, subject, user_id, linked_time)
             VALUES (?1, ?2, ?3, ?4)",
            params![issuer, subject, user_id, to_ms(now)],
        )?;
        Ok(())
    }

    fn user_id_by_email(&self, email_key: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .prepare_cached("SELECT id FROM users WHERE email_key = ?1")?
            .query_row([email_key], |r| r.get(0))
            .optional()?)
    }

    fn insert_provider_sign_in(&self, digest: &[u8; 32], row: &ProviderSignInRow) -> Result<()> {
        self.0.execute(
            "INSERT INTO provider_sign_ins (hash, kind, provider, nonce, redirect_uri,
                 client_state, code_challenge, user_id, expires_time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                &digest[..],
                row.step.as_str(),
                row.provider,
                row.nonce,
                row.redirect_uri,
                row.client_state,
                row.code_challenge,
                row.user_id,
                to_ms(row.expires_time)
            ],
        )?;
        Ok(())
    }

    fn take_provider_sign_in(&self, digest: &[u8; 32]) -> Result<Option<ProviderSignInRow>> {
        Ok(self
            .0
            .prepare_cached(
                "DELETE FROM provider_sign_ins WHERE hash = ?1
                 RETURNING kind, provider, nonce, redirect_uri, client_state, code_challenge,
                     user_id, expires_time",
            )?
            .query_row([&digest[..]], |r| {
                let step: String = r.get(0)?;
                Ok(ProviderSignInRow {
                    step: ProviderStep::parse(&step),
                    provider: r.get(1)?,
                    nonce: r.get(2)?,
                    redirect_uri: r.get(3)?,
                    client_state: r.get(4)?,
                    code_challenge: r.get(5)?,
                    user_id: r.get(6)?,
                    expires_time: from_ms(r.get(7)?),
                })
            })
            .optional()?)
    }

    fn delete_provider_sign_ins_expired_by(&self, now: Time) -> Result<()> {
        self.0.execute(
            "DELETE FROM provider_sign_ins WHERE expires_time <= ?1",
            [to_ms(now)],
        )?;
        Ok(())
    }
}
