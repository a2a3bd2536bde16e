// Electronegativity over the Electron main process (src-main) and the page it loads, as a gate.
//
// Electronegativity exits 0 whatever it finds, and its SARIF leaves out each finding's severity.
// This script runs it with SARIF output, adds severity and confidence to every result (from the
// same run, in the same order), marks the findings explained by a comment
//     // electronegativity: <why this is safe>        (or <!-- electronegativity: … --> in HTML)
// on the flagged line or the line just above as SARIF in-source suppressions, writes the SARIF to
// test-results/electronegativity.sarif, and fails on any HIGH or MEDIUM finding left unexplained.
//
// Tests (*.test.ts) are not scanned: they build unsafe windows on purpose, against a stand-in
// electron, to prove the checks fail. The check that needs GitHub (Electron releases with
// security fixes) is skipped: it cannot run offline and would only say "no connectivity".
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

/** Severities that fail the gate unless explained. */
export const GATED_SEVERITIES = ['HIGH', 'MEDIUM'];
const EXPLANATION = /(?:\/\/|<!--)\s*electronegativity:\s*(.+?)\s*(?:-->)?\s*$/;
/** An explanation shorter than this ("ok", "safe") explains nothing. */
const MIN_EXPLANATION_LENGTH = 12;
const OFFLINE_CHECKS = ['availablesecurityfixesglobalcheck'];

/**
 * The explanation for a finding at 1-based `line` of a file's `lines`: a trailing comment on the
 * line itself, or a comment line just above it. Null when there is none worth the name.
 */
export function explanationFor(lines, line) {
  const candidates = [lines[line - 1] ?? ''];
  const above = lines[line - 2] ?? '';
  if (/^\s*(\/\/|<!--)/.test(above)) candidates.push(above);
  for (const text of candidates) {
    const reason = EXPLANATION.exec(text)?.[1]?.trim();
    if (reason && reason.length >= MIN_EXPLANATION_LENGTH) return reason;
  }
  return null;
}

/**
 * Adds `properties.severity/confidence` to each SARIF result from Electronegativity's issues (same
 * order), and an in-source suppression where the code explains the finding; `readLines(uri)` gives
 * a scanned file's lines. Returns the SARIF and the gated findings nobody explained.
 */
export function judgeFindings(sarif, issues, readLines) {
  const results = sarif.runs?.[0]?.results ?? [];
  if (results.length !== issues.length) {
    throw new Error(`Electronegativity's SARIF has ${results.length} results for ${issues.length} findings; cannot tell their severities apart.`);
  }
  const unexplained = [];
  results.forEach((result, index) => {
    const issue = issues[index];
    if (result.ruleId !== issue.id) throw new Error(`SARIF result ${index} is ${result.ruleId}, the finding is ${issue.id}.`);
    const severity = issue.severity.name;
    const location = result.locations?.[0]?.physicalLocation;
    const uri = location?.artifactLocation?.uri ?? 'file:///';
    const line = location?.region?.startLine ?? 1;
    result.properties = { ...result.properties, severity, confidence: issue.confidence.name, manualReview: Boolean(issue.manualReview) };
    const lines = uri === 'file:///' ? [] : readLines(uri);
    const reason = lines ? explanationFor(lines, line) : null;
    if (reason) {
      result.suppressions = [{ kind: 'inSource', justification: reason }];
    } else if (GATED_SEVERITIES.includes(severity)) {
      result.level = 'error';
      unexplained.push({ rule: issue.id, severity, confidence: issue.confidence.name, file: uri, line, sample: (issue.sample ?? '').trim(), description: issue.description });
    }
  });
  return { sarif, unexplained };
}

/** Copies what is scanned into a temporary folder that mirrors the repository's layout. */
function stageSources(root, sourceDir, pages) {
  const stage = mkdtempSync(join(tmpdir(), 'atelier-electronegativity-'));
  cpSync(join(root, sourceDir), join(stage, sourceDir), {
    recursive: true,
    filter: (source) => !/\.test\.[cm]?[jt]s$/.test(source),
  });
  for (const page of pages) {
    if (!existsSync(join(root, page))) continue;
    mkdirSync(dirname(join(stage, page)), { recursive: true });
    cpSync(join(root, page), join(stage, page));
  }
  return stage;
}

function installedElectronVersion(root) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version;
  } catch {
    const range = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies?.electron ?? '';
    return /\d+\.\d+\.\d+/.exec(range)?.[0];
  }
}

/** Electronegativity writes its SARIF without waiting for the write: wait for the whole file. */
async function readSarifWhenWritten(path, expectedResults) {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      const sarif = JSON.parse(readFileSync(path, 'utf8'));
      if ((sarif.runs?.[0]?.results?.length ?? -1) === expectedResults) return sarif;
    } catch {
      // not there, or half written
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Electronegativity did not write ${path}.`);
}

/**
 * Runs Electronegativity over `sourceDir` and `pages` of `root`, writes the SARIF to `sarifPath`,
 * and returns the gated findings without an explanation (plus what it scanned).
 */
export async function auditElectron({ root = ROOT, sourceDir = 'src-main', pages = ['src-renderer/index.html'], sarifPath = join(root, 'test-results', 'electronegativity.sarif') } = {}) {
  const run = require('@doyensec/electronegativity');
  const stage = stageSources(root, sourceDir, pages);
  const rawSarif = join(stage, 'electronegativity.raw.sarif');
  try {
    const { issues, errors } = await run(
      {
        input: stage,
        output: rawSarif,
        isSarif: true,
        customScan: [],
        excludeFromScan: OFFLINE_CHECKS,
        severitySet: undefined,
        confidenceSet: undefined,
        isRelative: true,
        isVerbose: false,
        electronUpgrade: undefined,
        electronVersionOverride: installedElectronVersion(root),
        parserPlugins: [],
      },
      false,
    );
    if (errors.length > 0) {
      // A file it cannot parse is a file it did not check.
      const names = errors.map((error) => `${relative(stage, error.file ?? '')}: ${error.message ?? error.error ?? 'parse error'}`);
      throw new Error(`Electronegativity could not read ${errors.length} file(s), so their findings would be missed:\n  ${names.join('\n  ')}`);
    }
    const sarif = await readSarifWhenWritten(rawSarif, issues.length);
    const readLines = (uri) => {
      const path = join(root, uri.split('/').join(sep));
      return existsSync(path) ? readFileSync(path, 'utf8').split(/\r?\n/) : null;
    };
    const judged = judgeFindings(sarif, issues, readLines);
    // Point viewers at the repository, not the temporary copy that was scanned.
    for (const invocation of judged.sarif.runs[0].invocations ?? []) invocation.workingDirectory = { uri: `file://${root.split(sep).join('/')}` };
    mkdirSync(dirname(sarifPath), { recursive: true });
    writeFileSync(sarifPath, `${JSON.stringify(judged.sarif, null, 2)}\n`);
    return { findings: judged.sarif.runs[0].results, unexplained: judged.unexplained, sarifPath };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

async function main() {
  const { findings, unexplained, sarifPath } = await auditElectron();
  const counts = {};
  for (const finding of findings) counts[finding.properties.severity] = (counts[finding.properties.severity] ?? 0) + 1;
  const summary = Object.entries(counts).map(([severity, count]) => `${count} ${severity}`).join(', ') || 'none';
  console.log(`Electronegativity over src-main: ${findings.length} finding(s) (${summary}); SARIF in ${relative(ROOT, sarifPath)}.`);
  for (const finding of findings.filter((candidate) => candidate.suppressions)) {
    const where = finding.locations[0].physicalLocation;
    console.log(`  explained  ${finding.properties.severity.padEnd(13)} ${finding.ruleId} at ${where.artifactLocation.uri}:${where.region.startLine} — ${finding.suppressions[0].justification}`);
  }
  if (unexplained.length === 0) {
    console.log(`No unexplained ${GATED_SEVERITIES.join(' or ')} finding.`);
    return 0;
  }
  console.error(`\n${unexplained.length} ${GATED_SEVERITIES.join('/')} finding(s) without an explanation:`);
  for (const finding of unexplained) {
    console.error(`  ${finding.file}:${finding.line}  ${finding.rule} (${finding.severity}, ${finding.confidence})\n    ${finding.sample}\n    ${finding.description}`);
  }
  console.error(
    '\nFix the code, or, where it is safe, say why in a comment on that line or the line above:\n' +
      '  // electronegativity: <why this is safe>\n' +
      'See https://github.com/doyensec/electronegativity/wiki for each check.',
  );
  return 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
