// Op schemas of the elementwise family: activations, unary math, binary ops with broadcasting, Cast,
// Where, Identity. Semantics follow the newest ONNX opset; kiln extensions: ScaledTanh, Silu, FloorDiv
// and Softplus's alpha/beta attributes (see docs/ir/elementwise.md).
#include <string>

#include "core/dtype.h"
#include "ir/op_registry.h"
#include "ir/shape_utils.h"

namespace kiln::ir {
namespace {

// Type sets (bit flags).
constexpr unsigned kF = 1;   // float32, float16, bfloat16, float64
constexpr unsigned kSI = 2;  // int8..int64
constexpr unsigned kUI = 4;  // uint8..uint64
constexpr unsigned kB = 8;   // bool
constexpr unsigned kInts = kSI | kUI;
constexpr unsigned kNum = kF | kSI | kUI;
constexpr unsigned kAll = kNum | kB;

bool inSet(DataType t, unsigned set) {
  if (isFloatingType(t)) return (set & kF) != 0;
  if (t == DataType::kBOOL) return (set & kB) != 0;
  if (isIntegerType(t)) return (set & (isSignedType(t) ? kSI : kUI)) != 0;
  return false;
}

std::string setName(unsigned set) {
  std::string s;
  auto add = [&](const char* n) { s += (s.empty() ? "" : ", ") + std::string(n); };
  if (set & kF) add("float types");
  if (set & kSI) add("signed integers");
  if (set & kUI) add("unsigned integers");
  if (set & kB) add("bool");
  return s;
}

void requireType(InferContext& c, int i, unsigned set) {
  DataType t = c.inputType(i);
  if (!inSet(t, set))
    c.fail("input " + std::to_string(i) + " has type " + dataTypeName(t) + "; supported: " + setName(set));
}

Shape broadcastOrFail(InferContext& c, const std::vector<Shape>& shapes) {
  try {
    return broadcastShapes(shapes);
  } catch (const Error& e) {
    c.fail(e.message());
  }
}

// y = f(x): same type and shape.
OpSchema unary(const std::string& op, unsigned types, const std::string& doc, InferFn checkAttrs = nullptr) {
  return {op, 1, 1, 1, 1,
          [types, checkAttrs](InferContext& c) {
            requireType(c, 0, types);
            if (checkAttrs) checkAttrs(c);
            c.setOutput(0, c.inputType(0), c.inputShape(0));
          },
          doc};
}

// y = f(x) with a bool output.
OpSchema unaryToBool(const std::string& op, unsigned types, const std::string& doc) {
  return {op, 1, 1, 1, 1,
          [types](InferContext& c) {
            requireType(c, 0, types);
            c.setOutput(0, DataType::kBOOL, c.inputShape(0));
          },
          doc};
}

// y = f(a, b) with numpy broadcasting; both inputs of one type in `types`.
OpSchema binary(const std::string& op, unsigned types, bool boolOut, const std::string& doc,
                InferFn checkAttrs = nullptr) {
  return {op, 2, 2, 1, 1,
          [types, boolOut, checkAttrs](InferContext& c) {
            requireType(c, 0, types);
            if (c.inputType(1) != c.inputType(0))
              c.fail(std::string("inputs have different types (") + dataTypeName(c.inputType(0)) + " and " +
                     dataTypeName(c.inputType(1)) + ")");
            if (checkAttrs) checkAttrs(c);
            Shape out = broadcastOrFail(c, {c.inputShape(0), c.inputShape(1)});
            c.setOutput(0, boolOut ? DataType::kBOOL : c.inputType(0), std::move(out));
          },
          doc};
}

// y = f(x0, ..., xn-1) with multidirectional broadcasting (1..n inputs).
OpSchema variadic(const std::string& op, unsigned types, const std::string& doc) {
  return {op, 1, -1, 1, 1,
          [types](InferContext& c) {
            std::vector<Shape> shapes;
            for (int i = 0; i < c.numInputs(); ++i) {
              if (!c.hasInput(i)) c.fail("input " + std::to_string(i) + " is missing");
              requireType(c, i, types);
              if (c.inputType(i) != c.inputType(0)) c.fail("inputs have different types");
              shapes.push_back(c.inputShape(i));
            }
            c.setOutput(0, c.inputType(0), broadcastOrFail(c, shapes));
          },
          doc};
}

void checkGelu(InferContext& c) {
  std::string a = c.attrs().getString("approximate", "none");
  if (a != "none" && a != "tanh") c.fail("approximate must be \"none\" or \"tanh\", got \"" + a + "\"");
}

// A scalar-like optional input (Clip's min/max): same type as x, one element when known.
void checkScalarInput(InferContext& c, int i, const char* what) {
  if (!c.hasInput(i)) return;
  if (c.inputType(i) != c.inputType(0))
    c.fail(std::string(what) + " has type " + dataTypeName(c.inputType(i)) + ", the input has " +
           dataTypeName(c.inputType(0)));
  int64_t n = numElements(c.inputShape(i));
  if (n >= 0 && n != 1) c.fail(std::string(what) + " must be a scalar, got shape " + shapeToString(c.inputShape(i)));
}

}  // namespace

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

  // ---- activations
  reg.add(unary("Relu", kF | kSI, "y = max(x, 0)"));
  reg.add(unary("Sigmoid", kF, "y = 1 / (1 + exp(-x))"));
  reg.add(unary("Tanh", kF, "y = tanh(x)"));
  reg.add(unary("LeakyRelu", kF, "y = x < 0 ? alpha * x : x; alpha=0.01"));
  reg.add(unary("Elu", kF, "y = x < 0 ? alpha * (exp(x) - 1) : x; alpha=1"));
  reg.add(unary("Selu", kF, "y = gamma * (x > 0 ? x : alpha * (exp(x) - 1)); alpha=1.67326, gamma=1.0507"));
  reg.add(unary("Softsign", kF, "y = x / (1 + |x|)"));
  reg.add(unary("Softplus", kF, "y = alpha * log(1 + exp(beta * x)); alpha=1, beta=1 (kiln extension attrs)"));
  reg.add(unary("HardSigmoid", kF, "y = max(0, min(1, alpha * x + beta)); alpha=0.2, beta=0.5"));
  reg.add(unary("ScaledTanh", kF, "kiln: y = alpha * tanh(beta * x); alpha=1, beta=1"));
  reg.add(unary("ThresholdedRelu", kF, "y = x > alpha ? x : 0; alpha=1"));
  reg.add(unary("Gelu", kF, "y = 0.5 x (1 + erf(x / sqrt(2))); approximate=\"none\"|\"tanh\"", checkGelu));
  reg.add(unary("Silu", kF, "kiln: y = x * sigmoid(x)"));
  reg.add(unary("HardSwish", kF, "y = x * max(0, min(1, x / 6 + 0.5))"));
  reg.add(unary("Mish", kF, "y = x * tanh(log(1 + exp(x)))"));
  reg.add(unary("Celu", kF, "y = max(0, x) + min(0, alpha * (exp(x / alpha) - 1)); alpha=1",
                [](InferContext& c) { c.require(c.attrs().getFloat("alpha", 1.0) != 0, "alpha must not be 0"); }));
  reg.add(unary("Shrink", kNum, "y = x < -lambd ? x + bias : x > lambd ? x - bias : 0; bias=0, lambd=0.5"));
  reg.add({"Clip", 1, 3, 1, 1,
           [](InferContext& c) {
             requireType(c, 0, kNum);
             checkScalarInput(c, 1, "min");
             checkScalarInput(c, 2, "max");
             c.setOutput(0, c.inputType(0), c.inputShape(0));
           },
           "y = min(max(x, min), max); inputs min, max optional scalars"});
  reg.add({"PRelu", 2, 2, 1, 1,
           [](InferContext& c) {
             requireType(c, 0, kNum);
             if (c.inputType(1) != c.inputType(0)) c.fail("slope type differs from the input's");
             const Shape& x = c.inputShape(0);
             const Shape& s = c.inputShape(1);
             if (s.size() > x.size())
               c.fail("slope " + shapeToString(s) + " does not broadcast to the input " + shapeToString(x));
             Shape out = broadcastOrFail(c, {x, s});
             for (size_t i = 0; i < x.size(); ++i)
               if (x[i] >= 0 && out[i] != x[i])
                 c.fail("slope " + shapeToString(s) + " does not broadcast to the input " + shapeToString(x));
             c.setOutput(0, c.inputType(0), std::move(out));
           },
           "y = x < 0 ? slope * x : x; slope broadcasts to x"});

  // ---- unary math
  reg.add(unary("Exp", kF, "y = exp(x)"));
  reg.add(unary("Log", kF, "y = log(x)"));
  reg.add(unary("Sqrt", kF, "y = sqrt(x)"));
  reg.add(unary("Reciprocal", kF, "y = 1 / x"));
  reg.add(unary("Abs", kNum, "y = |x|"));
  reg.add(unary("Neg", kF | kSI, "y = -x"));
  reg.add(unary("Sin", kF, "y = sin(x)"));
  reg.add(unary("Cos", kF, "y = cos(x)"));
  reg.add(unary("Tan", kF, "y = tan(x)"));
  reg.add(unary("Sinh", kF, "y = sinh(x)"));
  reg.add(unary("Cosh", kF, "y = cosh(x)"));
  reg.add(unary("Asin", kF, "y = asin(x)"));
  reg.add(unary("Acos", kF, "y = acos(x)"));
  reg.add(unary("Atan", kF, "y = atan(x)"));
  reg.add(unary("Asinh", kF, "y = asinh(x)"));
  reg.add(unary("Acosh", kF, "y = acosh(x)"));
  reg.add(unary("Atanh", kF, "y = atanh(x)"));
  reg.add(unary("Ceil", kF, "y = ceil(x)"));
  reg.add(unary("Floor", kF, "y = floor(x)"));
  reg.add(unary("Erf", kNum, "y = erf(x)"));
  reg.add(unary("Sign", kNum, "y = -1, 0 or 1"));
  reg.add(unary("Round", kF, "y = round(x), halves to even"));
  reg.add({"IsInf", 1, 1, 1, 1,
           [](InferContext& c) {
             requireType(c, 0, kF);
             c.setOutput(0, DataType::kBOOL, c.inputShape(0));
           },
           "y = isinf(x) (bool); detect_negative=1, detect_positive=1"});
  reg.add(unaryToBool("IsNaN", kF, "y = isnan(x) (bool)"));
  reg.add(unary("Not", kB, "y = !x"));
  reg.add(unary("BitwiseNot", kInts, "y = ~x"));

  // ---- binary with broadcasting
  reg.add(binary("Add", kNum, false, "y = a + b"));
  reg.add(binary("Sub", kNum, false, "y = a - b"));
  reg.add(binary("Mul", kNum, false, "y = a * b"));
  reg.add(binary("Div", kNum, false, "y = a / b (integers truncate)"));
  reg.add(binary("Mod", kNum, false, "y = a mod b; fmod=0 (sign of divisor) | 1 (sign of dividend)",
                 [](InferContext& c) {
                   int64_t f = c.attrs().getInt("fmod", 0);
                   c.require(f == 0 || f == 1, "fmod must be 0 or 1");
                 }));
  reg.add(binary("FloorDiv", kNum, false, "kiln: y = floor(a / b)"));
  reg.add(binary("Equal", kAll, true, "y = a == b"));
  reg.add(binary("Greater", kNum, true, "y = a > b"));
  reg.add(binary("Less", kNum, true, "y = a < b"));
  reg.add(binary("GreaterOrEqual", kNum, true, "y = a >= b"));
  reg.add(binary("LessOrEqual", kNum, true, "y = a <= b"));
  reg.add(binary("And", kB, true, "y = a && b"));
  reg.add(binary("Or", kB, true, "y = a || b"));
  reg.add(binary("Xor", kB, true, "y = a != b"));
  reg.add(binary("BitwiseAnd", kInts, false, "y = a & b"));
  reg.add(binary("BitwiseOr", kInts, false, "y = a | b"));
  reg.add(binary("BitwiseXor", kInts, false, "y = a ^ b"));
  reg.add(binary("BitShift", kInts, false, "y = a << b or a >> b; direction=\"LEFT\"|\"RIGHT\" (required)",
                 [](InferContext& c) {
                   std::string d = c.attrs().getString("direction", "");
                   c.require(d == "LEFT" || d == "RIGHT", "direction must be \"LEFT\" or \"RIGHT\", got \"" + d + "\"");
                 }));
  reg.add({"Pow", 2, 2, 1, 1,
           [](InferContext& c) {
             requireType(c, 0, kF | kSI | kUI);
             requireType(c, 1, kNum);
             c.setOutput(0, c.inputType(0), broadcastOrFail(c, {c.inputShape(0), c.inputShape(1)}));
           },
           "y = a ^ b; the output has the base's type"});
  reg.add(variadic("Sum", kNum, "y = x0 + x1 + ... (1..n inputs, broadcasting)"));
  reg.add(variadic("Mean", kF, "y = (x0 + x1 + ...) / n (1..n inputs, broadcasting)"));
  reg.add(variadic("Max", kNum, "y = max(x0, x1, ...) (1..n inputs, broadcasting; NaN propagates)"));
  reg.add(variadic("Min", kNum, "y = min(x0, x1, ...) (1..n inputs, broadcasting; NaN propagates)"));

  // ---- Where, Cast
  reg.add({"Where", 3, 3, 1, 1,
           [](InferContext& c) {
             if (c.inputType(0) != DataType::kBOOL) c.fail("condition must be bool");
             if (c.inputType(1) != c.inputType(2)) c.fail("x and y have different types");
             c.setOutput(0, c.inputType(1),
                         broadcastOrFail(c, {c.inputShape(0), c.inputShape(1), c.inputShape(2)}));
           },
           "y = cond ? x : y with 3-way broadcasting"});
  reg.add({"Cast", 1, 1, 1, 1,
           [](InferContext& c) {
             if (!c.attrs().has("to")) c.fail("attribute 'to' is required");
             int64_t to = c.attrs().getInt("to", 0);
             if (to < INT32_MIN || to > INT32_MAX || !isKnownType(static_cast<DataType>(to)))
               c.fail("'to' = " + std::to_string(to) + " is not a kiln DataType");
             c.setOutput(0, static_cast<DataType>(to), c.inputShape(0));
           },
           "y = x converted to 'to' (kiln DataType value)"});
}

}  // namespace kiln::ir
