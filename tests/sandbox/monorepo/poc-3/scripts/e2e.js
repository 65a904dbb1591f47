// pnpm test:e2e: the manual-testing checklist against the running stack,
// through nginx (TLS verified with NODE_EXTRA_CA_CERTS, set by the caller,
// or nginx/ssl/ca.pem): sign in, sign up, create and list payments, the admin
// dashboard, a profile update, the WebSocket and a real-time event.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert');
const WebSocket = require('ws');
const { loadEnv } = require('../libs/backend-common/src/index.ts');

loadEnv();
const api = process.env.VITE_API_BASE_URL;
const wsUrl = process.env.VITE_WS_URL;
const email = process.env.TEST_USER_EMAIL || 'test@test.com';
const password = process.env.TEST_USER_PASSWORD;

async function call(method, path, { token, body } = {}) {
  const res = await fetch(`${api}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

function nextMessage(ws, predicate, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no matching WebSocket message in time')), ms);
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (predicate(m)) { clearTimeout(timer); resolve(m); }
    });
  });
}

test('the stack works end to end', async () => {
  assert.ok(api && wsUrl && password, 'VITE_API_BASE_URL, VITE_WS_URL and TEST_USER_PASSWORD must be set');
  const signin = await call('POST', '/auth/signin', { body: { email, password } });
  assert.strictEqual(signin.status, 200, 'sign in');
  const token = signin.body.accessToken;

  const newEmail = `e2e-${Date.now()}-${process.pid}@test.com`;
  assert.strictEqual((await call('POST', '/auth/signup', { body: { email: newEmail, password: 'e2e-password', name: 'E2E' } })).status, 201, 'sign up');

  const ws = new WebSocket(`${wsUrl}?token=${encodeURIComponent(token)}`);
  await nextMessage(ws, (m) => m.type === 'welcome');
  const created = nextMessage(ws, (m) => m.type === 'payments.created');
  const payment = await call('POST', '/payments', { token, body: { amount: 12.5, currency: 'EUR', description: 'e2e' } });
  assert.strictEqual(payment.status, 201, 'payment creation');
  const event = await created;
  assert.strictEqual(event.payload.paymentId, payment.body.payment.id, 'real-time update');
  ws.close();

  const list = await call('GET', '/payments', { token });
  assert.ok(list.body.payments.some((p) => p.id === payment.body.payment.id), 'payment list');
  assert.strictEqual((await call('GET', '/admin/dashboard', { token })).status, 200, 'admin dashboard');
  const newToken = (await call('POST', '/auth/signin', { body: { email: newEmail, password: 'e2e-password' } })).body.accessToken;
  assert.strictEqual((await call('PUT', '/profile/me', { token: newToken, body: { displayName: 'E2E tester' } })).status, 200, 'profile update');
});
