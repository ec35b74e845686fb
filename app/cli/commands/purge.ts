// `untradex purge <exam>`: removes an exported exam's data from Redis; the exam stays exported.

import { ControlApiError } from '../../../src/errors.js';
import type { ControlApiClient } from '../control-api-client.js';

export async function runPurge(api: ControlApiClient, exam: string): Promise<void> {
  try {
    const { deletedKeys } = await api.post<{ deletedKeys: number }>(`/api/exams/${encodeURIComponent(exam)}/purge`);
    process.stdout.write(`exam ${exam}: data removed from Redis (${deletedKeys} keys); it stays exported, and its results are in the sink\n`);
  } catch (error) {
    if (error instanceof ControlApiError && error.status === 409) {
      throw new ControlApiError(409, error.apiError, `${error.message}: finalize it first (untradex finalize ${exam} --wait), then purge`, { cause: error });
    }
    throw error;
  }
}
