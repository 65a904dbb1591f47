// Event subscriber (POC-3): consumes this service's queue (declared by the
// migration, bound to the topic exchange), acknowledges after handling,
// rejects without requeue on failure; reconnects every 2 s until it can.
'use strict';
const amqp = require('amqplib');
const { brokerUrl } = require('./publisher.ts');

exports.startSubscriber = function startSubscriber(config, handler) {
  const { queue } = config.rabbitmq;
  async function consume() {
    const conn = await amqp.connect(brokerUrl(config.rabbitmq));
    conn.on('error', (err) => console.error('[events] amqp:', err.message));
    let ch;
    try {
      ch = await conn.createChannel();
      await ch.checkQueue(queue);
      await ch.prefetch(10);
    } catch (err) {
      await conn.close().catch(() => {});
      throw err;
    }
    conn.on('close', () => setTimeout(retry, 2000));
    await ch.consume(queue, async (msg) => {
      if (!msg) return;
      try {
        await handler(msg.fields.routingKey, JSON.parse(msg.content.toString('utf8')));
        ch.ack(msg);
      } catch (err) {
        console.error(`[events] ${msg.fields.routingKey}:`, err.message);
        ch.nack(msg, false, false);
      }
    });
    console.log(`[events] consuming ${queue}`);
  }
  function retry() {
    consume().catch((err) => {
      console.error(`[events] cannot consume ${queue} yet: ${err.message}`);
      setTimeout(retry, 2000);
    });
  }
  retry();
};
