'use strict';
const { test } = require('node:test');
const assert = require('node:assert');
const c = require('../../libs/backend-common/src/index.ts');

test('a JWT verifies with its secret only', () => {
  const t = c.jwtSign({ sub: 7 }, 'k1');
  assert.strictEqual(c.jwtVerify(t, 'k1').sub, 7);
  assert.strictEqual(c.jwtVerify(t, 'k2'), null);
});

test('a password hash accepts the password only', () => {
  const h = c.hashPassword('secret');
  assert.ok(c.verifyPassword('secret', h));
  assert.ok(!c.verifyPassword('other', h));
});

test('every service has a config, routes and event modules', () => {
  for (const svc of ['auth', 'payments', 'admin', 'profile']) {
    const dir = `../../apps/${svc}-service/src`;
    assert.strictEqual(typeof require(`${dir}/config/index.ts`).port, 'number');
    assert.strictEqual(typeof require(`${dir}/routes.ts`), 'function');
    assert.strictEqual(typeof require(`${dir}/events/publisher.ts`).createPublisher, 'function');
    assert.strictEqual(typeof require(`${dir}/events/subscriber.ts`).startSubscriber, 'function');
  }
});
