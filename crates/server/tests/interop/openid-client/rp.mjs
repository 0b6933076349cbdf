// A certified relying party (openid-client, by the author of oauth4webapi) logs in against
// bankid-oidc: discovery, PKCE S256, state, nonce, RFC 9207 iss, code exchange with
// client_secret_basic, ID token validation, and an independent signature check with jose.
// The login pages are driven as a browser would: cookies kept, forms posted.
//
// Input (environment): ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, NNIN, OTP, PASSWORD.
// Output: one JSON line with the validated claims and userinfo; a non-zero exit on any failure.

import * as client from 'openid-client';
import * as jose from 'jose';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const issuer = new URL(env('ISSUER'));
const clientId = env('CLIENT_ID');
const redirectUri = env('REDIRECT_URI');

const config = await client.discovery(issuer, clientId, undefined, client.ClientSecretBasic(env('CLIENT_SECRET')), {
  execute: [client.allowInsecureRequests],
});

const codeVerifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const authorizationUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: 'openid profile nnin_altsub',
  code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: 'S256',
  state,
  nonce,
  login_hint: 'BID',
});

// --- a minimal browser: a cookie jar and form posts --------------------------------------
const jar = new Map();
const remember = (response) => {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    jar.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
};
const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
const decode = (s) => s.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#x27;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>');

async function request(url, init = {}) {
  const response = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers || {}), cookie: cookieHeader() } });
  remember(response);
  return response;
}

/** Follows redirects inside the provider; returns the client's callback URL or the page HTML. */
async function follow(response) {
  while (response.status >= 300 && response.status < 400) {
    const location = new URL(response.headers.get('location'), issuer);
    if (location.href.startsWith(redirectUri)) return { callback: location };
    response = await request(location);
  }
  if (response.status !== 200) throw new Error(`unexpected status ${response.status}: ${await response.text()}`);
  return { html: await response.text() };
}

async function submit(html, values) {
  const action = decode(/<form method="post" action="([^"]+)"/.exec(html)[1]);
  const body = new URLSearchParams();
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    body.set(match[1], decode(match[2]));
  }
  for (const [k, v] of Object.entries(values)) body.set(k, v);
  const response = await request(new URL(action, issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  return follow(response);
}

let step = await follow(await request(authorizationUrl));
step = await submit(step.html, { nnin: env('NNIN') });
step = await submit(step.html, { otp: env('OTP') });
step = await submit(step.html, { password: env('PASSWORD') });
if (!step.callback) throw new Error('the login did not reach the redirect_uri');

// --- the relying party's own checks --------------------------------------------------------
const tokens = await client.authorizationCodeGrant(config, step.callback, {
  pkceCodeVerifier: codeVerifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();

// openid-client trusts the TLS channel for the ID token's signature; check it independently.
const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
const { payload, protectedHeader } = await jose.jwtVerify(tokens.id_token, jwks, {
  issuer: issuer.href,
  audience: clientId,
  algorithms: ['ES256'],
});
if (payload.nonce !== nonce) throw new Error('nonce mismatch after signature check');

const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
console.log(JSON.stringify({ claims, alg: protectedHeader.alg, kid: protectedHeader.kid, userinfo, iss: step.callback.searchParams.get('iss') }));
