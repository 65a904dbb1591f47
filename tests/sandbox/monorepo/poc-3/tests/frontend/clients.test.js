'use strict';
const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '../..');
const clients = ['libs/shared-api-client/src/lib/apiClient.ts', 'apps/payments-mfe/src/api/payments.ts', 'apps/admin-mfe/src/api/adminApiClient.ts', 'apps/admin-mfe/src/api/dashboard.ts'];

test('every API client goes through nginx (VITE_API_BASE_URL)', () => {
  for (const f of clients) assert.match(fs.readFileSync(path.join(root, f), 'utf8'), /baseURL: import\.meta\.env\.VITE_API_BASE_URL \|\| 'https:/, f);
});

test('the shell is wrapped in the WebSocket provider and registers the service worker', () => {
  assert.match(fs.readFileSync(path.join(root, 'apps/shell/src/App.tsx'), 'utf8'), /<WebSocketProvider>/);
  assert.match(fs.readFileSync(path.join(root, 'apps/shell/src/main.tsx'), 'utf8'), /serviceWorker\.register\('\/sw\.js'\)/);
  assert.ok(fs.existsSync(path.join(root, 'apps/shell/public/sw.js')));
});
