// The confirmation every irreversible action passes through (finalize, purge): a modal dialog whose
// safe choice has the focus, so Enter or Escape by habit never closes an exam.

import { required } from './dom.js';

export interface Confirmation {
  title: string;
  text: string;
  /** The confirming button's text: the action's own verb ("Finalize", "Purge"). */
  action: string;
}

export class ConfirmDialog {
  private readonly dialog = required<HTMLDialogElement>('#confirm');
  private readonly title = required('#confirm-title');
  private readonly text = required('#confirm-text');
  private readonly confirm = required<HTMLButtonElement>('#confirm-action');
  private readonly cancel = required<HTMLButtonElement>('#confirm-cancel');

  /** Resolves true when the operator confirms, false on Cancel or Escape. */
  ask(confirmation: Confirmation): Promise<boolean> {
    this.title.textContent = confirmation.title;
    this.text.textContent = confirmation.text;
    this.confirm.textContent = confirmation.action;
    this.dialog.returnValue = '';
    this.dialog.showModal();
    this.cancel.focus();
    return new Promise((resolve) => {
      this.dialog.addEventListener('close', () => resolve(this.dialog.returnValue === 'confirm'), { once: true });
    });
  }

  /** Closes an open dialog as cancelled (the operator signed out, say). */
  dismiss(): void {
    if (this.dialog.open) this.dialog.close('cancel');
  }
}
