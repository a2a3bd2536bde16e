import { errorMessage } from './api';

/**
 * For a `$effect` that loads something: hands the promise's value (or its error's message) on
 * unless the effect was cleaned up first — a newer run of it, or the view closing — so a slow
 * answer never overwrites a newer one. Return what it returns from the effect.
 */
export function settleLatest<T>(
  promise: Promise<T>,
  on: { value(value: T): void; error(message: string): void; settled?(): void },
): () => void {
  let stale = false;
  promise
    .then(
      (value) => {
        if (!stale) on.value(value);
      },
      (caught: unknown) => {
        if (!stale) on.error(errorMessage(caught));
      },
    )
    .finally(() => {
      if (!stale) on.settled?.();
    });
  return () => {
    stale = true;
  };
}
