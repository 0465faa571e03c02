// The OpenID Connect provider the tests sign in through: the npm package oidc-provider (OpenID
// Certified), on 127.0.0.1, with its development login page (any password is accepted for an
// account the configuration lists). Run by tests/server/oidc.rs:
//   node tests/oidc/provider.mjs CONFIG.json
// CONFIG: {port, clients: [{client_id, client_secret, redirect_uris}], accounts: {sub: claims}}.
// It prints "listening on http://127.0.0.1:PORT" once it answers.
import Provider from 'oidc-provider';
import { readFileSync } from 'node:fs';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const scopes = ['openid', 'email', 'profile', 'groups'];

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
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
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
  jwks: config.jwks,
});
provider.proxy = false;

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`listening on ${issuer}`);
});
