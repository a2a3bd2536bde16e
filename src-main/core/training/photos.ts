/**
 * My photos as training data: each kept photo decoded and preprocessed exactly as Classify does
 * (`photoToInput`), so a photo teaches the model with the very input it is classified by, and
 * packed for the engine. The collection is reached through the small interface below, which the
 * collection store fits; training/ needs nothing else from it.
 */
import type { TrainingPhotoRecord } from '../../contract';
import { AtelierError, type ErrorInfo } from '../errors';
import { PIXELS_PER_IMAGE } from '../fashion-mnist';
import { photoToInput } from '../photos/service';
import type { ExtraImages } from '../engine/train';

/** One labelled photo ready to train on: which one (for the run's record) and its 784 input bytes. */
export interface TrainingPhoto extends TrainingPhotoRecord {
  /** The model's 28×28 input as bytes, row-major (the input Classify feeds is these / 255). */
  readonly input: Uint8Array;
}

/** Every photo of My photos, preprocessed; what the training service is given (see app.ts). */
export type LoadTrainingPhotos = () => Promise<TrainingPhoto[]>;

/** What reading My photos needs: the list and each photo's checked bytes (`PhotoCollection` fits). */
export interface TrainingPhotoSource {
  list(): Promise<{ entries: readonly { id: string; sha256: string; label: number }[]; problems: readonly { name: string; error: ErrorInfo }[] }>;
  read(id: string): Promise<{ bytes: Uint8Array }>;
}

/**
 * Read, check and preprocess every photo of the collection, in a fixed order (by content hash) so
 * that the same photos give the same training whatever order they were added in. A damaged photo
 * stops it with what to do: training quietly without it would teach something else than asked.
 */
export async function loadCollectionForTraining(collection: TrainingPhotoSource): Promise<TrainingPhoto[]> {
  const { entries, problems } = await collection.list();
  if (problems.length > 0) {
    const named = problems.slice(0, 3).map((problem) => `${problem.name} (${problem.error.message})`).join('; ');
    throw new AtelierError(
      'photo-corrupt',
      `${problems.length === 1 ? 'A photo' : `${problems.length} photos`} in My photos cannot be read: ${named}${problems.length > 3 ? '; …' : ''}. Remove ${problems.length === 1 ? 'it' : 'them'} from My photos or add ${problems.length === 1 ? 'it' : 'them'} again, then train again.`,
    );
  }
  const sorted = [...entries].sort((a, b) => a.sha256.localeCompare(b.sha256));
  const photos: TrainingPhoto[] = [];
  for (const entry of sorted) {
    const { bytes } = await collection.read(entry.id);
    const preprocessed = await photoToInput({ name: `photo ${entry.id}`, bytes });
    photos.push({ id: entry.id, sha256: entry.sha256, label: entry.label, input: preprocessed.steps.final28 });
  }
  return photos;
}

/** The photos as the engine takes them: one image buffer and the labels, in the photos' order. */
export function photosForEngine(photos: readonly TrainingPhoto[], share: number): ExtraImages {
  const images = new Uint8Array(photos.length * PIXELS_PER_IMAGE);
  const labels = new Uint8Array(photos.length);
  photos.forEach((photo, i) => {
    if (photo.input.length !== PIXELS_PER_IMAGE) throw new AtelierError('internal', `Photo ${photo.id} was preprocessed to ${photo.input.length} values instead of ${PIXELS_PER_IMAGE}.`);
    images.set(photo.input, i * PIXELS_PER_IMAGE);
    labels[i] = photo.label;
  });
  return { images, labels, share };
}

/** What run.json keeps of each photo: which one and the label it trained with. */
export function photoRecords(photos: readonly TrainingPhoto[]): TrainingPhotoRecord[] {
  return photos.map(({ id, sha256, label }) => ({ id, sha256, label }));
}
