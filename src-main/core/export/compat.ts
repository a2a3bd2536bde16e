/**
 * Which models Atelier can use: one 28×28 grayscale input and ten class scores out, the shape of
 * Fashion-MNIST. Anything else is refused with what the model has and what is needed.
 */
import { AtelierError } from '../errors';

const CLASSES = 10;
const NEEDED = 'Atelier needs 28×28 grayscale input ([28,28] or [28,28,1]) and 10 output classes';

type Shape = (number | null)[];

const show = (shape: Shape): string => `[${shape.map((side) => side ?? '?').join(',')}]`;

function inputFits(shape: Shape): boolean {
  const example = shape.slice(1);
  return (example.length === 2 || (example.length === 3 && example[2] === 1)) && example[0] === 28 && example[1] === 28;
}

function describeInputs(shapes: Shape[]): string {
  if (shapes.length === 1) return `${show(shapes[0]!.slice(1))} images`;
  return `${shapes.length} inputs (${shapes.map((shape) => show(shape.slice(1))).join(', ')})`;
}

function describeOutputs(shapes: Shape[]): string {
  if (shapes.length !== 1) return `${shapes.length} outputs`;
  const example = shapes[0]!.slice(1);
  if (example.length === 1 && typeof example[0] === 'number') return `${example[0]} class${example[0] === 1 ? '' : 'es'}`;
  return `outputs of shape ${show(example)}`;
}

/** Null when Atelier can use a model with these shapes (batch first); otherwise why not. */
export function incompatibility(inputShapes: Shape[], outputShapes: Shape[]): string | null {
  const inputOk = inputShapes.length === 1 && inputFits(inputShapes[0]!);
  const output = outputShapes[0];
  const outputOk = outputShapes.length === 1 && output !== undefined && output.length === 2 && output[1] === CLASSES;
  if (inputOk && outputOk) return null;
  return `This model takes ${describeInputs(inputShapes)} and gives ${describeOutputs(outputShapes)}; ${NEEDED}.`;
}

/** Throw `model-incompatible` unless Atelier can use the model. */
export function assertCompatible(inputShapes: Shape[], outputShapes: Shape[]): void {
  const problem = incompatibility(inputShapes, outputShapes);
  if (problem) throw new AtelierError('model-incompatible', problem);
}
