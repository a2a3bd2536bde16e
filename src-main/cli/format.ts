import type { SystemInfo } from '../contract';

/** Human-readable System report for the terminal (the `--json` form prints the object as is). */
export function formatSystemInfo(info: SystemInfo): string {
  const lines: string[] = [];
  lines.push(`${info.appName} ${info.appVersion} (${info.shell} shell) on ${info.platform}/${info.arch}, Node ${info.nodeVersion}`);
  lines.push(`Data folder: ${info.dataHome}`);
  lines.push('');
  lines.push(`Engine: ${info.engine.backend ?? 'none'}${info.engine.tfjsVersion ? ` (TensorFlow.js ${info.engine.tfjsVersion})` : ''}`);
  for (const rung of info.engine.ladder) {
    const mark = rung.outcome === 'used' ? '✔' : rung.outcome === 'skipped' ? '✘' : '·';
    lines.push(`  ${mark} ${rung.name.padEnd(15)} ${rung.outcome === 'skipped' ? rung.reason : rung.outcome === 'used' ? 'in use' : 'not needed'}`);
  }
  lines.push('');
  lines.push(`Fashion-MNIST: ${info.dataset.using ? `using ${info.dataset.using}` : 'not found'}`);
  for (const source of info.dataset.sources) {
    lines.push(`  ${source.state === 'found' ? '✔' : '·'} ${source.kind.padEnd(15)} ${source.state.padEnd(10)} ${source.location}`);
  }
  return lines.join('\n');
}
