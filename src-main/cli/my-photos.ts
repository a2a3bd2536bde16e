/**
 * `atelier photos add|list|remove|relabel`: My photos without a window, through the same
 * `myPhotos.*` calls as the app, so photos added here appear there and the other way round.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PHOTO_MAX_PATHS, type MyPhoto, type MyPhotoProblem, type MyPhotosAdded, type MyPhotosListing } from '../contract';
import { classNameChoices, parseClassName } from '../core/collection/class-name';
import { AtelierError } from '../core/errors';
import { CLASS_NAMES } from '../core/fashion-mnist';
import type { CliIo } from './commands';
import { withAtelier, type CliDeps } from './session';

export const MY_PHOTOS_HELP_LINES = `  photos add --label CLASS FILE|DIR... [--json]
                               Keep your own photos in My photos with one label, to train with them;
                               CLASS is a class name in any case ("t-shirt", "ankle boot") or its number 0–9
  photos list [--json]         My photos: photos per class, each photo's id, class and name, damaged entries
  photos relabel ID CLASS      Give a photo another class
  photos remove ID...          Take photos out of My photos (ids as listed)`;

const USAGE = `Usage: atelier photos <add|list|relabel|remove>

${MY_PHOTOS_HELP_LINES}`;

const plural = (count: number, one: string, many = `${one}s`): string => `${count} ${count === 1 ? one : many}`;

function problemLines(problems: readonly MyPhotoProblem[]): string[] {
  return problems.map((problem) => `  ✗ ${problem.error.message.startsWith(problem.name) ? problem.error.message : `${problem.name}: ${problem.error.message}`}`);
}

/** `photos add`'s report for people. */
export function formatAdded(result: MyPhotosAdded, label: number): string {
  const className = CLASS_NAMES[label] ?? String(label);
  const lines: string[] = [];
  lines.push(result.added.length > 0 ? `Added ${plural(result.added.length, 'photo')} to My photos as ${className}.` : 'No photo was added.');
  if (result.existing.length > 0) {
    lines.push(`Already in My photos (kept as they were; ‘atelier photos relabel ID CLASS’ changes one):`);
    for (const photo of result.existing) lines.push(`  ${photo.id}  ${photo.className.padEnd(11)} ${photo.sourcePath ?? photo.name}`);
  }
  if (result.problems.length > 0) {
    lines.push(`Could not add ${plural(result.problems.length, 'photo or path', 'photos or paths')}:`, ...problemLines(result.problems));
  }
  return lines.join('\n');
}

/** `photos list` for people: counts per class, then the photos newest first, then damaged entries. */
export function formatListing(listing: MyPhotosListing, root: string): string {
  const lines: string[] = [];
  if (listing.photos.length === 0 && listing.problems.length === 0) {
    return `My photos is empty (${root}).\nAdd photos with ‘atelier photos add --label CLASS FILE|DIR...’, or mark answers Right or Wrong in the app's Classify view; then train with them.`;
  }
  lines.push(`My photos: ${plural(listing.photos.length, 'photo')} in ${root}`, '');
  const width = Math.max(...listing.classNames.map((name) => name.length));
  listing.classNames.forEach((name, label) => lines.push(`  ${String(label)} ${name.padEnd(width)} ${String(listing.counts[label] ?? 0).padStart(5)}`));
  if (listing.photos.length > 0) {
    const idWidth = Math.max(...listing.photos.map((photo) => photo.id.length));
    lines.push('', `  ${'id'.padEnd(idWidth)}  ${'class'.padEnd(width)}  ${'added'.padEnd(16)}  name`);
    for (const photo of listing.photos) lines.push(`  ${photo.id.padEnd(idWidth)}  ${photo.className.padEnd(width)}  ${formatTime(photo.addedAt)}  ${describeSource(photo)}`);
  }
  if (listing.problems.length > 0) lines.push('', `Damaged (left out; ‘atelier photos remove ID’ or add the photo again):`, ...problemLines(listing.problems));
  return lines.join('\n');
}

function describeSource(photo: MyPhoto): string {
  const how = photo.note === 'classify' ? ' (from Classify)' : '';
  return `${photo.sourcePath ?? photo.name}${how}`;
}

/** Local time as YYYY-MM-DD HH:MM: a list read by people, sorted newest first anyway. */
function formatTime(iso: string): string {
  const date = new Date(iso);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}`;
}

async function commandAdd(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { label: { type: 'string' }, json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  if (values.label === undefined) throw new AtelierError('invalid-payload', `Say what the photos show with --label CLASS (${classNameChoices()}).`);
  const label = parseClassName(values.label);
  if (positionals.length === 0) throw new AtelierError('invalid-payload', 'Name the photos (or folders of photos) to add: atelier photos add --label CLASS FILE|DIR...');
  const paths = positionals.map((path) => resolve(path));
  return withAtelier(deps, async (atelier) => {
    const result: { added: MyPhoto[]; existing: MyPhoto[]; problems: MyPhotoProblem[] } = { added: [], existing: [], problems: [] };
    for (let start = 0; start < paths.length; start += PHOTO_MAX_PATHS) {
      const part = await deps.call(atelier, 'myPhotos.add', { paths: paths.slice(start, start + PHOTO_MAX_PATHS), label, note: 'added' });
      result.added.push(...part.added);
      result.existing.push(...part.existing);
      result.problems.push(...part.problems);
    }
    io.out(values.json ? JSON.stringify(result, null, 2) : formatAdded(result, label));
    return result.problems.length > 0 ? 1 : 0;
  });
}

async function commandList(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
  return withAtelier(deps, async (atelier) => {
    const listing = await deps.call(atelier, 'myPhotos.list', {});
    io.out(values.json ? JSON.stringify(listing, null, 2) : formatListing(listing, atelier.myPhotos.collection.root));
    return 0;
  });
}

async function commandRelabel(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, allowPositionals: true, strict: true });
  const [id, className, ...extra] = positionals;
  if (id === undefined || className === undefined || extra.length > 0) throw new AtelierError('invalid-payload', 'Name one photo and its class: atelier photos relabel ID CLASS (ids as ‘atelier photos list’ shows them).');
  const label = parseClassName(className);
  return withAtelier(deps, async (atelier) => {
    const photo = await deps.call(atelier, 'myPhotos.relabel', { id, label });
    io.out(`Photo ${photo.id} (${photo.name}) is now ${photo.className}.`);
    return 0;
  });
}

async function commandRemove(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  if (positionals.length === 0) throw new AtelierError('invalid-payload', 'Name the photos to remove: atelier photos remove ID... (ids as ‘atelier photos list’ shows them).');
  return withAtelier(deps, async (atelier) => {
    const removed: string[] = [];
    const problems: MyPhotoProblem[] = [];
    for (let start = 0; start < positionals.length; start += PHOTO_MAX_PATHS) {
      const part = await deps.call(atelier, 'myPhotos.remove', { ids: positionals.slice(start, start + PHOTO_MAX_PATHS) });
      removed.push(...part.removed);
      problems.push(...part.problems);
    }
    if (values.json) io.out(JSON.stringify({ removed, problems }, null, 2));
    else {
      io.out(removed.length > 0 ? `Removed ${plural(removed.length, 'photo')} from My photos: ${removed.join(' ')}.` : 'No photo was removed.');
      if (problems.length > 0) io.out([`Could not remove ${plural(problems.length, 'photo')}:`, ...problemLines(problems)].join('\n'));
    }
    return problems.length > 0 ? 1 : 0;
  });
}

/** `atelier photos <sub>`; returns the exit code (0 done, 1 something was refused, 2 usage). */
export async function commandMyPhotos(args: string[], io: CliIo, deps: CliDeps): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'add':
      return commandAdd(rest, io, deps);
    case 'list':
      return commandList(rest, io, deps);
    case 'relabel':
      return commandRelabel(rest, io, deps);
    case 'remove':
      return commandRemove(rest, io, deps);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.out(USAGE);
      return sub === undefined ? 2 : 0;
    default:
      io.err(`Unknown photos command "${sub}".\n${USAGE}`);
      return 2;
  }
}
