import { BULK_ADD_KEYS_WORKFLOW } from '@lockkeys/contracts';
import { PLAIN_WORKFLOW } from './plain/peer';

/** What is measured side by side: the plain Temporal peer, and lockkeys with each kind of `addKey` activity. */
export const VARIANTS = ['plain', 'local', 'remote'] as const;
export type VariantName = (typeof VARIANTS)[number];

export const VARIANT_LABEL: Readonly<Record<VariantName, string>> = {
  plain: 'plain Temporal',
  local: 'lockkeys (local)',
  remote: 'lockkeys (remote)',
};

/** The workflow type whose runs a variant starts. */
export const runWorkflowType = (variant: VariantName) =>
  variant === 'plain' ? PLAIN_WORKFLOW : BULK_ADD_KEYS_WORKFLOW;

/** `ADD_KEY_ACTIVITY` of a lockkeys variant. */
export const addKeyActivity = (variant: Exclude<VariantName, 'plain'>) => variant;
