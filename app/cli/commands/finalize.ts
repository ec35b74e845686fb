// `untradex finalize <exam> [--wait]`: starts (or resumes) the export and, with --wait, follows it
// to the end: a progress bar on a terminal, one line per step otherwise; exit 0 exported, 1 failed.

import cliProgress from 'cli-progress';
import type { ExamReport } from '../../../src/control/control-backend.js';
import { ExportError } from '../../../src/errors.js';
import type { ControlApiClient } from '../control-api-client.js';
import { formatCell } from '../text-table.js';

const POLL_MS = 500;

export interface FinalizeOptions {
  wait?: boolean;
}

/** How the progress is shown: a redrawn bar, or a line whenever something changed. */
interface ProgressView {
  update(report: ExamReport): void;
  stop(): void;
}

export async function runFinalize(api: ControlApiClient, exam: string, options: FinalizeOptions): Promise<void> {
  const path = `/api/exams/${encodeURIComponent(exam)}`;
  const started = await api.post<{ exam: string; state: string }>(`${path}/finalize`);
  if (options.wait !== true) {
    process.stdout.write(`exam ${exam}: ${started.state}${started.state === 'exported' ? '' : ` (untradex finalize ${exam} --wait follows the export)`}\n`);
    return;
  }
  const view: ProgressView = process.stdout.isTTY === true ? new ProgressBar(exam) : new ProgressLines(exam);
  let report: ExamReport;
  try {
    for (;;) {
      report = await api.get<ExamReport>(path);
      view.update(report);
      if (report.state === 'exported' || report.state === 'failed') break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    view.stop();
  }
  const { rows, bucketsTotal, error } = report.export;
  if (report.state === 'failed') {
    throw new ExportError(`the export of exam ${exam} failed: ${error ?? 'no reason given'}. Fix the cause, then run \`untradex finalize ${exam} --wait\` again: it resumes where it stopped`);
  }
  process.stdout.write(`exam ${exam}: exported, ${bucketsTotal} buckets, ${formatCell(rows)} rows; ${formatCell(report.students)} students, ${formatCell(report.submitted)} submitted\n`);
}

function step(report: ExamReport): string {
  const { bucketsDone, bucketsTotal, rows, percent } = report.export;
  const line = `${report.state}, ${bucketsDone}/${bucketsTotal} buckets, ${formatCell(rows)} rows (${percent}%)`;
  // A Redis Cluster shard outage: say which shard the finalize waits for (it goes on by itself).
  return report.waiting == null ? line : `${line}; waiting for Redis shard ${report.waiting.shards.join(', ')}`;
}

class ProgressLines implements ProgressView {
  private last = '';

  constructor(private readonly exam: string) {}

  update(report: ExamReport): void {
    const line = step(report);
    if (line === this.last) return;
    this.last = line;
    process.stdout.write(`exam ${this.exam}: ${line}\n`);
  }

  stop(): void {}
}

class ProgressBar implements ProgressView {
  private readonly bar: cliProgress.SingleBar;
  private started = false;

  constructor(exam: string) {
    this.bar = new cliProgress.SingleBar(
      { format: `${exam} [{bar}] {percentage}% | {value}/{total} buckets | {rows} rows | {state}`, stream: process.stdout, hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
  }

  update(report: ExamReport): void {
    const { bucketsDone, bucketsTotal, rows } = report.export;
    const payload = { rows: formatCell(rows), state: report.state };
    if (!this.started) {
      this.bar.start(bucketsTotal, bucketsDone, payload);
      this.started = true;
    } else {
      this.bar.update(bucketsDone, payload);
    }
  }

  stop(): void {
    if (this.started) this.bar.stop();
  }
}
