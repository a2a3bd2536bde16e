/**
 * One "Why" switch: off until asked, then the heatmap is fetched once (or taken from the answer
 * when it came with one, as a live camera frame does) and kept while the card lives.
 */
import type { WhyMap } from '../../../src-main/contract';
import { errorMessage } from './api';

export class WhyToggle {
  shown = $state(false);
  loading = $state(false);
  error = $state<string | null>(null);
  #fetched = $state.raw<WhyMap | null>(null);
  readonly #load: () => Promise<WhyMap>;
  readonly #given: () => WhyMap | null | undefined;

  /** `load` computes the map; `given` is one that came with the answer, if any (read when needed). */
  constructor(load: () => Promise<WhyMap>, given: () => WhyMap | null | undefined = () => null) {
    this.#load = load;
    this.#given = given;
  }

  /** The map to draw, when shown and known. */
  get map(): WhyMap | null {
    return this.#given() ?? this.#fetched;
  }

  toggle(): void {
    this.shown = !this.shown;
    if (this.shown && !this.map && !this.loading) void this.fetch();
  }

  async fetch(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      this.#fetched = await this.#load();
    } catch (caught) {
      this.error = errorMessage(caught);
    } finally {
      this.loading = false;
    }
  }
}
