// `npm audit` of the runtime dependencies (what ships in the installers and the npm package),
// failing on any high or critical advisory. npm answers exit code 1 both for advisories and for
// an audit endpoint it cannot reach; only the first fails this check. Where the endpoint cannot
// be reached (offline, a registry mirror without it), it says so and passes.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Advisory levels that fail the check. */
export const FAILING_LEVELS = ['high', 'critical'];
const UNREACHABLE = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|socket hang up|network|audit endpoint/i;

/**
 * What `npm audit --json` said: `ok`, `vulnerable` (with the failing packages), `unreachable`
 * (the endpoint did not answer; not a verdict), or `error` (npm could not audit, e.g. no lockfile).
 */
export function judgeAudit(stdout, exitCode) {
  let report;
  try {
    report = JSON.parse(stdout);
  } catch {
    return { status: exitCode === 0 ? 'ok' : 'error', message: `npm audit printed no report (exit ${exitCode}): ${String(stdout).trim().slice(0, 300) || 'nothing'}` };
  }
  const counts = report?.metadata?.vulnerabilities;
  if (counts && typeof counts === 'object') {
    const failing = Object.entries(report.vulnerabilities ?? {})
      .filter(([, advisory]) => FAILING_LEVELS.includes(advisory?.severity))
      .map(([name, advisory]) => ({ name, severity: advisory.severity, range: advisory.range ?? '', fixAvailable: Boolean(advisory.fixAvailable) }));
    const failingCount = FAILING_LEVELS.reduce((sum, level) => sum + (Number(counts[level]) || 0), 0);
    const levels = ['critical', 'high', 'moderate', 'low', 'info'].map((level) => `${Number(counts[level]) || 0} ${level}`).join(', ');
    if (failingCount > 0 || failing.length > 0) return { status: 'vulnerable', message: `Runtime dependencies: ${levels}.`, failing };
    return { status: 'ok', message: `Runtime dependencies: ${levels}.` };
  }
  const problem = [report?.message, report?.error?.summary, report?.error?.detail, report?.error?.code, report?.code].filter(Boolean).join(' ');
  const status = Number(report?.statusCode);
  if (UNREACHABLE.test(problem) || status === 404 || status === 405 || status >= 500) {
    return { status: 'unreachable', message: `The npm audit endpoint could not be used here (${problem.trim() || `HTTP ${status}`}); runtime dependencies were not audited.` };
  }
  return { status: 'error', message: `npm audit could not run: ${problem.trim() || `exit ${exitCode}`}` };
}

function main() {
  // `--audit`: the user's npmrc may say audit=false, which is for installs, not for this check.
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['audit', '--audit', '--omit=dev', '--audit-level=high', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, shell: process.platform === 'win32' });
  if (result.error) {
    console.error(`npm audit did not run: ${result.error.message}`);
    return 1;
  }
  const verdict = judgeAudit(result.stdout, result.status ?? 1);
  if (verdict.status === 'vulnerable') {
    console.error(`npm audit --omit=dev: ${verdict.message}`);
    for (const advisory of verdict.failing) console.error(`  ${advisory.severity.padEnd(8)} ${advisory.name} ${advisory.range}${advisory.fixAvailable ? ' (npm audit fix can update it)' : ''}`);
    return 1;
  }
  if (verdict.status === 'error') {
    console.error(verdict.message);
    return 1;
  }
  console.log(`npm audit --omit=dev: ${verdict.message}`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exit(main());
