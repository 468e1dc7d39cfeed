// An example Hookshot webhook receiver in Node.js (20 or newer), standard
// library only. It verifies X-ActiGraph-Signature against every secret in
// WEBHOOK_SECRETS, answers the validation handshake, deduplicates on
// X-ActiGraph-Delivery and logs one JSON line per request to stdout.
//
//   WEBHOOK_SECRETS=s3cret RECEIVER_ADDR=127.0.0.1:9000 node receiver.mjs
//
// It speaks plain HTTP so that it runs on a laptop; Hookshot sends to http://
// URLs only when its operator allows them (HOOKSHOT_ALLOW_HTTP). In production
// a receiver sits behind HTTPS: a TLS-terminating proxy, or node:https's
// createServer with a certificate.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const PREFIX = 'x-actigraph-'; // Node lower-cases header names
const MAX_BODY = 10 * 1024 * 1024;
const MAX_SEEN = 10_000;

// Several secrets, so that a rotation is a matter of adding the new one beside
// the old one and later dropping the old one. The key is the secret's UTF-8
// bytes.
const secrets = (process.env.WEBHOOK_SECRETS ?? '').split(',').filter((s) => s !== '');
if (secrets.length === 0) {
  console.error("set WEBHOOK_SECRETS to the webhook's HMAC secret (several separated by commas during a rotation)");
  process.exit(2);
}

// The most recent delivery ids, oldest first (a Set keeps insertion order). In
// memory only to keep the example short: a real receiver records the id in its
// database, in the transaction that stores the event, so that a restart or a
// second instance still knows it.
const seen = new Set();

// Reports whether any signature is base64(HMAC-SHA256(secret, body)) for any
// secret, comparing in constant time.
function signatureMatches(body, signatures) {
  for (const secret of secrets) {
    const expected = Buffer.from(createHmac('sha256', secret).update(body).digest('base64'));
    for (const signature of signatures) {
      const got = Buffer.from(signature);
      // timingSafeEqual needs equal lengths; a signature's length is no secret.
      if (got.length === expected.length && timingSafeEqual(got, expected)) {
        return true;
      }
    }
  }
  return false;
}

// Records delivery and reports whether it was new.
function firstTime(delivery) {
  if (seen.has(delivery)) {
    return false;
  }
  seen.add(delivery);
  if (seen.size > MAX_SEEN) {
    seen.delete(seen.values().next().value);
  }
  return true;
}

// Where a real receiver's work starts. Hookshot waits for the answer (15 s at
// most by default), so store the event or queue it, and do anything slow after
// answering.
function handle(event, body) {
  // Parse the verified bytes themselves: the signature covers them, not a
  // re-encoding.
  JSON.parse(body.toString('utf8'));
}

const server = createServer((req, res) => {
  const delivery = req.headers[PREFIX + 'delivery'] ?? '';
  const event = req.headers[PREFIX + 'event'] ?? '';

  const answer = (status, { verified = false, duplicate = false, error, headers = {} } = {}) => {
    const line = { msg: 'delivery', delivery, event, verified, duplicate, status };
    if (error) {
      line.error = error;
    }
    console.log(JSON.stringify(line));
    if (status >= 400) {
      // The body may be unread: close rather than read it as the next request.
      headers.connection = 'close';
    }
    res.writeHead(status, headers).end();
  };

  if (req.method !== 'POST' || req.url !== '/hooks') {
    return answer(404, { error: 'no such route' });
  }
  // During a rotation the new secret's signature is in -Next; either may match.
  const signatures = [req.headers[PREFIX + 'signature'], req.headers[PREFIX + 'signature-next']].filter(Boolean);
  if (signatures.length === 0) {
    return answer(401, { error: 'no signature' });
  }
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) {
    return answer(413, { error: `body over ${MAX_BODY} bytes` });
  }

  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size <= MAX_BODY) {
      chunks.push(chunk);
    } else if (!res.headersSent) {
      // A body that grows past the limit without declaring its length.
      answer(413, { error: `body over ${MAX_BODY} bytes` });
    }
  });
  req.on('end', () => {
    if (res.headersSent) {
      return;
    }
    const body = Buffer.concat(chunks);
    // The raw bytes are verified before anything parses them. The validation
    // request is signed too: only the webhook's owner can validate it against
    // this URL.
    if (!signatureMatches(body, signatures)) {
      return answer(401, { error: 'the signature does not match the body under any secret' });
    }
    if (event === 'validation') {
      const code = req.headers[PREFIX + 'hook-secret'] ?? '';
      return answer(200, { verified: true, headers: { 'X-ActiGraph-Hook-Secret': code } });
    }
    // Hookshot delivers at least once: a repeat gets 200 so that it stops, and
    // is not processed again.
    if (!firstTime(delivery)) {
      return answer(200, { verified: true, duplicate: true });
    }
    try {
      handle(event, body);
    } catch (e) {
      seen.delete(delivery); // so that Hookshot's retry is processed
      // The name only: a parser's message may quote the body, which stays out of logs.
      return answer(500, { verified: true, error: `processing: ${e.name}` });
    }
    answer(200, { verified: true });
  });
});

const addr = process.env.RECEIVER_ADDR ?? '127.0.0.1:9000';
const colon = addr.lastIndexOf(':');
server.listen(Number(addr.slice(colon + 1)), addr.slice(0, colon), () => {
  const { address, port } = server.address();
  console.log(JSON.stringify({ msg: 'listening', addr: `${address}:${port}` }));
});
