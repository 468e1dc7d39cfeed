// Run by internal/interop's tests: verifies and makes signatures with
// implementations other than the webhook package's, and answers in JSON.
//
// stdin: {
//   "verify":   [{name, secret, id, timestamp, body, signature}]   standardwebhooks verifies (body base64)
//   "sign":     [{name, secret, id, timestamp, body}]              standardwebhooks signs
//   "jwks":     {keys: [...]}                                      jose imports it, and Node's crypto
//   "ed25519":  [{name, id, timestamp, body, signature}]           verifies each v1a entry with each key
//   "keypairs": [{kid, messages: [{id, timestamp, body}]}]         Node makes a key, jose exports it, Node signs
// }
// stdout: {versions, verify: [{name, ok, error}], sign: [{name, signature}],
//          ed25519: [{name, kids}], keypairs: {jwks, signatures: [[...]]}}
import crypto from "node:crypto";
import { readFileSync } from "node:fs";
import * as jose from "jose";
import { Webhook } from "standardwebhooks";

// The installed versions, read from node_modules beside this file.
function version(name) {
  return JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;
}

// Go writes bytes as base64, and an empty body as null.
function body(m) {
  return Buffer.from(m.body ?? "", "base64");
}

function content(m) {
  return Buffer.concat([Buffer.from(`${m.id}.${m.timestamp}.`), body(m)]);
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const out = {
    versions: {
      node: process.version,
      openssl: process.versions.openssl,
      standardwebhooks: version("standardwebhooks"),
      jose: version("jose"),
    },
    verify: [],
    sign: [],
    ed25519: [],
  };

  for (const c of input.verify ?? []) {
    try {
      new Webhook(c.secret).verify(
        body(c),
        { "webhook-id": c.id, "webhook-timestamp": String(c.timestamp), "webhook-signature": c.signature },
        { jsonParse: false },
      );
      out.verify.push({ name: c.name, ok: true });
    } catch (e) {
      out.verify.push({ name: c.name, ok: false, error: String(e.message ?? e) });
    }
  }

  for (const c of input.sign ?? []) {
    const signature = new Webhook(c.secret).sign(c.id, new Date(c.timestamp * 1000), body(c));
    out.sign.push({ name: c.name, signature });
  }

  if (input.jwks) {
    const keys = [];
    for (const jwk of input.jwks.keys) {
      // jose checks the JWK (kty, crv, x) as RFC 8037 gives it; Node's
      // crypto, on OpenSSL, verifies.
      const imported = await jose.importJWK(jwk, "EdDSA");
      keys.push({ kid: jwk.kid, key: crypto.KeyObject.from(imported) });
    }
    for (const c of input.ed25519 ?? []) {
      const kids = [];
      for (const entry of c.signature.split(" ")) {
        const [version, sig] = entry.split(",");
        if (version !== "v1a") continue;
        for (const k of keys) {
          if (crypto.verify(null, content(c), k.key, Buffer.from(sig, "base64"))) kids.push(k.kid);
        }
      }
      out.ed25519.push({ name: c.name, kids });
    }
  }

  if (input.keypairs) {
    const jwks = { keys: [] };
    const signatures = [];
    for (const p of input.keypairs) {
      const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
      const jwk = await jose.exportJWK(publicKey);
      jwks.keys.push({ ...jwk, kid: p.kid, use: "sig", alg: "EdDSA" });
      signatures.push(p.messages.map((m) => "v1a," + crypto.sign(null, content(m), privateKey).toString("base64")));
    }
    out.keypairs = { jwks, signatures };
  }

  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
