// Run by internal/e2e's tests: verifies requests that the real hookshot
// binary sent to a receiver, as a receiver written in Node would, and
// answers in JSON.
//
// stdin: {
//   "requests": [{name, headers: {name: value}, body}]  (body base64)
//   "secrets":  ["whsec_..."]   standardwebhooks verifies each request with each secret
//   "jwks_url": "http://..."    fetched; jose imports each key, Node's crypto verifies v1a
// }
// stdout: {versions, results: [{name, secrets: [{ok, error}], kids: [...], jwks_cache_control}]}
import crypto from "node:crypto";
import { readFileSync } from "node:fs";
import * as jose from "jose";
import { Webhook } from "standardwebhooks";

function version(name) {
  return JSON.parse(readFileSync(new URL(`./node_modules/${name}/package.json`, import.meta.url))).version;
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));

  let keys = [];
  let cacheControl = null;
  if (input.jwks_url) {
    // What a receiver does: fetch the study's JWKS without a token.
    const res = await fetch(input.jwks_url);
    if (!res.ok) throw new Error(`GET ${input.jwks_url}: ${res.status}`);
    cacheControl = res.headers.get("cache-control");
    const jwks = await res.json();
    for (const jwk of jwks.keys) {
      const imported = await jose.importJWK(jwk, "EdDSA");
      keys.push({ kid: jwk.kid, key: crypto.KeyObject.from(imported) });
    }
  }

  const results = [];
  for (const r of input.requests ?? []) {
    const body = Buffer.from(r.body ?? "", "base64");
    const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const secrets = [];
    for (const secret of input.secrets ?? []) {
      try {
        new Webhook(secret).verify(body, headers, { jsonParse: false });
        secrets.push({ ok: true });
      } catch (e) {
        secrets.push({ ok: false, error: String(e.message ?? e) });
      }
    }
    const kids = [];
    const content = Buffer.concat([Buffer.from(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.`), body]);
    for (const entry of (headers["webhook-signature"] ?? "").split(" ")) {
      const [v, sig] = entry.split(",");
      if (v !== "v1a") continue;
      for (const k of keys) {
        if (crypto.verify(null, content, k.key, Buffer.from(sig, "base64"))) kids.push(k.kid);
      }
    }
    results.push({ name: r.name, secrets, kids });
  }
  process.stdout.write(JSON.stringify({
    versions: { node: process.version, standardwebhooks: version("standardwebhooks"), jose: version("jose") },
    jwks_kids: keys.map((k) => k.kid),
    jwks_cache_control: cacheControl,
    results,
  }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
