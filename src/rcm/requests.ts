// Requests from the cluster API: validated at once (reply), long ones tracked
// until they end (operationEnded). While a group's move is active every request
// on the group is answered ERROR_CLUSTER_GROUP_MOVING (5908) — and only then.
import { clusterError, messages, type ClusterErrorValue } from '../model/index.ts';
import { canHost, withPersistentState } from './config.ts';
import type { Step } from './context.ts';
import { startMove, startOperation } from './groups.ts';
import { failOnRequest, setWant, startReset } from './lifecycle.ts';
import { isUpState } from './transitions.ts';
import type { Operation, RcmInput } from './types.ts';

const q = JSON.stringify;

const apiNames: { readonly [K in Operation['op']]: string } = {
  onlineGroup: 'OnlineGroup',
  offlineGroup: 'OfflineGroup',
  onlineResource: 'OnlineResource',
  offlineResource: 'OfflineResource',
  failResource: 'FailResource',
  resetResource: 'ResetResource',
  moveGroup: 'MoveGroup',
};

function setPersistentState(step: Step, resource: string, value: 0 | 1): void {
  step.config = withPersistentState(step.config, resource, value);
  step.emit({ type: 'setPersistentState', resource, value });
}

export function onRequest(step: Step, input: Extract<RcmInput, { type: 'request' }>): void {
  const { requestId, op } = input;
  const refuse = (error: ClusterErrorValue): void => step.emit({ type: 'reply', requestId, ok: false, error });
  const accept = (): void => step.emit({ type: 'reply', requestId, ok: true });

  // Resolve the group the request is about.
  let group: string;
  let resource: string | undefined;
  if ('resource' in op) {
    resource = op.resource;
    const cfg = step.config.resources.get(resource);
    if (!cfg || !step.resource(resource)) return refuse(clusterError('ERROR_RESOURCE_NOT_FOUND', `resource ${q(resource)} not found`));
    group = cfg.group;
  } else {
    group = op.group;
    if (!step.config.groups.has(group) || !step.group(group)) return refuse(clusterError('ERROR_GROUP_NOT_FOUND', `group ${q(group)} not found`));
  }
  const g = step.group(group)!;

  if (op.op === 'onlineResource') step.log(messages.onlineResourceRequest(op.resource));
  if (op.op === 'offlineResource') step.log(messages.offlineResourceRequest(op.resource));
  if (op.op === 'resetResource') step.log(messages.resetResourceRequest(op.resource));

  if (g.move) {
    step.log(messages.groupMovingRetry(apiNames[op.op], group));
    return refuse(clusterError('ERROR_CLUSTER_GROUP_MOVING', `group ${q(group)} is moving to ${q(g.move.to)} (phase ${g.move.phase}); retry when the move has ended`));
  }
  // A reset is local to this node (every node opens every resource); everything else needs the owner.
  if (op.op !== 'resetResource' && !g.owned) {
    return refuse(
      resource !== undefined
        ? clusterError('ERROR_HOST_NODE_NOT_RESOURCE_OWNER', `node ${q(step.node.name)} does not own group ${q(group)} of resource ${q(resource)}`)
        : clusterError('ERROR_HOST_NODE_NOT_GROUP_OWNER', `node ${q(step.node.name)} does not own group ${q(group)}`),
    );
  }
  if (resource !== undefined && step.resource(resource)!.reset) {
    return refuse(clusterError('ERROR_INVALID_STATE', `resource ${q(resource)} is being reset`));
  }
  const members = step.config.groupResources.get(group) ?? [];

  switch (op.op) {
    case 'onlineResource': {
      if (!canHost(step.config, op.resource, step.node.name)) {
        step.log(messages.cannotHost(op.resource, step.node.name, 5071));
        return refuse(clusterError('ERROR_NODE_CANT_HOST_RESOURCE', `node ${q(step.node.name)} is not a possible owner of resource ${q(op.resource)}`));
      }
      const badExpression = step.config.dependencyErrors.get(op.resource);
      if (badExpression) return refuse(badExpression);
      setPersistentState(step, op.resource, 1);
      accept();
      setWant(step, op.resource, 'online');
      startOperation(step, requestId, group, [op.resource], 'online');
      return;
    }
    case 'offlineResource':
      setPersistentState(step, op.resource, 0);
      accept();
      setWant(step, op.resource, 'offline');
      startOperation(step, requestId, group, [op.resource], 'offline');
      return;
    case 'onlineGroup':
      for (const n of members) setPersistentState(step, n, 1);
      accept();
      for (const n of members) setWant(step, n, 'online');
      startOperation(step, requestId, group, members, 'online');
      return;
    case 'offlineGroup':
      for (const n of members) setPersistentState(step, n, 0);
      accept();
      for (const n of members) setWant(step, n, 'offline');
      startOperation(step, requestId, group, members, 'offline');
      return;
    case 'failResource': {
      const state = step.resource(op.resource)!.state;
      if (state !== 'Online') return refuse(clusterError('ERROR_INVALID_STATE', `resource ${q(op.resource)} is ${state}, not Online; only an Online resource can be failed`));
      accept();
      failOnRequest(step, op.resource);
      // The request is done once the failure is in hand (the restart policy takes it from there); it must end, or its operation waits forever.
      step.emit({ type: 'operationEnded', requestId, ok: true });
      return;
    }
    case 'resetResource': {
      // Resetting a provider under running dependents would pull the ground from under them.
      const upDependent = (step.config.dependents.get(op.resource) ?? []).find((d) => {
        const s = step.resource(d)?.state;
        return s !== undefined && (isUpState(s) || s === 'WaitingToComeOnline');
      });
      if (upDependent !== undefined) {
        return refuse(
          clusterError(
            'ERROR_INVALID_STATE',
            `resource ${q(op.resource)} cannot be reset while its dependent ${q(upDependent)} is ${step.resource(upDependent)!.state}; take ${q(upDependent)} offline first`,
          ),
        );
      }
      accept();
      startReset(step, op.resource);
      startOperation(step, requestId, group, [op.resource], 'reset');
      return;
    }
    case 'moveGroup': {
      const to = op.target === 'best' ? op.bestTarget : op.target;
      if (to === undefined) {
        return refuse(clusterError('ERROR_INVALID_PARAMETER', `move of group ${q(group)} to the best node needs the node the placement policy chose (bestTarget)`));
      }
      const target = step.config.nodes.get(to);
      if (!target) return refuse(clusterError('ERROR_CLUSTER_NODE_NOT_FOUND', `node ${q(to)} not found`));
      const refusing = members.find((n) => !canHost(step.config, n, to));
      if (refusing !== undefined) {
        return refuse(clusterError('ERROR_HOST_NODE_NOT_RESOURCE_OWNER', `node ${q(to)} is not a possible owner of resource ${q(refusing)} of group ${q(group)}`));
      }
      step.log(messages.moveGroupRequest(group, target.id));
      if (to === step.node.name) {
        // Already here: nothing to move.
        accept();
        step.emit({ type: 'operationEnded', requestId, ok: true });
        return;
      }
      step.log(messages.groupMoveOperation(group, target.id));
      accept();
      startMove(step, requestId, group, to, op.returnToSourceOnError ?? false, op.kind ?? 'Manual');
      return;
    }
  }
}
