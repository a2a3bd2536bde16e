import type * as tfNamespace from '@tensorflow/tfjs';

/**
 * The two models the wasm kernels are tuned and tested on, as the team fixed them (the app's
 * own model factories live elsewhere in the engine). Built and compiled with the `tf` passed in,
 * so tests and the measurement script share the caller's tfjs instance.
 */

type Tf = typeof tfNamespace;

function compile(tf: Tf, model: tfNamespace.Sequential): tfNamespace.Sequential {
  model.compile({ optimizer: tf.train.adam(0.001), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** Seeded initialisers, so a test builds the same weights on every backend. */
function init(tf: Tf, seed: number | undefined) {
  return seed == null ? {} : { kernelInitializer: tf.initializers.glorotUniform({ seed }) };
}

/** The TensorFlow tutorial's MLP: Flatten 784 → Dense 128 relu → Dense 10 softmax; input [28, 28]. */
export function tutorialMlp(tf: Tf, seed?: number): tfNamespace.Sequential {
  return compile(
    tf,
    tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [28, 28] }),
        tf.layers.dense({ units: 128, activation: 'relu', ...init(tf, seed) }),
        tf.layers.dense({ units: 10, activation: 'softmax', ...init(tf, seed == null ? undefined : seed + 1) }),
      ],
    }),
  );
}

/** The `cnn` preset; input [28, 28, 1]. */
export function cnnPreset(tf: Tf, seed?: number): tfNamespace.Sequential {
  const s = (i: number) => init(tf, seed == null ? undefined : seed + i);
  return compile(
    tf,
    tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu', padding: 'valid', ...s(0) }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu', padding: 'valid', ...s(1) }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dropout({ rate: 0.25 }),
        tf.layers.dense({ units: 128, activation: 'relu', ...s(2) }),
        tf.layers.dense({ units: 10, activation: 'softmax', ...s(3) }),
      ],
    }),
  );
}
