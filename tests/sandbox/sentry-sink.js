// The sandbox's stand-in for Sentry: accepts events at the DSN's store and
// envelope endpoints (checking the public key), and lists them at
// GET /api/events (newest last), which the plan's observability probe reads.
// Run by `world.sh up`: node sentry-sink.js PORT KEY
'use strict';
const http = require('node:http');

const [port, key] = process.argv.slice(2);
const events = [];

function send(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { status: 'ok' });
  if (req.method === 'GET' && url.pathname === '/api/events') return send(res, 200, { events });
  const m = /^\/api\/([^/]+)\/(store|envelope)\/$/.exec(url.pathname);
  if (req.method !== 'POST' || !m) return send(res, 404, { error: 'not found' });
  const auth = `${req.headers['x-sentry-auth'] || ''} ${url.search}`;
  if (!new RegExp(`sentry_key=${key}\\b`).test(auth)) return send(res, 401, { error: 'bad key' });
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    let event;
    try {
      event = m[2] === 'store' ? JSON.parse(body) : JSON.parse(body.split('\n')[2] || '{}');
    } catch {
      return send(res, 400, { error: 'invalid event' });
    }
    events.push({ project: m[1], received_at: new Date().toISOString(), event });
    send(res, 200, { id: event.event_id || null });
  });
}).listen(Number(port), '127.0.0.1', () => console.log(`sentry-sink on 127.0.0.1:${port}`));
