// node-oidc-provider, the OpenID-certified provider, set up as an independent counterpart for
// bankid-oidc-client: ES256 ID tokens, PKCE required, one client_secret_basic client, and a
// login that completes without a person. Prints one JSON line {"issuer": ...} when it listens.
//
// Environment: REDIRECT_URI (required), CLIENT_ID, CLIENT_SECRET.
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const redirectUri = process.env.REDIRECT_URI;
if (!redirectUri) {
  console.error('REDIRECT_URI is required');
  process.exit(2);
}
const clientId = process.env.CLIENT_ID ?? 'interop-client';
const clientSecret = process.env.CLIENT_SECRET ?? 'interop secret: with+special/chars%';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'interop-es256', use: 'sig', alg: 'ES256' };

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'client_credentials'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      scope: 'openid profile api:read',
    }],
    jwks: { keys: [signingKey] },
    pkce: { required: () => true },
    scopes: ['openid', 'profile', 'api:read'],
    // acr, amr and sid are standalone claims; listing them keeps them in the ID token.
    claims: {
      acr: null, amr: null, sid: null, auth_time: null,
      openid: ['sub'], profile: ['name', 'given_name', 'family_name', 'birthdate'],
    },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, ClientCredentials: 600, AuthorizationCode: 60 },
    acrValues: ['urn:bankid:bis;LOA=3'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
    },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, name: 'Kari Nordmann', given_name: 'Kari', family_name: 'Nordmann', birthdate: '1971-01-01' };
        },
      };
    },
  });
  // Plain HTTP on loopback: no proxy in front, so no X-Forwarded-* to trust.
  provider.proxy = false;

  const oidc = provider.callback();
  server.on('request', async (req, res) => {
    if (!req.url.startsWith('/interaction/')) {
      oidc(req, res);
      return;
    }
    // The interaction a person would see, completed at once: log in as test-user with BankID
    // with biometrics (LOA 3), then grant what the client asked for.
    try {
      const details = await provider.interactionDetails(req, res);
      let result;
      if (details.prompt.name === 'login') {
        result = { login: { accountId: 'test-user', acr: 'urn:bankid:bis;LOA=3', amr: ['bis-mfa', 'bis-hwk'] } };
      } else {
        const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
        const missing = details.prompt.details;
        if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
        if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
        if (missing.missingResourceScopes) {
          for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
            grant.addResourceScope(indicator, scopes.join(' '));
          }
        }
        result = { consent: { grantId: await grant.save() } };
      }
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
  });

  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

// Stop with the test that started us.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
