/**
 * The check scripts a bundle ships, as text: the built app and CLI (out/) have no source folder
 * beside them, so the scripts travel inside the code that writes them. Each reads
 * samples/samples.json, runs every sample through the exported file with a runtime that shares
 * no code with Atelier, and exits 0 when all match within the stated tolerance, 1 otherwise.
 * Kept free of template-literal syntax so they can live in String.raw.
 */

/** The comparison every Node script ends with: one line per sample, a verdict, the exit code. */
const NODE_COMPARE = String.raw`
function argmax(values) {
  let best = 0;
  for (let k = 1; k < values.length; k++) if (values[k] > values[best]) best = k;
  return best;
}

/** Passes when every probability is within tolerance and the top class is the expected one (or ties with it within tolerance). */
function compare(spec, outputs) {
  let largest = 0;
  const failed = [];
  spec.samples.forEach((sample, index) => {
    const got = Array.from(outputs[index]);
    let difference = got.length === sample.probabilities.length ? 0 : Infinity;
    for (let k = 0; k < sample.probabilities.length; k++) {
      const d = Math.abs(got[k] - sample.probabilities[k]);
      difference = Number.isNaN(d) ? Infinity : Math.max(difference, d);
    }
    const top = argmax(got);
    const topAllowed = top === sample.topClass || sample.probabilities[sample.topClass] - sample.probabilities[top] <= spec.tolerance;
    const ok = difference <= spec.tolerance && topAllowed;
    largest = Math.max(largest, difference);
    if (!ok) failed.push(sample.image);
    console.log((ok ? 'pass ' : 'FAIL ') + sample.image + ': ' + spec.classes[top] + ' (expected ' + sample.topClassName + '), largest difference ' + difference.toExponential(2));
  });
  const verdict = failed.length === 0 ? 'PASS' : 'FAIL';
  console.log(verdict + ': ' + (spec.samples.length - failed.length) + ' of ' + spec.samples.length + ' samples match within ' + spec.tolerance + ' (largest difference ' + largest.toExponential(2) + ')' + (failed.length ? '; wrong: ' + failed.join(', ') : ''));
  return failed.length === 0 ? 0 : 1;
}
`;

const NODE_PRELUDE = String.raw`import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const spec = JSON.parse(readFileSync(join(here, 'samples', 'samples.json'), 'utf8'));
// require() looks in node_modules beside this folder and its parents, and in NODE_PATH.
const require = createRequire(import.meta.url);

function load(name) {
  try {
    return require(name);
  } catch (error) {
    console.log('FAIL: cannot load ' + name + ' (' + error.message.split('\n')[0] + '). Run: npm install ' + name + ' (in this folder), then node check.mjs again.');
    process.exit(1);
  }
}
`;

/** TF.js: plain @tensorflow/tfjs on its pure-JS cpu backend, reading model.json and its weight files. */
export const TFJS_CHECK_SCRIPT = String.raw`// Checks this TF.js export: runs samples/samples.json through model.json with plain
// @tensorflow/tfjs and compares with the probabilities Atelier computed.
//   npm install @tensorflow/tfjs && node check.mjs      (exit code 0 = pass, 1 = fail)
` + NODE_PRELUDE + String.raw`
const tf = load('@tensorflow/tfjs');
const modelJson = JSON.parse(readFileSync(join(here, 'model.json'), 'utf8'));
const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
const buffers = modelJson.weightsManifest.flatMap((group) => group.paths.map((path) => readFileSync(join(here, path))));
const weightData = new Uint8Array(Buffer.concat(buffers)).buffer;

await tf.setBackend('cpu');
const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData }));
const outputs = spec.samples.map((sample) => {
  const output = tf.tidy(() => model.predict(tf.tensor(sample.input, spec.input.shape, 'float32')));
  const values = output.dataSync();
  output.dispose();
  return values;
});
` + NODE_COMPARE + String.raw`
process.exit(compare(spec, outputs));
`;

/** ONNX: onnxruntime-node. */
export const ONNX_CHECK_SCRIPT_NODE = String.raw`// Checks this ONNX export: runs samples/samples.json through model.onnx with ONNX Runtime
// (onnxruntime-node) and compares with the probabilities Atelier computed.
//   npm install onnxruntime-node && node check.mjs      (exit code 0 = pass, 1 = fail)
` + NODE_PRELUDE + String.raw`
const ort = load('onnxruntime-node');
const session = await ort.InferenceSession.create(readFileSync(join(here, spec.model)));
const outputs = [];
for (const sample of spec.samples) {
  const result = await session.run({ [spec.input.name]: new ort.Tensor('float32', Float32Array.from(sample.input), spec.input.shape) });
  outputs.push(result[spec.output.name].data);
}
` + NODE_COMPARE + String.raw`
process.exit(compare(spec, outputs));
`;

/** TFLite float32 and int8: the first of tflite_runtime, TensorFlow's tf.lite or Arm NN that is installed. */
export const TFLITE_CHECK_SCRIPT = String.raw`#!/usr/bin/env python3
"""Checks this TFLite export: runs samples/samples.json through model.tflite and compares with
the probabilities Atelier computed. Exit code 0 = pass, 1 = fail.

    python3 check.py [--runtime tflite_runtime|tensorflow|pyarmnn]

Uses the first runtime that is installed: tflite_runtime (pip install tflite-runtime),
TensorFlow's tf.lite (pip install tensorflow) or Arm NN (Debian/Ubuntu: apt install
python3-pyarmnn libarmnn-cpuref-backend22 libarmnntfliteparser22). Needs numpy.
"""
import argparse
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def interpreter_runner(interpreter_class, model, spec, np):
    interpreter = interpreter_class(model_path=model)
    interpreter.allocate_tensors()
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]

    def run(array):
        interpreter.set_tensor(input_index, array)
        interpreter.invoke()
        return interpreter.get_tensor(output_index).reshape(-1)

    return run


def armnn_runner(model, spec, np):
    import pyarmnn as ann

    parser = ann.ITfLiteParser()
    network = parser.CreateNetworkFromBinaryFile(model)
    input_binding = parser.GetNetworkInputBindingInfo(0, parser.GetSubgraphInputTensorNames(0)[0])
    output_binding = parser.GetNetworkOutputBindingInfo(0, parser.GetSubgraphOutputTensorNames(0)[0])
    runtime = ann.IRuntime(ann.CreationOptions())
    optimized, _ = ann.Optimize(network, [ann.BackendId("CpuRef")], runtime.GetDeviceSpec(), ann.OptimizerOptions())
    network_id, _ = runtime.LoadNetwork(optimized)

    def run(array):
        outputs = ann.make_output_tensors([output_binding])
        runtime.EnqueueWorkload(network_id, ann.make_input_tensors([input_binding], [array]), outputs)
        return ann.workload_tensors_to_ndarray(outputs)[0].reshape(-1)

    return run


def make_runner(name, model, spec, np):
    if name == "tflite_runtime":
        from tflite_runtime.interpreter import Interpreter

        return interpreter_runner(Interpreter, model, spec, np)
    if name == "tensorflow":
        import tensorflow as tf

        return interpreter_runner(tf.lite.Interpreter, model, spec, np)
    return armnn_runner(model, spec, np)


def main():
    parser = argparse.ArgumentParser(description="Check model.tflite against the samples Atelier wrote.")
    parser.add_argument("--runtime", choices=["tflite_runtime", "tensorflow", "pyarmnn"])
    args = parser.parse_args()
    try:
        import numpy as np
    except ImportError:
        print("FAIL: numpy is missing (pip install numpy, or apt install python3-numpy).")
        return 1
    with open(os.path.join(HERE, "samples", "samples.json"), encoding="utf-8") as file:
        spec = json.load(file)
    model = os.path.join(HERE, spec["model"])

    run, used, reasons = None, None, []
    for name in [args.runtime] if args.runtime else ["tflite_runtime", "tensorflow", "pyarmnn"]:
        try:
            run, used = make_runner(name, model, spec, np), name
            break
        except Exception as error:  # a missing module, or one that cannot read TFLite here
            reasons.append(name + ": " + str(error))
    if run is None:
        print("FAIL: no TFLite runtime found (" + "; ".join(reasons) + "). Install one: pip install tflite-runtime, or pip install tensorflow, or apt install python3-pyarmnn libarmnn-cpuref-backend22 libarmnntfliteparser22.")
        return 1
    print("runtime: " + used)

    dtype = np.int8 if spec["input"]["dtype"] == "int8" else np.float32
    quantization = spec["output"]["quantization"]
    tolerance = spec["tolerance"]
    largest, failed = 0.0, []
    for sample in spec["samples"]:
        output = run(np.array(sample["input"], dtype=dtype).reshape(spec["input"]["shape"]))
        got = output.astype(np.float64)
        if quantization:
            got = (got - quantization["zeroPoint"]) * quantization["scale"]
        expected = np.array(sample["probabilities"], dtype=np.float64)
        difference = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else math.inf
        if math.isnan(difference):
            difference = math.inf
        top = int(np.argmax(got)) if got.shape == expected.shape else -1
        top_allowed = top == sample["topClass"] or (top >= 0 and expected[sample["topClass"]] - expected[top] <= tolerance)
        ok = difference <= tolerance and top_allowed
        largest = max(largest, difference)
        if not ok:
            failed.append(sample["image"])
        name = spec["classes"][top] if top >= 0 else "no output"
        print(("pass " if ok else "FAIL ") + sample["image"] + ": " + name + " (expected " + sample["topClassName"] + "), largest difference %.2e" % difference)
    count = len(spec["samples"])
    verdict = "PASS" if not failed else "FAIL"
    print(verdict + ": %d of %d samples match within %s (largest difference %.2e)" % (count - len(failed), count, tolerance, largest) + ("; wrong: " + ", ".join(failed) if failed else ""))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
`;
