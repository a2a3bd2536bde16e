/**
 * Test probe, run by store.test.ts in a separate process (node --import tsx): adds each photo
 * path given with its own concurrent `add` call, as a second Atelier process sharing the data
 * folder would, and prints what each call reported as JSON.
 * Usage: concurrent-add-probe.ts <home> <label> <photo>...
 */
import { PhotoCollection } from './store';

const [home, label, ...paths] = process.argv.slice(2);
if (home === undefined || label === undefined) {
  process.stderr.write('usage: concurrent-add-probe.ts <home> <label> <photo>...\n');
  process.exit(2);
}
const store = new PhotoCollection(home);
const results = await Promise.all(paths.map((path) => store.add([path], Number(label))));
process.stdout.write(
  JSON.stringify(results.map((result) => ({ added: result.added.map((e) => e.sha256), existing: result.existing.map((e) => e.sha256), problems: result.problems }))),
);
