//! `argon2-limit <memory_kib> <iterations> <hashes> <threads>`
//!
//! Does exactly what a sign-in does per request (`Passwords::verify`: argon2id, version
//! 0x13, parallelism 1, verify against a stored PHC string) and prints one JSON line:
//! - `single_ms_median`: median wall time of one verify, `hashes` of them in a row;
//! - `parallel_per_sec`: verifies per second with `threads` threads each doing `hashes`.
use argon2::{
    password_hash::{phc::PasswordHash, PasswordHasher as _, PasswordVerifier as _},
    Algorithm, Argon2, Params, Version,
};
use std::time::Instant;

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let (m, t, n, threads) = (args[0] as u32, args[1] as u32, args[2] as usize, args[3] as usize);
    let params = Params::new(m, t, 1, None).expect("params");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let password = b"correct horse battery staple 42";
    let phc = argon.hash_password(password).expect("hash").to_string();
    let verify = |argon: &Argon2| {
        let parsed = PasswordHash::new(&phc).expect("phc");
        assert!(argon.verify_password(password, &parsed).is_ok());
    };
    verify(&argon); // warm-up
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let start = Instant::now();
            verify(&argon);
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| (0..n).for_each(|_| verify(&argon)));
        }
    });
    let parallel = (threads * n) as f64 / start.elapsed().as_secs_f64();
    println!(
        "{{\"memory_kib\":{m},\"iterations\":{t},\"hashes\":{n},\"threads\":{threads},\"single_ms_median\":{median:.3},\"single_ms_min\":{:.3},\"parallel_per_sec\":{parallel:.2}}}",
        times[0]
    );
}
