// This process's export figures since it started, for /api/status and /metrics: rows and buckets
// committed, failed bucket attempts by error code, and the rate of the exports running now.

/** What /api/status shows as `export`. */
export interface ExportFiguresSnapshot {
  /** Rows committed to the sink by this process's export jobs. */
  rows: number;
  /** Buckets committed and marked done. */
  bucketsDone: number;
  /** Bucket attempts that failed (retried or not), by error code (UX_ERR_SINK...). */
  bucketErrors: Record<string, number>;
  /** Export jobs running in this process now. */
  running: number;
  /** Rows per second of the running jobs, each since it started; 0 when none runs. */
  rowsPerSecond: number;
}

interface RateSource {
  progress(): { rowsPerSecond: number };
}

export class ExportFigures {
  private rows = 0;
  private bucketsDone = 0;
  private readonly bucketErrors: Record<string, number> = {};
  private readonly jobs = new Set<RateSource>();

  bucketCommitted(rows: number): void {
    this.rows += rows;
    this.bucketsDone += 1;
  }

  bucketFailed(code: string): void {
    this.bucketErrors[code] = (this.bucketErrors[code] ?? 0) + 1;
  }

  /** Counts the job's rate while it runs; returns the function that stops counting it. */
  jobStarted(job: RateSource): () => void {
    this.jobs.add(job);
    return () => this.jobs.delete(job);
  }

  snapshot(): ExportFiguresSnapshot {
    let rowsPerSecond = 0;
    for (const job of this.jobs) rowsPerSecond += job.progress().rowsPerSecond;
    return { rows: this.rows, bucketsDone: this.bucketsDone, bucketErrors: { ...this.bucketErrors }, running: this.jobs.size, rowsPerSecond };
  }
}
