/**
 * Which job definition each workflow name builds. Workflows whose protocol
 * stack has not landed yet refuse at their pre-check with that reason, so the
 * UI and CLI show it plainly instead of failing halfway.
 */
import type { WorkflowName, WorkflowOptions } from '../api/contract.ts';
import type { DeviceRegistry } from './devices.ts';
import type { JobDefinition } from './job.ts';
import { detectJob } from './detect.ts';
import { diagnoseJob } from './diagnose.ts';
import { unbrickJob } from './unbrick.ts';
import { recoverJob } from './recover.ts';
import { updateJob } from './update.ts';

export interface WorkflowEnv {
  devices: DeviceRegistry;
}

type Builder<W extends WorkflowName> = (env: WorkflowEnv, deviceId: string, options: WorkflowOptions[W]) => JobDefinition<unknown>;

const notYet =
  (workflow: WorkflowName, needs: string): Builder<WorkflowName> =>
  (_env, deviceId) => ({
    workflow,
    deviceId,
    state: {},
    steps: [],
    precheck: () => `${workflow[0]!.toUpperCase()}${workflow.slice(1)} needs ${needs}, which is not part of this build yet.`,
    result: () => ({ summary: 'Not run.' }),
  });

export const WORKFLOW_BUILDERS: { [W in WorkflowName]: Builder<W> } = {
  detect: (env, deviceId) => detectJob(env.devices, deviceId) as JobDefinition<unknown>,
  diagnose: (env, deviceId) => diagnoseJob(env.devices, deviceId) as JobDefinition<unknown>,
  recover: (env, deviceId, options) => recoverJob(env.devices, deviceId, options) as JobDefinition<unknown>,
  unbrick: (env, deviceId) => unbrickJob(env.devices, deviceId) as JobDefinition<unknown>,
  update: (env, deviceId, options) => updateJob(env.devices, deviceId, options) as JobDefinition<unknown>,
};
