/**
 * Fashion-MNIST's shape, defined once: every image is IMAGE_SIDE × IMAGE_SIDE grayscale bytes, every
 * label one of CLASS_NAMES. No imports, so the main process, the engine worker, the CLI and the
 * renderer can all share it.
 */

/** Side of one image in pixels. */
export const IMAGE_SIDE = 28;
/** Pixels (and bytes) per image: 784. */
export const PIXELS_PER_IMAGE = IMAGE_SIDE * IMAGE_SIDE;

/** The tutorial's class names, indexed by label. */
export const CLASS_NAMES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/** 10. */
export const CLASS_COUNT = CLASS_NAMES.length;
