// node-oidc-provider (OpenID-certified), configured as the counterpart of bankid-oidc for the
// benchmarks in benches/compare.sh, after crates/client/tests/interop/oidc-provider/provider.js:
//
// - ES256 for ID tokens and for JWT access tokens (client credentials, through a resource
//   indicator: oidc-provider issues JWT access tokens only for a resource server);
// - PKCE required; one client_secret_basic client; one user;
// - lifetimes as bankid-oidc's: codes 60 s, access and ID tokens 300 s;
// - the login a person would do is completed at once by the interaction handler below (login and
//   consent in one step), standing in for bankid-oidc's NNIN, one-time code and password forms.
//
// Code-flow access tokens stay opaque: oidc-provider's userinfo endpoint accepts only access
// tokens without a resource audience, and the code flow ends with a userinfo call.
//
// Environment: PORT (0 = any), CLIENT_ID, CLIENT_SECRET, REDIRECT_URI. Prints one JSON line
// {"issuer": ...} when it listens. Stops on SIGTERM or SIGINT.
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? 0);
const clientId = process.env.CLIENT_ID ?? 'bench-client';
const clientSecret = process.env.CLIENT_SECRET ?? 'bench-secret';
const redirectUri = process.env.REDIRECT_URI ?? 'http://127.0.0.1:9/callback';
const API = 'urn:bankid-oidc-bench:api';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', use: 'sig', alg: 'ES256' };

const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
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
    claims: {
      acr: null, amr: null, sid: null, auth_time: null,
      openid: ['sub'], profile: ['name', 'given_name', 'family_name', 'birthdate'],
    },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 300, IdToken: 300, ClientCredentials: 300, AuthorizationCode: 60 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Client credentials get a JWT for the API; the code flow's token stays for userinfo.
        defaultResource: (ctx) => (ctx.oidc.params?.grant_type === 'client_credentials' ? API : undefined),
        getResourceServerInfo: (ctx, resource) => {
          if (resource !== API) throw new Error(`unknown resource ${resource}`);
          return {
            scope: 'api:read',
            audience: API,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
        useGrantedResource: () => false,
      },
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
  provider.proxy = false;

  const oidc = provider.callback();
  server.on('request', async (req, res) => {
    if (!req.url.startsWith('/interaction/')) {
      oidc(req, res);
      return;
    }
    // The person's part, done at once: log in as bench-user and grant what the client asked.
    try {
      const details = await provider.interactionDetails(req, res);
      const accountId = 'bench-user';
      const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      const result = {
        login: { accountId, acr: 'urn:bankid:bid;LOA=4', amr: ['bid'] },
        consent: { grantId: await grant.save() },
      };
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    } catch (err) {
      res.statusCode = 500;
      res.end(String(err));
    }
  });

  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
