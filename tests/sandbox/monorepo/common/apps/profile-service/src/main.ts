// profile-service: HTTP on its port, its database, events in and out.
'use strict';
const common = require('../../../libs/backend-common/src/index.ts');

common.loadEnv();
const config = require('./config/index.ts');
const { Pool } = require('pg');
const { createPublisher } = require('./events/publisher.ts');
const { startSubscriber } = require('./events/subscriber.ts');
const routes = require('./routes.ts');

const db = new Pool({ connectionString: config.databaseUrl, max: 5, application_name: 'profile-service' });
db.on('error', (err) => common.reportError('profile-service', err));
const publisher = createPublisher(config);
const ctx = { db, publish: publisher.publish, config };
startSubscriber(config, (topic, payload) => routes.onEvent(ctx, topic, payload));
common.serve('profile-service', config.port, routes(ctx));
