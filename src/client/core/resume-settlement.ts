// What a welcome (and the `answers` frame that follows it) means for the events kept on this
// device: docs/PROTOCOL.md section 7, rule 2. Pure: the client core applies the verdicts.

import type { StoredAnswer } from '../../protocol/server-frame.js';
import type { KeptEvent } from './kept-event.js';

/** How a kept event at or below the welcome's lastSeq was settled without being sent again. */
export interface ResumeDrop {
  event: KeptEvent;
  /** `ack`: it is stored. `superseded`: a later answer to its question is stored instead. */
  verdict: 'ack' | 'superseded';
}

export interface ResumeVerdict {
  dropped: ResumeDrop[];
  /** Every event still kept, in the order it must be sent, each with its seq (possibly new). */
  kept: KeptEvent[];
  /** Events whose seq changed (or was assigned): they must be written again before being sent. */
  renumbered: KeptEvent[];
  /** The highest seq now assigned. */
  highestSeq: number;
}

export interface ResumeInput {
  /** Kept events, any order. */
  events: readonly KeptEvent[];
  lastSeq: number;
  /** The `answers` frame, or null when the server sent none (then everything <= lastSeq counts as stored). */
  answers: { answers: ReadonlyMap<string, StoredAnswer>; submitted: boolean } | null;
  highestSeq: number;
}

/**
 * Settles the kept events against what the server holds. An event at or below lastSeq whose seq
 * the server may have given to another device's event is renumbered above everything, and so is
 * every kept event after it, so the device's own events keep their order (the last answer by seq
 * is the one the student gave last on this device).
 */
export function settleResume(input: ResumeInput): ResumeVerdict {
  const numbered = input.events.filter((e) => e.seq !== null).sort((a, b) => a.seq! - b.seq!);
  const unnumbered = input.events.filter((e) => e.seq === null).sort((a, b) => a.id - b.id);
  let highestSeq = Math.max(input.highestSeq, input.lastSeq);
  const dropped: ResumeDrop[] = [];
  const kept: KeptEvent[] = [];
  const renumbered: KeptEvent[] = [];
  let renumbering = false;
  const renumber = (event: KeptEvent): void => {
    event.seq = ++highestSeq;
    renumbered.push(event);
    kept.push(event);
  };
  for (const event of numbered) {
    const seq = event.seq!;
    if (seq > input.lastSeq) {
      if (renumbering) renumber(event);
      else kept.push(event);
      continue;
    }
    const verdict = verdictAtOrBelow(event, seq, input.answers);
    if (verdict === 'renumber') {
      renumbering = true;
      renumber(event);
    } else {
      dropped.push({ event, verdict });
    }
  }
  for (const event of unnumbered) renumber(event);
  return { dropped, kept, renumbered, highestSeq };
}

function verdictAtOrBelow(event: KeptEvent, seq: number, answers: ResumeInput['answers']): ResumeDrop['verdict'] | 'renumber' {
  if (answers === null) return 'ack';
  switch (event.kind) {
    case 'open':
      return 'ack';
    case 'submit':
      return answers.submitted ? 'ack' : 'renumber';
    case 'answer': {
      const stored = answers.answers.get(event.question ?? '');
      if (stored !== undefined && stored.seq === seq && stored.v === event.value) return 'ack';
      if (stored !== undefined && stored.seq > seq) return 'superseded';
      return 'renumber';
    }
    default: {
      const unreachable: never = event.kind;
      return unreachable;
    }
  }
}
