// Shared backend helpers: .env loading, a tiny JSON router, JWT, password
// hashing and the error reporter. Plain CommonJS (Node's loader takes the
// .ts extension as JavaScript).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../../..');

// KEY=value lines of the repository's .env, without overriding the environment.
function loadEnv() {
  const file = path.join(ROOT, '.env');
  if (!fs.existsSync(file)) return;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (m && process.env[m[1]] === undefined) process.env[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
}

function b64url(buf) {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

function jwtSign(payload, secret, ttlSeconds = 3600) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ ...payload, iat: now, exp: now + ttlSeconds }));
  const sig = b64url(crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest());
  return `${head}.${body}.${sig}`;
}

function jwtVerify(token, secret) {
  const parts = String(token || '').split('.');
  if (parts.length !== 3) return null;
  const sig = b64url(crypto.createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest());
  if (sig.length !== parts[2].length || !crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(parts[2]))) return null;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64').toString('utf8'));
    return payload.exp > Date.now() / 1000 ? payload : null;
  } catch {
    return null;
  }
}

function hashPassword(password, salt = crypto.randomBytes(16).toString('hex')) {
  return `scrypt$${salt}$${crypto.scryptSync(password, salt, 32).toString('hex')}`;
}

function verifyPassword(password, stored) {
  const [scheme, salt, hash] = String(stored || '').split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const again = crypto.scryptSync(password, salt, 32).toString('hex');
  return hash.length === again.length && crypto.timingSafeEqual(Buffer.from(again), Buffer.from(hash));
}

function sha256(text) {
  return crypto.createHash('sha256').update(text).digest('hex');
}

// The error reporter: a Sentry-compatible "store" request to the DSN's
// project, when SENTRY_DSN is set. Failures to report are logged, never thrown.
function reportError(service, err) {
  const dsn = process.env.SENTRY_DSN;
  console.error(`[${service}]`, err && err.stack ? err.stack : err);
  if (!dsn) return Promise.resolve(false);
  let url;
  try {
    url = new URL(dsn);
  } catch {
    return Promise.resolve(false);
  }
  const project = url.pathname.replace(/^\/+/, '');
  const target = `${url.protocol}//${url.host}/api/${project}/store/`;
  const event = {
    event_id: crypto.randomUUID().replace(/-/g, ''),
    timestamp: new Date().toISOString(),
    platform: 'node',
    server_name: service,
    exception: { values: [{ type: (err && err.name) || 'Error', value: String((err && err.message) || err) }] },
  };
  return fetch(target, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${url.username}` },
    body: JSON.stringify(event),
  }).then((r) => r.ok, (e) => { console.error(`[${service}] cannot report to Sentry: ${e.message}`); return false; });
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (!body) return resolve({});
      try { resolve(JSON.parse(body)); } catch { reject(Object.assign(new Error('invalid JSON'), { status: 400 })); }
    });
    req.on('error', reject);
  });
}

function send(res, status, value) {
  const body = typeof value === 'string' ? value : JSON.stringify(value);
  res.writeHead(status, { 'content-type': typeof value === 'string' ? 'text/plain; charset=utf-8' : 'application/json' });
  res.end(body);
}

function bearer(req, secret) {
  const m = /^Bearer\s+(.+)$/.exec(req.headers.authorization || '');
  return m ? jwtVerify(m[1], secret) : null;
}

// routes: { 'GET /path': handler(req, res, ctx) }; an unknown route is a 404,
// a thrown error a 500 reported to Sentry (or err.status with its message).
function serve(service, port, routes, { onRequest } = {}) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (onRequest && (await onRequest(req, res, url))) return;
    const handler = routes[`${req.method} ${url.pathname}`];
    if (!handler) return send(res, 404, { error: 'not found' });
    try {
      await handler(req, res, { url });
    } catch (err) {
      if (err && err.status) return send(res, err.status, { error: err.message });
      await reportError(service, err);
      send(res, 500, { error: 'internal error' });
    }
  });
  server.listen(port, '127.0.0.1', () => console.log(`[${service}] listening on 127.0.0.1:${port}`));
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return server;
}

function httpError(status, message) {
  return Object.assign(new Error(message), { status });
}

module.exports = { ROOT, loadEnv, jwtSign, jwtVerify, hashPassword, verifyPassword, sha256, reportError, readJson, send, bearer, serve, httpError };
