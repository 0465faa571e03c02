//! One-time tokens: invitations (valid 7 days), password resets (valid 1 hour), and sign-in
//! challenges (a password accepted, the second step to come; valid 5 minutes). Only their
//! SHA-256 digests are stored; issuing an invitation or a reset replaces the user's earlier
//! token of that kind.

use super::storage::{ChallengeKind, ChallengeRow, TokenKind, TokenRow, Tx};
use crate::core::model::{Challenge, IssuedToken, Time};
use crate::core::secret::generate_token;
use crate::core::totp;
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

/// A new challenge of `kind` for the user whose password was just accepted.
pub(super) fn challenge(
    tx: &dyn Tx,
    user_id: &str,
    kind: ChallengeKind,
    now: Time,
) -> Result<Challenge> {
    let token = generate_token();
    let expires_time = now + TimeDelta::minutes(totp::CHALLENGE_MINUTES);
    tx.insert_challenge(
        &token.digest(),
        &ChallengeRow {
            user_id: user_id.to_owned(),
            kind,
            expires_time,
        },
    )?;
    Ok(Challenge {
        challenge_token: token,
        expires_time,
    })
}
