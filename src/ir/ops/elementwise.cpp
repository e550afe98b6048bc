// Op schemas of the elementwise family: activations, unary math, binary ops with broadcasting, Cast,
// Identity.
#include "ir/op_registry.h"
#include "ir/shape_utils.h"

namespace kiln::ir {

void registerElementwiseOps(OpRegistry& reg) {
  reg.add({"Identity", 1, 1, 1, 1,
           [](InferContext& c) {
             c.setOutput(0, c.inputType(0), c.inputShape(0));
             if (c.inputData(0)) {
               // contents pass through unchanged: keep them known for shape computations
               auto copy = std::make_shared<TensorData>(*c.inputData(0));
               c.setOutputData(0, copy);
             }
           },
           "y = x"});
}

}  // namespace kiln::ir
