// An OpenID provider for the interop tests (interop_test.go): panva's
// oidc-provider, a certified implementation, configured with the clients
// the example app signs in with. It is started by the tests, one process
// per test, on loopback:
//
//	OIDC_PROVIDER_DIR=<directory where `npm install oidc-provider` ran> \
//	PORT=<port> APP_URL=http://127.0.0.1:<app port> node oidc-provider.mjs
//
// Clients (secrets are test values):
//
//	rs256   confidential (client_secret_basic), ID tokens signed RS256
//	es256   confidential (client_secret_basic), ID tokens signed ES256
//	public  public (token_endpoint_auth_method none, PKCE required), RS256
//
// Each has the app's callback, post-logout and back-channel logout URLs,
// the authorization_code and refresh_token grants. Accounts: the login is
// the account id and any password is accepted (the provider's development
// sign-in page); "alice" is in the group "Workspace Members", "bob" is in
// none. The claim "groups" is released with the openid scope.
//
// When it is listening it prints one line: "listening <issuer>".
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.env.OIDC_PROVIDER_DIR;
const port = process.env.PORT;
const app = process.env.APP_URL;
if (!dir || !port || !app) {
  console.error('oidc-provider.mjs: set OIDC_PROVIDER_DIR, PORT and APP_URL');
  process.exit(2);
}
const { default: Provider } = await import(
  pathToFileURL(join(dir, 'node_modules', 'oidc-provider', 'lib', 'index.js')).href
);

const issuer = `http://localhost:${port}`;

function key(type, options, kid, alg) {
  const jwk = generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' });
  return { ...jwk, kid, alg, use: 'sig' };
}

const accounts = {
  alice: { email: 'alice@example.com', name: 'Alice Member', groups: ['Workspace Members'] },
  bob: { email: 'bob@example.com', name: 'Bob Outsider', groups: [] },
};

function client(id, alg, extra) {
  return {
    client_id: id,
    redirect_uris: [`${app}/auth/callback`],
    post_logout_redirect_uris: [`${app}/auth/logout/callback`],
    backchannel_logout_uri: `${app}/auth/backchannel-logout`,
    backchannel_logout_session_required: true,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    id_token_signed_response_alg: alg,
    ...extra,
  };
}

const provider = new Provider(issuer, {
  clients: [
    client('rs256', 'RS256', { client_secret: 'rs256-secret-for-tests-only', token_endpoint_auth_method: 'client_secret_basic' }),
    client('es256', 'ES256', { client_secret: 'es256-secret-for-tests-only', token_endpoint_auth_method: 'client_secret_basic' }),
    client('public', 'RS256', { token_endpoint_auth_method: 'none' }),
  ],
  jwks: {
    keys: [
      key('rsa', { modulusLength: 2048 }, 'rsa-1', 'RS256'),
      key('ec', { namedCurve: 'P-256' }, 'ec-1', 'ES256'),
    ],
  },
  cookies: { keys: ['interop-cookie-key-for-tests-only'] },
  claims: {
    openid: ['sub', 'groups'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // The ID token carries the scopes' claims (not only userinfo).
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  // Short access tokens, so that a refresh is due soon.
  ttl: { AccessToken: 60, IdToken: 3600, RefreshToken: 3600, Session: 3600, Grant: 3600, Interaction: 600 },
  // The back-channel logout requests go to the app on loopback, which the
  // provider's SSRF protection (its own fetch dispatcher) refuses: this
  // test-only provider sends them with the plain fetch.
  fetch(url, options) {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
  async findAccount(_ctx, id) {
    const a = accounts[id];
    if (!a) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: a.email, email_verified: true, name: a.name, groups: a.groups };
      },
    };
  },
});
provider.proxy = false;

// The development pages import a web font; nothing leaves loopback. And
// for each ID token issued at the token endpoint, one line on stdout says
// which client got it and its alg: "id_token <client_id> <alg>".
provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && ctx.body && typeof ctx.body.id_token === 'string') {
    const header = JSON.parse(Buffer.from(ctx.body.id_token.split('.')[0], 'base64url').toString());
    console.log(`id_token ${ctx.oidc?.client?.clientId} ${header.alg}`);
  }
  if (typeof ctx.body === 'string') {
    ctx.body = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis\.com[^)]*\);/g, '');
  }
});

provider.on('backchannel.error', (_ctx, err, client) => {
  console.error(`backchannel logout to ${client.clientId} failed: ${err.message}`);
});

const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
