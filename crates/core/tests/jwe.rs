//! JWE: published test vectors, round trips for every accepted alg × enc, and the refusals.

use bankid_oidc_core::b64;
use bankid_oidc_core::jwe::{
    self, ContentEncryption, DecryptionKey, EncryptOptions, JweError, KeyManagement,
    MAX_COMPACT_LEN,
};
use bankid_oidc_core::jwk::Jwk;
use bankid_oidc_testkit::jose_vectors::{decryption_key_from_private_jwk, vector};
use serde_json::{Value, json};

const PAYLOAD: &[u8] = b"{\"iss\":\"client\",\"login_hint\":\"BID:07127000183\"}";

fn keys() -> (DecryptionKey, DecryptionKey) {
    (
        DecryptionKey::generate_rsa("rsa-enc-1").unwrap(),
        DecryptionKey::generate_p256("ec-enc-1").unwrap(),
    )
}

/// The key for `alg`, and its public JWK with `alg` cleared so that any accepted alg of the key
/// type may be used with it.
fn recipient(rsa: &DecryptionKey, ec: &DecryptionKey, alg: KeyManagement) -> Jwk {
    let key = if rsa.supports(alg) { rsa } else { ec };
    let mut jwk = key.public_jwk();
    jwk.alg = None;
    jwk
}

fn all_combinations() -> impl Iterator<Item = (KeyManagement, ContentEncryption)> {
    KeyManagement::ALL.into_iter().flat_map(|alg| {
        ContentEncryption::ALL
            .into_iter()
            .map(move |enc| (alg, enc))
    })
}

/// A compact JWE with segment `index` replaced.
fn with_segment(compact: &str, index: usize, value: &str) -> String {
    let mut segments: Vec<&str> = compact.split('.').collect();
    segments[index] = value;
    segments.join(".")
}

fn flip_first_bit(compact: &str, index: usize) -> String {
    let segment = compact.split('.').nth(index).unwrap();
    let mut bytes = b64::decode(segment).unwrap();
    bytes[0] ^= 1;
    with_segment(compact, index, &b64::encode(bytes))
}

/// The same JWE with its protected header edited: `edit` sees the header as JSON.
fn with_header(compact: &str, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let segment = compact.split('.').next().unwrap();
    let mut header: serde_json::Map<String, Value> =
        serde_json::from_slice(&b64::decode(segment).unwrap()).unwrap();
    edit(&mut header);
    with_segment(compact, 0, &b64::encode(Value::Object(header).to_string()))
}

fn header_only(header: Value) -> String {
    format!("{}.AAAA.AAAA.AAAA.AAAA", b64::encode(header.to_string()))
}

// --- published vectors ---

#[test]
fn decrypts_rfc7516_appendix_a1_rsa_oaep_a256gcm() {
    let v = vector("rfc7516_a1.json");
    let key = decryption_key_from_private_jwk("a1", &v["key"]);
    let out = jwe::decrypt(v["compact"].as_str().unwrap(), &[key]).unwrap();
    assert_eq!(out.plaintext, v["plaintext"].as_str().unwrap().as_bytes());
    assert_eq!(out.header.alg, KeyManagement::RsaOaep);
    assert_eq!(out.header.enc, ContentEncryption::A256Gcm);
}

#[test]
fn decrypts_rfc7520_5_2_rsa_oaep_a256gcm_with_a_4096_bit_key() {
    let v = vector("rfc7520_5_2.json");
    let key = decryption_key_from_private_jwk("samwise.gamgee@hobbiton.example", &v["key"]);
    let out = jwe::decrypt(v["compact"].as_str().unwrap(), &[key]).unwrap();
    assert_eq!(out.plaintext, v["plaintext"].as_str().unwrap().as_bytes());
    assert_eq!(out.key_id, "samwise.gamgee@hobbiton.example");
}

#[test]
fn decrypts_rfc7520_5_5_ecdh_es_a128cbc_hs256() {
    let v = vector("rfc7520_5_5.json");
    let key = decryption_key_from_private_jwk("meriadoc.brandybuck@buckland.example", &v["key"]);
    let out = jwe::decrypt(v["compact"].as_str().unwrap(), &[key]).unwrap();
    assert_eq!(out.plaintext, v["plaintext"].as_str().unwrap().as_bytes());
    assert_eq!(out.header.alg, KeyManagement::EcdhEs);
    assert_eq!(out.header.enc, ContentEncryption::A128CbcHs256);
}

#[test]
fn public_jwk_of_a_published_key_matches_the_published_public_members() {
    let v = vector("rfc7520_5_5.json");
    let key = decryption_key_from_private_jwk("meriadoc.brandybuck@buckland.example", &v["key"]);
    let jwk = key.public_jwk();
    assert_eq!(jwk.x.as_deref(), v["key"]["x"].as_str());
    assert_eq!(jwk.y.as_deref(), v["key"]["y"].as_str());
    let v = vector("rfc7516_a1.json");
    let jwk = decryption_key_from_private_jwk("a1", &v["key"]).public_jwk();
    assert_eq!(jwk.n.as_deref(), v["key"]["n"].as_str());
    assert_eq!(jwk.e.as_deref(), Some("AQAB"));
}

// --- round trips ---

#[test]
fn every_accepted_alg_and_enc_round_trips() {
    let (rsa, ec) = keys();
    let both = [rsa, ec];
    for (alg, enc) in all_combinations() {
        let to = recipient(&both[0], &both[1], alg);
        let compact = jwe::encrypt(PAYLOAD, &to, &EncryptOptions::new(alg, enc)).unwrap();
        let out = jwe::decrypt(&compact, &both).unwrap_or_else(|e| panic!("{alg} {enc}: {e}"));
        assert_eq!(out.plaintext, PAYLOAD, "{alg} {enc}");
        assert_eq!((out.header.alg, out.header.enc), (alg, enc));
        assert_eq!(out.header.kid.as_deref(), to.kid.as_deref());
        assert_eq!(out.key_id, to.kid.unwrap());
    }
}

#[test]
fn cty_and_agreement_party_info_travel_in_the_protected_header() {
    let (_, ec) = keys();
    let options = EncryptOptions::new(KeyManagement::EcdhEsA256Kw, ContentEncryption::A256Gcm)
        .cty("JWT")
        .party_info(b"Alice", b"Bob");
    let compact = jwe::encrypt(PAYLOAD, &recipient(&ec, &ec, options.alg), &options).unwrap();
    let header: Value =
        serde_json::from_slice(&b64::decode(compact.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["apu"], "QWxpY2U");
    assert_eq!(header["apv"], "Qm9i");
    let out = jwe::decrypt(&compact, &[ec]).unwrap();
    assert_eq!(out.header.cty.as_deref(), Some("JWT"));
    assert_eq!(out.plaintext, PAYLOAD);
}

#[test]
fn keys_survive_pkcs8_storage_and_publish_an_enc_jwk() {
    let (rsa, ec) = keys();
    for key in [rsa, ec] {
        let again = DecryptionKey::from_pkcs8(key.kid(), &key.to_pkcs8().unwrap()).unwrap();
        assert_eq!(again.public_jwk(), key.public_jwk());
        let jwk = key.public_jwk();
        assert_eq!(jwk.use_.as_deref(), Some("enc"));
        assert_eq!(jwk.kid.as_deref(), Some(key.kid()));
    }
    let (rsa, ec) = keys();
    assert_eq!(rsa.public_jwk().alg.as_deref(), Some("RSA-OAEP-256"));
    assert_eq!(rsa.public_jwk().kty, "RSA");
    assert_eq!(ec.public_jwk().alg.as_deref(), Some("ECDH-ES"));
    assert_eq!(ec.public_jwk().crv.as_deref(), Some("P-256"));
}

#[test]
fn without_kid_each_key_of_the_right_type_is_tried() {
    let (rsa, ec) = keys();
    let old = DecryptionKey::generate_rsa("rsa-enc-0").unwrap();
    let mut to = recipient(&rsa, &ec, KeyManagement::RsaOaep256);
    to.kid = None;
    let options = EncryptOptions::new(KeyManagement::RsaOaep256, ContentEncryption::A128Gcm);
    let compact = jwe::encrypt(PAYLOAD, &to, &options).unwrap();
    let out = jwe::decrypt(&compact, &[old, ec, rsa]).unwrap();
    assert_eq!(out.key_id, "rsa-enc-1");
}

// --- header refusals ---

#[test]
fn rsa1_5_is_refused_before_any_key_is_used() {
    let (rsa, ec) = keys();
    let err = jwe::decrypt(
        &header_only(json!({"alg": "RSA1_5", "enc": "A128CBC-HS256"})),
        &[rsa, ec],
    );
    assert_eq!(err.unwrap_err(), JweError::UnsupportedAlg("RSA1_5".into()));
}

#[test]
fn rfc7516_appendix_a2_is_refused_for_its_rsa1_5() {
    let compact = "eyJhbGciOiJSU0ExXzUiLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0.AAAA.AxY8DCtDaGlsbGljb3RoZQ.KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY.9hH0vgRfYgPnAHOd8stkvw";
    let (rsa, _) = keys();
    assert_eq!(
        jwe::peek_header(compact).unwrap_err(),
        JweError::UnsupportedAlg("RSA1_5".into())
    );
    assert!(matches!(
        jwe::decrypt(compact, &[rsa]),
        Err(JweError::UnsupportedAlg(_))
    ));
}

#[test]
fn symmetric_password_and_unknown_key_management_are_refused() {
    let (rsa, ec) = keys();
    let keys = [rsa, ec];
    for alg in [
        "dir",
        "A128KW",
        "A256KW",
        "A128GCMKW",
        "PBES2-HS256+A128KW",
        "ECDH-ES+A192KW",
        "RSA-OAEP-512",
        "none",
        "",
    ] {
        let err = jwe::decrypt(&header_only(json!({"alg": alg, "enc": "A128GCM"})), &keys);
        assert_eq!(
            err.unwrap_err(),
            JweError::UnsupportedAlg(alg.into()),
            "{alg}"
        );
    }
}

#[test]
fn content_encryption_outside_the_allow_list_is_refused() {
    let (rsa, _) = keys();
    for enc in ["A192GCM", "A256CBC-HS512", "A192CBC-HS384", "XC20P"] {
        let err = jwe::decrypt(
            &header_only(json!({"alg": "RSA-OAEP-256", "enc": enc})),
            &[],
        );
        assert_eq!(
            err.unwrap_err(),
            JweError::UnsupportedEnc(enc.into()),
            "{enc}"
        );
    }
    let err = jwe::decrypt(
        &header_only(json!({"alg": "RSA-OAEP-256", "enc": "A128CBC-HS256"})),
        &[rsa],
    );
    assert_eq!(
        err.unwrap_err(),
        JweError::Decryption,
        "an accepted header goes on to decryption"
    );
}

#[test]
fn zip_is_refused() {
    let (rsa, _) = keys();
    let options = EncryptOptions::new(KeyManagement::RsaOaep256, ContentEncryption::A256Gcm);
    let compact = jwe::encrypt(PAYLOAD, &rsa.public_jwk(), &options).unwrap();
    let zipped = with_header(&compact, |h| {
        h.insert("zip".into(), "DEF".into());
    });
    assert_eq!(
        jwe::decrypt(&zipped, &[rsa]).unwrap_err(),
        JweError::CompressionRefused
    );
}

#[test]
fn crit_is_refused_even_when_it_names_a_present_parameter() {
    let (rsa, _) = keys();
    let options = EncryptOptions::new(KeyManagement::RsaOaep256, ContentEncryption::A256Gcm);
    let compact = jwe::encrypt(PAYLOAD, &rsa.public_jwk(), &options).unwrap();
    let critical = with_header(&compact, |h| {
        h.insert("crit".into(), json!(["exp"]));
        h.insert("exp".into(), json!(1_900_000_000));
    });
    assert_eq!(
        jwe::decrypt(&critical, &[rsa]).unwrap_err(),
        JweError::CriticalHeaderRefused
    );
}

#[test]
fn oversize_input_is_refused_before_parsing() {
    let (rsa, _) = keys();
    let huge = format!("{}.{}", "A".repeat(MAX_COMPACT_LEN), "A.A.A.A");
    assert_eq!(jwe::decrypt(&huge, &[rsa]).unwrap_err(), JweError::TooLarge);
}

#[test]
fn malformed_structure_and_header_are_named() {
    let (rsa, _) = keys();
    let keys = [rsa];
    for (input, why) in [
        ("a.b.c", "segment count"),
        ("a.b.c.d.e.f", "segment count"),
        ("!!!.AAAA.AAAA.AAAA.AAAA", "header base64"),
        (
            &*format!("{}.A.A.A.A", b64::encode("[1]")),
            "header not an object",
        ),
        (&*header_only(json!({"enc": "A128GCM"})), "alg missing"),
        (
            &*header_only(json!({"alg": 1, "enc": "A128GCM"})),
            "alg not a string",
        ),
        (
            &*header_only(json!({"alg": "ECDH-ES", "enc": "A128GCM"})),
            "epk missing",
        ),
        (
            &*header_only(
                json!({"alg": "ECDH-ES", "enc": "A128GCM", "epk": {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}}),
            ),
            "epk not P-256",
        ),
    ] {
        assert!(
            matches!(jwe::decrypt(input, &keys), Err(JweError::Malformed(_))),
            "{why}"
        );
    }
}

#[test]
fn a_kid_no_key_has_or_an_alg_no_key_fits_is_no_matching_key() {
    let (rsa, ec) = keys();
    let mut to = rsa.public_jwk();
    to.kid = Some("someone-else".into());
    let options = EncryptOptions::new(KeyManagement::RsaOaep256, ContentEncryption::A128Gcm);
    let compact = jwe::encrypt(PAYLOAD, &to, &options).unwrap();
    assert_eq!(
        jwe::decrypt(&compact, &[rsa]).unwrap_err(),
        JweError::NoMatchingKey
    );
    let options = EncryptOptions::new(KeyManagement::EcdhEs, ContentEncryption::A128Gcm);
    let compact = jwe::encrypt(PAYLOAD, &ec.public_jwk(), &options).unwrap();
    let (rsa, _) = keys();
    assert_eq!(
        jwe::decrypt(&compact, &[rsa]).unwrap_err(),
        JweError::NoMatchingKey
    );
}

// --- the uniform decryption error ---

#[test]
fn any_tampered_segment_gives_the_one_decryption_error() {
    let (rsa, ec) = keys();
    let both = [rsa, ec];
    for (alg, enc) in all_combinations() {
        let to = recipient(&both[0], &both[1], alg);
        let compact = jwe::encrypt(PAYLOAD, &to, &EncryptOptions::new(alg, enc)).unwrap();
        let mut tampered = vec![
            (
                "protected header",
                with_header(&compact, |h| {
                    h.insert("x".into(), "y".into());
                }),
            ),
            ("iv", flip_first_bit(&compact, 2)),
            ("ciphertext", flip_first_bit(&compact, 3)),
            ("tag", flip_first_bit(&compact, 4)),
            ("truncated tag", with_segment(&compact, 4, "AAAA")),
            ("short iv", with_segment(&compact, 2, "AAAA")),
            ("empty ciphertext", with_segment(&compact, 3, "")),
            ("undecodable ciphertext", with_segment(&compact, 3, "***")),
        ];
        if alg == KeyManagement::EcdhEs {
            tampered.push((
                "encrypted key present",
                with_segment(&compact, 1, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            ));
        } else {
            tampered.push(("encrypted key", flip_first_bit(&compact, 1)));
            tampered.push(("short encrypted key", with_segment(&compact, 1, "AAAA")));
        }
        for (what, input) in tampered {
            let err = jwe::decrypt(&input, &both).unwrap_err();
            assert_eq!(err, JweError::Decryption, "{alg} {enc}: tampered {what}");
            assert_eq!(err.to_string(), "the JWE could not be decrypted");
        }
    }
}

#[test]
fn another_key_under_the_same_kid_gives_the_one_decryption_error() {
    for alg in KeyManagement::ALL {
        let (rsa, ec) = keys();
        let to = recipient(&rsa, &ec, alg);
        let compact = jwe::encrypt(
            PAYLOAD,
            &to,
            &EncryptOptions::new(alg, ContentEncryption::A128CbcHs256),
        )
        .unwrap();
        let impostor = if rsa.supports(alg) {
            DecryptionKey::generate_rsa(rsa.kid()).unwrap()
        } else {
            DecryptionKey::generate_p256(ec.kid()).unwrap()
        };
        assert_eq!(
            jwe::decrypt(&compact, &[impostor]).unwrap_err(),
            JweError::Decryption,
            "{alg}"
        );
    }
}

#[test]
fn an_epk_off_the_curve_gives_the_one_decryption_error() {
    let (_, ec) = keys();
    let options = EncryptOptions::new(KeyManagement::EcdhEs, ContentEncryption::A128Gcm);
    let compact = jwe::encrypt(PAYLOAD, &ec.public_jwk(), &options).unwrap();
    // Invalid-curve attack: a point that is not on P-256 must never reach the scalar multiply.
    let off_curve = with_header(&compact, |h| {
        h.insert(
            "epk".into(),
            json!({"kty": "EC", "crv": "P-256", "x": b64::encode([1u8; 32]), "y": b64::encode([2u8; 32])}),
        );
    });
    assert_eq!(
        jwe::decrypt(&off_curve, &[ec]).unwrap_err(),
        JweError::Decryption
    );
}

// --- encryption refusals ---

#[test]
fn encryption_respects_the_recipients_use_and_alg() {
    let (rsa, ec) = keys();
    let options = EncryptOptions::new(KeyManagement::RsaOaep, ContentEncryption::A128Gcm);
    assert!(matches!(
        jwe::encrypt(PAYLOAD, &rsa.public_jwk(), &options),
        Err(JweError::Key(_))
    ));
    let mut signing = rsa.public_jwk();
    signing.use_ = Some("sig".into());
    signing.alg = None;
    assert!(matches!(
        jwe::encrypt(PAYLOAD, &signing, &options),
        Err(JweError::Key(_))
    ));
    let mut ec_jwk = ec.public_jwk();
    ec_jwk.alg = None;
    assert!(matches!(
        jwe::encrypt(PAYLOAD, &ec_jwk, &options),
        Err(JweError::Key(_))
    ));
    let mut off_curve = ec.public_jwk();
    off_curve.x = Some(b64::encode([1u8; 32]));
    let options = EncryptOptions::new(KeyManagement::EcdhEs, ContentEncryption::A128Gcm);
    assert!(matches!(
        jwe::encrypt(PAYLOAD, &off_curve, &options),
        Err(JweError::Key(_))
    ));
}
