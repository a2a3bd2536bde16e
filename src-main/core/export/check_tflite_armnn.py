#!/usr/bin/env python3
"""Run an exported .tflite model in Arm NN (a runtime independent of Atelier and of TensorFlow)
on Fashion-MNIST images and write its class probabilities.

    check_tflite_armnn.py MODEL.tflite IMAGES.u8 PROBABILITIES.f32 [--backend CpuRef]

IMAGES.u8 holds 28x28 grayscale bytes, one image after another (the IDX file's pixels without
the header). The model's own input tensor says how to feed them: float32 gets pixel / 255, int8
gets the quantized value round(pixel / 255 / scale) + zero_point. An int8 output is dequantized
with the output tensor's scale and zero point. PROBABILITIES.f32 receives images x classes
float32 values (little-endian); the last line printed is a JSON summary.

Needs Debian's python3-pyarmnn, libarmnn-cpuref-backend22 and libarmnntfliteparser22.
"""
import argparse
import json
import sys
import time

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("images")
    parser.add_argument("probabilities")
    parser.add_argument("--backend", default="CpuRef")
    args = parser.parse_args()

    import pyarmnn as ann  # imported here: it prints notes about parsers it lacks

    started = time.monotonic()
    tflite = ann.ITfLiteParser()
    network = tflite.CreateNetworkFromBinaryFile(args.model)
    input_name = tflite.GetSubgraphInputTensorNames(0)[0]
    output_name = tflite.GetSubgraphOutputTensorNames(0)[0]
    input_binding = tflite.GetNetworkInputBindingInfo(0, input_name)
    output_binding = tflite.GetNetworkOutputBindingInfo(0, output_name)
    runtime = ann.IRuntime(ann.CreationOptions())
    optimized, messages = ann.Optimize(network, [ann.BackendId(args.backend)], runtime.GetDeviceSpec(), ann.OptimizerOptions())
    network_id, _ = runtime.LoadNetwork(optimized)

    input_info = input_binding[1]
    output_info = output_binding[1]
    input_shape = tuple(input_info.GetShape()[i] for i in range(input_info.GetNumDimensions()))
    per_call = input_shape[0]
    pixels = np.fromfile(args.images, dtype=np.uint8).reshape(-1, 28 * 28)
    count = pixels.shape[0]
    if count % per_call:
        print(json.dumps({"error": f"{count} images do not fill batches of {per_call}"}))
        return 2

    input_type = input_info.GetDataType()
    if input_type == ann.DataType_Float32:
        inputs = (pixels / 255.0).astype(np.float32)
        kind = "float32"
    elif input_type == ann.DataType_QAsymmS8:
        scale, zero_point = input_info.GetQuantizationScale(), input_info.GetQuantizationOffset()
        inputs = np.clip(np.round(pixels / 255.0 / scale) + zero_point, -128, 127).astype(np.int8)
        kind = "int8"
    else:
        print(json.dumps({"error": f"unexpected input data type {input_type}"}))
        return 2

    output_type = output_info.GetDataType()
    classes = output_info.GetNumElements() // per_call
    probabilities = np.zeros((count, classes), dtype=np.float32)
    loaded = time.monotonic()
    output_tensors = ann.make_output_tensors([output_binding])
    for start in range(0, count, per_call):
        batch = inputs[start : start + per_call].reshape(input_shape)
        runtime.EnqueueWorkload(network_id, ann.make_input_tensors([input_binding], [batch]), output_tensors)
        result = ann.workload_tensors_to_ndarray(output_tensors)[0].reshape(per_call, classes)
        if output_type == ann.DataType_QAsymmS8:
            result = (result.astype(np.float32) - output_info.GetQuantizationOffset()) * output_info.GetQuantizationScale()
        probabilities[start : start + per_call] = result
    finished = time.monotonic()
    probabilities.astype("<f4").tofile(args.probabilities)
    print(
        json.dumps(
            {
                "backend": args.backend,
                "armnn": ann.ARMNN_VERSION,
                "input": kind,
                "inputShape": list(input_shape),
                "images": count,
                "classes": classes,
                "loadSeconds": round(loaded - started, 3),
                "runSeconds": round(finished - loaded, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
