/**
 * MODEL_CARD.md: what a person receiving the export needs to use it honestly — what it learnt
 * from, how to prepare an input exactly as Atelier's Classify does, what comes out, how well it
 * did, what it is for and not for, and how to check the files with the bundled samples.
 * Everything comes from the run's records; what was not measured is said to be not measured.
 */
import type { Evaluation } from '../../../contract';
import type { RunRecord } from '../../runs/store';
import type { ModelMetadata } from '../metadata';
import { SAMPLES_DIR, SAMPLES_FILE } from './samples';

export const MODEL_CARD_FILE = 'MODEL_CARD.md';

/** How a format's bundled check is run, for the card. */
export interface CheckScriptInfo {
  file: string;
  /** The command, run in the export folder. */
  command: string;
  /** What must be installed first, as a sentence. */
  needs: string;
}

export interface ModelCardSources {
  metadata: ModelMetadata;
  run: RunRecord;
  evaluation: Evaluation | null;
  formatLabel: string;
  script: CheckScriptInfo;
  tolerance: number;
  sampleCount: number;
  /** True when the samples are Fashion-MNIST test images (false: synthetic images, the dataset was absent). */
  samplesFromTestSet: boolean;
}

const plural = (count: number, one: string, many: string): string => `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
/** "value × 255" rather than "value / 0.00392156862745098" when the scale is one over a whole number. */
const divideBy = (term: string, scale: number): string => (Number.isInteger(1 / scale) ? `${term} × ${1 / scale}` : `${term} / ${scale}`);
const multiplyBy = (term: string, scale: number): string => (Number.isInteger(1 / scale) ? `${term} / ${1 / scale}` : `${term} × ${scale}`);
/** "+ 5" or "− 128", for a zero point in a formula. */
const plusOrMinus = (value: number): string => (value < 0 ? `− ${-value}` : `+ ${value}`);
const percent = (value: number): string => `${(value * 100).toFixed(2)} %`;
const fixed3 = (value: number): string => value.toFixed(3);

function trainingSection({ metadata, run }: ModelCardSources): string[] {
  const config = metadata.config;
  const lines = [
    '## What it was trained on',
    '',
    `- Data: Fashion-MNIST (Zalando), 28×28 grayscale images of clothes in 10 classes; ${config?.trainLimit ? `the first ${config.trainLimit.toLocaleString('en-US')} of the 60,000 training images` : 'all 60,000 training images'}.`,
  ];
  const photos = run.photos ?? [];
  lines.push(
    photos.length > 0
      ? `- My photos: ${plural(photos.length, "of the person's own labelled photos was", "of the person's own labelled photos were")} trained on as well (prepared as described below).`
      : '- My photos: none; only Fashion-MNIST.',
  );
  if (run.parentRunId) lines.push(`- Started from the saved weights of run ${run.parentRunId} (taught further, not trained from scratch).`);
  lines.push(`- Preset: ${metadata.run.preset}. Run: "${metadata.run.name}" (${metadata.run.id}), created ${metadata.run.createdAt}, ${metadata.run.origin}.`);
  if (config) {
    lines.push(
      `- Settings: ${plural(config.epochs, 'epoch', 'epochs')} planned, ${metadata.run.epochsCompleted} completed; batch size ${config.batchSize}; learning rate ${config.learningRate}; hidden units ${config.hiddenUnits}; validation split ${config.validationSplit}; seed ${config.seed}.`,
    );
  } else {
    lines.push(`- Settings: not recorded (the run was imported); ${plural(metadata.run.epochsCompleted, 'epoch', 'epochs')} completed.`);
  }
  lines.push(`- Trained with the TensorFlow.js backend: ${metadata.run.backend ?? 'not recorded'}. Exported by Atelier ${metadata.atelierVersion} on ${metadata.exportedAt}.`);
  return lines;
}

function inputSection({ metadata }: ModelCardSources): string[] {
  const { input } = metadata;
  const q = input.dtype === 'int8' ? input.quantization : null;
  return [
    '## How to prepare an input',
    '',
    `The model takes ${input.dtype} input of shape [${input.shape.map((size) => size ?? 'batch').join(', ')}]${input.name ? ` named "${input.name}"` : ''}; layout ${input.layout}.`,
    '',
    'Fashion-MNIST-like images (28×28 grayscale, a light garment on a black background):',
    '',
    '1. Take the 28×28 bytes as they are (0 = black background, 255 = brightest garment pixel), row by row.',
    '2. Divide each by 255, giving float32 values in [0, 1].',
    q
      ? `3. Quantize: q = round(${divideBy('value', q.scale)}) ${plusOrMinus(q.zeroPoint)}, clamped to [−128, 127], as int8.${q.scale === 1 / 255 && q.zeroPoint === -128 ? ' For a byte p this is simply p − 128.' : ''}`
      : '3. Feed the values as float32, without any other normalization (no mean subtraction, no inversion).',
    '',
    `A photo must first be made to look like Fashion-MNIST. ${metadata.photoPreprocessing.summary} Atelier's Classify view does it in these steps:`,
    '',
    ...metadata.photoPreprocessing.steps.map((step, index) => `${index + 1}. ${step}`),
    ...(q ? ['', 'Then quantize as in step 3 above.'] : []),
  ];
}

function outputSection({ metadata }: ModelCardSources): string[] {
  const q = metadata.output.quantization;
  const meaning = q
    ? `Softmax probabilities, one per class, as int8: probability = ${multiplyBy(`(q ${plusOrMinus(-q.zeroPoint)})`, q.scale)}.`
    : metadata.output.meaning.replace('in the order of "classes"', 'in class order');
  return [
    '## What comes out',
    '',
    `${meaning} Shape [${metadata.output.shape.map((size) => size ?? 'batch').join(', ')}]${metadata.output.name ? `, named "${metadata.output.name}"` : ''}.`,
    '',
    `Classes, in output order: ${metadata.classes.map((name, index) => `${index} ${name}`).join(', ')}.`,
  ];
}

function qualitySection({ metadata, evaluation, formatLabel }: ModelCardSources): string[] {
  const lines = ['## How well it does', ''];
  if (evaluation) {
    lines.push(
      `Accuracy on the ${evaluation.testCount.toLocaleString('en-US')} Fashion-MNIST test images: ${percent(evaluation.accuracy)} (loss ${evaluation.loss.toFixed(4)}), measured by Atelier with the run's own model on ${evaluation.evaluatedAt}.${metadata.input.dtype === 'int8' ? ` This ${formatLabel} file is quantized; its accuracy is usually within half a point of that.` : ''}`,
      '',
      '| class | precision | recall | F1 | test images |',
      '|---|---|---|---|---|',
      ...evaluation.perClass.map((scores) => `| ${scores.className} | ${fixed3(scores.precision)} | ${fixed3(scores.recall)} | ${fixed3(scores.f1)} | ${scores.support} |`),
    );
  } else {
    lines.push('Test accuracy: not measured (the run has no evaluation on the test images). Evaluate it in Atelier and export again to have it here.');
  }
  lines.push('', 'Accuracy on real photos: not measured for this run. Atelier records no photo accuracy with a run; none is claimed here.');
  return lines;
}

const USE_SECTION = [
  '## Intended use and limits',
  '',
  '- A teaching model: for learning how an image classifier is trained, judged, exported and run. Not for anything that matters — no decisions about people, money, safety or stock.',
  '- It knows only these 10 classes and always answers one of them, however unlike clothing the input is; the probabilities are not calibrated confidence.',
  '- Fashion-MNIST is product photos of single garments, centred, on a plain background. Photos unlike that are often wrong: even prepared as above, on real phone photos such models get about half to two thirds right.',
];

function checkSection({ script, tolerance, sampleCount, samplesFromTestSet, formatLabel }: ModelCardSources): string[] {
  return [
    '## Check the files',
    '',
    `${SAMPLES_DIR}/ holds ${sampleCount} inputs of 28×28: ${samplesFromTestSet ? 'Fashion-MNIST test images, one per class' : 'synthetic images (Fashion-MNIST was not on the computer that exported this)'}, as PNG images and in ${SAMPLES_DIR}/${SAMPLES_FILE} as the exact input arrays this ${formatLabel} file takes, with the probabilities Atelier computed for this file and the most likely class. The tolerance is ${tolerance} per probability.`,
    '',
    `To check that the files are intact and that your runtime agrees: ${script.needs} Then, in this folder, run: ${script.command}`,
    '',
    `${script.file} prints pass or FAIL for each sample with its largest difference, and exits with 0 when every sample passes, 1 otherwise.`,
  ];
}

/** The model card for one export, as Markdown. */
export function modelCard(sources: ModelCardSources): string {
  const { metadata, formatLabel } = sources;
  return [
    `# Fashion-MNIST clothing classifier (${formatLabel})`,
    '',
    `Exported by Atelier from run "${metadata.run.name}". The model file is ${metadata.files.model}${metadata.files.weights.length ? ` with ${metadata.files.weights.join(', ')}` : ''}; atelier-model.json says the same as this card in a form programs can read.`,
    '',
    ...trainingSection(sources),
    '',
    ...inputSection(sources),
    '',
    ...outputSection(sources),
    '',
    ...qualitySection(sources),
    '',
    ...USE_SECTION,
    '',
    ...checkSection(sources),
    '',
  ].join('\n');
}
