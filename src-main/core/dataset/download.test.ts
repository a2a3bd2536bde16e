import { mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AtelierError } from '../errors';
import { downloadDataset, importFromFolder, type DownloadProgress } from './download';
import { DATASET_FILES, formatCount } from './files';
import { HAVE_REAL_DATA, REAL_DIR, makeTempDir, needsRealData, snapshotDir } from './test-helpers';

type Handler = (name: string, req: IncomingMessage, res: ServerResponse) => void;

interface Mirror {
  base: string;
  /** File names requested, in order. */
  hits: string[];
  close: () => Promise<void>;
}

const servers: Server[] = [];

/** A real HTTP server on 127.0.0.1 with an ephemeral port. */
async function startMirror(handler: Handler): Promise<Mirror> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? '/').split('/').pop() ?? '');
    hits.push(name);
    handler(name, req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/datasets/fashion/`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A base URL where nothing listens: connection refused, as when offline. */
async function deadMirror(): Promise<string> {
  const mirror = await startMirror(() => undefined);
  await mirror.close();
  return mirror.base;
}

function send(res: ServerResponse, bytes: Uint8Array, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/x-gzip', 'content-length': String(bytes.length) });
  res.end(bytes);
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('Not Found');
}

/** The real `.gz` files, read once for the whole file. */
const real = new Map<string, Buffer>();

/** Serves the real files, except where `override` answers first. */
function realMirror(override?: (name: string, res: ServerResponse) => boolean): Handler {
  return (name, _req, res) => {
    if (override?.(name, res)) return;
    const bytes = real.get(name);
    if (bytes) send(res, bytes);
    else notFound(res);
  };
}

async function failure(promise: Promise<unknown>): Promise<AtelierError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AtelierError);
  return error as AtelierError;
}

const GZ_NAMES = DATASET_FILES.map((f) => f.gzName);
const [TRAIN_IMAGES, , , TEST_LABELS] = DATASET_FILES as [(typeof DATASET_FILES)[number], unknown, unknown, (typeof DATASET_FILES)[number]];

let root: string;
let cleanup: () => Promise<void>;
let cacheDir: string;

beforeAll(async () => {
  if (!HAVE_REAL_DATA) return;
  for (const name of GZ_NAMES) real.set(name, await readFile(join(REAL_DIR, name)));
});

beforeEach(async () => {
  ({ dir: root, cleanup } = await makeTempDir());
  cacheDir = join(root, 'home', 'datasets', 'fashion-mnist');
});

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await cleanup();
});

afterAll(() => real.clear());

describe.skipIf(!HAVE_REAL_DATA)(needsRealData('downloadDataset against a local mirror'), () => {
  it('downloads, verifies and caches the four files with progress, then reuses them', async () => {
    const mirror = await startMirror(realMirror());
    const events: DownloadProgress[] = [];
    // A clock that moves 10 ms per report, and no throttling: every chunk is reported and every speed is exact, however loaded the machine.
    let now = 1_000;
    const times: number[] = [];
    const source = await downloadDataset({
      cacheDir,
      mirrors: [mirror.base],
      progressIntervalMs: 0,
      clock: () => now,
      onProgress: (p) => {
        events.push(p);
        times.push(now);
        now += 10;
      },
    });

    expect(source.kind).toBe('cache');
    expect(source.dir).toBe(cacheDir);
    expect((await readdir(cacheDir)).sort()).toEqual([...GZ_NAMES].sort());
    for (const name of GZ_NAMES) expect((await readFile(join(cacheDir, name))).equals(real.get(name) as Buffer)).toBe(true);
    expect(mirror.hits).toEqual(GZ_NAMES);

    expect(events.every((e) => e.fileCount === 4)).toBe(true);
    expect(events.filter((e) => e.phase === 'done').map((e) => e.file)).toEqual(GZ_NAMES);
    const trainDone = events.find((e) => e.phase === 'done' && e.file === TRAIN_IMAGES.gzName);
    expect(trainDone).toMatchObject({ receivedBytes: real.get(TRAIN_IMAGES.gzName)?.length, totalBytes: real.get(TRAIN_IMAGES.gzName)?.length });
    expect(trainDone?.url).toBe(`${mirror.base}${TRAIN_IMAGES.gzName}`);
    const fractions = events.map((e) => e.overallFraction);
    fractions.slice(1).forEach((f, i) => expect(f).toBeGreaterThanOrEqual(fractions[i] as number));
    expect(fractions.at(-1)).toBe(1);
    for (const name of GZ_NAMES) {
      const mine = events.flatMap((e, i) => (e.file === name ? [{ ...e, at: times[i] as number }] : []));
      const downloading = mine.filter((e) => e.phase === 'downloading');
      // Starts at 0 bytes, grows chunk by chunk, ends at the file's length.
      expect(downloading[0]).toMatchObject({ receivedBytes: 0, bytesPerSecond: 0 });
      expect(downloading.length).toBeGreaterThan(1);
      downloading.slice(1).forEach((e, i) => expect(e.receivedBytes).toBeGreaterThan(downloading[i]!.receivedBytes));
      expect(downloading.at(-1)?.receivedBytes).toBe(real.get(name)?.length);
      expect(mine.at(-1)).toMatchObject({ phase: 'done', receivedBytes: real.get(name)?.length });
      // The average speed since the file's start, by the injected clock.
      const startedAt = downloading[0]!.at;
      for (const e of mine.slice(1)) expect(e.bytesPerSecond).toBe(Math.round(e.receivedBytes / ((e.at - startedAt) / 1000)));
    }

    // A second download finds every file verified in the cache and asks no mirror.
    const empty = await startMirror((_name, _req, res) => notFound(res));
    const again = await downloadDataset({ cacheDir, mirrors: [empty.base] });
    expect(again.files).toHaveLength(4);
    expect(empty.hits).toEqual([]);
  });

  it('falls back to the next mirror when the first answers 404', async () => {
    const broken = await startMirror((_name, _req, res) => notFound(res));
    const good = await startMirror(realMirror());
    const source = await downloadDataset({ cacheDir, mirrors: [broken.base, good.base] });
    expect(source.files).toHaveLength(4);
    expect(broken.hits).toEqual(GZ_NAMES);
    expect(good.hits).toEqual(GZ_NAMES);
    expect((await readdir(cacheDir)).sort()).toEqual([...GZ_NAMES].sort());
  });

  it('rejects a truncated file and leaves the cache empty', async () => {
    const mirror = await startMirror(
      realMirror((name, res) => {
        if (name !== TRAIN_IMAGES.gzName) return false;
        const bytes = real.get(name) as Buffer;
        send(res, bytes.subarray(0, Math.floor(bytes.length / 2))); // honest Content-Length, cut-off data
        return true;
      }),
    );
    const error = await failure(downloadDataset({ cacheDir, mirrors: [mirror.base] }));
    expect(error.kind).toBe('download-failed');
    expect(error.message).toContain(`Cannot download ${TRAIN_IMAGES.gzName}`);
    expect(error.message).toContain(`${mirror.base}${TRAIN_IMAGES.gzName}: cannot decompress — the compressed data ends early`);
    expect(error.message).toContain('apt install dataset-fashion-mnist');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('rejects wrong content of the right length and leaves the cache empty', async () => {
    const mirror = await startMirror(
      realMirror((name, res) => {
        if (name !== TRAIN_IMAGES.gzName) return false;
        const length = (real.get(name) as Buffer).length;
        send(res, Buffer.alloc(length, '<html>captive portal</html>')); // a proxy's page padded to size
        return true;
      }),
    );
    const error = await failure(downloadDataset({ cacheDir, mirrors: [mirror.base] }));
    expect(error.kind).toBe('download-failed');
    expect(error.message).toContain(`expected 47,040,016 bytes after decompressing, got ${formatCount((real.get(TRAIN_IMAGES.gzName) as Buffer).length)}`);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('rejects data that decompresses to the right size with the wrong checksum, after three good files, and changes nothing', async () => {
    await mkdir(cacheDir, { recursive: true });
    await writeFile(join(cacheDir, 'notes.txt'), 'kept');
    await writeFile(join(cacheDir, TEST_LABELS.gzName), 'a stale, broken copy');
    const before = await snapshotDir(cacheDir);
    const tampered = gunzipSync(real.get(TEST_LABELS.gzName) as Buffer);
    tampered[100] = (tampered[100] as number) === 9 ? 8 : 9; // one label changed
    const mirror = await startMirror(
      realMirror((name, res) => {
        if (name !== TEST_LABELS.gzName) return false;
        send(res, gzipSync(tampered));
        return true;
      }),
    );
    const error = await failure(downloadDataset({ cacheDir, mirrors: [mirror.base] }));
    expect(error.kind).toBe('download-failed');
    expect(error.message).toContain(`Cannot download ${TEST_LABELS.gzName}`);
    expect(error.message).toMatch(/SHA-256 of the decompressed data is [0-9a-f]{64}, expected 0402a96d/);
    expect(mirror.hits).toEqual(GZ_NAMES);
    expect(await snapshotDir(cacheDir)).toEqual(before);
  });

  it('reports a connection dropped mid-file and leaves the cache empty', async () => {
    const mirror = await startMirror(
      realMirror((name, res) => {
        if (name !== TRAIN_IMAGES.gzName) return false;
        const bytes = real.get(name) as Buffer;
        res.writeHead(200, { 'content-length': String(bytes.length) });
        res.write(bytes.subarray(0, 1_000_000), () => res.socket?.destroy());
        return true;
      }),
    );
    const error = await failure(downloadDataset({ cacheDir, mirrors: [mirror.base] }));
    expect(error.kind).toBe('download-failed');
    expect(error.message).toMatch(new RegExp(`the connection dropped after [\\d,]+ of ${formatCount((real.get(TRAIN_IMAGES.gzName) as Buffer).length)} bytes`));
    expect(await readdir(cacheDir)).toEqual([]);
  });
});

describe('downloadDataset failures that need no real data', () => {
  it('says offline when no mirror can be reached, naming every URL and what else to do', async () => {
    const [a, b] = [await deadMirror(), await deadMirror()];
    const error = await failure(downloadDataset({ cacheDir, mirrors: [a, b] }));
    expect(error.kind).toBe('offline');
    expect(error.message).toContain(`${a}${TRAIN_IMAGES.gzName}: connection refused`);
    expect(error.message).toContain(`${b}${TRAIN_IMAGES.gzName}: connection refused`);
    expect(error.message).toMatch(/check the internet connection.*apt install dataset-fashion-mnist.*choose a folder/);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('removes staging folders a crashed process left behind, but not recent ones', async () => {
    const stale = join(cacheDir, '.staging-crashed');
    const recent = join(cacheDir, '.staging-running');
    await mkdir(stale, { recursive: true });
    await mkdir(recent);
    await writeFile(join(stale, 'train-images-idx3-ubyte.gz.part'), 'partial');
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(stale, twoDaysAgo, twoDaysAgo);
    await failure(downloadDataset({ cacheDir, mirrors: [await deadMirror()] }));
    expect(await readdir(cacheDir)).toEqual(['.staging-running']);
  });

  it('reports 404 from every mirror as download-failed', async () => {
    const one = await startMirror((_name, _req, res) => notFound(res));
    const two = await startMirror((_name, _req, res) => notFound(res));
    const error = await failure(downloadDataset({ cacheDir, mirrors: [one.base, two.base] }));
    expect(error.kind).toBe('download-failed');
    expect(error.message).toContain(`${one.base}${TRAIN_IMAGES.gzName}: HTTP 404 Not Found`);
    expect(error.message).toContain(`${two.base}${TRAIN_IMAGES.gzName}: HTTP 404 Not Found`);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('refuses a response larger than the file can be without storing it', async () => {
    const mirror = await startMirror((_name, _req, res) => {
      res.writeHead(200, { 'content-length': String(TRAIN_IMAGES.size + 1) });
      res.end();
    });
    const error = await failure(downloadDataset({ cacheDir, mirrors: [mirror.base] }));
    expect(error.message).toContain('the server offers 47,040,017 bytes, more than the file can be');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('gives up on a stalled mirror', async () => {
    const mirror = await startMirror((_name, _req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write(new Uint8Array(10)); // then nothing
    });
    // The stall timer is faked and only advanced once the 10 bytes are in, so a slow machine cannot
    // make the mirror look silent before it has sent them.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let error: AtelierError;
    try {
      let tenBytesIn!: () => void;
      const received = new Promise<void>((resolve) => (tenBytesIn = resolve));
      const pending = failure(
        downloadDataset({ cacheDir, mirrors: [mirror.base], stallTimeoutMs: 200, progressIntervalMs: 0, onProgress: (p) => p.receivedBytes === 10 && tenBytesIn() }),
      );
      await received;
      vi.advanceTimersByTime(200);
      error = await pending;
    } finally {
      vi.useRealTimers();
    }
    expect(error.kind).toBe('download-failed');
    expect(error.message).toContain('no data for 200 ms after 10 bytes');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('cancels before any byte, and in the middle of a file, leaving no temp files', async () => {
    const mirror = await startMirror((_name, _req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(new Uint8Array(5000)); // then hangs until cancelled
    });

    const early = new AbortController();
    early.abort();
    const first = await failure(downloadDataset({ cacheDir, mirrors: [mirror.base], signal: early.signal }));
    expect(first.kind).toBe('cancelled');
    expect(mirror.hits).toEqual([]);

    const midway = new AbortController();
    const second = await failure(
      downloadDataset({
        cacheDir,
        mirrors: [mirror.base],
        signal: midway.signal,
        progressIntervalMs: 0,
        onProgress: (p) => {
          if (p.receivedBytes > 0) midway.abort();
        },
      }),
    );
    expect(second.kind).toBe('cancelled');
    expect(second.message).toMatch(/cancelled.*cache was not changed/);
    expect(await readdir(cacheDir)).toEqual([]);
  });
});

describe.skipIf(!HAVE_REAL_DATA)(needsRealData('importFromFolder'), () => {
  it('copies the verified files into the cache', async () => {
    const source = await importFromFolder(REAL_DIR, cacheDir);
    expect(source.kind).toBe('cache');
    for (const name of GZ_NAMES) expect((await readFile(join(cacheDir, name))).equals(real.get(name) as Buffer)).toBe(true);
  });

  it('keeps each file in its form and drops the other form from the cache', async () => {
    const folder = join(root, 'mixed');
    await mkdir(folder);
    for (const file of DATASET_FILES.slice(0, 3)) await symlink(join(REAL_DIR, file.gzName), join(folder, file.gzName));
    await writeFile(join(folder, TEST_LABELS.name), gunzipSync(real.get(TEST_LABELS.gzName) as Buffer));
    await mkdir(cacheDir, { recursive: true });
    await writeFile(join(cacheDir, TEST_LABELS.gzName), 'stale');
    const source = await importFromFolder(folder, cacheDir);
    expect(source.files.map((f) => f.compressed)).toEqual([true, true, true, false]);
    expect((await readdir(cacheDir)).sort()).toEqual([...GZ_NAMES.slice(0, 3), TEST_LABELS.name].sort());
  });

  it('refuses a folder with a damaged file and leaves the cache unchanged', async () => {
    const folder = join(root, 'damaged');
    await mkdir(folder);
    for (const file of DATASET_FILES.slice(0, 3)) await symlink(join(REAL_DIR, file.gzName), join(folder, file.gzName));
    const labels = gunzipSync(real.get(TEST_LABELS.gzName) as Buffer);
    labels[5000] = (labels[5000] as number) ^ 1;
    await writeFile(join(folder, TEST_LABELS.name), labels);
    await mkdir(cacheDir, { recursive: true });
    await writeFile(join(cacheDir, 'notes.txt'), 'kept');
    const before = await snapshotDir(cacheDir);
    const error = await failure(importFromFolder(folder, cacheDir));
    expect(error.kind).toBe('dataset-corrupt');
    expect(error.message).toMatch(/^t10k-labels-idx1-ubyte \(from .*damaged\): SHA-256 .* the cache was not changed/);
    expect(await snapshotDir(cacheDir)).toEqual(before);
  });

  it('refuses an incomplete folder with dataset-missing', async () => {
    const error = await failure(importFromFolder(join(root, 'nowhere'), cacheDir));
    expect(error.kind).toBe('dataset-missing');
  });
});
