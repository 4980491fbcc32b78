//! The authenticator app (ssr only): RFC 6238 time-based codes — 6 digits, 30-second steps,
//! HMAC-SHA1, the parameters every authenticator app understands — and their storage.
//!
//! A code is accepted for the current step or one step either side (clock drift), and only
//! for a step later than the last one accepted for the account: [`spend_step_in`] moves
//! `last_step` forward with one conditional update, so a code replayed within its 30 s — on
//! this instance or any other — finds the step taken and is refused. The secret (160 random
//! bits, RFC 4226's recommendation) is stored sealed (`sealed.rs`); it leaves the server once,
//! at set-up, as text and as a QR code of its `otpauth://` URI, drawn as inline SVG.

use crate::{
    server::db::{Db, Tx},
    with_db, with_tx,
};
use rand::RngCore;
use totp_rs::{Algorithm, TOTP};
use zeroize::Zeroizing;

pub const DIGITS: usize = 6;
pub const STEP_SECS: i64 = 30;
/// Steps accepted either side of the current one.
pub const DRIFT_STEPS: i64 = 1;
const SECRET_BYTES: usize = 20;

/// One account's authenticator secret, ready to compute codes.
pub struct Authenticator(TOTP);

impl Authenticator {
    /// A brand-new secret from the OS's CSPRNG.
    pub fn generate() -> (Authenticator, Zeroizing<Vec<u8>>) {
        let mut secret = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        rand::rngs::OsRng.fill_bytes(&mut secret);
        (Authenticator::from_secret(&secret), secret)
    }

    pub fn from_secret(secret: &[u8]) -> Authenticator {
        Authenticator(TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, STEP_SECS as u64, secret.to_vec()))
    }

    /// From the secret as text (base32, as [`Authenticator::secret_text`] shows it).
    pub fn from_text(text: &str) -> Option<Authenticator> {
        let bytes = totp_rs::Secret::Encoded(text.trim().to_uppercase()).to_bytes().ok()?;
        (!bytes.is_empty()).then(|| Authenticator::from_secret(&bytes))
    }

    /// The time step `now` falls in.
    pub fn step_of(now: i64) -> i64 {
        now.div_euclid(STEP_SECS)
    }

    /// The code of time step `step`.
    pub fn code_for_step(&self, step: i64) -> String {
        self.0.generate((step.max(0) * STEP_SECS) as u64)
    }

    /// The step whose code `code` is, if it is the code of the current step or one either
    /// side of it. Spaces in what was typed are ignored; anything but six digits is no code.
    pub fn matching_step(&self, code: &str, now: i64) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = Self::step_of(now);
        // Every candidate is computed and compared in full, whichever matches.
        let mut found = None;
        for step in current - DRIFT_STEPS..=current + DRIFT_STEPS {
            let expected = self.code_for_step(step);
            let same = expected.bytes().zip(code.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
            if same && found.is_none() {
                found = Some(step);
            }
        }
        found
    }

    /// The secret as authenticator apps take it typed in: base32, no padding.
    pub fn secret_text(&self) -> String {
        self.0.get_secret_base32()
    }

    /// The `otpauth://` URI the QR code holds (Key URI Format).
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20");
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            enc(issuer),
            enc(account),
            self.secret_text(),
            enc(issuer)
        )
    }
}

/// The QR code of `uri`, as an SVG element to put inline in a page (no image request, no
/// script, no style attribute: nothing the page's Content-Security-Policy refuses).
pub fn qr_svg(uri: &str) -> String {
    let code = qrcode::QrCode::new(uri.as_bytes()).expect("an otpauth URI fits in a QR code");
    code.render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build()
}

/// An account's stored authenticator.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stored {
    pub secret_sealed: String,
    pub confirmed_at: Option<i64>,
    pub last_step: i64,
}

/// The account's authenticator, confirmed or pending.
pub async fn get(db: &Db, user_id: &str) -> Result<Option<Stored>, sqlx::Error> {
    with_db!(db.read(), |pool| {
        sqlx::query_as("select secret_sealed, confirmed_at, last_step from totp_factors where user_id = $1")
            .bind(user_id)
            .fetch_optional(pool)
            .await
    })
}

/// Whether the account has two-step verification on (a confirmed authenticator).
pub async fn is_on(db: &Db, user_id: &str) -> Result<bool, sqlx::Error> {
    Ok(get(db, user_id).await?.is_some_and(|s| s.confirmed_at.is_some()))
}

/// Stores a new pending secret, replacing a pending one; false (nothing written) when the
/// account already has a confirmed authenticator.
pub async fn store_pending(db: &Db, user_id: &str, sealed: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = with_db!(db.write(), |pool| {
        sqlx::query(
            "insert into totp_factors (user_id, secret_sealed, created_at) values ($1, $2, $3)
             on conflict (user_id) do update set secret_sealed = excluded.secret_sealed, created_at = excluded.created_at
              where totp_factors.confirmed_at is null",
        )
        .bind(user_id)
        .bind(sealed)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

/// Switches the pending authenticator on, its first code's step taken. False when there is
/// no pending one with exactly this secret (set up again meanwhile, or confirmed already).
pub async fn confirm_in(tx: &mut Tx, user_id: &str, sealed: &str, step: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = with_tx!(tx, |conn| {
        sqlx::query(
            "update totp_factors set confirmed_at = $1, last_step = $2
              where user_id = $3 and secret_sealed = $4 and confirmed_at is null",
        )
        .bind(now)
        .bind(step)
        .bind(user_id)
        .bind(sealed)
        .execute(conn)
        .await
        .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

/// Takes time step `step` for the account: true only for the first taker of a step later than
/// every step taken before (a replayed code, or an older one, finds it taken).
pub async fn spend_step_in(tx: &mut Tx, user_id: &str, step: i64) -> Result<bool, sqlx::Error> {
    let done = with_tx!(tx, |conn| {
        sqlx::query("update totp_factors set last_step = $1 where user_id = $2 and confirmed_at is not null and last_step < $1")
            .bind(step)
            .bind(user_id)
            .execute(conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(done == 1)
}

/// Removes the account's authenticator; true when there was a confirmed one.
pub async fn remove_in(tx: &mut Tx, user_id: &str) -> Result<bool, sqlx::Error> {
    let confirmed: Option<Option<i64>> = with_tx!(tx, |conn| {
        sqlx::query_scalar("delete from totp_factors where user_id = $1 returning confirmed_at").bind(user_id).fetch_optional(conn).await
    })?;
    Ok(matches!(confirmed, Some(Some(_))))
}

/// Every sealed secret not sealed under the current key, re-sealed (start-up, after a new
/// refresh secret rolled out). Returns how many.
pub async fn reseal_all(db: &Db, sealer: &super::sealed::Sealer) -> Result<u64, sqlx::Error> {
    let rows: Vec<(String, String)> = with_db!(db.read(), |pool| {
        sqlx::query_as("select user_id, secret_sealed from totp_factors").fetch_all(pool).await
    })?;
    let mut resealed = 0;
    for (user_id, sealed) in rows.into_iter().filter(|(_, s)| sealer.needs_reseal(s)) {
        let Some(secret) = sealer.open(&user_id, &sealed) else {
            tracing::warn!(user_id = %user_id, "an authenticator secret is sealed under a key no longer configured");
            continue;
        };
        let fresh = sealer.seal(&user_id, &secret);
        resealed += with_db!(db.write(), |pool| {
            sqlx::query("update totp_factors set secret_sealed = $1 where user_id = $2 and secret_sealed = $3")
                .bind(&fresh)
                .bind(&user_id)
                .bind(&sealed)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
    }
    Ok(resealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 vectors (8 digits, the 20-byte ASCII seed).
    #[test]
    fn rfc_6238_test_vectors() {
        let rfc = TOTP::new_unchecked(Algorithm::SHA1, 8, 0, 30, b"12345678901234567890".to_vec());
        for (time, code) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(rfc.generate(time), code, "T = {time}");
        }
        // Our six digits are the last six of the same value.
        let ours = Authenticator::from_secret(b"12345678901234567890");
        assert_eq!(ours.code_for_step(Authenticator::step_of(59)), "287082");
        assert_eq!(ours.code_for_step(Authenticator::step_of(1_111_111_109)), "081804");
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side_and_nothing_else() {
        let (auth, _) = Authenticator::generate();
        let now = 1_800_000_015;
        let step = Authenticator::step_of(now);
        assert_eq!(auth.matching_step(&auth.code_for_step(step), now), Some(step));
        assert_eq!(auth.matching_step(&auth.code_for_step(step - 1), now), Some(step - 1), "a slow phone");
        assert_eq!(auth.matching_step(&auth.code_for_step(step + 1), now), Some(step + 1), "a fast phone");
        let code = auth.code_for_step(step - 2);
        // (a collision of six digits between steps is possible; then it is another step's code)
        if ![step - 1, step, step + 1].iter().any(|s| auth.code_for_step(*s) == code) {
            assert_eq!(auth.matching_step(&code, now), None, "two steps off");
        }
        let spaced = format!("{} {}", &auth.code_for_step(step)[..3], &auth.code_for_step(step)[3..]);
        assert_eq!(auth.matching_step(&spaced, now), Some(step));
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(auth.matching_step(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn the_uri_and_qr_code_carry_the_secret_and_nothing_active() {
        let auth = Authenticator::from_secret(b"12345678901234567890");
        assert_eq!(auth.secret_text(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let typed = Authenticator::from_text("gezdgnbvgy3tqojqgezdgnbvgy3tqojq").unwrap();
        assert_eq!(typed.code_for_step(1), auth.code_for_step(1));
        let uri = auth.uri("Gatehouse", "ada@example.com");
        assert_eq!(uri, "otpauth://totp/Gatehouse:ada%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Gatehouse&algorithm=SHA1&digits=6&period=30");
        let svg = qr_svg(&uri);
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
        for active in ["<script", "style=", "href", "<image"] {
            assert!(!svg.contains(active), "{active} in {svg}");
        }
    }
}
