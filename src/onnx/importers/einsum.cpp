// Einsum (opset 12+) as a decomposition: per operand, repeated labels become diagonals (multiply by an
// identity mask, sum one of the axes), labels used nowhere else are summed out; operands are then
// contracted pairwise, left to right, by one batched MatMul each (transposed and reshaped to
// [batch..., M, K] x [batch..., K, N]); a final ReduceSum/Transpose gives the output's label order.
// Needs the input shapes at import time.
#include <algorithm>
#include <map>
#include <set>

#include "ir/op_registry.h"
#include "onnx/importer.h"
#include "onnx/importers/decompose.h"

namespace kiln::onnx {

namespace {

constexpr int kEllipsisBase = 1000;  // label ids of ellipsis dimensions: kEllipsisBase + i (right-aligned)

struct Term {
  std::vector<int> labels;  // letters as their char codes
  bool ellipsis{false};
  size_t ellipsisPos{0};  // index in labels where the ellipsis dims go
};

Term parseTerm(ImportContext& ctx, const std::string& s) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (t.ellipsis || s.compare(i, 3, "...") != 0) ctx.unsupported("malformed ellipsis in Einsum equation");
      t.ellipsis = true;
      t.ellipsisPos = t.labels.size();
      i += 2;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      t.labels.push_back(c);
    } else {
      ctx.unsupported(std::string("invalid character '") + c + "' in Einsum equation");
    }
  }
  return t;
}

struct Operand {
  ir::Value* v;
  std::vector<int> labels;  // one per axis
  ir::Shape shape;
};

void importEinsum(ImportContext& ctx) {
  Emit e{ctx};
  const Attribute* eqA = ctx.attr("equation");
  if (!eqA) ctx.unsupported("Einsum needs its equation");
  std::string eq;
  for (char c : eqA->s)
    if (c != ' ') eq += c;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != ctx.numInputs()) ctx.unsupported("the Einsum equation's operand count does not match the inputs");
  std::vector<Operand> ops;
  int ellRank = 0;
  std::vector<Term> parsed;
  for (size_t i = 0; i < terms.size(); ++i) {
    ir::Value* x = ctx.input(i);
    if (!x) ctx.unsupported("Einsum inputs must not be omitted");
    Term t = parseTerm(ctx, terms[i]);
    const ir::Shape s = e.staticShape(x, "an Einsum input");
    int r = static_cast<int>(s.size());
    int nl = static_cast<int>(t.labels.size());
    if (t.ellipsis ? r < nl : r != nl) ctx.unsupported("Einsum term '" + terms[i] + "' does not match its input's rank");
    if (t.ellipsis) ellRank = std::max(ellRank, r - nl);
    parsed.push_back(t);
    ops.push_back({x, {}, s});
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    const Term& t = parsed[i];
    std::vector<int> lab = t.labels;
    if (t.ellipsis) {
      int ne = static_cast<int>(ops[i].shape.size() - t.labels.size());
      std::vector<int> ell;
      for (int k = 0; k < ne; ++k) ell.push_back(kEllipsisBase + ellRank - ne + k);
      lab.insert(lab.begin() + static_cast<long>(t.ellipsisPos), ell.begin(), ell.end());
    }
    ops[i].labels = lab;
  }
  // output labels
  std::vector<int> out;
  if (arrow != std::string::npos) {
    Term t = parseTerm(ctx, eq.substr(arrow + 2));
    out = t.labels;
    if (t.ellipsis) {
      std::vector<int> ell;
      for (int k = 0; k < ellRank; ++k) ell.push_back(kEllipsisBase + k);
      out.insert(out.begin() + static_cast<long>(t.ellipsisPos), ell.begin(), ell.end());
    }
    std::set<int> seen;
    for (int l : out)
      if (!seen.insert(l).second) ctx.unsupported("a label repeats in the Einsum output");
  } else {
    for (int k = 0; k < ellRank; ++k) out.push_back(kEllipsisBase + k);
    std::map<int, int> count;
    for (const Operand& o : ops)
      for (int l : o.labels)
        if (l < kEllipsisBase) ++count[l];
    for (const auto& [l, c] : count)  // char codes order upper case before lower case, as numpy does
      if (c == 1) out.push_back(l);
  }
  std::map<int, int64_t> extent;
  for (const Operand& o : ops)
    for (size_t a = 0; a < o.labels.size(); ++a) {
      int64_t d = o.shape[a];
      auto it = extent.find(o.labels[a]);
      if (it == extent.end() || it->second == 1) extent[o.labels[a]] = d;
      else if (d != 1 && d != it->second) ctx.unsupported("Einsum label extents do not match");
    }
  for (int l : out)
    if (!extent.count(l)) ctx.unsupported("an Einsum output label does not appear in any input");

  const DataType t = ctx.typeOf(ops[0].v);
  ir::Attributes noKeep;
  noKeep.setInt("keepdims", 0);
  auto reduceSum = [&](Operand& o, const std::vector<int64_t>& axes) {
    if (axes.empty()) return;
    o.v = e.op("ReduceSum", {o.v, e.ints(axes)}, noKeep);
    std::vector<int> lab;
    ir::Shape sh;
    for (size_t a = 0; a < o.labels.size(); ++a)
      if (std::find(axes.begin(), axes.end(), static_cast<int64_t>(a)) == axes.end()) {
        lab.push_back(o.labels[a]);
        sh.push_back(o.shape[a]);
      }
    o.labels = lab;
    o.shape = sh;
  };
  // needed(l, from): label l is in the output or in an operand at index >= from
  auto neededLater = [&](int l, size_t from) {
    if (std::find(out.begin(), out.end(), l) != out.end()) return true;
    for (size_t j = from; j < ops.size(); ++j)
      if (std::find(ops[j].labels.begin(), ops[j].labels.end(), l) != ops[j].labels.end()) return true;
    return false;
  };
  // per operand: diagonals, then sum out labels used only here
  for (size_t i = 0; i < ops.size(); ++i) {
    Operand& o = ops[i];
    for (;;) {
      size_t p1 = 0, p2 = 0;
      bool found = false;
      for (size_t a = 0; a < o.labels.size() && !found; ++a)
        for (size_t b = a + 1; b < o.labels.size(); ++b)
          if (o.labels[a] == o.labels[b]) {
            p1 = a;
            p2 = b;
            found = true;
            break;
          }
      if (!found) break;
      const int64_t n = o.shape[p1];
      if (o.shape[p2] != n) ctx.unsupported("a repeated Einsum label has different extents");
      ir::Shape es(o.labels.size(), 1);
      es[p1] = n;
      es[p2] = n;
      std::vector<float> eye(static_cast<size_t>(n * n), 0.f);
      for (int64_t k = 0; k < n; ++k) eye[static_cast<size_t>(k * n + k)] = 1.f;
      ir::Value* m = e.cast(ctx.constant(ir::makeFloatTensor(eye, es), "einsum_eye"), t);
      o.v = e.op("Mul", {o.v, m});
      reduceSum(o, {static_cast<int64_t>(p2)});
    }
    std::vector<int64_t> axes;
    for (size_t a = 0; a < o.labels.size(); ++a) {
      int l = o.labels[a];
      bool elsewhere = std::find(out.begin(), out.end(), l) != out.end();
      for (size_t j = 0; j < ops.size() && !elsewhere; ++j)
        if (j != i && std::find(ops[j].labels.begin(), ops[j].labels.end(), l) != ops[j].labels.end()) elsewhere = true;
      if (!elsewhere) axes.push_back(static_cast<int64_t>(a));
    }
    reduceSum(o, axes);
  }
  // pairwise contraction
  Operand acc = ops[0];
  for (size_t i = 1; i < ops.size(); ++i) {
    Operand& b = ops[i];
    std::vector<int> batch, aOnly, bOnly, contr;
    for (int l : acc.labels) {
      bool inB = std::find(b.labels.begin(), b.labels.end(), l) != b.labels.end();
      if (!inB) aOnly.push_back(l);
      else if (neededLater(l, i + 1)) batch.push_back(l);
      else contr.push_back(l);
    }
    for (int l : b.labels)
      if (std::find(acc.labels.begin(), acc.labels.end(), l) == acc.labels.end()) bOnly.push_back(l);
    auto pos = [](const Operand& o, int l) {
      return static_cast<int64_t>(std::find(o.labels.begin(), o.labels.end(), l) - o.labels.begin());
    };
    auto dim = [](const Operand& o, int64_t p) { return o.shape[static_cast<size_t>(p)]; };
    std::vector<int64_t> permA, permB, shapeA, shapeB, shapeOut;
    std::vector<int> labOut;
    ir::Shape outShape;
    for (int l : batch) {
      permA.push_back(pos(acc, l));
      permB.push_back(pos(b, l));
      shapeA.push_back(dim(acc, pos(acc, l)));
      shapeB.push_back(dim(b, pos(b, l)));
      labOut.push_back(l);
      outShape.push_back(std::max(dim(acc, pos(acc, l)), dim(b, pos(b, l))));
    }
    int64_t m = 1, kk = 1, n = 1;
    for (int l : aOnly) {
      permA.push_back(pos(acc, l));
      m *= dim(acc, pos(acc, l));
      labOut.push_back(l);
      outShape.push_back(dim(acc, pos(acc, l)));
    }
    for (int l : contr) {
      permA.push_back(pos(acc, l));
      permB.push_back(pos(b, l));
      if (dim(acc, pos(acc, l)) != dim(b, pos(b, l))) ctx.unsupported("contracted Einsum labels with broadcast extents are not supported");
      kk *= dim(acc, pos(acc, l));
    }
    for (int l : bOnly) {
      permB.push_back(pos(b, l));
      n *= dim(b, pos(b, l));
      labOut.push_back(l);
      outShape.push_back(dim(b, pos(b, l)));
    }
    shapeA.push_back(m);
    shapeA.push_back(kk);
    shapeB.push_back(kk);
    shapeB.push_back(n);
    ir::Value* va = e.reshape(e.transpose(acc.v, permA), shapeA);
    ir::Value* vb = e.reshape(e.transpose(b.v, permB), shapeB);
    ir::Value* prod = e.op("MatMul", {va, vb});
    acc.v = e.reshape(prod, outShape);
    acc.labels = labOut;
    acc.shape = outShape;
  }
  // final sums and order
  std::vector<int64_t> axes;
  for (size_t a = 0; a < acc.labels.size(); ++a)
    if (std::find(out.begin(), out.end(), acc.labels[a]) == out.end()) axes.push_back(static_cast<int64_t>(a));
  reduceSum(acc, axes);
  std::vector<int64_t> perm;
  bool identity = true;
  for (size_t k = 0; k < out.size(); ++k) {
    auto it = std::find(acc.labels.begin(), acc.labels.end(), out[k]);
    if (it == acc.labels.end()) ctx.unsupported("internal: Einsum output label lost");
    perm.push_back(static_cast<int64_t>(it - acc.labels.begin()));
    if (perm.back() != static_cast<int64_t>(k)) identity = false;
  }
  ir::Value* y = identity ? acc.v : e.transpose(acc.v, perm);
  // broadcast ellipsis extents (an operand's size-1 dim against another's) are already in place; expand
  // labels that only ever had extent 1 in the accumulated result but a larger extent elsewhere
  ir::Shape want;
  for (int l : out) want.push_back(extent[l]);
  ir::Shape have;
  for (int64_t p : perm) have.push_back(acc.shape[static_cast<size_t>(p)]);
  if (have != want) y = e.op("Expand", {y, e.ints(want)});
  e.bind(0, y);
}

}  // namespace

void registerEinsumImporters(ImporterRegistry& reg) {
  const ir::OpRegistry& ops = ir::defaultOpRegistry();
  for (const char* n : {"MatMul", "ReduceSum", "Transpose", "Reshape", "Mul", "Cast", "Expand"})
    if (!ops.find(n)) return;
  reg.add({"", "Einsum", 12, kMaxKnownOpset, importEinsum});
}

}  // namespace kiln::onnx
