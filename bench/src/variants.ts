import { BULK_ADD_KEYS_WORKFLOW } from '@lockkeys/contracts';
import { PLAIN_WORKFLOW } from './plain/peer';

/**
 * What is measured side by side: the plain Temporal peer, lockkeys with each kind of `addKey` activity through the
 * gateway, and (on request) lockkeys local started with a bare `client.workflow.start`, which tells the gateway's
 * share apart from the workflows'.
 */
export const VARIANTS = ['plain', 'local', 'remote', 'direct'] as const;
export type VariantName = (typeof VARIANTS)[number];
/** Measured unless `--variants` says otherwise. */
export const DEFAULT_VARIANTS: readonly VariantName[] = ['plain', 'local', 'remote'];

export const VARIANT_LABEL: Readonly<Record<VariantName, string>> = {
  plain: 'plain Temporal',
  local: 'lockkeys (local)',
  remote: 'lockkeys (remote)',
  direct: 'lockkeys (local, bare start)',
};

/** The workflow type whose runs a variant starts. */
export const runWorkflowType = (variant: VariantName) =>
  variant === 'plain' ? PLAIN_WORKFLOW : BULK_ADD_KEYS_WORKFLOW;

/** `ADD_KEY_ACTIVITY` of a lockkeys variant. */
export const addKeyActivity = (variant: Exclude<VariantName, 'plain'>) => (variant === 'remote' ? 'remote' : 'local');
