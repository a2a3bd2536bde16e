import type { EventName, EventPayload } from './contract';

export type EventListener = <E extends EventName>(name: E, payload: EventPayload<E>) => void;

/** Fans core events out to every connected UI (Electron windows, WebSocket clients, the CLI). */
export class EventHub {
  readonly #listeners = new Set<EventListener>();

  emit<E extends EventName>(name: E, payload: EventPayload<E>): void {
    for (const listener of this.#listeners) {
      try {
        listener(name, payload);
      } catch (error) {
        // One broken subscriber (a closed socket, a destroyed window) must not starve the others.
        console.error(`Atelier: an event listener failed on ${name}:`, error);
      }
    }
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
