/**
 * Classify's live camera: a preview from getUserMedia, its frames grabbed to a canvas and sent as
 * JPEGs through the very call dropped photos use (`photos.classifyFiles`, same preprocessing), one
 * at a time — no new frame while one is in flight, and at most a few a second — so the window stays
 * smooth and the core is never queued up. Capture freezes the current answer into a normal card.
 */
import type { AtelierBridge, PhotoBatch, PhotoResult } from '../../../src-main/contract';
import { errorInfo, unwrap } from './api';
import { fileToBase64 } from './photo-inputs';

/** Longest side of a grabbed frame: a little above the 256 pixels preprocessing works at. */
export const FRAME_SIDE = 320;
/** At most one frame every this many milliseconds (five a second), even when answers come faster. */
export const MIN_FRAME_INTERVAL_MS = 200;
/** After a failed answer (no model yet, engine restarting), wait this long before the next frame. */
const RETRY_AFTER_MS = 2000;

export type CameraStatus = 'off' | 'starting' | 'live' | 'failed';

export interface CameraDevice {
  deviceId: string;
  label: string;
}

/** What went wrong starting the camera, in words a person can act on. */
export function describeCameraFailure(caught: unknown): string {
  const name = caught instanceof DOMException || caught instanceof Error ? caught.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera access was refused. Allow the camera for this page (the camera icon in the address bar, or the browser’s site settings), then press Try again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found. Connect one, then press Try again.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera could not be started: another program may be using it. Close that program, then press Try again.';
    default:
      return `The camera could not be started (${caught instanceof Error ? caught.message : String(caught)}).`;
  }
}

/** A frame's file name: when it was taken, to the second. */
export function captureName(now = new Date()): string {
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `camera-${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}-${pad(now.getHours())}-${pad(now.getMinutes())}-${pad(now.getSeconds())}.jpg`;
}

/** Answers a second over the last few answers' times (milliseconds), or null with fewer than two. */
export function answerRate(times: readonly number[]): number | null {
  if (times.length < 2) return null;
  const span = times.at(-1)! - times[0]!;
  return span > 0 ? ((times.length - 1) * 1000) / span : null;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class CameraSession {
  status = $state<CameraStatus>('off');
  /** Why the camera is not running (refused, none found, in use); null otherwise. */
  failure = $state<string | null>(null);
  devices = $state.raw<CameraDevice[]>([]);
  deviceId = $state<string | null>(null);
  /** The newest frame's answer (a result, or why that frame could not be used). */
  latest = $state.raw<PhotoResult | null>(null);
  /** The model and class names of the newest answer. */
  run = $state.raw<PhotoBatch['run'] | null>(null);
  classNames = $state.raw<string[]>([]);
  /** Why no answer comes (no model chosen, engine down); frames are retried every two seconds. */
  answerError = $state.raw<{ kind: string; message: string } | null>(null);
  answersPerSecond = $state<number | null>(null);
  /** Answers since the camera was opened. */
  answers = $state(0);
  /** Ask for the "why" heatmap with every frame (the live card's Why? is on). */
  explain = false;

  readonly #bridge: AtelierBridge;
  #video: HTMLVideoElement | null = null;
  #stream: MediaStream | null = null;
  #generation = 0;
  #latestFrame: Blob | null = null;
  #answerTimes: number[] = [];
  readonly #canvas = document.createElement('canvas');

  constructor(bridge: AtelierBridge) {
    this.#bridge = bridge;
  }

  /** Open the camera (`deviceId`, or the browser's choice) into `video` and start answering. */
  async start(video: HTMLVideoElement, deviceId: string | null = this.deviceId): Promise<void> {
    this.stop();
    const generation = ++this.#generation;
    this.#video = video;
    this.status = 'starting';
    this.failure = null;
    if (!navigator.mediaDevices?.getUserMedia) {
      this.status = 'failed';
      this.failure = 'This page cannot use a camera: browsers offer cameras only to secure pages (https, or http://127.0.0.1 as atelier serve prints it). Open the address atelier serve printed.';
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: false, video: deviceId ? { deviceId: { exact: deviceId } } : { width: { ideal: 640 }, height: { ideal: 480 } } });
      if (generation !== this.#generation) {
        for (const track of stream.getTracks()) track.stop();
        return;
      }
      this.#stream = stream;
      video.srcObject = stream;
      await video.play();
      this.deviceId = stream.getVideoTracks()[0]?.getSettings().deviceId ?? deviceId;
      this.devices = (await navigator.mediaDevices.enumerateDevices())
        .filter((device) => device.kind === 'videoinput')
        .map((device, index) => ({ deviceId: device.deviceId, label: device.label || `Camera ${index + 1}` }));
      if (generation !== this.#generation) return;
      this.status = 'live';
      void this.#answerFrames(generation);
    } catch (caught) {
      if (generation !== this.#generation) return;
      this.stop();
      this.status = 'failed';
      this.failure = describeCameraFailure(caught);
    }
  }

  /** Switch to another camera. */
  async choose(deviceId: string): Promise<void> {
    if (this.#video) await this.start(this.#video, deviceId);
  }

  /** Close the camera and stop answering. */
  stop(): void {
    this.#generation += 1;
    for (const track of this.#stream?.getTracks() ?? []) track.stop();
    this.#stream = null;
    if (this.#video) this.#video.srcObject = null;
    this.status = 'off';
    this.latest = null;
    this.answerError = null;
    this.answersPerSecond = null;
    this.answers = 0;
    this.#answerTimes = [];
    this.#latestFrame = null;
  }

  /** The current answer and the frame it came from, as a file of its own; null before a usable answer. */
  capture(now = new Date()): { result: PhotoResult & { ok: true }; file: File; run: PhotoBatch['run']; classNames: string[] } | null {
    const result = this.latest;
    if (!result?.ok || !this.#latestFrame || !this.run) return null;
    const name = captureName(now);
    return { result: { ...result, name }, file: new File([this.#latestFrame], name, { type: 'image/jpeg' }), run: this.run, classNames: this.classNames };
  }

  async #answerFrames(generation: number): Promise<void> {
    while (generation === this.#generation) {
      const started = performance.now();
      const frame = await this.#grab();
      let wait = MIN_FRAME_INTERVAL_MS;
      if (frame) {
        try {
          const batch = await unwrap(this.#bridge.photos.classifyFiles({ files: [{ name: 'camera.jpg', base64: await fileToBase64(frame) }], requestId: 'camera', ...(this.explain ? { why: true } : {}) }));
          if (generation !== this.#generation) return;
          const answer = batch.results[0];
          this.latest = answer ? { ...answer, name: 'Live frame' } : null;
          this.#latestFrame = frame;
          this.run = batch.run;
          this.classNames = batch.classNames;
          this.answerError = null;
          this.answers += 1;
          this.#answerTimes = [...this.#answerTimes.slice(-9), performance.now()];
          this.answersPerSecond = answerRate(this.#answerTimes);
        } catch (caught) {
          if (generation !== this.#generation) return;
          this.answerError = errorInfo(caught);
          this.#answerTimes = [];
          this.answersPerSecond = null;
          wait = RETRY_AFTER_MS;
        }
      }
      await sleep(Math.max(0, wait - (performance.now() - started)));
    }
  }

  /** The video's current frame as a JPEG, longest side at most `FRAME_SIDE`; null before the first frame. */
  async #grab(): Promise<Blob | null> {
    const video = this.#video;
    if (!video || video.readyState < 2 || video.videoWidth === 0) return null;
    const scale = Math.min(1, FRAME_SIDE / Math.max(video.videoWidth, video.videoHeight));
    this.#canvas.width = Math.round(video.videoWidth * scale);
    this.#canvas.height = Math.round(video.videoHeight * scale);
    this.#canvas.getContext('2d')?.drawImage(video, 0, 0, this.#canvas.width, this.#canvas.height);
    return new Promise((resolve) => this.#canvas.toBlob((blob) => resolve(blob), 'image/jpeg', 0.9));
  }
}
