// The operator console (GET / on the control port, docs/PROTOCOL.md section 8): sign in with the admin
// token, then live figures, the exam table with finalize and purge, and each exam's roster.

import type { ExamState, ExamSummary, ExportProgress, SystemStatus } from './api-types.js';
import { ConfirmDialog } from './confirm-dialog.js';
import { ControlApi, ApiCallError, REFUSED_TOKEN_TEXT } from './control-api.js';
import { required, setAttribute, setText } from './dom.js';
import { ExamTable } from './exam-table.js';
import { formatClock, formatCount } from './figure-format.js';
import { LiveFigures } from './live-figures.js';
import { RosterView } from './roster-view.js';

/** The tab's session only: closing the tab signs out, and no cookie ever carries the token. */
const TOKEN_KEY = 'untradex.adminToken';
/** Status (and the chart) every second; the exam list at least every 2 s (section 8). */
const TICK_MS = 1000;
const EXAMS_EVERY_TICKS = 2;
const ROSTER_EVERY_TICKS = 5;
/** States whose export figures are read on each exam refresh; an exported exam's are read once. */
const MOVING: ReadonlySet<ExamState> = new Set(['closing', 'exporting', 'failed']);

const signedOut = required('#signed-out');
const signedIn = required('#signed-in');
const signInForm = required<HTMLFormElement>('#sign-in-form');
const tokenInput = required<HTMLInputElement>('#token');
const signInButton = required<HTMLButtonElement>('#sign-in');
const signInError = required('#sign-in-error');
const signOutButton = required<HTMLButtonElement>('#sign-out');
const freshness = required('#freshness');
const problem = required('#problem');
const examsNote = required('#exams-note');
const examsAlert = required('#exams-alert');

const dialog = new ConfirmDialog();
const figures = new LiveFigures(required('#figures'));
const table = new ExamTable(required('#exams'), {
  finalize: (exam) => void finalize(exam),
  purge: (exam) => void purge(exam),
  roster: (exam) => {
    roster.open(exam);
    roster.showTotals(exams.get(exam));
  },
  stateChanged: (exam, _from, to) => announceState(exam, to),
});
const roster = new RosterView(required('#roster'), () => currentApi(), (error) => showActionProblem(error));

let api: ControlApi | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;
let ticks = 0;
let lastGood: Date | null = null;
/** The last exam list, by id. */
let exams = new Map<string, ExamSummary>();
/** Export figures of exams past `open`. */
const exportFigures = new Map<string, ExportProgress>();
/** Exams whose export figures must be read on the next exam refresh. */
const watch = new Set<string>();

function currentApi(): ControlApi {
  if (api === null) throw new ApiCallError('refused', REFUSED_TOKEN_TEXT, 401);
  return api;
}

signInForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = tokenInput.value.trim();
  if (token === '') {
    setText(signInError, 'Enter the admin token first.');
    tokenInput.focus();
    return;
  }
  void signIn(token, true);
});
signOutButton.addEventListener('click', () => signOut(''));

const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved !== null && saved !== '') void signIn(saved, false);
else showSignedOut('');

async function signIn(token: string, typed: boolean): Promise<void> {
  signInButton.disabled = true;
  setText(signInError, '');
  const candidate = new ControlApi(token);
  let status: SystemStatus;
  try {
    status = await candidate.status();
  } catch (error) {
    if (error instanceof ApiCallError && error.failure === 'refused') sessionStorage.removeItem(TOKEN_KEY);
    showSignedOut(error instanceof ApiCallError ? error.message : String(error));
    return;
  } finally {
    signInButton.disabled = false;
  }
  api = candidate;
  sessionStorage.setItem(TOKEN_KEY, token);
  tokenInput.value = '';
  showSignedIn();
  figures.show(status, Date.now());
  markFresh();
  if (typed) required('#exams-title').focus();
  try {
    await refreshExams();
  } catch (error) {
    // The token is good: what failed is shown, and the next refresh tries again.
    if (api === candidate) showProblem(error);
  }
  if (api === candidate) schedule();
}

function signOut(reason: string): void {
  api = null;
  if (timer !== null) clearTimeout(timer);
  timer = null;
  sessionStorage.removeItem(TOKEN_KEY);
  dialog.dismiss();
  roster.close();
  table.clear();
  figures.reset();
  exams = new Map();
  exportFigures.clear();
  watch.clear();
  clearActionProblem();
  setText(examsNote, '');
  showSignedOut(reason);
}

function showSignedOut(reason: string): void {
  signedIn.hidden = true;
  signOutButton.hidden = true;
  freshness.hidden = true;
  problem.hidden = true;
  signedOut.hidden = false;
  setText(signInError, reason);
  tokenInput.focus();
  if (reason !== '') tokenInput.select();
}

function showSignedIn(): void {
  signedOut.hidden = true;
  signedIn.hidden = false;
  signOutButton.hidden = false;
  freshness.hidden = false;
}

function schedule(): void {
  if (timer !== null) clearTimeout(timer);
  timer = setTimeout(() => void tick(), TICK_MS);
}

/** One refresh; the next is scheduled when this one ends, so slow replies never pile up. */
async function tick(): Promise<void> {
  const session = api;
  if (session === null) return;
  ticks += 1;
  try {
    // While an export moves, its bar is read every tick; the whole list every other.
    const moving = watch.size > 0 || [...exams.values()].some((exam) => exam.state === 'closing' || exam.state === 'exporting');
    const status = await session.status();
    if (api !== session) return;
    figures.show(status, Date.now());
    if (ticks % EXAMS_EVERY_TICKS === 0) await refreshExams();
    else if (moving) await refreshExams(false);
    if (ticks % ROSTER_EVERY_TICKS === 0) void roster.refresh(true);
    markFresh();
  } catch (error) {
    if (api !== session) return;
    showProblem(error);
  }
  if (api === session) schedule();
}

/**
 * The exam list (every exam's counts: one Redis call per bucket and exam, so every 2 s, not every
 * second) and the export figures of the exams whose export moves; `withList` false reads only those.
 */
async function refreshExams(withList = true): Promise<void> {
  const session = currentApi();
  const list = withList ? await session.exams() : [...exams.values()];
  const next = new Map(list.map((exam) => [exam.exam, exam]));
  // Export figures: every refresh while an export moves, once for an exported exam.
  const wanted = list.filter((exam) => MOVING.has(exam.state) || watch.has(exam.exam) || (exam.state === 'exported' && !exportFigures.has(exam.exam)));
  const reports = await Promise.all(wanted.map((exam) => session.exam(exam.exam)));
  if (api !== session) return;
  for (const report of reports) {
    exportFigures.set(report.exam, report.export);
    // The detail was read after the list: its state is the newer one.
    next.set(report.exam, { exam: report.exam, state: report.state, students: report.students, events: report.events, submitted: report.submitted, connected: report.connected });
    if (report.state !== 'open' && report.state !== 'closing') watch.delete(report.exam);
  }
  exams = next;
  table.show([...next.values()], exportFigures);
  if (roster.openExam !== null) roster.showTotals(next.get(roster.openExam));
}

function markFresh(): void {
  lastGood = new Date();
  problem.hidden = true;
  delete signedIn.dataset.stale;
  setAttribute(freshness, 'data-state', 'live');
  setText(freshness, `Live · updated ${formatClock(lastGood)}`);
}

/** A refresh that failed: shown until a refresh succeeds. */
function showProblem(error: unknown): void {
  if (error instanceof ApiCallError && error.failure === 'refused') {
    // The server restarted with another token, or the token was rotated.
    signOut(REFUSED_TOKEN_TEXT);
    return;
  }
  problem.hidden = false;
  setText(problem, error instanceof Error ? error.message : String(error));
  signedIn.dataset.stale = 'true';
  setAttribute(freshness, 'data-state', 'stale');
  setText(freshness, lastGood === null ? 'Not updated' : `Not updated since ${formatClock(lastGood)}`);
}

/** An action that failed, or an export that did: shown until the next action. */
function showActionProblem(error: unknown): void {
  if (error instanceof ApiCallError && error.failure === 'refused') return showProblem(error);
  setText(examsNote, '');
  examsAlert.hidden = false;
  setText(examsAlert, error instanceof Error ? error.message : String(error));
}

function clearActionProblem(): void {
  examsAlert.hidden = true;
  setText(examsAlert, '');
}

function announceState(exam: string, to: ExamState): void {
  const progress = exportFigures.get(exam);
  if (to === 'exported') setText(examsNote, `${exam} is exported: ${formatCount(progress?.rows ?? 0)} rows are in the database.`);
  else if (to === 'exporting') setText(examsNote, `${exam} is closed to students and exporting to the database.`);
  else if (to === 'failed') {
    showActionProblem(`The export of ${exam} failed${progress?.error ? `: ${progress.error}` : ''}. Fix the cause, then press Finalize ${exam} again: it resumes where it stopped.`);
  }
}

async function finalize(exam: string): Promise<void> {
  const summary = exams.get(exam);
  const failed = summary?.state === 'failed';
  const error = exportFigures.get(exam)?.error;
  const notSubmitted = summary === undefined ? 0 : Math.max(0, summary.students - summary.submitted);
  const confirmed = await dialog.ask({
    title: `Finalize ${exam}?`,
    text: failed
      ? `The export of ${exam} failed${error ? ` (${error})` : ''}. Finalizing again resumes it where it stopped; no row is written twice.`
      : `${exam} closes for good: students can no longer change or add answers, and every stored answer is exported to the database.` +
        (summary === undefined ? '' : ` Right now ${formatCount(summary.connected)} students are connected and ${formatCount(notSubmitted)} of ${formatCount(summary.students)} have not submitted.`) +
        ' This cannot be undone.',
    action: 'Finalize',
  });
  if (!confirmed) return;
  clearActionProblem();
  table.setBusy(exam, true);
  setText(examsNote, `Finalizing ${exam}…`);
  try {
    const reply = await currentApi().finalize(exam);
    watch.add(exam);
    setText(examsNote, reply.state === 'exported' ? `${exam} was already exported.` : `${exam} is closed to students; exporting to the database.`);
    await refreshExams();
  } catch (caught) {
    showActionProblem(caught);
  } finally {
    table.setBusy(exam, false);
  }
}

async function purge(exam: string): Promise<void> {
  const progress = exportFigures.get(exam);
  const confirmed = await dialog.ask({
    title: `Purge ${exam}?`,
    text: `This deletes ${exam}'s answers from Redis. The database keeps the ${formatCount(progress?.rows ?? 0)} exported rows, and ${exam} stays exported: it never opens again. This cannot be undone.`,
    action: 'Purge',
  });
  if (!confirmed) return;
  clearActionProblem();
  table.setBusy(exam, true);
  try {
    const reply = await currentApi().purge(exam);
    setText(examsNote, `${exam} is purged: ${formatCount(reply.deletedKeys ?? 0)} keys deleted from Redis.`);
    if (roster.openExam === exam) void roster.refresh(false);
    await refreshExams();
  } catch (caught) {
    showActionProblem(caught);
  } finally {
    table.setBusy(exam, false);
  }
}
