//! One-time tokens: invitations (valid 7 days) and password resets (valid 1 hour). Only their
//! SHA-256 digests are stored; issuing one replaces the user's earlier token of that kind.

use super::storage::{TokenKind, TokenRow, Tx};
use crate::core::model::{IssuedToken, Time};
use crate::core::secret::generate_token;
use crate::core::Result;
use chrono::TimeDelta;

pub(super) fn lifetime(kind: TokenKind) -> TimeDelta {
    match kind {
        TokenKind::Invite => TimeDelta::days(7),
        TokenKind::Reset => TimeDelta::hours(1),
    }
}

/// Issues a one-time token for a user, replacing any earlier one of the same kind.
pub(super) fn issue(tx: &dyn Tx, user_id: &str, kind: TokenKind, now: Time) -> Result<IssuedToken> {
    tx.delete_tokens_of(user_id, Some(kind))?;
    let token = generate_token();
    let expires_time = now + lifetime(kind);
    tx.insert_token(
        &token.digest(),
        &TokenRow {
            user_id: user_id.to_owned(),
            kind,
            expires_time,
        },
    )?;
    Ok(IssuedToken {
        token,
        expires_time,
        link: None,
        mail: None,
    })
}
