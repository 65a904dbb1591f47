'use strict';
const { test } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '../..');
const clients = ['libs/shared-api-client/src/lib/apiClient.ts', 'apps/payments-mfe/src/api/payments.ts', 'apps/admin-mfe/src/api/adminApiClient.ts', 'apps/admin-mfe/src/api/dashboard.ts'];

test('every API client names a base URL', () => {
  for (const f of clients) assert.match(fs.readFileSync(path.join(root, f), 'utf8'), /baseURL: /, f);
});

test('the shell page loads its entry module', () => {
  assert.match(fs.readFileSync(path.join(root, 'apps/shell/public/index.html'), 'utf8'), /src="\/apps\/shell\/src\/main\.tsx"/);
});
