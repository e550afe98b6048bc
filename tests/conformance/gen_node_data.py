"""Writes the node test cases of the installed onnx package as test data directories.

PyPI's onnx wheels ship the model suites (simple, pytorch-*) but not data/node; the node cases are
generated from onnx.backend.test.case.node, the same way onnx's own tools/update_doc.sh does it.

    python gen_node_data.py OUT_DIR        -> OUT_DIR/node/test_*/{model.onnx,test_data_set_0/...}

Regenerates only when OUT_DIR/node/.onnx_version differs from the installed onnx version.
"""
import argparse
import os
import shutil
import sys

import onnx
import onnx.backend.test.case.node as node_test
import onnx.backend.test.cmd_tools as cmd_tools


def main() -> int:
    out = os.path.abspath(sys.argv[1])
    node_dir = os.path.join(out, "node")
    stamp = os.path.join(node_dir, ".onnx_version")
    if os.path.exists(stamp) and open(stamp).read().strip() == onnx.__version__:
        return 0
    if os.path.exists(node_dir):
        shutil.rmtree(node_dir)
    cases = node_test.collect_testcases()
    # generate_data writes model_test.collect_testcases() to OUT/<kind>/<name>: hand it the node cases.
    cmd_tools.model_test = type("NodeCases", (), {"collect_testcases": staticmethod(lambda: cases)})
    cmd_tools.generate_data(argparse.Namespace(output=out))
    with open(stamp, "w") as f:
        f.write(onnx.__version__ + "\n")
    print(f"{len(cases)} node cases of onnx {onnx.__version__} in {node_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
