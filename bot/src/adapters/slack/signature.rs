//! Slack's request signatures: `X-Slack-Signature` is `v0=` and the hex HMAC-SHA256
//! of `v0:{timestamp}:{body}` under the app's signing secret. A request that is not
//! signed so, or whose timestamp is more than five minutes away (a replay), is refused
//! before anything in it is read.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far a request's timestamp may be from now.
pub const MAX_SKEW_SECS: i64 = 5 * 60;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A header is missing or not what Slack sends.
    #[error("missing or malformed {0} header")]
    Malformed(&'static str),
    /// The timestamp is outside the replay window.
    #[error("timestamp {0} s away from now (more than 5 minutes)")]
    Stale(i64),
    /// The signature does not match.
    #[error("signature does not match")]
    Mismatch,
}

/// The `X-Slack-Signature` value for a body (used by the checks and by tests).
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    format!("v0={}", hex::encode(mac(secret, timestamp, body)))
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut m = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    m.update(b"v0:");
    m.update(timestamp.as_bytes());
    m.update(b":");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// Checks a request's timestamp and signature headers against its raw body at `now` (Unix seconds).
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let ts = timestamp.ok_or(SignatureError::Malformed("X-Slack-Request-Timestamp"))?;
    let at: i64 = ts.trim().parse().map_err(|_| SignatureError::Malformed("X-Slack-Request-Timestamp"))?;
    let skew = now.saturating_sub(at);
    if skew.abs() > MAX_SKEW_SECS {
        return Err(SignatureError::Stale(skew));
    }
    let sig = signature.ok_or(SignatureError::Malformed("X-Slack-Signature"))?;
    let hex_part = sig.strip_prefix("v0=").ok_or(SignatureError::Malformed("X-Slack-Signature"))?;
    let given = hex::decode(hex_part).map_err(|_| SignatureError::Malformed("X-Slack-Signature"))?;
    let expected = mac(secret, ts, body);
    if expected.is_empty() || !bool::from(given.ct_eq(&expected)) {
        return Err(SignatureError::Mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of Slack's documentation on verifying requests.
    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const TS: &str = "1531420618";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slack_documented_example() {
        assert_eq!(sign(SECRET, TS, BODY), SIG);
        assert_eq!(verify(SECRET, Some(TS), Some(SIG), BODY, 1531420618 + 10), Ok(()));
    }

    #[test]
    fn refusals() {
        let now = 1531420618;
        assert_eq!(verify(SECRET, Some(TS), Some(SIG), b"x", now), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"other", Some(TS), Some(SIG), BODY, now), Err(SignatureError::Mismatch));
        assert_eq!(verify(SECRET, Some(TS), Some(SIG), BODY, now + 301), Err(SignatureError::Stale(301)));
        assert!(matches!(verify(SECRET, None, Some(SIG), BODY, now), Err(SignatureError::Malformed(_))));
        assert!(matches!(verify(SECRET, Some(TS), Some("v1=00"), BODY, now), Err(SignatureError::Malformed(_))));
        assert!(matches!(verify(SECRET, Some(TS), None, BODY, now), Err(SignatureError::Malformed(_))));
    }
}
