// The example exam page (GET /exam/#token=...): a sample exam on the served browser client that
// a school can copy. Every answer is kept on the device first and shows whether it reached the server.

import { ExamClient, readTokenClaims, type ClientStatus } from '../../client/browser/untradex.js';

/** Free text is sent once typing pauses this long (and when the field loses focus). */
const TYPING_PAUSE_MS = 800;

const $ = <T extends HTMLElement>(selector: string): T => {
  const element = document.querySelector<T>(selector);
  if (element === null) throw new Error(`the exam page lacks ${selector}`);
  return element;
};

const questions = [...document.querySelectorAll<HTMLFieldSetElement>('fieldset[data-question]')].map((fieldset) => fieldset.dataset.question!);
const connection = $<HTMLParagraphElement>('#connection');
const banner = $<HTMLDivElement>('#banner');
const finalNote = $<HTMLElement>('#final');
const submitButton = $<HTMLButtonElement>('#submit');
const confirmDialog = $<HTMLDialogElement>('#confirm');
const form = $<HTMLFormElement>('#exam');

const STATUS_TEXT: Record<ClientStatus, string> = {
  connecting: 'Connecting…',
  online: 'Online: answers are saved as you go',
  offline: 'Offline',
  closed: 'Exam closed',
  replaced: 'Stopped: open elsewhere',
  unauthorized: 'Stopped: link not valid',
  stopped: 'Stopped',
};

const FINAL: ReadonlySet<ClientStatus> = new Set(['closed', 'replaced', 'unauthorized', 'stopped']);

const token = new URLSearchParams(location.hash.slice(1)).get('token');
if (token === null || token === '') {
  stopWith('No exam link', 'This page needs the exam link your school sent you (it ends in #token=...). Open that link again, or ask your exam coordinator for it.');
} else {
  startExam(token);
}

function startExam(token: string): void {
  const claims = readTokenClaims(token);
  if (claims !== null) $('#who').textContent = `Student ${claims.student} · exam ${claims.exam}`;
  const client = new ExamClient({ token });
  // Visible to tests and to a developer's console; not needed by the page itself.
  Object.assign(globalThis, { untradexClient: client });
  let submitting = false;

  const render = (): void => {
    const status = client.status;
    const pending = client.pending;
    const answers = client.answers;
    for (const question of questions) {
      const state = $(`#${question}-state`);
      const waiting = pending.some((event) => event.kind === 'answer' && event.question === question);
      const value = answers.get(question);
      state.dataset.state = waiting ? 'kept' : value === undefined || value === '' ? 'empty' : 'saved';
      state.textContent = waiting ? 'Kept on this device, not yet sent' : value === undefined || value === '' ? 'Not answered yet' : 'Saved';
    }
    const handedIn = client.submitted;
    const handingIn = pending.some((event) => event.kind === 'submit');
    connection.dataset.status = status;
    connection.textContent = STATUS_TEXT[status];
    banner.hidden = status !== 'offline';
    banner.textContent = status === 'offline' ? offlineText(pending.length) : '';
    submitButton.disabled = handedIn || handingIn || FINAL.has(status);
    if (handedIn) showFinal('Your exam is handed in', 'Your answers are stored. You can close this page.', 'done');
    else if (handingIn) showFinal('Handing in…', status === 'online' ? 'Sending your last answers.' : 'Your exam is kept on this device and will be handed in as soon as the connection is back. Keep this page open.', 'kept');
    if (status === 'replaced') stopWith('This exam is open in another tab or device', 'Only one place can write your answers. Continue where you opened it last; to continue here instead, reload this page.');
    else if (status === 'unauthorized') stopWith('This exam link is not valid', 'The link has expired or is wrong. Ask your exam coordinator for a new one; the answers you saved are kept.');
    else if (status === 'closed') stopWith('The exam is closed', 'Time is up. Every answer marked "Saved" is stored; you can close this page.');
  };

  const fill = (): void => {
    const answers = client.answers;
    for (const question of questions) {
      const value = answers.get(question);
      if (value === undefined) continue;
      const text = form.querySelector<HTMLTextAreaElement>(`textarea[name="${question}"]`);
      if (text !== null) {
        if (document.activeElement !== text) text.value = value;
        continue;
      }
      for (const radio of form.querySelectorAll<HTMLInputElement>(`input[type="radio"][name="${question}"]`)) radio.checked = radio.value === value;
    }
  };

  const keep = (question: string, value: string): void => {
    client.answer(question, value).then(render, (error: Error) => {
      $(`#${question}-state`).textContent = `Not kept: ${error.message}`;
    });
    render();
  };

  form.addEventListener('change', (event) => {
    const input = event.target as HTMLInputElement;
    if (input.type === 'radio' && input.checked) keep(input.name, input.value);
  });
  const typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  const keepText = (area: HTMLTextAreaElement): void => {
    clearTimeout(typingTimers.get(area.name));
    typingTimers.delete(area.name);
    if ((client.answers.get(area.name) ?? '') !== area.value) keep(area.name, area.value);
  };
  for (const area of form.querySelectorAll<HTMLTextAreaElement>('textarea[name]')) {
    area.addEventListener('input', () => {
      clearTimeout(typingTimers.get(area.name));
      typingTimers.set(area.name, setTimeout(() => keepText(area), TYPING_PAUSE_MS));
    });
    area.addEventListener('blur', () => keepText(area));
  }

  submitButton.addEventListener('click', () => {
    for (const area of form.querySelectorAll<HTMLTextAreaElement>('textarea[name]')) keepText(area);
    confirmDialog.showModal();
  });
  confirmDialog.addEventListener('close', () => {
    if (confirmDialog.returnValue !== 'submit' || submitting) return;
    submitting = true;
    client.submit().then(render, (error: Error) => {
      submitting = false;
      showFinal('Not handed in', `${error.message}. Try again.`, 'error');
    });
  });

  for (const type of ['status', 'settled', 'answers']) client.addEventListener(type, render);
  client.addEventListener('answers', fill);
  client.addEventListener('closed', () => form.classList.add('closing'));
  client.start();
  render();
}

function offlineText(pending: number): string {
  const kept = pending === 0 ? 'Every answer so far is saved.' : 'Your latest answers are kept safely on this device.';
  return `You are offline. ${kept} Keep working: they are sent as soon as the connection is back, even if you reload this page.`;
}

function showFinal(title: string, text: string, kind: 'done' | 'kept' | 'error' | 'stopped'): void {
  finalNote.hidden = false;
  finalNote.dataset.kind = kind;
  finalNote.replaceChildren(Object.assign(document.createElement('h2'), { textContent: title }), Object.assign(document.createElement('p'), { textContent: text }));
}

function stopWith(title: string, text: string): void {
  const first = finalNote.dataset.kind !== 'stopped';
  showFinal(title, text, 'stopped');
  // Once, so a student who scrolls away is not pulled back on every later update.
  if (first) {
    finalNote.scrollIntoView({ block: 'start' });
    finalNote.focus({ preventScroll: true });
  }
  for (const control of form.querySelectorAll<HTMLInputElement | HTMLTextAreaElement | HTMLButtonElement>('input, textarea, button')) control.disabled = true;
  form.classList.add('stopped');
  banner.hidden = true;
}
