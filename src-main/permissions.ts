/**
 * Which of a page's permission requests Atelier grants: the camera, video only, to Atelier's own
 * page (Classify's live camera). Microphone, screen capture, notifications, geolocation, HID,
 * USB, anything else, and anything asked by another page, stay denied. Electron-free, so that
 * security.test.ts can try every case; window.ts wires it into the session.
 */

/** What Electron tells a permission handler, reduced to what decides. */
export interface PermissionQuery {
  readonly permission: string;
  /** The URL of the frame asking (Electron's `details.requestingUrl`). */
  readonly requestingUrl: string | undefined;
  /** A request's media kinds (`details.mediaTypes`: 'video', 'audio'); absent in a check. */
  readonly mediaTypes?: readonly string[] | undefined;
  /** A check's media kind (`details.mediaType`: 'video', 'audio', 'unknown'); absent in a request. */
  readonly mediaType?: string | undefined;
}

/** True only for the camera without the microphone, asked by a URL `isOwnPage` accepts. */
export function allowsPermission(query: PermissionQuery, isOwnPage: (url: string) => boolean): boolean {
  if (query.permission !== 'media') return false;
  if (!query.requestingUrl || !isOwnPage(query.requestingUrl)) return false;
  if (query.mediaTypes !== undefined) return query.mediaTypes.length > 0 && query.mediaTypes.every((kind) => kind === 'video');
  return query.mediaType === 'video';
}
