// pnpm start:backend: the API Gateway and the four services, in this process
// group; SIGTERM/SIGINT stop them all; if one exits, the others are stopped.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const apps = ['auth-service', 'payments-service', 'admin-service', 'profile-service', 'api-gateway'];
const children = apps.map((app) => {
  const child = spawn(process.execPath, [path.join(root, 'apps', app, 'src', 'main.ts')], { stdio: 'inherit', cwd: root });
  child.on('exit', (code, signal) => {
    console.log(`[start-backend] ${app} exited (${signal || code})`);
    stopAll(code || 1);
  });
  return child;
});

let stopping = false;
function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  const wait = setInterval(() => {
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) {
      clearInterval(wait);
      process.exit(code);
    }
  }, 100);
}
process.on('SIGTERM', () => stopAll(0));
process.on('SIGINT', () => stopAll(0));
