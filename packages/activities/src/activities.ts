import { Context } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  FINAL_LOCK_BACKEND_FAILURES,
  WEBHOOK_ENDPOINT_WORKFLOW,
  webhookEndpointWorkflowId,
  webhookEventSignal,
  type AddKeyFailureDetails,
  type AddKeyInput,
  type AddKeyResult,
  type RunClosedEventType,
  type WebhookBatchOutcome,
  type WebhookEndpointWorkflow,
  type WebhookEndpoints,
  type WebhookEvent,
  type RunSettings,
  type RunWhereabouts,
  type TaskQueues,
  WEBHOOK_DELIVERIES_METRIC,
} from '@lockkeys/contracts';
import { LockBackendError, type LockBackend } from './lock-backend';
import { ClosedRuns, readAhead } from './closed-runs';
import { runClosedEvent, webhookIdOf, WebhookSender } from './webhooks';

/** Webhook bodies read from Temporal ahead of the send under way; the sends stay one at a time, in order. */
const BODIES_READ_AHEAD = 8;

/** What a run says of itself when it closes, for its webhook. */
export interface RunClosing {
  type: RunClosedEventType;
  instanceId: string;
  orgId: string;
}

export interface ActivityDependencies {
  lockBackend: LockBackend;
  /** Settings each run records at its start (see {@link RunSettings}). */
  runSettings: RunSettings;
  /** The worker's own client, and the task queues of the webhook deliveries. */
  temporal: { client: Client; taskQueues: TaskQueues };
  /** Each organization's webhook endpoint (`WEBHOOKS_FILE`), and how to reach it. */
  webhooks: { endpoints: WebhookEndpoints; attemptTimeoutMs: number };
}

/** The activities the worker registers; workflows proxy them by type only. */
export function createActivities({ lockBackend, runSettings, temporal, webhooks }: ActivityDependencies) {
  const { client, taskQueues } = temporal;
  const sender = new WebhookSender(webhooks.endpoints, webhooks.attemptTimeoutMs);
  const closedRuns = new ClosedRuns(client);
  const gaps = new CommandGaps();
  return {
    /** Worker-side settings of a run, recorded in its history (called as a local activity). */
    async readRunSettings(): Promise<RunSettings> {
      return runSettings;
    },

    /**
     * Where the runs a lock holds places for stand, by Temporal (local activity of the lock's workflow, at its
     * reviews): a run that was terminated never told its lock it closed; a missing one was never started.
     */
    async lookUpRuns(instanceIds: string[]): Promise<Record<string, RunWhereabouts>> {
      const found = await Promise.all(
        instanceIds.map(async (instanceId): Promise<[string, RunWhereabouts]> => {
          try {
            const { status } = await client.workflow.getHandle(instanceId).describe();
            const where =
              status.name === 'RUNNING'
                ? 'open'
                : status.name === 'TERMINATED' || status.name === 'TIMED_OUT'
                  ? 'vanished'
                  : 'closed';
            return [instanceId, where];
          } catch (error) {
            if (error instanceof WorkflowNotFoundError) return [instanceId, 'missing'];
            throw error;
          }
        }),
      );
      return Object.fromEntries(found);
    },

    /**
     * One command to the lock for one key, nothing else: the gap before it is the workflow's sleep. Runs as a
     * local activity or as a regular one (`RunSettings.addKey.activity`). Final answers
     * (404/409/422) become non-retryable failures; everything else is retryable and the retry policy spaces it.
     */
    async addKey({ lockId, key }: AddKeyInput): Promise<AddKeyResult> {
      const { info, metricMeter } = Context.current();
      const commands = metricMeter.createCounter(
        'lockkeys_lock_commands',
        'commands',
        'Commands sent to locks, by answer',
      );
      const gapMs = gaps.record(lockId, Date.now());
      if (gapMs !== undefined) {
        metricMeter
          .createHistogram(
            'lockkeys_command_gap',
            'int',
            'ms',
            'Time between two commands to one lock from this worker',
          )
          .record(gapMs);
      }
      try {
        // Not aborted on cancel: a command that went out finishes, so no key is left half-written.
        const outcome = await lockBackend.putKey(lockId, key);
        commands.add(1, { answer: outcome });
        // A key found already in its slot was sent before, without its answer reaching the run (a dropped reply, a
        // worker or server that died mid-task — after which a local activity starts again at attempt 1): count that
        // earlier command too.
        return { outcome, attempt: outcome === 'alreadyPresent' ? Math.max(info.attempt, 2) : info.attempt };
      } catch (error) {
        commands.add(1, { answer: error instanceof LockBackendError ? error.type : 'Error' });
        if (!(error instanceof LockBackendError)) throw error;
        const details: AddKeyFailureDetails = { attempt: info.attempt, httpStatus: error.httpStatus };
        throw ApplicationFailure.create({
          type: error.type,
          message: error.message,
          nonRetryable: FINAL_LOCK_BACKEND_FAILURES.includes(error.type),
          details: [details],
        });
      }
    },

    /**
     * Announces a run's closing to its organization's endpoint (local activity of the run, just before it closes):
     * signal-with-start of the endpoint's workflow, so it starts if none runs. The event's `webhook-id` is derived
     * from the run, so a repeated announcement is the same event (the endpoint keeps it once).
     */
    async announceRunClosed(closing: RunClosing): Promise<{ announced: boolean }> {
      if (!webhooks.endpoints.has(closing.orgId)) return { announced: false };
      const event: WebhookEvent = {
        webhookId: webhookIdOf(closing.instanceId, closing.type),
        instanceId: closing.instanceId,
        type: closing.type,
        announcedAt: Date.now(),
      };
      await client.workflow.signalWithStart<WebhookEndpointWorkflow, [WebhookEvent]>(WEBHOOK_ENDPOINT_WORKFLOW, {
        workflowId: webhookEndpointWorkflowId(closing.orgId),
        taskQueue: taskQueues.webhooks,
        args: [{ orgId: closing.orgId }],
        signal: webhookEventSignal,
        signalArgs: [event],
        staticSummary: `Completion webhooks of org ${closing.orgId}, in order`,
      });
      return { announced: true };
    },

    /**
     * Delivers `events` to the organization's endpoint, one after another, each built from its run as Temporal keeps
     * it and signed; stops at the first that is not delivered (the endpoint's workflow backs off and tries it again).
     * A heartbeat after each says how far it got, so a worker that dies mid-batch costs a resend, never an event.
     */
    async deliverWebhookEvents({
      orgId,
      events,
    }: {
      orgId: string;
      events: WebhookEvent[];
    }): Promise<WebhookBatchOutcome> {
      const context = Context.current();
      const deliveries = context.metricMeter.createCounter(
        WEBHOOK_DELIVERIES_METRIC.name,
        WEBHOOK_DELIVERIES_METRIC.unit,
        WEBHOOK_DELIVERIES_METRIC.description,
      );
      const bodyOf = readAhead(events, (event) => closedRuns.statusOf(event.instanceId), BODIES_READ_AHEAD);
      for (const [delivered, event] of events.entries()) {
        try {
          const body = await bodyOf(delivered);
          await sender.send(runClosedEvent(orgId, body, event.type));
        } catch (error) {
          deliveries.add(1, { outcome: 'failed' });
          return { delivered, failure: error instanceof Error ? error.message : String(error) };
        }
        deliveries.add(1, { outcome: 'delivered' });
        context.heartbeat(delivered + 1);
      }
      return { delivered: events.length };
    },
  };
}

/**
 * When this process last sent a command to each lock, for `lockkeys_command_gap`: measured where the commands
 * leave, it shows any gap under `KEY_COMMAND_GAP_MS` this worker would cause. Bounded, oldest locks forgotten first.
 */
class CommandGaps {
  private readonly lastSentAt = new Map<number, number>();

  /** Milliseconds since this process's previous command to `lockId` (within ten minutes), or undefined. */
  record(lockId: number, sentAt: number): number | undefined {
    const previous = this.lastSentAt.get(lockId);
    this.lastSentAt.delete(lockId);
    this.lastSentAt.set(lockId, sentAt);
    if (this.lastSentAt.size > 10_000) this.lastSentAt.delete(this.lastSentAt.keys().next().value!);
    return previous !== undefined && sentAt - previous < 10 * 60_000 ? sentAt - previous : undefined;
  }
}

/** The activity object's type, for `proxyActivities<Activities>()` in workflow code. */
export type Activities = ReturnType<typeof createActivities>;
