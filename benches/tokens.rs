//! Micro-benchmarks of the per-request and per-refresh work:
//! `cargo bench --features ssr --bench tokens`.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use gatehouse::server::{
    sessions::revocation_list::RevocationList,
    tokens::{
        access::{self, AccessSettings},
        keys::KeyRing,
        refresh::{self, SuccessorKey},
    },
};

const NOW: i64 = 1_800_000_000;

fn settings() -> AccessSettings {
    AccessSettings { issuer: "http://127.0.0.1:3000".into(), audience: "gatehouse".into(), ttl_secs: 900 }
}

fn bench(c: &mut Criterion) {
    let keys = KeyRing::ephemeral();
    let s = settings();
    let (token, _) = access::mint(&keys, &s, "0190c0de-user", "5b1f-session", NOW + 86_400, NOW).expect("mint");

    c.bench_function("access token: sign (mint)", |b| {
        b.iter(|| access::mint(&keys, &s, black_box("0190c0de-user"), black_box("5b1f-session"), NOW + 86_400, NOW))
    });
    c.bench_function("access token: verify", |b| b.iter(|| access::verify(&keys, &s, black_box(&token), NOW + 1)));

    let key = SuccessorKey::generate();
    c.bench_function("refresh token: generate + hash", |b| b.iter(|| refresh::hash(&refresh::generate())));
    let t = refresh::generate();
    c.bench_function("refresh token: derive successor + hash", |b| {
        b.iter(|| refresh::hash(&refresh::successor(&key, black_box(&t))))
    });

    // The in-memory session-state check every authenticated request makes, with 10 000
    // recently revoked sessions in the list (far more than a real server holds).
    let list = RevocationList::new(900);
    for i in 0..10_000 {
        list.insert(format!("revoked-session-{i}"), NOW);
    }
    c.bench_function("revocation check (miss, 10k revoked)", |b| b.iter(|| list.is_revoked(black_box("5b1f-session"))));
    c.bench_function("revocation check (hit, 10k revoked)", |b| {
        b.iter(|| list.is_revoked(black_box("revoked-session-4242")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
