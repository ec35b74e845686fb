// The control API's backend: status and readiness from a status source (one process, or a fleet of
// gateway processes), exam state, finalize and purge from the exam lifecycle.

import type { ControlBackend, ExamReport, ExamSummary, Readiness, SystemStatus } from '../src/control/control-backend.js';
import type { ExamLifecycle } from '../src/export/exam-lifecycle.js';
import type { ExportFigures } from '../src/export/export-figures.js';
import type { ExamRoster, RosterPage, RosterPosition } from '../src/redis/exam-roster.js';
import type { SinkReachability } from '../src/sinks/sink-reachability.js';
import type { StatusSource } from './root-status.js';

export class RootControlBackend implements ControlBackend {
  constructor(
    private readonly source: StatusSource,
    private readonly lifecycle: ExamLifecycle,
    private readonly rosters: ExamRoster,
    private readonly sink: SinkReachability,
    private readonly exportFigures?: ExportFigures,
  ) {}

  async status(): Promise<SystemStatus> {
    const [status, sink] = await Promise.all([this.source.status(), this.sink.read()]);
    return { ...status, ...(this.exportFigures === undefined ? {} : { export: this.exportFigures.snapshot() }), sink };
  }

  async readiness(): Promise<Readiness> {
    const [readiness, sink] = await Promise.all([this.source.readiness(), this.sink.read()]);
    return { ...readiness, sink };
  }

  exam(exam: string): Promise<ExamReport> {
    return this.lifecycle.report(exam);
  }

  exams(): Promise<ExamSummary[]> {
    return this.lifecycle.list();
  }

  roster(exam: string, limit: number, from: RosterPosition | null): Promise<RosterPage> {
    return this.rosters.page(exam, limit, from ?? undefined);
  }

  finalize(exam: string): Promise<ExamReport> {
    return this.lifecycle.finalize(exam);
  }

  purge(exam: string): Promise<{ deletedKeys: number }> {
    return this.lifecycle.purge(exam);
  }
}
