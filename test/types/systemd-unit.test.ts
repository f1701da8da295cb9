// The Systemd Unit type: validation everywhere; start, check and stop of a
// unit the test writes, where systemd runs (not in a plain container).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import type { ClusterError } from '../../src/model/errors.ts';
import { SystemdUnitType, systemdUnavailableReason } from '../../src/types/systemd-unit.ts';
import { contextFor } from './context.ts';

test('a unit name must be set and must not look like an option', async () => {
  const type = new SystemdUnitType();
  await assert.rejects(type.open(contextFor(type, 'S', { UnitName: '' })), (e: ClusterError) => e.name === 'ERROR_INVALID_PARAMETER' && /UnitName "" is not a unit name/.test(e.message));
  await assert.rejects(type.online(contextFor(type, 'S', { UnitName: '--all' })), (e: ClusterError) => e.name === 'ERROR_INVALID_PARAMETER');
});

const unavailable = systemdUnavailableReason();
const name = 'a unit is started, reported active, stopped and reported inactive';

test(unavailable ? `${name} (skipped: ${unavailable})` : name, { skip: unavailable !== undefined }, async () => {
  const unit = `failover-test-${process.pid}.service`;
  const file = `/run/systemd/system/${unit}`;
  writeFileSync(file, '[Service]\nExecStart=/bin/sleep 600\n');
  spawnSync('systemctl', ['daemon-reload']);
  const type = new SystemdUnitType();
  const ctx = contextFor(type, 'S', { UnitName: unit });
  try {
    await type.open(ctx);
    assert.equal(await type.looksAlive(ctx), false);
    await type.online(ctx);
    assert.equal(await type.looksAlive(ctx), true);
    assert.equal(await type.isAlive(ctx), true);
    assert.deepEqual(await type.control(ctx, { code: 'GetStatus' }), { active: true, text: 'active' });
    await type.offline(ctx);
    assert.equal(await type.looksAlive(ctx), false);
  } finally {
    spawnSync('systemctl', ['stop', unit]);
    rmSync(file, { force: true });
    spawnSync('systemctl', ['daemon-reload']);
  }
});
