import { getContext, setContext } from 'svelte';
import type { Connection } from './api';

const KEY = Symbol('atelier-connection');

export function provideConnection(connection: Connection): void {
  setContext(KEY, connection);
}

/** The bridge to the core, provided once by App.svelte. */
export function useConnection(): Connection {
  const connection = getContext<Connection | undefined>(KEY);
  if (!connection) throw new Error('useConnection() outside <App>');
  return connection;
}
