/**
 * The renderer's Content-Security-Policy. src-renderer/index.html carries it in a meta tag (so the
 * Electron window's file:// page has it too); the browser shell also sends it as a response header,
 * with frame-ancestors, which browsers honour only in a header (in a meta they log an error).
 * csp.test.ts checks that the meta and this list stay the same.
 */
export const RENDERER_CSP_DIRECTIVES: ReadonlyArray<readonly [string, ...string[]]> = [
  ['default-src', "'none'"],
  ['script-src', "'self'"],
  // Components set style attributes (heatmap cells, progress bars).
  ['style-src', "'self'", "'unsafe-inline'"],
  ['img-src', "'self'", 'data:', 'blob:'],
  ['font-src', "'self'"],
  // The browser shell's WebSocket and session check are same-origin.
  ['connect-src', "'self'"],
  ['worker-src', "'self'", 'blob:'],
  ['base-uri', "'none'"],
  ['form-action', "'none'"],
  ['object-src', "'none'"],
];

function serialise(directives: ReadonlyArray<readonly string[]>): string {
  return directives.map((directive) => directive.join(' ')).join('; ');
}

/** What the meta tag in index.html says, word for word. */
export const RENDERER_META_CSP = serialise(RENDERER_CSP_DIRECTIVES);

/** The browser shell's header for its pages: the meta's policy, and no page may frame Atelier. */
export const RENDERER_HEADER_CSP = serialise([...RENDERER_CSP_DIRECTIVES, ['frame-ancestors', "'none'"]]);
