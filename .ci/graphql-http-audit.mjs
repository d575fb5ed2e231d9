// Runs every server audit of graphql-http (the GraphQL-over-HTTP spec's conformance suite)
// against GRAPHQL_URL, prints each result, and exits 1 when a MUST fails (`error`). SHOULDs
// that fail (`warn`) and MAYs not taken (`notice`) are printed, and not fatal.
//
// Result with graphql-http 1.23.1: 61 ok, 0 notices, 0 warnings, 0 errors.
// - 47DE "SHOULD accept */* and use application/json": a client that names no GraphQL media
//   type gets application/json (src/http/accept.rs).
// - 80D8 "SHOULD assume application/json content-type when accept is missing" passes for
//   the same reason: Node's fetch sends `Accept: */*` when none is given. A request with no
//   Accept header at all gets application/graphql-response+json, as the spec says from its
//   2025-01-01 watershed on (the audit encodes the older rule).
//
// Usage: GRAPHQL_URL=http://127.0.0.1:8080/graphql GRAPHQL_HTTP_DIR=<a directory where
// graphql-http is installed> node .ci/graphql-http-audit.mjs
// (.ci/graphql-http-audit.sh installs it into a temporary directory and starts gazette).

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const url = process.env.GRAPHQL_URL;
if (!url) {
  console.error('set GRAPHQL_URL, e.g. http://127.0.0.1:8080/graphql');
  process.exit(2);
}
// Resolved from where it was installed, not from this file's directory.
const from = createRequire(join(process.env.GRAPHQL_HTTP_DIR || process.cwd(), 'package.json'));
const entry = from.resolve('graphql-http');
const { serverAudits } = await import(pathToFileURL(entry).href);

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
const failed = [];
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  counts[result.status] += 1;
  let line = `${result.status.toUpperCase().padEnd(6)} ${result.id} ${result.name}`;
  if (result.status !== 'ok') {
    line += `\n         ${result.reason} (status ${result.response.status}, content-type ${result.response.headers.get('content-type')})`;
    failed.push(result);
  }
  console.log(line);
}
console.log(
  `\n${counts.ok} ok, ${counts.notice} notices (MAY), ${counts.warn} warnings (SHOULD), ${counts.error} errors (MUST)`,
);
for (const level of ['warn', 'notice']) {
  const these = failed.filter((r) => r.status === level);
  if (these.length) {
    console.log(`\n${level === 'warn' ? 'Warnings' : 'Notices'}:`);
    for (const r of these) console.log(`  ${r.id} ${r.name}: ${r.reason}`);
  }
}
process.exit(counts.error > 0 ? 1 : 0);
