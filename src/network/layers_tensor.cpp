// Layer API of the tensor family: constant, shuffle, concatenation, slice, padding, resize, gather, topk.
//
// Each layer is exactly one IR node:
//   addConstant      -> "Constant" (attr value = copied tensor)
//   addShuffle       -> kiln "Shuffle" (attrs first_perm, reshape, second_perm, allowzero; input 1 = shape)
//   addConcatenation -> "Concat"
//   addSlice         -> kiln "StridedSlice" (attrs start, size, stride, mode)
//   addPaddingNd     -> "Pad" (constant pads input over all dims; attr kiln_padding_nd remembers how many
//                       trailing dims the layer's Dims cover so that the getters return what was set)
//   addResize        -> "Resize" (inputs X, roi, scales, sizes)
//   addGather(V2)    -> "Gather" / "GatherElements" / "GatherND"
//   addTopK          -> "TopK" (constant K input, index_type attr)
#include <algorithm>

#include "core/dtype.h"
#include "network/network_impl.h"

namespace kiln {

namespace {

[[noreturn]] void badArg(const std::string& msg) { throw Error(ErrorCode::kINVALID_ARGUMENT, msg); }

ir::Value* input(const ir::Node* n, size_t i) { return i < n->inputs.size() ? n->inputs[i] : nullptr; }

std::vector<int64_t> permToInts(const Permutation& p) {
  std::vector<int64_t> v(Dims::MAX_DIMS);
  for (int i = 0; i < Dims::MAX_DIMS; ++i) v[static_cast<size_t>(i)] = p.order[i];
  return v;
}

Permutation intsToPerm(const std::vector<int64_t>& v) {
  Permutation p;
  for (size_t i = 0; i < v.size() && i < static_cast<size_t>(Dims::MAX_DIMS); ++i) p.order[i] = static_cast<int32_t>(v[i]);
  return p;
}

bool isIdentityPerm(const Permutation& p) {
  for (int i = 0; i < Dims::MAX_DIMS; ++i)
    if (p.order[i] != i) return false;
  return true;
}

int64_t rankOf(const Tensor& t) { return static_cast<int64_t>(t.irValue()->shape.size()); }

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Constant

ConstantLayer* NetworkDefinition::addConstant(Dims dimensions, Weights weights) {
  detail::checkDims(dimensions, "addConstant dims");
  ir::Shape shape = ir::shapeFromDims(dimensions);
  int64_t n = ir::numElements(shape);
  if (weights.count != n)
    badArg("addConstant: weights have " + std::to_string(weights.count) + " values, dims " + toString(dimensions) +
           " need " + std::to_string(n));
  if (n > 0 && !weights.values) badArg("addConstant: weights pointer is null");
  if (!isKnownType(weights.type)) badArg("addConstant: unknown weights type");
  auto value = ir::makeTensor(weights.type, shape, weights.values, static_cast<std::size_t>(n) * dataTypeSize(weights.type));
  auto* l = impl_->addLayer<ConstantLayer>(LayerType::kCONSTANT, "Constant", {}, 1);
  l->irNode()->attrs.setTensor("value", value);
  impl_->markDirty();
  return l;
}

Dims ConstantLayer::getDimensions() const {
  auto v = node_->attrs.getTensor("value");
  return v ? ir::dimsFromShape(v->shape) : Dims{-1, {}};
}

// ---------------------------------------------------------------------------------------------------------
// Shuffle

ShuffleLayer* NetworkDefinition::addShuffle(Tensor& input) {
  return impl_->addLayer<ShuffleLayer>(LayerType::kSHUFFLE, "Shuffle", {input.irValue()}, 1);
}

void ShuffleLayer::setFirstTranspose(Permutation permutation) {
  if (isIdentityPerm(permutation)) node_->attrs.erase("first_perm");
  else node_->attrs.setInts("first_perm", permToInts(permutation));
  net_.markDirty();
}

Permutation ShuffleLayer::getFirstTranspose() const { return intsToPerm(node_->attrs.getInts("first_perm", permToInts(Permutation{}))); }

void ShuffleLayer::setReshapeDimensions(Dims dimensions) {
  detail::checkDims(dimensions, "setReshapeDimensions", true);
  for (int i = 0; i < dimensions.nbDims; ++i)
    if (dimensions.d[i] < -1) badArg("setReshapeDimensions: values must be >= -1, got " + toString(dimensions));
  node_->attrs.setInts("reshape", detail::toInts(dimensions));
  while (node_->inputs.size() > 1) node_->inputs.pop_back();  // static dims replace a shape tensor
  net_.markDirty();
}

Dims ShuffleLayer::getReshapeDimensions() const {
  if (!node_->attrs.has("reshape") || (node_->inputs.size() > 1 && node_->inputs[1])) return Dims{-1, {}};
  return detail::toDims(node_->attrs.getInts("reshape"));
}

void ShuffleLayer::setSecondTranspose(Permutation permutation) {
  if (isIdentityPerm(permutation)) node_->attrs.erase("second_perm");
  else node_->attrs.setInts("second_perm", permToInts(permutation));
  net_.markDirty();
}

Permutation ShuffleLayer::getSecondTranspose() const {
  return intsToPerm(node_->attrs.getInts("second_perm", permToInts(Permutation{})));
}

void ShuffleLayer::setZeroIsPlaceholder(bool zeroIsPlaceholder) {
  if (zeroIsPlaceholder) node_->attrs.erase("allowzero");
  else node_->attrs.setInt("allowzero", 1);
  net_.markDirty();
}

bool ShuffleLayer::getZeroIsPlaceholder() const { return node_->attrs.getInt("allowzero", 0) == 0; }

// ---------------------------------------------------------------------------------------------------------
// Concatenation

ConcatenationLayer* NetworkDefinition::addConcatenation(Tensor* const* inputs, int32_t nbInputs) {
  if (!inputs || nbInputs <= 0) badArg("addConcatenation: needs at least one input");
  std::vector<ir::Value*> ins;
  for (int32_t i = 0; i < nbInputs; ++i) {
    if (!inputs[i]) badArg("addConcatenation: input " + std::to_string(i) + " is null");
    ins.push_back(inputs[i]->irValue());
  }
  impl_->inferShapes();  // the first input's rank must be current
  int64_t axis = std::max<int64_t>(0, rankOf(*inputs[0]) - 3);
  auto* l = impl_->addLayer<ConcatenationLayer>(LayerType::kCONCATENATION, "Concat", ins, 1);
  l->irNode()->attrs.setInt("axis", axis);
  return l;
}

void ConcatenationLayer::setAxis(int32_t axis) {
  node_->attrs.setInt("axis", axis);
  net_.markDirty();
}

int32_t ConcatenationLayer::getAxis() const { return static_cast<int32_t>(node_->attrs.getInt("axis", 0)); }

// ---------------------------------------------------------------------------------------------------------
// Slice

SliceLayer* NetworkDefinition::addSlice(Tensor& input, Dims start, Dims size, Dims stride) {
  auto* l = impl_->addLayer<SliceLayer>(LayerType::kSLICE, "StridedSlice", {input.irValue()}, 1);
  auto& a = l->irNode()->attrs;
  a.setInts("start", detail::toInts(start));
  a.setInts("size", detail::toInts(size));
  a.setInts("stride", detail::toInts(stride));
  a.setInt("mode", static_cast<int64_t>(SampleMode::kSTRICT_BOUNDS));
  return l;
}

void SliceLayer::setStart(Dims start) {
  node_->attrs.setInts("start", detail::toInts(start));
  net_.markDirty();
}
Dims SliceLayer::getStart() const { return detail::toDims(node_->attrs.getInts("start")); }
void SliceLayer::setSize(Dims size) {
  node_->attrs.setInts("size", detail::toInts(size));
  net_.markDirty();
}
Dims SliceLayer::getSize() const { return detail::toDims(node_->attrs.getInts("size")); }
void SliceLayer::setStride(Dims stride) {
  node_->attrs.setInts("stride", detail::toInts(stride));
  net_.markDirty();
}
Dims SliceLayer::getStride() const { return detail::toDims(node_->attrs.getInts("stride")); }
void SliceLayer::setMode(SampleMode mode) {
  int64_t m = static_cast<int64_t>(mode);
  if (m < 0 || m > 4) badArg("SliceLayer::setMode: unknown mode");
  node_->attrs.setInt("mode", m);
  net_.markDirty();
}
SampleMode SliceLayer::getMode() const { return static_cast<SampleMode>(node_->attrs.getInt("mode", 0)); }

// ---------------------------------------------------------------------------------------------------------
// Padding

namespace {
//! The pads input (all dims of an input of rank `rank`) for pre/post padding of the trailing dims.
std::shared_ptr<ir::TensorData> makePads(int64_t rank, const std::vector<int64_t>& pre, const std::vector<int64_t>& post) {
  if (pre.size() != post.size()) badArg("padding: pre- and post-padding must have the same number of dims");
  int64_t k = static_cast<int64_t>(pre.size());
  if (k > rank) badArg("padding: " + std::to_string(k) + " padded dims for an input of rank " + std::to_string(rank));
  std::vector<int64_t> pads(static_cast<size_t>(2 * rank), 0);
  for (int64_t i = 0; i < k; ++i) {
    pads[static_cast<size_t>(rank - k + i)] = pre[static_cast<size_t>(i)];
    pads[static_cast<size_t>(2 * rank - k + i)] = post[static_cast<size_t>(i)];
  }
  return ir::makeInt64Tensor(pads, {2 * rank});
}

//! Rebuilds an existing Pad node's pads input.
void setPads(detail::NetworkImpl& net, ir::Node* node, const std::vector<int64_t>& pre, const std::vector<int64_t>& post) {
  net.inferShapes();  // the input's rank must be current
  auto pads = makePads(static_cast<int64_t>(node->inputs[0]->shape.size()), pre, post);
  ir::Value* v = net.addConstantValue(pads, node->name + "_pads");
  if (node->inputs.size() < 2) node->inputs.resize(2, nullptr);
  node->inputs[1] = v;
  node->attrs.setInt("kiln_padding_nd", static_cast<int64_t>(pre.size()));
  net.markDirty();
}

//! The pre (which=0) or post (which=1) padding of the trailing kiln_padding_nd dims.
Dims getPads(const ir::Node* node, int which) {
  ir::Value* p = input(node, 1);
  if (!p || !p->constant) return Dims{-1, {}};
  std::vector<int64_t> pads = p->constant->toInts();
  int64_t rank = static_cast<int64_t>(pads.size() / 2);
  int64_t k = std::min(node->attrs.getInt("kiln_padding_nd", rank), rank);
  std::vector<int64_t> out;
  for (int64_t i = rank - k; i < rank; ++i) out.push_back(pads[static_cast<size_t>(which * rank + i)]);
  return detail::toDims(out);
}
}  // namespace

PaddingLayer* NetworkDefinition::addPaddingNd(Tensor& input, Dims prePadding, Dims postPadding) {
  auto pre = detail::toInts(prePadding), post = detail::toInts(postPadding);
  impl_->inferShapes();  // the input's rank must be current
  auto pads = makePads(rankOf(input), pre, post);
  ir::Value* pv = impl_->addConstantValue(pads, "padding_pads");
  auto* l = impl_->addLayer<PaddingLayer>(LayerType::kPADDING, "Pad", {input.irValue(), pv}, 1);
  l->irNode()->attrs.setString("mode", "constant");
  l->irNode()->attrs.setInt("kiln_padding_nd", static_cast<int64_t>(pre.size()));
  return l;
}

void PaddingLayer::setPrePaddingNd(Dims padding) {
  Dims post = getPostPaddingNd();
  std::vector<int64_t> p = detail::toInts(padding);
  std::vector<int64_t> q = post.nbDims >= 0 ? detail::toInts(post) : std::vector<int64_t>{};
  q.resize(p.size(), 0);  // a new rank keeps the matching trailing values (TensorRT checks ranks at build)
  setPads(net_, node_, p, q);
}
Dims PaddingLayer::getPrePaddingNd() const { return getPads(node_, 0); }
void PaddingLayer::setPostPaddingNd(Dims padding) {
  Dims pre = getPrePaddingNd();
  std::vector<int64_t> q = detail::toInts(padding);
  std::vector<int64_t> p = pre.nbDims >= 0 ? detail::toInts(pre) : std::vector<int64_t>{};
  p.resize(q.size(), 0);
  setPads(net_, node_, p, q);
}
Dims PaddingLayer::getPostPaddingNd() const { return getPads(node_, 1); }

// ---------------------------------------------------------------------------------------------------------
// Resize

ResizeLayer* NetworkDefinition::addResize(Tensor& input) {
  auto* l = impl_->addLayer<ResizeLayer>(LayerType::kRESIZE, "Resize", {input.irValue(), nullptr, nullptr, nullptr}, 1);
  auto& a = l->irNode()->attrs;
  a.setString("mode", "nearest");
  a.setString("coordinate_transformation_mode", "asymmetric");
  a.setString("nearest_mode", "floor");
  return l;
}

void ResizeLayer::setOutputDimensions(Dims dimensions) {
  std::vector<int64_t> v = detail::toInts(dimensions);
  for (int64_t d : v)
    if (d < 0) badArg("ResizeLayer::setOutputDimensions: negative extent in " + toString(dimensions));
  node_->inputs.resize(4, nullptr);
  node_->inputs[2] = nullptr;
  node_->inputs[3] = net_.addConstantValue(ir::makeInt64Tensor(v, {static_cast<int64_t>(v.size())}), node_->name + "_sizes");
  net_.markDirty();
}

Dims ResizeLayer::getOutputDimensions() const {
  ir::Value* s = input(node_, 3);
  if (!s || !s->constant) return Dims{-1, {}};
  return detail::toDims(s->constant->toInts());
}

void ResizeLayer::setScales(const float* scales, int32_t nbScales) {
  if (nbScales < 0 || nbScales > Dims::MAX_DIMS || (nbScales > 0 && !scales)) badArg("ResizeLayer::setScales: bad scales");
  std::vector<float> v(scales, scales + nbScales);
  node_->inputs.resize(4, nullptr);
  node_->inputs[3] = nullptr;
  node_->inputs[2] = net_.addConstantValue(ir::makeFloatTensor(v, {nbScales}), node_->name + "_scales");
  net_.markDirty();
}

int32_t ResizeLayer::getScales(int32_t size, float* scales) const {
  ir::Value* s = input(node_, 2);
  if (!s || !s->constant) return -1;
  int32_t n = static_cast<int32_t>(s->constant->numel());
  for (int32_t i = 0; i < std::min(n, size) && scales; ++i) scales[i] = static_cast<float>(s->constant->floatAt(i));
  return n;
}

void ResizeLayer::setResizeMode(InterpolationMode mode) {
  const char* m = mode == InterpolationMode::kNEAREST ? "nearest" : mode == InterpolationMode::kLINEAR ? "linear"
                  : mode == InterpolationMode::kCUBIC                ? "cubic"
                                                                      : nullptr;
  if (!m) badArg("ResizeLayer::setResizeMode: unknown mode");
  node_->attrs.setString("mode", m);
  net_.markDirty();
}

InterpolationMode ResizeLayer::getResizeMode() const {
  std::string m = node_->attrs.getString("mode", "nearest");
  return m == "linear" ? InterpolationMode::kLINEAR : m == "cubic" ? InterpolationMode::kCUBIC : InterpolationMode::kNEAREST;
}

void ResizeLayer::setCoordinateTransformation(ResizeCoordinateTransformation t) {
  const char* m = t == ResizeCoordinateTransformation::kALIGN_CORNERS ? "align_corners"
                  : t == ResizeCoordinateTransformation::kASYMMETRIC  ? "asymmetric"
                  : t == ResizeCoordinateTransformation::kHALF_PIXEL  ? "half_pixel"
                                                                      : nullptr;
  if (!m) badArg("ResizeLayer::setCoordinateTransformation: unknown value");
  node_->attrs.setString("coordinate_transformation_mode", m);
  net_.markDirty();
}

ResizeCoordinateTransformation ResizeLayer::getCoordinateTransformation() const {
  std::string m = node_->attrs.getString("coordinate_transformation_mode", "asymmetric");
  if (m == "align_corners") return ResizeCoordinateTransformation::kALIGN_CORNERS;
  if (m == "half_pixel") return ResizeCoordinateTransformation::kHALF_PIXEL;
  return ResizeCoordinateTransformation::kASYMMETRIC;
}

void ResizeLayer::setNearestRounding(ResizeRoundMode mode) {
  const char* m = mode == ResizeRoundMode::kHALF_UP     ? "round_prefer_ceil"
                  : mode == ResizeRoundMode::kHALF_DOWN ? "round_prefer_floor"
                  : mode == ResizeRoundMode::kFLOOR     ? "floor"
                  : mode == ResizeRoundMode::kCEIL      ? "ceil"
                                                        : nullptr;
  if (!m) badArg("ResizeLayer::setNearestRounding: unknown value");
  node_->attrs.setString("nearest_mode", m);
  net_.markDirty();
}

ResizeRoundMode ResizeLayer::getNearestRounding() const {
  std::string m = node_->attrs.getString("nearest_mode", "floor");
  if (m == "round_prefer_ceil") return ResizeRoundMode::kHALF_UP;
  if (m == "round_prefer_floor") return ResizeRoundMode::kHALF_DOWN;
  if (m == "ceil") return ResizeRoundMode::kCEIL;
  return ResizeRoundMode::kFLOOR;
}

// ---------------------------------------------------------------------------------------------------------
// Gather

namespace {
const char* gatherOp(GatherMode mode) {
  switch (mode) {
    case GatherMode::kDEFAULT: return "Gather";
    case GatherMode::kELEMENT: return "GatherElements";
    case GatherMode::kND: return "GatherND";
  }
  badArg("unknown GatherMode");
}
}  // namespace

GatherLayer* NetworkDefinition::addGather(Tensor& data, Tensor& indices, int32_t axis) {
  auto* l = impl_->addLayer<GatherLayer>(LayerType::kGATHER, "Gather", {data.irValue(), indices.irValue()}, 1);
  l->irNode()->attrs.setInt("axis", axis);
  return l;
}

GatherLayer* NetworkDefinition::addGatherV2(Tensor& data, Tensor& indices, GatherMode mode) {
  auto* l = impl_->addLayer<GatherLayer>(LayerType::kGATHER, gatherOp(mode), {data.irValue(), indices.irValue()}, 1);
  if (mode == GatherMode::kND) l->irNode()->attrs.setInt("batch_dims", 0);
  else l->irNode()->attrs.setInt("axis", 0);
  return l;
}

void GatherLayer::setGatherAxis(int32_t axis) {
  node_->attrs.setInt("axis", axis);
  if (node_->op == "GatherND") node_->attrs.erase("axis");  // GatherND has no axis
  net_.markDirty();
}

int32_t GatherLayer::getGatherAxis() const { return static_cast<int32_t>(node_->attrs.getInt("axis", 0)); }

void GatherLayer::setMode(GatherMode mode) {
  const char* op = gatherOp(mode);
  if (node_->op == op) return;
  int64_t axis = node_->attrs.getInt("axis", 0), b = node_->attrs.getInt("batch_dims", 0);
  node_->op = op;
  node_->attrs.erase("axis");
  node_->attrs.erase("batch_dims");
  if (mode == GatherMode::kND) node_->attrs.setInt("batch_dims", b);
  else node_->attrs.setInt("axis", axis);
  net_.markDirty();
}

GatherMode GatherLayer::getMode() const {
  if (node_->op == "GatherElements") return GatherMode::kELEMENT;
  if (node_->op == "GatherND") return GatherMode::kND;
  return GatherMode::kDEFAULT;
}

void GatherLayer::setNbElementWiseDims(int32_t k) {
  if (k < 0) badArg("GatherLayer::setNbElementWiseDims: negative value");
  if (node_->op != "GatherND") {
    if (k != 0) badArg("GatherLayer::setNbElementWiseDims: only kND mode supports batch dims in kiln");
    return;
  }
  node_->attrs.setInt("batch_dims", k);
  net_.markDirty();
}

int32_t GatherLayer::getNbElementWiseDims() const { return static_cast<int32_t>(node_->attrs.getInt("batch_dims", 0)); }

// ---------------------------------------------------------------------------------------------------------
// TopK

namespace {
int64_t singleAxis(uint32_t mask) {
  auto axes = detail::axesFromMask(mask);
  if (axes.size() != 1) badArg("TopK: reduceAxes must have exactly one bit set");
  return axes[0];
}
}  // namespace

TopKLayer* NetworkDefinition::addTopK(Tensor& input, TopKOperation op, int32_t k, uint32_t reduceAxes) {
  if (k < 0) badArg("addTopK: negative k");
  int64_t axis = singleAxis(reduceAxes);
  ir::Value* kv = impl_->addConstantValue(ir::makeInt64Tensor({k}, {1}), "topk_k");
  auto* l = impl_->addLayer<TopKLayer>(LayerType::kTOPK, "TopK", {input.irValue(), kv}, 2);
  auto& a = l->irNode()->attrs;
  a.setInt("axis", axis);
  a.setInt("largest", op == TopKOperation::kMAX ? 1 : 0);
  a.setInt("sorted", 1);
  a.setInt("index_type", static_cast<int64_t>(DataType::kINT32));
  return l;
}

void TopKLayer::setOperation(TopKOperation op) {
  node_->attrs.setInt("largest", op == TopKOperation::kMAX ? 1 : 0);
  net_.markDirty();
}
TopKOperation TopKLayer::getOperation() const {
  return node_->attrs.getInt("largest", 1) ? TopKOperation::kMAX : TopKOperation::kMIN;
}
void TopKLayer::setK(int32_t k) {
  if (k < 0) badArg("TopKLayer::setK: negative k");
  node_->inputs.resize(2, nullptr);
  node_->inputs[1] = net_.addConstantValue(ir::makeInt64Tensor({k}, {1}), "topk_k");
  net_.markDirty();
}
int32_t TopKLayer::getK() const {
  ir::Value* k = input(node_, 1);
  return k && k->constant && k->constant->numel() == 1 ? static_cast<int32_t>(k->constant->intAt(0)) : -1;
}
void TopKLayer::setReduceAxes(uint32_t axes) {
  node_->attrs.setInt("axis", singleAxis(axes));
  net_.markDirty();
}
uint32_t TopKLayer::getReduceAxes() const {
  int64_t a = node_->attrs.getInt("axis", -1);
  net_.inferShapes();
  if (a < 0) a += static_cast<int64_t>(node_->inputs[0]->shape.size());
  return a >= 0 && a < 32 ? 1u << a : 0u;
}
void TopKLayer::setIndicesType(DataType type) {
  if (type != DataType::kINT32 && type != DataType::kINT64) badArg("TopKLayer::setIndicesType: INT32 or INT64 only");
  node_->attrs.setInt("index_type", static_cast<int64_t>(type));
  net_.markDirty();
}
DataType TopKLayer::getIndicesType() const {
  return static_cast<DataType>(node_->attrs.getInt("index_type", static_cast<int64_t>(DataType::kINT64)));
}

}  // namespace kiln
