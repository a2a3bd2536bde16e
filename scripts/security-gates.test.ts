/**
 * The two security gates of `npm run test:security`: Electronegativity's findings must be fixed or
 * explained next to the code, and runtime dependencies must have no high or critical advisory.
 * These tests prove each gate can fail, and on what.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain JavaScript scripts run by node, without type declarations
import { auditElectron, explanationFor, judgeFindings } from './electronegativity.js';
// @ts-expect-error -- plain JavaScript scripts run by node, without type declarations
import { judgeAudit } from './npm-audit.js';

interface Finding {
  rule: string;
  severity: string;
  file: string;
  line: number;
}
type SarifResult = { ruleId: string; level: string; properties?: Record<string, unknown>; suppressions?: Array<{ justification: string }> };
const explain = explanationFor as (lines: string[], line: number) => string | null;
const judge = judgeFindings as (sarif: unknown, issues: unknown[], readLines: (uri: string) => string[] | null) => { sarif: { runs: Array<{ results: SarifResult[] }> }; unexplained: Finding[] };
const audit = auditElectron as (options: { root: string; sarifPath: string }) => Promise<{ findings: SarifResult[]; unexplained: Finding[] }>;
const judgeNpmAudit = judgeAudit as (stdout: string, exitCode: number) => { status: string; message: string; failing?: Array<{ name: string; severity: string }> };

describe('explanationFor: a comment on the flagged line or the line above', () => {
  const lines = [
    'const a = 1;',
    '  // electronegativity: only http(s) URLs get here, see isSafeExternalUrl',
    '  shell.openExternal(url);',
    'shell.openExternal(other); // electronegativity: a fixed https URL, typed in this file',
    '// electronegativity: ok',
    'shell.openExternal(third);',
    '// electronegativity: two lines above does not count for the next finding',
    'const spacer = 0;',
    'shell.openExternal(fourth);',
    "const text = '// electronegativity: a string is not a comment, whatever it says';",
    'shell.openExternal(fifth);',
    '<!-- electronegativity: the page is ours and loads nothing remote -->',
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'">',
  ];

  it('accepts a comment line just above, or a trailing comment, and returns the reason', () => {
    expect(explain(lines, 3)).toBe('only http(s) URLs get here, see isSafeExternalUrl');
    expect(explain(lines, 4)).toBe('a fixed https URL, typed in this file');
    expect(explain(lines, 13)).toBe('the page is ours and loads nothing remote');
  });

  it('refuses a reason too short to explain, a comment two lines up, a string, or nothing', () => {
    expect(explain(lines, 6)).toBeNull();
    expect(explain(lines, 9)).toBeNull();
    expect(explain(lines, 11)).toBeNull();
    expect(explain(lines, 1)).toBeNull();
    expect(explain(lines, 99)).toBeNull();
  });
});

describe('judgeFindings: severities into the SARIF, and the gate', () => {
  const severity = (name: string) => ({ name });
  const sarifWith = (results: Array<{ ruleId: string; uri: string; line: number }>) => ({
    runs: [{ results: results.map(({ ruleId, uri, line }) => ({ ruleId, level: 'warning', message: { text: ruleId }, locations: [{ physicalLocation: { artifactLocation: { uri }, region: { startLine: line } } }] })) }],
  });
  const source: Record<string, string[]> = {
    'src-main/window.ts': ['const w = new BrowserWindow({', '  // electronegativity: our own sandboxed preload, exposing verbs only', '  preload: path,', '});'],
  };
  const readLines = (uri: string) => source[uri] ?? null;

  it('fails HIGH and MEDIUM findings without an explanation, passes LOW and INFORMATIONAL ones, and suppresses explained ones', () => {
    const sarif = sarifWith([
      { ruleId: 'CONTEXT_ISOLATION_JS_CHECK', uri: 'src-main/window.ts', line: 1 },
      { ruleId: 'PRELOAD_JS_CHECK', uri: 'src-main/window.ts', line: 3 },
      { ruleId: 'AUXCLICK_JS_CHECK', uri: 'src-main/window.ts', line: 1 },
      { ruleId: 'CSP_GLOBAL_CHECK', uri: 'src-renderer/index.html', line: 5 },
      { ruleId: 'ELECTRON_VERSION_JSON_CHECK', uri: 'file:///', line: 1 },
    ]);
    const issues = [
      { id: 'CONTEXT_ISOLATION_JS_CHECK', severity: severity('HIGH'), confidence: severity('FIRM') },
      { id: 'PRELOAD_JS_CHECK', severity: severity('MEDIUM'), confidence: severity('FIRM') },
      { id: 'AUXCLICK_JS_CHECK', severity: severity('MEDIUM'), confidence: severity('FIRM') },
      { id: 'CSP_GLOBAL_CHECK', severity: severity('LOW'), confidence: severity('FIRM') },
      { id: 'ELECTRON_VERSION_JSON_CHECK', severity: severity('INFORMATIONAL'), confidence: severity('CERTAIN') },
    ];
    const { sarif: judged, unexplained } = judge(sarif, issues, readLines);
    expect(unexplained.map((finding) => `${finding.rule}@${finding.line}`)).toEqual(['CONTEXT_ISOLATION_JS_CHECK@1', 'AUXCLICK_JS_CHECK@1']);
    const results = judged.runs[0]!.results;
    expect(results.map((result) => result.properties?.severity)).toEqual(['HIGH', 'MEDIUM', 'MEDIUM', 'LOW', 'INFORMATIONAL']);
    expect(results.map((result) => result.level)).toEqual(['error', 'warning', 'error', 'warning', 'warning']);
    expect(results[1]!.suppressions).toEqual([{ kind: 'inSource', justification: 'our own sandboxed preload, exposing verbs only' }]);
  });

  it('refuses to guess when the SARIF and the findings do not line up', () => {
    const sarif = sarifWith([{ ruleId: 'PRELOAD_JS_CHECK', uri: 'src-main/window.ts', line: 3 }]);
    expect(() => judge(sarif, [], readLines)).toThrow(/1 results for 0 findings/);
    expect(() => judge(sarif, [{ id: 'SANDBOX_JS_CHECK', severity: severity('HIGH'), confidence: severity('FIRM') }], readLines)).toThrow(/PRELOAD_JS_CHECK/);
  });
});

describe('Electronegativity over a small app, for real', () => {
  let root: string;
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  const unsafeWindow = [
    "import { BrowserWindow } from 'electron';",
    'export function open(): BrowserWindow {',
    '  return new BrowserWindow({ webPreferences: { nodeIntegration: true, contextIsolation: false, sandbox: false } });',
    '}',
    '',
  ];

  const guards = [
    "import { app, session } from 'electron';",
    'export function guard(): void {',
    '  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));',
    "  app.on('web-contents-created', (_event, contents) => {",
    "    contents.on('will-navigate', (event) => event.preventDefault());",
    "    contents.setWindowOpenHandler(() => ({ action: 'deny' }));",
    '  });',
    '}',
    '',
  ];

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'atelier-electronegativity-test-'));
    write('package.json', JSON.stringify({ name: 'app', version: '1.0.0', devDependencies: { electron: '^45.5.0' } }));
    write('src-renderer/index.html', '<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'; script-src \'self\'"></head><body></body></html>\n');
    write('src-main/window.test.ts', unsafeWindow.join('\n'));
  });

  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('fails an unsafe window, writes severities into the SARIF, and ignores test files', async () => {
    write('src-main/guards.ts', guards.join('\n'));
    write('src-main/window.ts', unsafeWindow.join('\n'));
    const sarifPath = join(root, 'out.sarif');
    const { unexplained } = await audit({ root, sarifPath });
    const rules = new Set(unexplained.map((finding) => finding.rule));
    expect(rules).toContain('CONTEXT_ISOLATION_JS_CHECK');
    expect(rules).toContain('SANDBOX_JS_CHECK');
    expect(unexplained.some((finding) => finding.severity === 'HIGH')).toBe(true);
    expect(unexplained.every((finding) => finding.file === 'src-main/window.ts' && ['HIGH', 'MEDIUM'].includes(finding.severity))).toBe(true);
    const written = JSON.parse(readFileSync(sarifPath, 'utf8')) as { runs: Array<{ results: SarifResult[] }> };
    expect(written.runs[0]!.results.length).toBeGreaterThanOrEqual(unexplained.length);
    expect(written.runs[0]!.results.every((result) => typeof result.properties?.severity === 'string')).toBe(true);
  }, 120_000);

  it('passes once every finding on that line is explained', async () => {
    write('src-main/window.ts', [...unsafeWindow.slice(0, 2), '  // electronegativity: pretend this window only ever shows a bundled, trusted page', ...unsafeWindow.slice(2)].join('\n'));
    const { findings, unexplained } = await audit({ root, sarifPath: join(root, 'out.sarif') });
    expect(unexplained).toEqual([]);
    expect(findings.filter((result) => result.suppressions).length).toBeGreaterThan(0);
  }, 120_000);

  it('fails a missing navigation guard or permission handler, which no comment can explain away', async () => {
    write('src-main/guards.ts', '// electronegativity: this file used to guard navigation and permissions\nexport {};\n');
    const { unexplained } = await audit({ root, sarifPath: join(root, 'out.sarif') });
    expect(unexplained.map((finding) => finding.rule)).toEqual(expect.arrayContaining(['LIMIT_NAVIGATION_GLOBAL_CHECK', 'PERMISSION_REQUEST_HANDLER_GLOBAL_CHECK']));
  }, 120_000);
});

describe('judgeAudit: npm audit --json', () => {
  const report = (counts: Partial<Record<string, number>>, vulnerabilities: Record<string, { severity: string }> = {}) =>
    JSON.stringify({ auditReportVersion: 2, vulnerabilities, metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts } } });

  it('passes a clean report and one with only moderate or low advisories', () => {
    expect(judgeNpmAudit(report({}), 0).status).toBe('ok');
    expect(judgeNpmAudit(report({ moderate: 2, low: 1 }, { ws: { severity: 'moderate' } }), 0).status).toBe('ok');
  });

  it('fails high and critical advisories and names the packages', () => {
    const high = judgeNpmAudit(report({ high: 1, low: 1 }, { ws: { severity: 'high' }, zod: { severity: 'low' } }), 1);
    expect(high.status).toBe('vulnerable');
    expect(high.failing?.map((advisory) => advisory.name)).toEqual(['ws']);
    expect(judgeNpmAudit(report({ critical: 1 }, { sharp: { severity: 'critical' } }), 1).status).toBe('vulnerable');
  });

  it('says "unreachable" for an endpoint that does not answer, and "error" when npm cannot audit at all', () => {
    const blocked = JSON.stringify({ message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk', statusCode: 405 });
    expect(judgeNpmAudit(blocked, 1).status).toBe('unreachable');
    expect(judgeNpmAudit(JSON.stringify({ error: { code: 'ENOTFOUND', summary: 'request to https://registry.npmjs.org failed, reason: getaddrinfo ENOTFOUND' } }), 1).status).toBe('unreachable');
    expect(judgeNpmAudit(JSON.stringify({ error: { code: 'ENOLOCK', summary: 'This command requires an existing lockfile.' } }), 1).status).toBe('error');
    expect(judgeNpmAudit('not json', 1).status).toBe('error');
  });
});
