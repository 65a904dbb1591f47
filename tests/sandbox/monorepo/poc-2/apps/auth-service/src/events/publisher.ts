// Event publisher (POC-2): Redis Pub/Sub, one channel per topic.
'use strict';
const Redis = require('ioredis');

exports.createPublisher = function createPublisher(config) {
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 3 });
  redis.on('error', (err) => console.error('[events] redis:', err.message));
  return {
    publish: (topic, payload) => redis.publish(topic, JSON.stringify(payload)),
    close: () => redis.quit(),
  };
};
