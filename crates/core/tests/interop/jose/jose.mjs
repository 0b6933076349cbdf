// Cross-implementation check for bankid-oidc-core's jwe and request_object modules, driven by
// tests/interop_jose.rs. Reads one JSON request on stdin and prints one JSON answer on stdout:
//
// (a) encrypts `payload` with jose to each of our public JWKs, for every alg x enc asked for;
// (b) decrypts each JWE we produced, with our private keys (given as PKCS#8, turned into private
//     JWKs here) and jose's allow-lists set to exactly what we claim to support;
// (c) signs `claims` as a request object with ES256, PS256 and RS256 keys of its own, publishes
//     their public JWKS, and nests one signed object inside a JWE to our RSA key (cty JWT).
import { createPrivateKey } from 'node:crypto';
import * as jose from 'jose';

const input = JSON.parse(await new Promise((resolve, reject) => {
  let text = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => { text += chunk; });
  process.stdin.on('end', () => resolve(text));
  process.stdin.on('error', reject);
}));

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const isRsa = (alg) => alg.startsWith('RSA-');
const ourPublic = (alg) => input.publicJwks[isRsa(alg) ? 'RSA' : 'EC'];
const ourPrivate = (alg) => {
  const der = Buffer.from(input.pkcs8[isRsa(alg) ? 'RSA' : 'EC'], 'base64');
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
};

// (a)
const encrypted = [];
for (const alg of input.algs) {
  for (const enc of input.encs) {
    const { alg: _published, ...jwk } = ourPublic(alg);
    const key = await jose.importJWK(jwk, alg);
    const builder = new jose.CompactEncrypt(encoder.encode(input.payload))
      .setProtectedHeader({ alg, enc, kid: jwk.kid });
    if (alg.startsWith('ECDH-ES')) {
      builder.setKeyManagementParameters({ apu: encoder.encode('Alice'), apv: encoder.encode('Bob') });
    }
    encrypted.push({ alg, enc, compact: await builder.encrypt(key) });
  }
}

// (b)
const decrypted = [];
for (const { alg, enc, compact } of input.ours) {
  const key = await jose.importJWK(ourPrivate(alg), alg);
  const { plaintext, protectedHeader } = await jose.compactDecrypt(compact, key, {
    keyManagementAlgorithms: input.algs,
    contentEncryptionAlgorithms: input.encs,
  });
  decrypted.push({ alg, enc, plaintext: decoder.decode(plaintext), header: protectedHeader });
}

// (c)
const jwks = { keys: [] };
const requestObjects = [];
for (const alg of ['ES256', 'PS256', 'RS256']) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const kid = `jose-${alg.toLowerCase()}`;
  jwks.keys.push({ ...(await jose.exportJWK(publicKey)), kid, use: 'sig', alg });
  const compact = await new jose.SignJWT(input.claims)
    .setProtectedHeader({ alg, kid, typ: 'oauth-authz-req+jwt' })
    .sign(privateKey);
  requestObjects.push({ alg, compact });
}
const { alg: _published, ...providerRsa } = input.publicJwks.RSA;
const nested = await new jose.CompactEncrypt(encoder.encode(requestObjects[1].compact))
  .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: providerRsa.kid, cty: 'JWT' })
  .encrypt(await jose.importJWK(providerRsa, 'RSA-OAEP-256'));

process.stdout.write(`${JSON.stringify({ encrypted, decrypted, jwks, requestObjects, nested })}\n`);
