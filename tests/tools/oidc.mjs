// Mock OpenID provider for the API tests: two oauth2-mock-server instances, each with its own
// RS256 key. The first is the trusted provider; the second ("rogue") signs with a key the API
// has never seen, for the unknown-`kid` case. A token request may carry a `claims` form field
// (JSON) merged over the default payload; a claim set to null is removed, so tests can issue
// tokens with any `iss`, `aud`, `tid`, `roles`, `exp` or `nbf`.
import { OAuth2Server } from 'oauth2-mock-server';

const port = Number(process.argv[2] ?? '10122');

async function start(p) {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  server.service.on('beforeTokenSigning', (token, req) => {
    const raw = req.body?.claims;
    if (typeof raw !== 'string') return;
    const extra = JSON.parse(raw);
    for (const [key, value] of Object.entries(extra)) {
      if (value === null) delete token.payload[key];
      else token.payload[key] = value;
    }
  });
  await server.start(p, '127.0.0.1');
  return server;
}

await start(port);
await start(port + 1);
console.log(`oidc: listening on ${port} and ${port + 1}`);
