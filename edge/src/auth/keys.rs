//! Verification keys and signature checks for the JWT algorithms Hasura accepts: HS256/384/512,
//! RS256/384/512, ES256, ES384 and EdDSA (Ed25519).
//!
//! Keys come from a JWT secret's `key` (an HMAC secret, or a PEM public key / X.509 certificate)
//! or from a JWK set (`jwk_url`). A key only ever verifies the algorithms of its own family (an
//! RSA key never acts as an HMAC secret), and a static `key` only the algorithm its `type`
//! names. Everything except ES384 is jwt-compact's; ES384 is [`Es384`], the `p384` crate behind
//! jwt-compact's `Algorithm` trait.
use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroUsize;

use base64::Engine as _;
use jwt_compact::alg::{Ed25519, Es256, Hs256, Hs256Key, Hs384, Hs384Key, Hs512, Hs512Key, Rsa};
use jwt_compact::{Algorithm, AlgorithmExt, AlgorithmSignature, UntrustedToken, ValidationError};
use serde_json::{Map, Value as Json};

/// A JWS algorithm this engine verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Hs256,
    Hs384,
    Hs512,
    Rs256,
    Rs384,
    Rs512,
    Es256,
    Es384,
    EdDsa,
}

impl Alg {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Hs256 => "HS256",
            Alg::Hs384 => "HS384",
            Alg::Hs512 => "HS512",
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// From a token's `alg` header or a JWK's `alg` (exact, case-sensitive as RFC 7515 says).
    pub fn from_header(name: &str) -> Option<Alg> {
        Some(match name {
            "HS256" => Alg::Hs256,
            "HS384" => Alg::Hs384,
            "HS512" => Alg::Hs512,
            "RS256" => Alg::Rs256,
            "RS384" => Alg::Rs384,
            "RS512" => Alg::Rs512,
            "ES256" => Alg::Es256,
            "ES384" => Alg::Es384,
            "EdDSA" => Alg::EdDsa,
            _ => return None,
        })
    }

    /// From a JWT secret's `type` (Hasura names Ed25519 keys `Ed25519`; `EdDSA` is accepted too).
    pub fn from_config_type(name: &str) -> Option<Alg> {
        match name {
            "Ed25519" => Some(Alg::EdDsa),
            other => Alg::from_header(other),
        }
    }
}

/// A public (or, for HMAC, shared) verification key.
#[derive(Clone)]
pub enum VerifyKey {
    Hmac(Vec<u8>),
    Rsa(rsa::RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Ed25519(ed25519_compact::PublicKey),
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.write_str(match self {
            VerifyKey::Hmac(_) => "VerifyKey::Hmac(..)",
            VerifyKey::Rsa(_) => "VerifyKey::Rsa(..)",
            VerifyKey::P256(_) => "VerifyKey::P256(..)",
            VerifyKey::P384(_) => "VerifyKey::P384(..)",
            VerifyKey::Ed25519(_) => "VerifyKey::Ed25519(..)",
        })
    }
}

impl VerifyKey {
    /// Whether this key can verify `alg` at all (its key family).
    pub fn supports(&self, alg: Alg) -> bool {
        matches!(
            (self, alg),
            (VerifyKey::Hmac(_), Alg::Hs256 | Alg::Hs384 | Alg::Hs512)
                | (VerifyKey::Rsa(_), Alg::Rs256 | Alg::Rs384 | Alg::Rs512)
                | (VerifyKey::P256(_), Alg::Es256)
                | (VerifyKey::P384(_), Alg::Es384)
                | (VerifyKey::Ed25519(_), Alg::EdDsa)
        )
    }

    /// Parses a JWT secret's `key` for the configured algorithm: the secret itself for HS*,
    /// otherwise a PEM public key (SPKI `BEGIN PUBLIC KEY`, PKCS#1 `BEGIN RSA PUBLIC KEY`) or an
    /// X.509 certificate (`BEGIN CERTIFICATE`).
    pub fn from_config(alg: Alg, key: &str) -> Result<VerifyKey, String> {
        let min = match alg {
            Alg::Hs256 => 32,
            Alg::Hs384 => 48,
            Alg::Hs512 => 64,
            _ => return from_pem(alg, key),
        };
        // Hasura's `parseHmacKey`: at least as many characters as the hash has bytes.
        if key.chars().count() < min {
            return Err(format!(
                "Invalid JWK: Key size too small; should be atleast {min} characters"
            ));
        }
        Ok(VerifyKey::Hmac(key.as_bytes().to_vec()))
    }

    /// Parses one JWK (`kty` RSA, EC P-256/P-384, OKP Ed25519, oct). `None`: a key type this
    /// engine does not verify with (skipped, as JOSE libraries do).
    pub fn from_jwk(jwk: &Map<String, Json>) -> Option<VerifyKey> {
        let field = |name: &str| -> Option<Vec<u8>> {
            let s = jwk.get(name)?.as_str()?;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s.trim_end_matches('='))
                .ok()
        };
        match jwk.get("kty")?.as_str()? {
            "RSA" => {
                let n = rsa::BigUint::from_bytes_be(&field("n")?);
                let e = rsa::BigUint::from_bytes_be(&field("e")?);
                rsa::RsaPublicKey::new(n, e).ok().map(VerifyKey::Rsa)
            }
            "EC" => {
                let (x, y) = (field("x")?, field("y")?);
                let mut point = vec![4u8];
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                match jwk.get("crv")?.as_str()? {
                    "P-256" if x.len() == 32 && y.len() == 32 => {
                        p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                            .ok()
                            .map(VerifyKey::P256)
                    }
                    "P-384" if x.len() == 48 && y.len() == 48 => {
                        p384::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                            .ok()
                            .map(VerifyKey::P384)
                    }
                    _ => None,
                }
            }
            "OKP" if jwk.get("crv")?.as_str()? == "Ed25519" => {
                ed25519_compact::PublicKey::from_slice(&field("x")?)
                    .ok()
                    .map(VerifyKey::Ed25519)
            }
            "oct" => field("k").map(VerifyKey::Hmac),
            _ => None,
        }
    }

    /// Checks the token's signature with this key and `alg` (the caller has matched `alg`
    /// against the token header and the key) and decodes the claims object.
    pub fn verify(
        &self,
        alg: Alg,
        token: &UntrustedToken<'_>,
    ) -> Result<jwt_compact::Token<Map<String, Json>>, ValidationError> {
        type C = Map<String, Json>;
        match (self, alg) {
            (VerifyKey::Hmac(k), Alg::Hs256) => {
                Hs256.validator::<C>(&Hs256Key::new(k)).validate(token)
            }
            (VerifyKey::Hmac(k), Alg::Hs384) => {
                Hs384.validator::<C>(&Hs384Key::new(k)).validate(token)
            }
            (VerifyKey::Hmac(k), Alg::Hs512) => {
                Hs512.validator::<C>(&Hs512Key::new(k)).validate(token)
            }
            (VerifyKey::Rsa(k), Alg::Rs256) => Rsa::rs256().validator::<C>(k).validate(token),
            (VerifyKey::Rsa(k), Alg::Rs384) => Rsa::rs384().validator::<C>(k).validate(token),
            (VerifyKey::Rsa(k), Alg::Rs512) => Rsa::rs512().validator::<C>(k).validate(token),
            (VerifyKey::P256(k), Alg::Es256) => Es256.validator::<C>(k).validate(token),
            (VerifyKey::P384(k), Alg::Es384) => Es384.validator::<C>(k).validate(token),
            (VerifyKey::Ed25519(k), Alg::EdDsa) => Ed25519.validator::<C>(k).validate(token),
            _ => Err(ValidationError::AlgorithmMismatch {
                expected: "a key of the token's algorithm".into(),
                actual: alg.name().into(),
            }),
        }
    }
}

/// OID 1.3.101.112 (Ed25519) as an SPKI algorithm identifier, followed by the BIT STRING header
/// of a 32-byte key: the whole SPKI is these 12 bytes and the key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

fn from_pem(alg: Alg, pem: &str) -> Result<VerifyKey, String> {
    use p256::pkcs8::DecodePublicKey;
    use rsa::pkcs1::DecodeRsaPublicKey;
    let pem = pem.trim();
    let (label, der) = pem_decode(pem).ok_or("Invalid JWK: expected a PEM public key")?;
    let spki = match label.as_str() {
        "CERTIFICATE" => certificate_spki(&der)
            .ok_or("Invalid JWK: cannot read the public key of the X.509 certificate")?
            .to_vec(),
        "PUBLIC KEY" => der,
        "RSA PUBLIC KEY" if matches!(alg, Alg::Rs256 | Alg::Rs384 | Alg::Rs512) => {
            return rsa::RsaPublicKey::from_pkcs1_der(&der)
                .map(VerifyKey::Rsa)
                .map_err(|e| format!("Invalid JWK: invalid RSA public key: {e}"));
        }
        other => return Err(format!("Invalid JWK: unexpected PEM block {other:?}")),
    };
    let key = match alg {
        Alg::Rs256 | Alg::Rs384 | Alg::Rs512 => rsa::RsaPublicKey::from_public_key_der(&spki)
            .map(VerifyKey::Rsa)
            .map_err(|e| e.to_string()),
        Alg::Es256 => p256::ecdsa::VerifyingKey::from_public_key_der(&spki)
            .map(VerifyKey::P256)
            .map_err(|e| e.to_string()),
        Alg::Es384 => p384::ecdsa::VerifyingKey::from_public_key_der(&spki)
            .map(VerifyKey::P384)
            .map_err(|e| e.to_string()),
        Alg::EdDsa => match spki.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
            Some(raw) if raw.len() == 32 => ed25519_compact::PublicKey::from_slice(raw)
                .map(VerifyKey::Ed25519)
                .map_err(|e| e.to_string()),
            _ => Err("not an Ed25519 public key".into()),
        },
        Alg::Hs256 | Alg::Hs384 | Alg::Hs512 => Err("HMAC keys are not PEM".into()),
    };
    key.map_err(|e| format!("Invalid JWK: invalid {} public key: {e}", alg.name()))
}

/// The label and DER bytes of the first PEM block.
fn pem_decode(pem: &str) -> Option<(String, Vec<u8>)> {
    let start = pem.find("-----BEGIN ")?;
    let rest = &pem[start + 11..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_string();
    let body_and_end = &rest[label_end + 5..];
    let end = body_and_end.find(&format!("-----END {label}-----"))?;
    let b64: String = body_and_end[..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some((label, der))
}

/// One DER TLV: (tag, whole element, contents, rest of the input).
type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

/// The next DER TLV of `input`.
fn der_next(input: &[u8]) -> Option<Tlv<'_>> {
    let tag = *input.first()?;
    let first = *input.get(1)? as usize;
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *input.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    if end > input.len() {
        return None;
    }
    Some((tag, &input[..end], &input[header..end], &input[end..]))
}

/// The SubjectPublicKeyInfo of an X.509 certificate (the 7th element of `tbsCertificate`, or
/// the 6th when the optional `[0] version` is absent).
fn certificate_spki(der: &[u8]) -> Option<&[u8]> {
    let (0x30, _, cert, _) = der_next(der)? else {
        return None;
    };
    let (0x30, _, tbs, _) = der_next(cert)? else {
        return None;
    };
    let mut rest = tbs;
    if rest.first() == Some(&0xa0) {
        rest = der_next(rest)?.3;
    }
    // serialNumber, signature, issuer, validity, subject.
    for _ in 0..5 {
        rest = der_next(rest)?.3;
    }
    let (tag, whole, _, _) = der_next(rest)?;
    (tag == 0x30).then_some(whole)
}

/// `ES384`: ECDSA on P-384 with SHA-384 (RFC 7518 §3.4), verified with the `p384` crate.
/// Signing is provided too (tests issue tokens with it).
#[derive(Debug, Clone, Copy, Default)]
pub struct Es384;

/// An ES384 signature: `r || s`, 96 bytes.
#[derive(Debug, Clone)]
pub struct Es384Signature(p384::ecdsa::Signature);

impl AlgorithmSignature for Es384Signature {
    const LENGTH: Option<NonZeroUsize> = NonZeroUsize::new(96);

    fn try_from_slice(slice: &[u8]) -> anyhow::Result<Self> {
        p384::ecdsa::Signature::try_from(slice)
            .map(Es384Signature)
            .map_err(|e| anyhow::anyhow!(e))
    }

    fn as_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.0.to_bytes().to_vec())
    }
}

impl Algorithm for Es384 {
    type SigningKey = p384::ecdsa::SigningKey;
    type VerifyingKey = p384::ecdsa::VerifyingKey;
    type Signature = Es384Signature;

    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed("ES384")
    }

    fn sign(&self, signing_key: &Self::SigningKey, message: &[u8]) -> Self::Signature {
        use p384::ecdsa::signature::Signer;
        // RFC 6979 deterministic nonces; SHA-384 is P-384's default digest.
        Es384Signature(signing_key.sign(message))
    }

    fn verify_signature(
        &self,
        signature: &Self::Signature,
        verifying_key: &Self::VerifyingKey,
        message: &[u8],
    ) -> bool {
        use p384::ecdsa::signature::Verifier;
        verifying_key.verify(message, &signature.0).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jwt_compact::{Claims, Header};

    #[test]
    fn es384_round_trip_and_rejects_tampering() {
        let sk = p384::ecdsa::SigningKey::from_slice(&[7u8; 48]).unwrap();
        let vk = *sk.verifying_key();
        let claims = Claims::new(serde_json::json!({"a": 1}));
        let t = Es384.token(&Header::empty(), &claims, &sk).unwrap();
        let u = UntrustedToken::new(&t).unwrap();
        assert_eq!(u.algorithm(), "ES384");
        assert!(VerifyKey::P384(vk).verify(Alg::Es384, &u).is_ok());
        // Another key, and a P-256 key, do not verify it.
        let other = *p384::ecdsa::SigningKey::from_slice(&[8u8; 48])
            .unwrap()
            .verifying_key();
        assert!(VerifyKey::P384(other).verify(Alg::Es384, &u).is_err());
        let p256 = *p256::ecdsa::SigningKey::from_slice(&[7u8; 32])
            .unwrap()
            .verifying_key();
        assert!(VerifyKey::P256(p256).verify(Alg::Es384, &u).is_err());
        // A flipped signature byte.
        let mut bad = t.clone().into_bytes();
        let last = bad.len() - 2;
        bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        let u = UntrustedToken::new(&bad).unwrap();
        assert!(VerifyKey::P384(vk).verify(Alg::Es384, &u).is_err());
    }

    #[test]
    fn der_walker_rejects_garbage() {
        assert!(certificate_spki(&[]).is_none());
        assert!(certificate_spki(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(certificate_spki(&[0x30, 0x02, 0x30, 0x00]).is_none());
        assert!(pem_decode("-----BEGIN X-----\n!!!\n-----END X-----").is_none());
    }
}
