// The exam table: one row per exam with its state and counts, the export's progress bar, and the
// actions its state allows. Rows are updated in place, so focus and layout survive every refresh.

import type { ExamState, ExamSummary, ExportProgress } from './api-types.js';
import { create, required, setAttribute, setText } from './dom.js';
import { formatCount } from './figure-format.js';

export interface ExamActions {
  finalize(exam: string): void;
  purge(exam: string): void;
  roster(exam: string): void;
  /** Called when a row's state changes between two refreshes (not for the first sight of a row). */
  stateChanged(exam: string, from: ExamState, to: ExamState): void;
}

interface ExamRow {
  row: HTMLTableRowElement;
  state: HTMLElement;
  counts: { students: HTMLElement; connected: HTMLElement; submitted: HTMLElement; events: HTMLElement };
  progress: HTMLElement;
  progressFill: HTMLElement;
  progressText: HTMLElement;
  students: HTMLButtonElement;
  finalize: HTMLButtonElement;
  purge: HTMLButtonElement;
  last: ExamState;
}

const FINALIZABLE: ReadonlySet<ExamState> = new Set(['open', 'failed']);

export class ExamTable {
  private readonly rows = new Map<string, ExamRow>();
  private readonly body: HTMLTableSectionElement;
  private readonly empty: HTMLElement;
  /** Exams whose finalize or purge the operator confirmed and whose reply has not come yet. */
  private readonly busy = new Set<string>();

  constructor(
    root: HTMLElement,
    private readonly actions: ExamActions,
  ) {
    this.body = required('#exam-rows', root);
    this.empty = required('#exams-empty', root);
  }

  setBusy(exam: string, busy: boolean): void {
    if (busy) this.busy.add(exam);
    else this.busy.delete(exam);
    const row = this.rows.get(exam);
    if (row !== undefined) row.finalize.disabled = row.purge.disabled = busy;
  }

  /** `exports`: the export figures of exams past `open`, as last read from GET /api/exams/{exam}. */
  show(exams: readonly ExamSummary[], exports: ReadonlyMap<string, ExportProgress>): void {
    const listed = new Set<string>();
    for (const exam of exams) {
      listed.add(exam.exam);
      const row = this.rows.get(exam.exam) ?? this.addRow(exam.exam, exam.state);
      this.update(row, exam, exports.get(exam.exam));
    }
    for (const [exam, row] of this.rows) {
      if (listed.has(exam)) continue;
      row.row.remove();
      this.rows.delete(exam);
    }
    this.empty.hidden = this.rows.size > 0;
  }

  private addRow(exam: string, state: ExamState): ExamRow {
    const row = create('tr', { 'data-exam': exam });
    const number = () => create('td', { class: 'num' });
    const counts = { students: number(), connected: number(), submitted: number(), events: number() };
    const state$ = create('span', { class: 'badge' });
    const progress = create('div', { class: 'progress', role: 'progressbar', 'aria-label': `Export of ${exam}`, 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' });
    const progressFill = create('div', { class: 'progress-fill' });
    progress.append(progressFill);
    const progressText = create('span', { class: 'progress-text' });
    const exportCell = create('td');
    const exportLine = create('div', { class: 'export' });
    exportLine.append(progress, progressText);
    exportCell.append(exportLine);
    const students = create('button', { type: 'button', 'aria-label': `Students of ${exam}` }, 'Students');
    const finalize = create('button', { type: 'button', class: 'danger', 'aria-label': `Finalize ${exam}` }, 'Finalize');
    const purge = create('button', { type: 'button', 'aria-label': `Purge ${exam}` }, 'Purge');
    students.addEventListener('click', () => this.actions.roster(exam));
    finalize.addEventListener('click', () => this.actions.finalize(exam));
    purge.addEventListener('click', () => this.actions.purge(exam));
    const actionCell = create('td');
    const actionLine = create('div', { class: 'actions' });
    actionLine.append(students, finalize, purge);
    actionCell.append(actionLine);
    const stateCell = create('td');
    stateCell.append(state$);
    row.append(create('th', { scope: 'row', class: 'exam-id', title: exam }, exam), stateCell, counts.students, counts.connected, counts.submitted, counts.events, exportCell, actionCell);

    // Kept in id order, so rows never trade places while the operator reads them.
    const next = [...this.rows.keys()].filter((other) => compareIds(other, exam) > 0).sort(compareIds)[0];
    this.body.insertBefore(row, next === undefined ? null : this.rows.get(next)!.row);
    const added: ExamRow = { row, state: state$, counts, progress, progressFill, progressText, students, finalize, purge, last: state };
    this.rows.set(exam, added);
    return added;
  }

  private update(row: ExamRow, exam: ExamSummary, progress: ExportProgress | undefined): void {
    if (row.last !== exam.state) {
      const from = row.last;
      row.last = exam.state;
      this.actions.stateChanged(exam.exam, from, exam.state);
    }
    setAttribute(row.row, 'data-state', exam.state);
    setAttribute(row.state, 'data-state', exam.state);
    setText(row.state, exam.state);
    setText(row.counts.students, formatCount(exam.students));
    setText(row.counts.connected, formatCount(exam.connected));
    setText(row.counts.submitted, formatCount(exam.submitted));
    setText(row.counts.events, formatCount(exam.events));
    this.showProgress(row, exam.state, progress);

    const busy = this.busy.has(exam.exam);
    const hadFocus = row.finalize === document.activeElement || row.purge === document.activeElement;
    row.finalize.hidden = !FINALIZABLE.has(exam.state);
    row.purge.hidden = exam.state !== 'exported';
    row.finalize.disabled = row.purge.disabled = busy;
    // A keyboard user whose button just went away stays in the row rather than at the page's top.
    if (hadFocus && (document.activeElement === document.body || document.activeElement === null)) row.students.focus();
  }

  private showProgress(row: ExamRow, state: ExamState, progress: ExportProgress | undefined): void {
    const exporting = state !== 'open';
    row.progress.hidden = !exporting;
    if (!exporting) {
      setText(row.progressText, '–');
      setAttribute(row.progressText, 'title', 'Not finalized yet');
      return;
    }
    const percent = state === 'exported' ? 100 : Math.max(0, Math.min(100, progress?.percent ?? 0));
    setAttribute(row.progress, 'aria-valuenow', String(percent));
    const rows = progress === undefined ? '' : ` · ${formatCount(progress.rows)} rows`;
    let text: string;
    if (state === 'closing') text = 'Draining…';
    else if (state === 'exported') text = `Done${rows}`;
    else if (state === 'failed') text = `Failed at ${percent} %${rows}`;
    else text = progress === undefined ? `${percent} %` : `${percent} % · ${progress.bucketsDone}/${progress.bucketsTotal} buckets${rows}`;
    setAttribute(row.progress, 'aria-valuetext', text);
    setAttribute(row.progress, 'data-state', state);
    row.progressFill.style.transform = `scaleX(${percent / 100})`;
    setText(row.progressText, text);
    setAttribute(row.progressText, 'title', state === 'failed' && progress?.error ? `${text}. ${progress.error}` : text);
  }

  /** The row's Students button, to give focus back after a dialog that ended the row's other actions. */
  focusRow(exam: string): void {
    this.rows.get(exam)?.students.focus();
  }

  clear(): void {
    for (const row of this.rows.values()) row.row.remove();
    this.rows.clear();
    this.busy.clear();
  }
}

/** Ids in a natural order: E2 before E10. */
function compareIds(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
