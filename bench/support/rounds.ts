// Rounds of one load against Untradex and its baseline taking turns, each figure the median of its
// rounds: on 2 shared cores one run's p99 is luck (a slow fsync, the load generator's turn), not a finding.

import type { IngestMeasure } from './ingest.js';
import { fmt, spreadOf, type ResultWriter, type Spread } from './results.js';

type Pick = (m: IngestMeasure) => number;

export interface RoundFigure {
  /** The median round's figure (the upper middle one of an even count). */
  value: number;
  /** Every round's, when there are several: the figure's spread in the results. */
  spread: Spread | undefined;
  /** Every round's figure, in run order, for a target's text. */
  each: string;
}

function overRounds(rounds: readonly IngestMeasure[], pick: Pick): RoundFigure {
  const values = rounds.map(pick);
  const spread = spreadOf(values, `${rounds.length} rounds`);
  return { value: spread?.median ?? values[0]!, spread, each: values.map((v) => fmt(v)).join(', ') };
}

/** The round whose `pick` is the median, for figures that only make sense from one run as a whole (a histogram window). */
export function medianRound(rounds: readonly IngestMeasure[], pick: Pick): IngestMeasure {
  return [...rounds].sort((a, b) => pick(a) - pick(b))[Math.floor(rounds.length / 2)]!;
}

/** Untradex's rounds and its baseline's, run in turns. */
export class RoundPair {
  constructor(
    readonly measured: readonly IngestMeasure[],
    readonly baseline: readonly IngestMeasure[],
  ) {
    if (measured.length === 0 || baseline.length === 0) throw new Error('RoundPair needs at least one round of each server');
  }

  get count(): number {
    return this.measured.length;
  }

  figure(pick: Pick): { measured: RoundFigure; baseline: RoundFigure } {
    return { measured: overRounds(this.measured, pick), baseline: overRounds(this.baseline, pick) };
  }

  /** Adds the figure `id` with the baseline's median beside it; with several rounds, the baseline's rounds in its note. */
  add(result: ResultWriter, f: { id: string; label: string; unit: string; pick: Pick; better?: 'lower' | 'higher'; baselineLabel: string }): { measured: RoundFigure; baseline: RoundFigure } {
    const both = this.figure(f.pick);
    const note = this.count > 1 ? { note: `median of ${this.count} rounds each; ${f.baselineLabel}: ${both.baseline.each}` } : {};
    result.add({ id: f.id, label: f.label, value: both.measured.value, unit: f.unit, better: f.better ?? 'lower', spread: both.measured.spread, baseline: { label: f.baselineLabel, value: both.baseline.value }, ...note });
    return both;
  }

  /** "; medians of 3 rounds each, untradex a, b, c, naive d, e, f" for a target's text; empty for one round. */
  roundsText(both: { measured: RoundFigure; baseline: RoundFigure }): string {
    return this.count > 1 ? `; medians of ${this.count} rounds each, untradex ${both.measured.each}, naive ${both.baseline.each}` : '';
  }
}
