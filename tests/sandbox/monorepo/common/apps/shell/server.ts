// Shell dev server: serves the shell page, its public files and the source
// modules of apps/ and libs/ to the browser, replacing import.meta.env.VITE_*
// with the values of the environment or .env, as Vite's dev server does.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const common = require('../../libs/backend-common/src/index.ts');

common.loadEnv();
const port = Number(process.env.SHELL_PORT || @@FRONTEND_PORT@@);
const publicDir = path.join(__dirname, 'public');
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.ts': 'text/javascript', '.tsx': 'text/javascript', '.css': 'text/css' };

function viteEnv(source) {
  return source.replace(/import\.meta\.env\.(VITE_[A-Z0-9_]+)/g, (_, name) => JSON.stringify(process.env[name] || ''));
}

function file(res, full) {
  if (!fs.existsSync(full) || !fs.statSync(full).isFile()) return common.send(res, 404, 'not found');
  const ext = path.extname(full);
  let body = fs.readFileSync(full, 'utf8');
  if (ext === '.ts' || ext === '.tsx') body = viteEnv(body);
  const headers = { 'content-type': types[ext] || 'application/octet-stream', 'cache-control': 'no-cache' };
  if (path.basename(full) === 'sw.js') headers['service-worker-allowed'] = '/';
  res.writeHead(200, headers);
  res.end(body);
}

common.serve('shell', port, {}, {
  onRequest: (req, res, url) => {
    const p = decodeURIComponent(url.pathname);
    if (p.includes('..')) return common.send(res, 400, 'bad path'), true;
    if (p === '/health') return common.send(res, 200, { status: 'ok', service: 'shell' }), true;
    if (p === '/') return file(res, path.join(publicDir, 'index.html')), true;
    if (p.startsWith('/apps/') || p.startsWith('/libs/')) return file(res, path.join(common.ROOT, p)), true;
    return file(res, path.join(publicDir, p)), true;
  },
});
