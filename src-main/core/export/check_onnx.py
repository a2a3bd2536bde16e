#!/usr/bin/env python3
"""Check an exported model.onnx with the ONNX project's own checker (full_check: shape inference
too), independent of Atelier's writer and of onnxruntime.

    check_onnx.py MODEL.onnx

Prints a JSON summary as the last line; exits 1 when the checker rejects the file.
Needs python3-onnx (Debian's onnx 1.12 or later).
"""
import json
import sys


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    import onnx

    model = onnx.load(sys.argv[1])
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as error:
        print(json.dumps({"valid": False, "onnx": onnx.__version__, "error": str(error)}))
        return 1
    opsets = {entry.domain or "ai.onnx": entry.version for entry in model.opset_import}
    print(json.dumps({"valid": True, "onnx": onnx.__version__, "irVersion": model.ir_version, "opsets": opsets}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
