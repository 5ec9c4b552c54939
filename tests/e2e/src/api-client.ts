import type { RunStatusBody } from '@lockkeys/contracts';
import { mintJwt } from '@lockkeys/dev-stack';
import { DEV_API_KEY, DEV_JWT_SECRET } from '@lockkeys/contracts';

/** One answer of the gateway. */
export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** A client of the gateway with the dev credentials, as a property manager's backend would call it. */
export class GatewayClient {
  private readonly jwt = mintJwt(DEV_JWT_SECRET, { sub: 'e2e', org: 'dev' });

  constructor(private readonly baseUrl: string) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      authorization: `Bearer ${this.jwt}`,
      'x-api-key': DEV_API_KEY,
      'content-type': 'application/json',
      ...extra,
    };
  }

  async bulkAddKeys(
    lockId: number,
    keys: unknown[],
    extra: Record<string, string> = {},
  ): Promise<ApiResponse<{ instanceId: string } & Record<string, unknown>>> {
    const response = await fetch(`${this.baseUrl}/locks/${lockId}/BulkAddKeys`, {
      method: 'POST',
      headers: this.headers(extra),
      body: JSON.stringify({ keys }),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as { instanceId: string } & Record<string, unknown>,
    };
  }

  async status(lockId: number, instanceId: string): Promise<ApiResponse<RunStatusBody>> {
    const response = await fetch(`${this.baseUrl}/locks/${lockId}/BulkAddKeys/${instanceId}`, {
      headers: this.headers(),
    });
    return { status: response.status, headers: response.headers, body: (await response.json()) as RunStatusBody };
  }

  async cancel(lockId: number, instanceId: string): Promise<ApiResponse<RunStatusBody & Record<string, unknown>>> {
    const response = await fetch(`${this.baseUrl}/locks/${lockId}/BulkAddKeys/${instanceId}/cancel`, {
      method: 'POST',
      headers: this.headers(),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as RunStatusBody & Record<string, unknown>,
    };
  }
}

export const keysFor = (lockId: number, indexes: number[], tag = 'k') =>
  indexes.map((i) => ({ keyUuid: `${tag}-${lockId}-${i}`, keyIndexNumber: i, userId: `user-${i}` }));
