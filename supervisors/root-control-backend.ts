// The control API's backend: status and readiness from a status source (one process, or a fleet of
// gateway processes), exam state, finalize and purge from the exam lifecycle.

import type { ControlBackend, ExamReport, Readiness, SystemStatus } from '../src/control/control-backend.js';
import type { ExamLifecycle } from '../src/export/exam-lifecycle.js';
import type { StatusSource } from './root-status.js';

export class RootControlBackend implements ControlBackend {
  constructor(
    private readonly source: StatusSource,
    private readonly exams: ExamLifecycle,
  ) {}

  status(): Promise<SystemStatus> {
    return this.source.status();
  }

  readiness(): Promise<Readiness> {
    return this.source.readiness();
  }

  exam(exam: string): Promise<ExamReport> {
    return this.exams.report(exam);
  }

  finalize(exam: string): Promise<ExamReport> {
    return this.exams.finalize(exam);
  }

  purge(exam: string): Promise<{ deletedKeys: number }> {
    return this.exams.purge(exam);
  }
}
