// Event subscriber (POC-2): Redis Pub/Sub pattern subscriptions.
'use strict';
const Redis = require('ioredis');

exports.startSubscriber = function startSubscriber(config, handler) {
  const sub = new Redis(config.redisUrl);
  sub.on('error', (err) => console.error('[events] redis:', err.message));
  sub.psubscribe(...config.subscriptions);
  sub.on('pmessage', (_pattern, channel, message) => {
    Promise.resolve()
      .then(() => handler(channel, JSON.parse(message)))
      .catch((err) => console.error(`[events] ${channel}:`, err.message));
  });
  return sub;
};
