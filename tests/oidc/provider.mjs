// The OpenID Connect provider the tests sign in through: the npm package oidc-provider (OpenID
// Certified), on 127.0.0.1, with its development login page (any password is accepted for an
// account the configuration lists). Run by tests/server/oidc.rs:
//   node tests/oidc/provider.mjs CONFIG.json
// CONFIG: {port, clients: [{client_id, client_secret, redirect_uris}], accounts: {sub: claims},
// tamper: {sub: mode}}. It prints "listening on http://127.0.0.1:PORT" once it answers.
//
// Its signing key is made at each start (a restart is a key rotation). `tamper` makes the token
// endpoint misbehave for one account, to test that Keyward refuses what it must: the ID token
// re-signed with an `aud` of another client ("wrong-audience"), already expired ("expired"),
// signed by a key the provider never published ("other-key"), or, from the account's second
// sign-in on, the first sign-in's ID token again ("replay": its nonce is the old one).
import Provider from 'oidc-provider';
import * as jose from 'jose';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const scopes = ['openid', 'email', 'profile'];
const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  pkce: { required: () => true },
  scopes,
  claims: {
    // Groups come with every sign-in, as Entra ID and Keycloak add them when configured to:
    // no scope of their own is asked for.
    openid: ['sub', 'groups'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  // The claims go into the ID token itself, as Entra ID and Keycloak put them there.
  conformIdTokenClaims: false,
  findAccount: async (ctx, sub) => {
    const claims = config.accounts[sub];
    if (!claims) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...claims }) };
  },
  // A first-party client: no consent page, as an organisation's own applications are set up.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(scopes.join(' '));
    await grant.save();
    return grant;
  },
  cookies: { keys: ['keyward-tests-only'] },
  jwks: { keys: [signingKey] },
});

const firstTokens = {};
provider.use(async (ctx, next) => {
  await next();
  const idToken = ctx.path === '/token' && ctx.status === 200 && ctx.body && ctx.body.id_token;
  if (!idToken) return;
  const claims = jose.decodeJwt(idToken);
  const mode = (config.tamper || {})[claims.sub];
  if (!mode) return;
  if (mode === 'replay') {
    if (firstTokens[claims.sub]) ctx.body.id_token = firstTokens[claims.sub];
    else firstTokens[claims.sub] = idToken;
    return;
  }
  const now = Math.floor(Date.now() / 1000);
  let key = privateKey;
  if (mode === 'wrong-audience') claims.aud = 'another-client';
  if (mode === 'expired') Object.assign(claims, { iat: now - 3600, exp: now - 1800 });
  if (mode === 'other-key') key = (await jose.generateKeyPair('RS256')).privateKey;
  ctx.body.id_token = await new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: signingKey.kid })
    .sign(key);
});
provider.proxy = false;

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`listening on ${issuer}`);
});
