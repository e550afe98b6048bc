// GPU kernels of the tensor family (data movement) against the CPU reference kernels.
#include <cmath>
#include <limits>

#include "gpu_op.h"

namespace kiln::test {
namespace {

using ir::Attributes;
using ir::Shape;

//! Random data of any type: floats in [-1, 1), signed ints in [-100, 100], unsigned in [0, 200], bools.
TensorPtr data(const Shape& s, uint32_t seed, DataType dt = DataType::kFLOAT) {
  if (dt == DataType::kFLOAT) return randomTensor(s, seed);
  if (dt == DataType::kHALF || dt == DataType::kBF16 || dt == DataType::kDOUBLE) return convertTensor(*randomTensor(s, seed), dt);
  int64_t lo = -100, hi = 100;
  if (dt == DataType::kBOOL) lo = 0, hi = 1;
  if (dt == DataType::kUINT8 || dt == DataType::kUINT16 || dt == DataType::kUINT32 || dt == DataType::kUINT64) lo = 0, hi = 200;
  std::vector<int64_t> v = randomInts(ir::numElements(s), seed, lo, hi);
  return makeTyped(dt, s, std::vector<double>(v.begin(), v.end()));
}

TensorPtr i64(const Shape& s, const std::vector<int64_t>& v) { return int64Tensor(s, v); }
TensorPtr i64v(const std::vector<int64_t>& v) { return int64Tensor({static_cast<int64_t>(v.size())}, v); }
TensorPtr f32v(const std::vector<float>& v) { return floatTensor({static_cast<int64_t>(v.size())}, v); }

Attributes intsAttr(const char* name, std::vector<int64_t> v) {
  Attributes a;
  a.setInts(name, std::move(v));
  return a;
}
Attributes intAttr(const char* name, int64_t v) {
  Attributes a;
  a.setInt(name, v);
  return a;
}

const DataType kMoveTypes[] = {DataType::kFLOAT, DataType::kHALF, DataType::kINT64, DataType::kINT8, DataType::kBOOL};

// ---- Transpose / Shuffle ----------------------------------------------------------------------------------
TEST(TensorGpu, Transpose) {
  KILN_REQUIRE_GPU();
  struct Case {
    Shape s;
    std::vector<int64_t> perm;
  };
  const Case cases[] = {
      {{2, 3, 4}, {2, 0, 1}},          {{64, 48}, {1, 0}},           {{2, 3, 33, 65}, {0, 2, 3, 1}},
      {{2, 64, 7, 9}, {0, 2, 3, 1}},   {{2, 7, 9, 64}, {0, 3, 1, 2}}, {{3, 5, 17, 40}, {0, 1, 3, 2}},
      {{2, 3, 4, 5, 6}, {4, 2, 0, 3, 1}}, {{1, 1, 5}, {2, 1, 0}},     {{0, 3}, {1, 0}},
      {{7}, {0}},                      {{3, 3, 3}, {0, 1, 2}},
  };
  for (DataType dt : kMoveTypes)
    for (const Case& c : cases) {
      SCOPED_TRACE(ir::shapeToString(c.s) + " dtype " + std::to_string(static_cast<int>(dt)));
      expectGpuMatchesCpu("Transpose", intsAttr("perm", c.perm), {data(c.s, 1, dt)});
    }
  expectGpuMatchesCpu("Transpose", {}, {data({4, 5, 6}, 2)});  // default: reversed
  expectGpuMatchesCpu("Transpose", intsAttr("perm", {1, 0}), {data({1024, 1031}, 3)});           // large, tiled
  expectGpuMatchesCpu("Transpose", intsAttr("perm", {0, 2, 3, 1}), {data({4, 3, 300, 301}, 4)});  // NCHW->NHWC, C=3
  expectGpuMatchesCpu("Transpose", intsAttr("perm", {0, 3, 1, 2}), {data({2, 64, 96, 96}, 5, DataType::kHALF)});
  expectGpuMatchesCpu("Transpose", intsAttr("perm", {1, 0, 2}), {data({300, 200, 20}, 6, DataType::kINT8)});
}

TEST(TensorGpu, Shuffle) {
  KILN_REQUIRE_GPU();
  Attributes a;
  a.setInts("first_perm", {0, 2, 1, 3});
  expectGpuMatchesCpu("Shuffle", a, {data({2, 3, 4, 5}, 1)});
  a.setInts("reshape", {8, 15});
  expectGpuMatchesCpu("Shuffle", a, {data({2, 3, 4, 5}, 2)});
  a.setInts("second_perm", {1, 0});
  expectGpuMatchesCpu("Shuffle", a, {data({2, 3, 4, 5}, 3)});
  expectGpuMatchesCpu("Shuffle", a, {data({2, 3, 4, 5}, 3, DataType::kHALF)});
  Attributes b;
  b.setInts("reshape", {6, 20});
  b.setInts("second_perm", {1, 0});
  expectGpuMatchesCpu("Shuffle", b, {data({2, 3, 4, 5}, 4, DataType::kINT64)});
  Attributes c;  // 8-entry permutation truncated to the rank
  c.setInts("first_perm", {1, 0, 2, 3, 4, 5, 6, 7});
  expectGpuMatchesCpu("Shuffle", c, {data({33, 65}, 5)});
  // without permutation: the copy tactic
  Attributes d;
  d.setInts("reshape", {6, 20});
  expectGpuMatchesCpu("Shuffle", d, {data({2, 3, 4, 5}, 6)});
  // large, both permutations (workspace)
  Attributes e;
  e.setInts("first_perm", {0, 2, 3, 1});
  e.setInts("reshape", {8, 256, 1024});
  e.setInts("second_perm", {0, 2, 1});
  expectGpuMatchesCpu("Shuffle", e, {data({8, 64, 64, 64}, 7)});
}

// ---- Concat / Split ---------------------------------------------------------------------------------------
TEST(TensorGpu, Concat) {
  KILN_REQUIRE_GPU();
  for (DataType dt : kMoveTypes) {
    expectGpuMatchesCpu("Concat", intAttr("axis", 1), {data({2, 3, 4}, 1, dt), data({2, 5, 4}, 2, dt), data({2, 1, 4}, 3, dt)});
    expectGpuMatchesCpu("Concat", intAttr("axis", -1), {data({2, 3, 3}, 1, dt), data({2, 3, 5}, 2, dt)});
    expectGpuMatchesCpu("Concat", intAttr("axis", 0), {data({2, 3}, 1, dt), data({0, 3}, 2, dt), data({4, 3}, 3, dt)});
    expectGpuMatchesCpu("Concat", intAttr("axis", 1), {data({2, 0}, 1, dt), data({2, 0}, 2, dt)});
  }
  std::vector<TensorPtr> many;
  for (int i = 0; i < 40; ++i) many.push_back(data({3, 1 + i % 7, 8}, static_cast<uint32_t>(10 + i)));
  expectGpuMatchesCpu("Concat", intAttr("axis", 1), many);
  expectGpuMatchesCpu("Concat", intAttr("axis", 1), {data({4, 300000}, 1), data({4, 7}, 2), data({4, 1}, 3)});
  expectGpuMatchesCpu("Concat", intAttr("axis", 2), {data({1, 8, 256, 256}, 1, DataType::kHALF), data({1, 8, 256, 256}, 2, DataType::kHALF)});
}

TEST(TensorGpu, Split) {
  KILN_REQUIRE_GPU();
  GpuOpOptions constSplit;
  constSplit.constantInputs = {1};
  for (DataType dt : kMoveTypes) {
    expectGpuMatchesCpu("Split", intAttr("axis", 1), {data({2, 10, 3}, 1, dt), i64v({2, 0, 5, 3})}, 4, constSplit);
    expectGpuMatchesCpu("Split", intAttr("axis", -1), {data({3, 12}, 2, dt)}, 3);
  }
  Attributes a;
  a.setInt("axis", 0);
  a.setInt("num_outputs", 3);
  expectGpuMatchesCpu("Split", a, {data({7, 5}, 3)}, 3);
  expectGpuMatchesCpu("Split", intAttr("axis", 1), {data({3, 800000}, 4), i64v({1, 799998, 1})}, 3, constSplit);
}

// ---- Slice / StridedSlice ---------------------------------------------------------------------------------
TEST(TensorGpu, Slice) {
  KILN_REQUIRE_GPU();
  GpuOpOptions cst;
  cst.constantInputs = {1, 2, 3, 4};
  const int64_t big = std::numeric_limits<int64_t>::max(), small = std::numeric_limits<int64_t>::min();
  for (DataType dt : kMoveTypes) {
    expectGpuMatchesCpu("Slice", {}, {data({5, 6, 7}, 1, dt), i64v({1, 0}), i64v({4, 5})}, 1, cst);
    expectGpuMatchesCpu("Slice", {}, {data({5, 6, 7}, 2, dt), i64v({-1, 1}), i64v({small, 7}), i64v({2, 0}), i64v({-2, 3})}, 1, cst);
    expectGpuMatchesCpu("Slice", {}, {data({5, 6, 7}, 3, dt), i64v({0, 6}), i64v({big, -big}), i64v({-1, 1}), i64v({1, -1})}, 1, cst);
    expectGpuMatchesCpu("Slice", {}, {data({5, 6}, 4, dt), i64v({3}), i64v({3}), i64v({0})}, 1, cst);  // empty
  }
  expectGpuMatchesCpu("Slice", {}, {data({4, 512, 1024}, 5), i64v({1, 3}), i64v({1000, 1021}), i64v({1, 2}), i64v({1, 2})}, 1, cst);
}

TEST(TensorGpu, StridedSlice) {
  KILN_REQUIRE_GPU();
  for (DataType dt : kMoveTypes)
    for (int mode = 0; mode <= 4; ++mode) {
      SCOPED_TRACE("mode " + std::to_string(mode));
      Attributes a;
      a.setInt("mode", mode);
      if (mode == 0) {
        a.setInts("start", {1, 5, 0});
        a.setInts("size", {2, 3, 4});
        a.setInts("stride", {1, -2, 2});
      } else {
        a.setInts("start", {-3, 5, 2});
        a.setInts("size", {9, 7, 5});
        a.setInts("stride", {1, -2, 0});
      }
      expectGpuMatchesCpu("StridedSlice", a, {data({4, 6, 8}, static_cast<uint32_t>(mode), dt)});
      if (mode == 3) expectGpuMatchesCpu("StridedSlice", a, {data({4, 6, 8}, 7, dt), data({}, 8, dt)});
    }
  Attributes a;
  a.setInt("mode", 4);
  a.setInts("start", {0, -100});
  a.setInts("size", {3, 1500});
  a.setInts("stride", {1, 3});
  expectGpuMatchesCpu("StridedSlice", a, {data({3, 1000}, 9)});
}

// ---- Gather family ---------------------------------------------------------------------------------------
TEST(TensorGpu, Gather) {
  KILN_REQUIRE_GPU();
  for (DataType dt : kMoveTypes) {
    expectGpuMatchesCpu("Gather", intAttr("axis", 0), {data({5, 4}, 1, dt), i64({2, 3}, {0, -1, 4, 2, -5, 1})});
    expectGpuMatchesCpu("Gather", intAttr("axis", 1), {data({3, 5, 4}, 2, dt), typedTensor<int32_t>({4}, {4, 0, -2, 1})});
    expectGpuMatchesCpu("Gather", intAttr("axis", -1), {data({3, 5, 7}, 3, dt), i64({}, {-3})});
    expectGpuMatchesCpu("Gather", intAttr("axis", 0), {data({5, 4}, 4, dt), i64({0}, {})});
  }
  std::vector<int64_t> idx = randomInts(4000, 5, -4096, 4095);
  expectGpuMatchesCpu("Gather", intAttr("axis", 0), {data({4096, 300}, 6), i64({4000}, idx)});
  expectGpuMatchesCpu("Gather", intAttr("axis", 0), {data({4096, 768}, 7, DataType::kHALF), i64({2, 1000}, randomInts(2000, 8, 0, 4095))});
}

TEST(TensorGpu, GatherOutOfRangeWritesZeros) {
  KILN_REQUIRE_GPU();
  // documented GPU behaviour: out-of-range indices give zeros (the reference throws)
  auto got = runGpuOp("Gather", intAttr("axis", 0), {floatTensor({3, 2}, {1, 2, 3, 4, 5, 6}), i64({3}, {1, 7, -4})});
  expectCloseValues(*got[0], {3, 4, 0, 0, 0, 0});
}

TEST(TensorGpu, GatherElements) {
  KILN_REQUIRE_GPU();
  for (DataType dt : kMoveTypes) {
    expectGpuMatchesCpu("GatherElements", intAttr("axis", 1), {data({3, 4}, 1, dt), i64({3, 2}, {0, 3, -1, 2, 1, 0})});
    expectGpuMatchesCpu("GatherElements", intAttr("axis", 0),
                        {data({4, 3, 5}, 2, dt), typedTensor<int32_t>({2, 3, 4}, std::vector<int32_t>(24, 3))});
  }
  std::vector<int64_t> idx = randomInts(512 * 2048, 3, -512, 511);
  expectGpuMatchesCpu("GatherElements", intAttr("axis", 0), {data({512, 2048}, 4), i64({512, 2048}, idx)});
}

TEST(TensorGpu, GatherND) {
  KILN_REQUIRE_GPU();
  for (DataType dt : kMoveTypes) {
    expectGpuMatchesCpu("GatherND", {}, {data({4, 5, 6}, 1, dt), i64({3, 2}, {0, 1, 3, -1, 2, 4})});
    expectGpuMatchesCpu("GatherND", {}, {data({4, 5, 6}, 2, dt), i64({2, 3}, {0, 1, 2, 3, 4, 5})});
    expectGpuMatchesCpu("GatherND", intAttr("batch_dims", 1), {data({4, 5, 6}, 3, dt), i64({4, 2, 1}, {0, 1, 2, 3, 4, 0, 1, 2})});
  }
  expectGpuMatchesCpu("GatherND", {}, {data({1000, 2048}, 4), i64({700, 1}, randomInts(700, 5, 0, 999))});
}

TEST(TensorGpu, Scatter) {
  KILN_REQUIRE_GPU();
  const char* reds[] = {"none", "add", "mul", "max", "min"};
  for (const char* red : reds) {
    SCOPED_TRACE(red);
    Attributes a;
    a.setInt("axis", 1);
    a.setString("reduction", red);
    // unique indices along the axis per row: every order gives the same result
    TensorPtr ind = i64({3, 2}, {0, 3, -1, 1, 2, 0});
    for (DataType dt : {DataType::kFLOAT, DataType::kHALF, DataType::kINT32, DataType::kINT8, DataType::kINT64}) {
      expectGpuMatchesCpu("ScatterElements", a, {data({3, 4}, 1, dt), ind, data({3, 2}, 2, dt)});
      Attributes n;
      n.setString("reduction", red);
      expectGpuMatchesCpu("ScatterND", n, {data({4, 5}, 3, dt), i64({2, 1}, {3, -4}), data({2, 5}, 4, dt)});
      expectGpuMatchesCpu("ScatterND", n, {data({4, 5}, 3, dt), i64({3, 2}, {3, 1, 0, 0, 2, 4}), data({3}, 4, dt)});
    }
    if (std::string(red) != "none") {
      // duplicates: integer reductions are order independent
      std::vector<int64_t> dup = randomInts(64 * 100, 5, 0, 9);
      expectGpuMatchesCpu("ScatterElements", a, {data({64, 10}, 6, DataType::kINT32), i64({64, 100}, dup), data({64, 100}, 7, DataType::kINT32)});
      if (std::string(red) == "max" || std::string(red) == "min")  // bool: none/max/min only
        expectGpuMatchesCpu("ScatterElements", a, {data({64, 10}, 6, DataType::kBOOL), i64({64, 100}, dup), data({64, 100}, 7, DataType::kBOOL)});
    }
  }
  Attributes add;
  add.setString("reduction", "add");
  std::vector<int64_t> dup = randomInts(10000, 8, 0, 99);
  // float add with duplicates: ordering differs from the reference, so compare with a tolerance
  expectGpuMatchesCpu("ScatterND", add, {data({100, 16}, 9), i64({10000, 1}, dup), data({10000, 16}, 10)}, 1, {}, 1e-4, 1e-4);
}

// ---- Expand / Tile / Pad ---------------------------------------------------------------------------------
TEST(TensorGpu, Expand) {
  KILN_REQUIRE_GPU();
  GpuOpOptions cst;
  cst.constantInputs = {1};
  for (DataType dt : kMoveTypes) {
    expectGpuMatchesCpu("Expand", {}, {data({3, 1}, 1, dt), i64v({2, 3, 4})}, 1, cst);
    expectGpuMatchesCpu("Expand", {}, {data({1, 4, 1}, 2, dt), i64v({3, 1, 5})}, 1, cst);
    expectGpuMatchesCpu("Expand", {}, {data({}, 3, dt), i64v({2, 0})}, 1, cst);
  }
  expectGpuMatchesCpu("Expand", {}, {data({1, 1024}, 4), i64v({1100, 1024})}, 1, cst);
  expectGpuMatchesCpu("Expand", {}, {data({64, 1, 1}, 5, DataType::kHALF), i64v({64, 128, 128})}, 1, cst);
}

TEST(TensorGpu, Tile) {
  KILN_REQUIRE_GPU();
  GpuOpOptions cst;
  cst.constantInputs = {1};
  for (DataType dt : kMoveTypes) {
    expectGpuMatchesCpu("Tile", {}, {data({2, 3}, 1, dt), i64v({3, 2})}, 1, cst);
    expectGpuMatchesCpu("Tile", {}, {data({2, 3, 4}, 2, dt), i64v({1, 0, 2})}, 1, cst);
  }
  expectGpuMatchesCpu("Tile", {}, {data({2, 3, 4, 5, 2}, 3), i64v({2, 1, 2, 3, 2})}, 1, cst);  // > 8 dims before merging
  expectGpuMatchesCpu("Tile", {}, {data({1, 3, 256}, 4), i64v({2, 300, 2})}, 1, cst);
}

TEST(TensorGpu, Pad) {
  KILN_REQUIRE_GPU();
  GpuOpOptions cst;
  cst.constantInputs = {1, 3};
  for (const char* mode : {"constant", "reflect", "edge", "wrap"}) {
    SCOPED_TRACE(mode);
    Attributes a;
    a.setString("mode", mode);
    for (DataType dt : kMoveTypes) {
      expectGpuMatchesCpu("Pad", a, {data({2, 3, 4}, 1, dt), i64v({0, 1, 2, 1, 2, 3})}, 1, cst);
      expectGpuMatchesCpu("Pad", a, {data({2, 3, 4}, 2, dt), i64v({1, -1, 0, 0, 2, -2})}, 1, cst);
      expectGpuMatchesCpu("Pad", a, {data({2, 3, 4}, 3, dt), i64v({7, 9}), nullptr, i64v({-1})}, 1, cst);  // pads > extent
    }
    expectGpuMatchesCpu("Pad", a, {data({2, 3, 400, 400}, 4), i64v({0, 0, 3, 3, 0, 0, 3, 3})}, 1, cst);
  }
  Attributes c;
  c.setString("mode", "constant");
  expectGpuMatchesCpu("Pad", c, {data({2, 3, 4}, 5), i64v({1, 1, 1, 1, 1, 1}), data({}, 6)}, 1, cst);
  expectGpuMatchesCpu("Pad", c, {data({2, 3, 4}, 5, DataType::kINT32), i64v({1, 1, 1, 1, 1, 1}), data({}, 6, DataType::kINT32)}, 1, cst);
}

TEST(TensorGpu, DepthSpace) {
  KILN_REQUIRE_GPU();
  for (DataType dt : kMoveTypes) {
    Attributes a;
    a.setInt("blocksize", 2);
    expectGpuMatchesCpu("DepthToSpace", a, {data({2, 8, 3, 5}, 1, dt)});
    expectGpuMatchesCpu("SpaceToDepth", a, {data({2, 3, 6, 4}, 2, dt)});
    a.setString("mode", "CRD");
    expectGpuMatchesCpu("DepthToSpace", a, {data({2, 8, 3, 5}, 3, dt)});
  }
  Attributes b;
  b.setInt("blocksize", 4);
  expectGpuMatchesCpu("DepthToSpace", b, {data({2, 64, 64, 64}, 4)});
  expectGpuMatchesCpu("SpaceToDepth", b, {data({2, 16, 128, 128}, 5)});
}

// ---- Resize -----------------------------------------------------------------------------------------------
TEST(TensorGpu, ResizeNearest) {
  KILN_REQUIRE_GPU();
  GpuOpOptions cst;
  cst.constantInputs = {1, 2, 3};
  const char* coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"};
  const char* nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  for (const char* cm : coords)
    for (const char* nm : nearest) {
      SCOPED_TRACE(std::string(cm) + " " + nm);
      Attributes a;
      a.setString("mode", "nearest");
      a.setString("coordinate_transformation_mode", cm);
      a.setString("nearest_mode", nm);
      a.setFloat("extrapolation_value", -7.0);
      TensorPtr roi = std::string(cm) == "tf_crop_and_resize" ? f32v({0, 0, -0.2f, 0.1f, 1, 1, 0.9f, 1.3f}) : nullptr;
      expectGpuMatchesCpu("Resize", a, {data({2, 3, 5, 7}, 1), roi, f32v({1, 1, 2.5f, 0.6f})}, 1, cst);
      expectGpuMatchesCpu("Resize", a, {data({2, 3, 5, 7}, 2, DataType::kINT32), roi, f32v({1, 1, 3, 2})}, 1, cst);
      expectGpuMatchesCpu("Resize", a, {data({1, 2, 4, 4}, 3, DataType::kHALF), roi, nullptr, i64v({1, 2, 9, 3})}, 1, cst);
    }
  Attributes a;
  a.setString("mode", "nearest");
  a.setString("coordinate_transformation_mode", "asymmetric");
  a.setString("nearest_mode", "floor");
  expectGpuMatchesCpu("Resize", a, {data({1, 3, 320, 320}, 4), nullptr, f32v({1, 1, 2, 2})}, 1, cst);
  Attributes k;
  k.setString("keep_aspect_ratio_policy", "not_larger");
  k.setInts("axes", {2, 3});
  expectGpuMatchesCpu("Resize", k, {data({1, 2, 5, 8}, 5), nullptr, nullptr, i64v({7, 7})}, 1, cst);
}

TEST(TensorGpu, ResizeLinearCubic) {
  KILN_REQUIRE_GPU();
  GpuOpOptions cst;
  cst.constantInputs = {1, 2, 3};
  const char* coords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"};
  for (const char* mode : {"linear", "cubic"})
    for (const char* cm : coords)
      for (int exclude = 0; exclude <= 1; ++exclude) {
        SCOPED_TRACE(std::string(mode) + " " + cm + " exclude " + std::to_string(exclude));
        Attributes a;
        a.setString("mode", mode);
        a.setString("coordinate_transformation_mode", cm);
        a.setInt("exclude_outside", exclude);
        a.setFloat("extrapolation_value", 0.5);
        if (std::string(mode) == "cubic") a.setFloat("cubic_coeff_a", exclude ? -0.5 : -0.75);
        TensorPtr roi = std::string(cm) == "tf_crop_and_resize" ? f32v({0, 0, -0.2f, 0.1f, 1, 1, 0.9f, 1.3f}) : nullptr;
        expectGpuMatchesCpu("Resize", a, {data({2, 3, 5, 7}, 1), roi, f32v({1, 1, 2.5f, 0.6f})}, 1, cst);
        expectGpuMatchesCpu("Resize", a, {data({2, 3, 6, 4}, 2), roi, nullptr, i64v({2, 3, 3, 9})}, 1, cst);
        expectGpuMatchesCpu("Resize", a, {data({1, 2, 4, 4}, 3, DataType::kHALF), roi, f32v({1, 1, 2, 2})}, 1, cst, 1e-3, 1e-3);
      }
  Attributes a;
  a.setString("mode", "linear");
  expectGpuMatchesCpu("Resize", a, {data({2, 3, 4, 5, 6}, 4), nullptr, f32v({1, 2, 1.5f, 0.5f, 2})}, 1, cst);  // trilinear + batch
  expectGpuMatchesCpu("Resize", a, {data({1, 8, 160, 160}, 5), nullptr, f32v({1, 1, 2, 2})}, 1, cst);           // large
  a.setString("mode", "cubic");
  expectGpuMatchesCpu("Resize", a, {data({1, 3, 40, 40}, 6, DataType::kDOUBLE), nullptr, f32v({1, 1, 1.7f, 2.2f})}, 1, cst);
  expectGpuMatchesCpu("Resize", a, {data({1, 3, 40, 40}, 7, DataType::kBF16), nullptr, f32v({1, 1, 1.7f, 2.2f})}, 1, cst, 1e-2, 1e-2);
}

// ---- TopK -----------------------------------------------------------------------------------------------
TEST(TensorGpu, TopK) {
  KILN_REQUIRE_GPU();
  GpuOpOptions cst;
  cst.constantInputs = {1};
  for (int largest = 0; largest <= 1; ++largest) {
    SCOPED_TRACE("largest " + std::to_string(largest));
    Attributes a;
    a.setInt("largest", largest);
    for (DataType dt : {DataType::kFLOAT, DataType::kHALF, DataType::kINT32, DataType::kINT64, DataType::kUINT8, DataType::kDOUBLE})
      expectGpuMatchesCpu("TopK", a, {data({3, 50}, 1, dt), i64v({7})}, 2, cst);
    a.setInt("axis", 0);
    expectGpuMatchesCpu("TopK", a, {data({20, 3, 4}, 2), i64v({20})}, 2, cst);
    a.setInt("index_type", static_cast<int64_t>(DataType::kINT32));
    // ties, NaN and signed zeros
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    expectGpuMatchesCpu("TopK", a, {floatTensor({10, 1}, {1, nan, 3, 3, -0.f, 0.f, nan, -inf, inf, 1}), i64v({10})}, 2, cst);
    a.setInt("axis", -1);
    expectGpuMatchesCpu("TopK", a, {data({2, 1 << 20}, 3), i64v({100})}, 2, cst);   // long rows, segmented
    expectGpuMatchesCpu("TopK", a, {data({1, 3000000}, 4), i64v({1000})}, 2, cst);  // one row
    expectGpuMatchesCpu("TopK", a, {data({4096, 80}, 5), i64v({0})}, 2, cst);       // k = 0
    // many duplicates
    expectGpuMatchesCpu("TopK", a, {data({64, 1000}, 6, DataType::kINT8), i64v({500})}, 2, cst);
  }
}

// ---- small ops ----------------------------------------------------------------------------------------------
TEST(TensorGpu, TriluCumSumOneHot) {
  KILN_REQUIRE_GPU();
  GpuOpOptions kconst;
  kconst.constantInputs = {1};
  for (int upper = 0; upper <= 1; ++upper)
    for (DataType dt : kMoveTypes) {
      Attributes a = intAttr("upper", upper);
      expectGpuMatchesCpu("Trilu", a, {data({2, 5, 7}, 1, dt)});
      expectGpuMatchesCpu("Trilu", a, {data({2, 5, 7}, 2, dt), i64({}, {-2})});
      expectGpuMatchesCpu("Trilu", a, {data({6, 3}, 3, dt), i64({}, {1})}, 1, kconst);
    }
  for (int excl = 0; excl <= 1; ++excl)
    for (int rev = 0; rev <= 1; ++rev) {
      Attributes a;
      a.setInt("exclusive", excl);
      a.setInt("reverse", rev);
      for (DataType dt : {DataType::kFLOAT, DataType::kHALF, DataType::kINT32, DataType::kINT64, DataType::kINT8, DataType::kDOUBLE}) {
        double tol = dt == DataType::kHALF ? 1e-3 : 1e-5;
        expectGpuMatchesCpu("CumSum", a, {data({3, 4, 5}, 1, dt), i64({}, {1})}, 1, kconst, tol, tol);
        expectGpuMatchesCpu("CumSum", a, {data({3, 1000}, 2, dt), i64({}, {-1})}, 1, kconst, tol, tol);
      }
      expectGpuMatchesCpu("CumSum", a, {data({4, 300000}, 3), i64({}, {1})}, 1, kconst, 1e-4, 1e-4);
      expectGpuMatchesCpu("CumSum", a, {data({300, 4000}, 4), i64({}, {0})}, 1, kconst, 1e-5, 1e-5);
    }
  GpuOpOptions oh;
  oh.constantInputs = {1};
  for (int64_t axis : {-1, 0, 1}) {
    Attributes a = intAttr("axis", axis);
    expectGpuMatchesCpu("OneHot", a, {i64({2, 3}, {0, 4, -1, 7, -6, 2}), i64({}, {5}), f32v({-1, 3})}, 1, oh);
    expectGpuMatchesCpu("OneHot", a, {typedTensor<int32_t>({2, 3}, {0, 4, -1, 7, -6, 2}), floatTensor({}, {6}), i64v({2, 9})}, 1, oh);
    expectGpuMatchesCpu("OneHot", a, {floatTensor({4}, {0.5f, 2.7f, -1.2f, 3}), i64({}, {4}), data({2}, 1, DataType::kHALF)}, 1, oh);
  }
}

TEST(TensorGpu, ReverseSequenceEyeLikeRangeConstants) {
  KILN_REQUIRE_GPU();
  for (DataType dt : kMoveTypes) {
    Attributes a;
    a.setInt("batch_axis", 1);
    a.setInt("time_axis", 0);
    expectGpuMatchesCpu("ReverseSequence", a, {data({5, 4, 3}, 1, dt), i64v({5, 0, 3, 1})});
    Attributes b;
    b.setInt("batch_axis", 0);
    b.setInt("time_axis", 1);
    expectGpuMatchesCpu("ReverseSequence", b, {data({3, 6, 2, 2}, 2, dt), i64v({6, 2, 4})});
  }
  for (int64_t k : {0, 2, -1, 9}) {
    expectGpuMatchesCpu("EyeLike", intAttr("k", k), {data({4, 6}, 1)});
    Attributes a = intAttr("k", k);
    a.setInt("dtype", static_cast<int64_t>(DataType::kINT32));
    expectGpuMatchesCpu("EyeLike", a, {data({5, 3}, 2, DataType::kHALF)});
  }
  GpuOpOptions all;
  all.constantInputs = {0, 1, 2};
  expectGpuMatchesCpu("Range", {}, {floatTensor({}, {1.5f}), floatTensor({}, {9}), floatTensor({}, {0.7f})}, 1, all);
  expectGpuMatchesCpu("Range", {}, {i64({}, {10}), i64({}, {-3}), i64({}, {-3})}, 1, all);
  expectGpuMatchesCpu("Range", {}, {i64({}, {0}), i64({}, {3000000}), i64({}, {1})}, 1, all);
  expectGpuMatchesCpu("Range", {}, {i64({}, {5}), i64({}, {5}), i64({}, {1})}, 1, all);
  GpuOpOptions shape;
  shape.constantInputs = {0};
  Attributes v;
  v.setTensor("value", makeTyped(DataType::kHALF, {1}, {2.5}));
  expectGpuMatchesCpu("ConstantOfShape", v, {i64v({3, 1000, 700})}, 1, shape);
  expectGpuMatchesCpu("ConstantOfShape", {}, {i64v({3, 4})}, 1, shape);
  v.setTensor("value", makeTyped(DataType::kINT64, {1}, {-7}));
  expectGpuMatchesCpu("ConstantOfShape", v, {i64v({0, 4})}, 1, shape);
  expectGpuMatchesCpu("Shape", {}, {data({2, 3, 5}, 1)});
  Attributes se;
  se.setInt("start", -2);
  expectGpuMatchesCpu("Shape", se, {data({2, 3, 5}, 1)});
  se.setInt("end", -2);
  expectGpuMatchesCpu("Shape", se, {data({2, 3, 5}, 1)});
  expectGpuMatchesCpu("Size", {}, {data({2, 3, 5}, 1, DataType::kHALF)});
  expectGpuMatchesCpu("Size", {}, {data({2, 0, 5}, 1)});
}

}  // namespace
}  // namespace kiln::test
