// Event publisher (POC-3): amqplib, a confirm channel on the topic exchange,
// persistent JSON messages.
'use strict';
const amqp = require('amqplib');

function brokerUrl({ url, user, password }) {
  const u = new URL(url);
  if (user) u.username = encodeURIComponent(user);
  if (password) u.password = encodeURIComponent(password);
  return u.toString();
}

exports.brokerUrl = brokerUrl;

exports.createPublisher = function createPublisher(config) {
  let channel = null;
  async function open() {
    if (channel) return channel;
    const conn = await amqp.connect(brokerUrl(config.rabbitmq));
    conn.on('error', (err) => console.error('[events] amqp:', err.message));
    conn.on('close', () => { channel = null; });
    const ch = await conn.createConfirmChannel();
    await ch.checkExchange(config.rabbitmq.exchange);
    channel = ch;
    return ch;
  }
  return {
    async publish(topic, payload) {
      const ch = await open();
      ch.publish(config.rabbitmq.exchange, topic, Buffer.from(JSON.stringify(payload)), {
        persistent: true,
        contentType: 'application/json',
      });
      await ch.waitForConfirms();
    },
    async close() {
      if (channel) await channel.connection.close();
    },
  };
};
