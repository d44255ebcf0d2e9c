/**
 * Which job definition each workflow name builds. Each refuses at its
 * pre-check, with the reason in plain words, when the device is not one it
 * can work on, so the UI and CLI say so instead of failing halfway.
 */
import type { WorkflowName, WorkflowOptions } from '../api/contract.ts';
import type { DeviceRegistry } from '../devices/registry.ts';
import type { JobDefinition } from './job.ts';
import { detectJob } from './detect.ts';
import { diagnoseJob } from './diagnose.ts';
import { unbrickJob } from './unbrick.ts';
import { recoverJob } from './recover.ts';
import { updateJob } from './update.ts';

export interface WorkflowEnv {
  devices: DeviceRegistry;
  /** The data directory (golden library, trust store). */
  dataDir: string;
}

type Builder<W extends WorkflowName> = (env: WorkflowEnv, deviceId: string, options: WorkflowOptions[W]) => JobDefinition<unknown>;

export const WORKFLOW_BUILDERS: { [W in WorkflowName]: Builder<W> } = {
  detect: (env, deviceId) => detectJob(env.devices, deviceId) as JobDefinition<unknown>,
  diagnose: (env, deviceId) => diagnoseJob(env.devices, deviceId, env.dataDir) as JobDefinition<unknown>,
  recover: (env, deviceId, options) => recoverJob(env.devices, deviceId, env.dataDir, options) as JobDefinition<unknown>,
  unbrick: (env, deviceId, options) => unbrickJob(env.devices, deviceId, env.dataDir, options) as JobDefinition<unknown>,
  update: (env, deviceId, options) => updateJob(env.devices, deviceId, env.dataDir, options) as JobDefinition<unknown>,
};
