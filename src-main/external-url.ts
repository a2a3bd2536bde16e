/**
 * Which links Atelier hands to the system browser. Kept free of Electron so that the rule can be
 * tested (and reused) outside the Electron binary.
 */

/** True only for http(s) URLs: `file:`, `javascript:`, custom schemes and unparsable text are refused. */
export function isSafeExternalUrl(url: string): boolean {
  try {
    const protocol = new URL(url).protocol;
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}
