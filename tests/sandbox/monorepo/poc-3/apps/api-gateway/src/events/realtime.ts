// Realtime feed of the API Gateway: consumes api-gateway.realtime (bound to
// payments.#, profile.#, admin.#, auth.session.#) and hands each event to
// the WebSocket clients; reconnects every 2 s until it can.
'use strict';
const amqp = require('amqplib');

function brokerUrl({ url, user, password }) {
  const u = new URL(url);
  if (user) u.username = encodeURIComponent(user);
  if (password) u.password = encodeURIComponent(password);
  return u.toString();
}

exports.startRealtime = function startRealtime(config, onEvent) {
  const { queue } = config.rabbitmq;
  async function consume() {
    const conn = await amqp.connect(brokerUrl(config.rabbitmq));
    conn.on('error', (err) => console.error('[realtime] amqp:', err.message));
    let ch;
    try {
      ch = await conn.createChannel();
      await ch.checkQueue(queue);
    } catch (err) {
      await conn.close().catch(() => {});
      throw err;
    }
    conn.on('close', () => setTimeout(retry, 2000));
    await ch.consume(queue, (msg) => {
      if (!msg) return;
      try {
        onEvent(msg.fields.routingKey, JSON.parse(msg.content.toString('utf8')));
      } catch (err) {
        console.error('[realtime]', err.message);
      }
      ch.ack(msg);
    });
    console.log(`[realtime] consuming ${queue}`);
  }
  function retry() {
    consume().catch((err) => {
      console.error(`[realtime] cannot consume ${queue} yet: ${err.message}`);
      setTimeout(retry, 2000);
    });
  }
  retry();
};
