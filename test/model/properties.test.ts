import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  defaultsOf,
  groupCommonProperties,
  resourceCommonProperties,
  validateProperties,
} from '../../src/model/properties.ts';
import { errors, errorByCode, ClusterError } from '../../src/model/errors.ts';
import { deriveGroupState, nameProblem } from '../../src/model/objects.ts';

test('resource defaults are WSFC defaults', () => {
  const d = defaultsOf(resourceCommonProperties);
  assert.equal(d.PersistentState, 1);
  assert.equal(d.RestartAction, 2);
  assert.equal(d.RestartThreshold, 3);
  assert.equal(d.RestartPeriod, 900_000);
  assert.equal(d.RestartDelay, 500);
  assert.equal(d.RetryPeriodOnFailure, 3_600_000);
  assert.equal(d.PendingTimeout, 180_000);
  assert.equal(d.DeadlockTimeout, 300_000);
  assert.equal('LooksAlivePollInterval' in d, false, 'unset means the type default');
});

test('group defaults are WSFC defaults', () => {
  const d = defaultsOf(groupCommonProperties);
  assert.equal(d.FailoverPeriod, 6);
  assert.equal(d.AutoFailbackType, 0);
  assert.equal(d.Priority, 2000);
  assert.equal('FailoverThreshold' in d, false, 'unset means nodes - 1');
});

test('valid changes pass', () => {
  assert.equal(validateProperties('resource DB', resourceCommonProperties, { RestartAction: 1, PossibleOwners: ['n1'] }), undefined);
  assert.equal(validateProperties('group G', groupCommonProperties, { FailbackWindowStart: 22, FailbackWindowEnd: 0xffffffff }), undefined);
});

test('bad values are refused with a code that names the property', () => {
  const cases: Array<[Record<string, unknown>, number, RegExp]> = [
    [{ RestartAction: 3 }, errors.ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS.code, /RestartAction.*0, 1, 2/],
    [{ PersistentState: 'yes' }, errors.ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH.code, /PersistentState must be an integer/],
    [{ RestartThreshold: -1 }, errors.ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS.code, /RestartThreshold/],
    [{ RestartDelay: 1.5 }, errors.ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH.code, /RestartDelay/],
    [{ PendingTimeout: 0 }, errors.ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS.code, /PendingTimeout/],
    [{ PossibleOwners: 'n1' }, errors.ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH.code, /PossibleOwners must be a list/],
    [{ RestartPeriod: 2 ** 32 }, errors.ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS.code, /RestartPeriod/],
    [{ Bogus: 1 }, errors.ERROR_INVALID_PARAMETER.code, /unknown property "Bogus"/],
  ];
  for (const [changes, code, pattern] of cases) {
    const e = validateProperties('resource DB', resourceCommonProperties, changes);
    assert.equal(e?.code, code, JSON.stringify(changes));
    assert.match(e!.message, pattern);
    assert.match(e!.message, /resource DB/);
  }
  const w = validateProperties('group G', groupCommonProperties, { FailbackWindowStart: 24 });
  assert.equal(w?.code, errors.ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS.code);
});

test('error table: names and numbers agree both ways', () => {
  assert.equal(errors.ERROR_CLUSTER_GROUP_MOVING.code, 5908);
  assert.equal(errors.ERROR_INVALID_STATE.code, 5023);
  assert.equal(errors.ERROR_CIRCULAR_DEPENDENCY.code, 1059);
  assert.equal(errors.ERROR_CLUSTER_NO_QUORUM.code, 5925);
  const codes = new Set<number>();
  for (const e of Object.values(errors)) {
    assert.ok(!codes.has(e.code), `duplicate code ${e.code}`);
    codes.add(e.code);
    assert.equal(errorByCode(e.code)?.name, e.name);
  }
  const thrown = new ClusterError('ERROR_CLUSTER_GROUP_MOVING', 'group CMS01');
  assert.deepEqual(thrown.toJSON(), { code: 5908, name: 'ERROR_CLUSTER_GROUP_MOVING', message: 'group CMS01 (The group is being moved to another node.)' });
});

test('group state is derived from resource states', () => {
  assert.equal(deriveGroupState(['Online', 'Online']), 'Online');
  assert.equal(deriveGroupState(['Online', 'Offline']), 'PartialOnline');
  assert.equal(deriveGroupState(['Online', 'OnlinePending']), 'Pending');
  assert.equal(deriveGroupState(['Online', 'Failed', 'OnlinePending']), 'Failed');
  assert.equal(deriveGroupState(['Offline', 'OpenCallFailed']), 'Offline');
  assert.equal(deriveGroupState([]), 'Offline');
});

test('names: brackets, backslashes, blanks and over-long names are refused', () => {
  assert.equal(nameProblem('resource', 'Mailbox Database (CMS01/First Storage Group/Mailbox Database)'), undefined);
  assert.match(nameProblem('resource', 'a\\b')!, /backslashes/);
  assert.match(nameProblem('resource', '')!, /empty/);
  assert.match(nameProblem('resource', 'a[b')!, /brackets/);
  assert.match(nameProblem('group', ' x')!, /white space/);
  assert.match(nameProblem('node', 'x'.repeat(300))!, /longer/);
  assert.match(nameProblem('node', 42)!, /string/);
});
