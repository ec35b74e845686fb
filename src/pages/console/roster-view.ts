// The roster of one exam (GET /api/exams/{exam}/students), a page at a time: never the whole exam,
// which may hold 100,000 students. Filters read server pages until a screenful matches, within a
// bound, and say how far they looked; the next page goes on from there.

import type { ExamSummary, RosterEntry } from './api-types.js';
import type { ControlApi } from './control-api.js';
import { create, required, setText } from './dom.js';
import { formatAgo, formatClock, formatCount } from './figure-format.js';

export type RosterFilter = 'all' | 'not-submitted' | 'not-connected';

/** Rows on one screen. */
export const ROSTER_PAGE_ROWS = 50;
/** A filtered page asks the server for this many students at a time (its largest page is 5000). */
const FILTER_FETCH = 1000;
/** A filtered page stops looking after this many students and says so; "Next page" looks further. */
const FILTER_SCAN_BUDGET = 20_000;
/**
 * A screen that read more students than this is not read again on its own every few seconds (a
 * console left on "Not submitted" at 100,000 students would keep Redis busy); Refresh still does.
 */
const AUTO_REFRESH_MAX_SCAN = 5_000;

const MATCHES: Record<RosterFilter, (entry: RosterEntry) => boolean> = {
  all: () => true,
  'not-submitted': (entry) => !entry.submitted,
  'not-connected': (entry) => !entry.connected,
};

/** Where a screen starts: the server's cursor (null: the beginning), and matches read ahead of it. */
interface RosterStart {
  cursor: string | null;
  /** The server has no page past `cursor`: only `ahead` is left. */
  ended: boolean;
  ahead: RosterEntry[];
}

interface RosterScreen {
  rows: RosterEntry[];
  /** Where the next screen starts; null after the last. */
  next: RosterStart | null;
  scanned: number;
}

export class RosterView {
  private exam: string | null = null;
  private filter: RosterFilter = 'all';
  /** The starts of the screens shown so far: the last is the one on screen. */
  private starts: RosterStart[] = [];
  private next: RosterStart | null = null;
  /** How many students the screen on show read from the server. */
  private lastScanned = 0;
  /** Replies to an older request (another exam, filter or page) are dropped. */
  private generation = 0;
  private readonly section: HTMLElement;
  private readonly title: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private readonly position: HTMLElement;
  private readonly previous: HTMLButtonElement;
  private readonly nextButton: HTMLButtonElement;
  private readonly note: HTMLElement;
  private readonly updated: HTMLElement;

  constructor(
    root: HTMLElement,
    private readonly api: () => ControlApi,
    private readonly onError: (error: unknown) => void,
  ) {
    this.section = root;
    this.title = required('#roster-title', root);
    this.summary = required('#roster-summary', root);
    this.body = required('#roster-rows', root);
    this.position = required('#roster-position', root);
    this.previous = required('#roster-previous', root);
    this.nextButton = required('#roster-next', root);
    this.note = required('#roster-note', root);
    this.updated = required('#roster-updated', root);
    for (const radio of root.querySelectorAll<HTMLInputElement>('input[name="roster-filter"]')) {
      radio.addEventListener('change', () => {
        if (radio.checked) this.setFilter(radio.value as RosterFilter);
      });
    }
    this.previous.addEventListener('click', () => {
      if (this.starts.length < 2) return;
      this.starts.pop();
      void this.load(this.starts[this.starts.length - 1]!);
    });
    this.nextButton.addEventListener('click', () => {
      if (this.next === null) return;
      this.starts.push(this.next);
      void this.load(this.next);
    });
    required('#roster-close', root).addEventListener('click', () => this.close());
    required('#roster-refresh', root).addEventListener('click', () => void this.refresh(false));
  }

  get openExam(): string | null {
    return this.exam;
  }

  open(exam: string): void {
    this.exam = exam;
    this.title.textContent = `Students of ${exam}`;
    this.section.hidden = false;
    this.starts = [{ cursor: null, ended: false, ahead: [] }];
    void this.load(this.starts[0]!);
    this.section.scrollIntoView({ block: 'start', behavior: 'smooth' });
    this.title.focus({ preventScroll: true });
  }

  close(): void {
    const exam = this.exam;
    this.exam = null;
    this.generation += 1;
    this.section.hidden = true;
    this.body.replaceChildren();
    if (exam !== null) document.querySelector<HTMLButtonElement>(`tr[data-exam="${CSS.escape(exam)}"] button[aria-label="Students of ${CSS.escape(exam)}"]`)?.focus();
  }

  /** The exam's totals, from the exam list the console refreshes anyway. */
  showTotals(exam: ExamSummary | undefined): void {
    if (exam === undefined || exam.exam !== this.exam) return;
    setText(this.summary, `${formatCount(exam.students)} students with answers · ${formatCount(exam.connected)} connected · ${formatCount(exam.submitted)} submitted · state ${exam.state}`);
  }

  /** Reads the screen on show again: on Refresh, and on the console's slower refresh when it is cheap. */
  async refresh(auto: boolean): Promise<void> {
    const start = this.starts[this.starts.length - 1];
    if (auto && this.lastScanned > AUTO_REFRESH_MAX_SCAN) return;
    if (this.exam !== null && start !== undefined) await this.load(start);
  }

  private setFilter(filter: RosterFilter): void {
    this.filter = filter;
    if (this.exam === null) return;
    this.starts = [{ cursor: null, ended: false, ahead: [] }];
    void this.load(this.starts[0]!);
  }

  private async load(start: RosterStart): Promise<void> {
    const exam = this.exam;
    if (exam === null) return;
    const generation = ++this.generation;
    this.section.setAttribute('aria-busy', 'true');
    try {
      const screen = await this.read(exam, start);
      if (generation !== this.generation) return;
      this.next = screen.next;
      this.lastScanned = screen.scanned;
      this.render(screen);
    } catch (error) {
      if (generation === this.generation) this.onError(error);
    } finally {
      if (generation === this.generation) this.section.removeAttribute('aria-busy');
    }
  }

  private async read(exam: string, start: RosterStart): Promise<RosterScreen> {
    const matches = MATCHES[this.filter];
    const rows = start.ahead.slice(0, ROSTER_PAGE_ROWS);
    let ahead = start.ahead.slice(ROSTER_PAGE_ROWS);
    let cursor = start.cursor;
    let ended = start.ended;
    let scanned = 0;
    while (rows.length < ROSTER_PAGE_ROWS && !ended && scanned < FILTER_SCAN_BUDGET) {
      const limit = this.filter === 'all' ? ROSTER_PAGE_ROWS - rows.length : FILTER_FETCH;
      const page = await this.api().roster(exam, limit, cursor);
      scanned += page.students.length;
      const found = page.students.filter(matches);
      const room = ROSTER_PAGE_ROWS - rows.length;
      rows.push(...found.slice(0, room));
      ahead = found.slice(room);
      cursor = page.cursor;
      ended = cursor === null;
    }
    const more = ahead.length > 0 || !ended;
    return { rows, next: more ? { cursor, ended, ahead } : null, scanned };
  }

  private render(screen: RosterScreen): void {
    const now = Date.now();
    this.body.replaceChildren(
      ...screen.rows.map((entry) => {
        const row = create('tr', { 'data-connected': String(entry.connected), 'data-submitted': String(entry.submitted) });
        const connected = create('td', { class: 'flag' }, entry.connected ? 'connected' : 'not connected');
        const submitted = create('td', { class: 'flag' }, entry.submitted ? `submitted ${entry.submittedAt === null ? '' : formatClock(new Date(entry.submittedAt))}`.trim() : 'not submitted');
        const last = create('td', { class: 'num' }, formatAgo(entry.lastEventAt, now));
        if (entry.lastEventAt !== null) last.title = new Date(entry.lastEventAt).toLocaleString('en-GB');
        row.append(create('th', { scope: 'row', title: entry.student }, entry.student), connected, submitted, create('td', { class: 'num' }, formatCount(entry.events)), create('td', { class: 'num' }, formatCount(entry.lastSeq)), last);
        return row;
      }),
    );
    const page = this.starts.length;
    const first = (page - 1) * ROSTER_PAGE_ROWS;
    setText(this.position, screen.rows.length === 0 ? `Page ${page}: none` : `Page ${page}: ${formatCount(first + 1)}–${formatCount(first + screen.rows.length)}`);
    const auto = screen.scanned <= AUTO_REFRESH_MAX_SCAN;
    setText(this.updated, auto ? `Updated ${formatClock(new Date(now))}` : `Read at ${formatClock(new Date(now))}; press Refresh to read again`);
    this.previous.disabled = page < 2;
    this.nextButton.disabled = screen.next === null;
    const what = this.filter === 'all' ? 'students' : this.filter === 'not-submitted' ? 'students who have not submitted' : 'students who are not connected';
    let note = '';
    if (screen.rows.length === 0 && screen.next === null) note = page === 1 ? `No ${what}.` : `No more ${what}.`;
    else if (this.filter !== 'all' && screen.rows.length < ROSTER_PAGE_ROWS && screen.next !== null) {
      note = `Looked through ${formatCount(screen.scanned)} students for this page; Next page looks further.`;
    }
    setText(this.note, note);
    this.note.hidden = note === '';
  }
}
