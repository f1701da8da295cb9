// `failover up` serves the console and prints its address with the full token
// (the same token api.json holds); the address opens the page, and the token
// in it is accepted as the full token.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin', 'failover.js');
const upStartTimeoutMs = 60_000;
const upStopTimeoutMs = 20_000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failover-'));
let up: ChildProcess | undefined;

after(async () => {
  const child = up;
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT'); // up stops its resources in order on Ctrl-C
    const killTimer = setTimeout(() => child.kill('SIGKILL'), upStopTimeoutMs);
    await exited;
    clearTimeout(killTimer);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('failover up prints the console address with the full token, and serves the console there', async () => {
  const dataDir = path.join(dir, 'data');
  const child = spawn(process.execPath, [bin, 'up', '--nodes', '2', '--port', '0', '--no-sample', '--data-dir', dataDir], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  up = child;
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no Console line within ${upStartTimeoutMs} ms:\n${out}\n${err}`)), upStartTimeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^Console: (\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`failover up exited (${code}) before printing the console address:\n${out}\n${err}`));
    });
  });

  const apiUrl = /^API: (\S+)$/m.exec(out)?.[1];
  const { tokens } = JSON.parse(fs.readFileSync(path.join(dataDir, 'api.json'), 'utf8')) as { tokens: { full: string; read: string } };
  assert.equal(line, `${apiUrl}/console/#token=${tokens.full}`);

  const consoleUrl = new URL(line);
  const token = new URLSearchParams(consoleUrl.hash.slice(1)).get('token')!;
  const page = await fetch(new URL('/console/', consoleUrl));
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<title>failover console<\/title>/);
  const session = await fetch(new URL('/console/session', consoleUrl), { headers: { authorization: `Bearer ${token}` } });
  assert.deepEqual(await session.json(), { access: 'full' });
});
