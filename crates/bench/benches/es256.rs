//! The crypto limit: bare ES256 (ECDSA P-256 with SHA-256, JWS's fixed-length signature) sign
//! and verify with aws-lc-rs, the same calls the provider makes (crates/server/src/keys.rs: a key
//! pair parsed once, `EcdsaKeyPair::sign`; `ParsedPublicKey::verify_sig`). One iteration is one
//! signature on one core, so 1 / time is signatures per second per core; the load scenarios
//! are reported against it in BENCHMARKS.md.
//!
//! cargo bench -p bankid-oidc-bench --bench es256

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    ParsedPublicKey,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// A JWS signing input of the size of our ID tokens (header and claims, base64url): the hash
/// over it is part of the signature's cost.
fn signing_input() -> Vec<u8> {
    let header = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtleS0xIiwidHlwIjoiSldUIn0";
    let claims = "x".repeat(760);
    format!("{header}.{claims}").into_bytes()
}

fn bench(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let public =
        ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref()).unwrap();
    let input = signing_input();
    let signature = pair.sign(&rng, &input).unwrap();
    public.verify_sig(&input, signature.as_ref()).unwrap();

    let mut group = c.benchmark_group("es256");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign", |b| {
        b.iter(|| pair.sign(&rng, black_box(&input)).unwrap())
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            public
                .verify_sig(black_box(&input), black_box(signature.as_ref()))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
