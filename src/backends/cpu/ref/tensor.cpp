// Reference CPU kernels of the tensor family: registration and shared data-movement helpers. The kernels
// live in tensor_shape.cpp, tensor_slice.cpp, tensor_gather.cpp and tensor_resize.cpp.
#include "backends/cpu/ref/tensor_impl.h"

namespace kiln::cpu {

namespace tensor_ref {

std::vector<int64_t> readInts(const TensorView& v) {
  std::vector<int64_t> out(static_cast<size_t>(v.numel));
  if (v.numel > 0 && !v.data) invalid("shape-like input has no data");
  for (int64_t i = 0; i < v.numel; ++i) {
    int64_t x = dispatchType(v.dtype, [&](auto t) -> int64_t {
      using T = decltype(t);
      if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>)
        return static_cast<int64_t>(static_cast<float>(v.as<const T>()[i]));
      else
        return static_cast<int64_t>(v.as<const T>()[i]);
    });
    out[static_cast<size_t>(i)] = x;
  }
  return out;
}

std::vector<int64_t> strideTable(int64_t n, int64_t stride) {
  std::vector<int64_t> t(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) t[static_cast<size_t>(i)] = i * stride;
  return t;
}

namespace {
template <class U>
void tableCopyT(const std::vector<std::vector<int64_t>>& tabs, const U* src, U* dst, const void* fill) {
  U fillv{};
  if (fill) std::memcpy(&fillv, fill, sizeof(U));
  const size_t n = tabs.size();
  if (n == 0) {
    dst[0] = src[0];
    return;
  }
  for (const auto& t : tabs)
    if (t.empty()) return;
  const auto& last = tabs[n - 1];
  const int64_t len = static_cast<int64_t>(last.size());
  std::vector<size_t> idx(n - 1, 0);
  int64_t outer = 1;
  for (size_t d = 0; d + 1 < n; ++d) outer *= static_cast<int64_t>(tabs[d].size());
  U* out = dst;
  for (int64_t o = 0; o < outer; ++o) {
    int64_t base = 0;
    bool bad = false;
    for (size_t d = 0; d + 1 < n; ++d) {
      int64_t v = tabs[d][idx[d]];
      if (v < 0) bad = true;
      base += v;
    }
    if (bad) {
      for (int64_t j = 0; j < len; ++j) out[j] = fillv;
    } else {
      for (int64_t j = 0; j < len; ++j) {
        int64_t v = last[static_cast<size_t>(j)];
        out[j] = v < 0 ? fillv : src[base + v];
      }
    }
    out += len;
    for (size_t d = n - 1; d-- > 0;) {
      if (++idx[d] < tabs[d].size()) break;
      idx[d] = 0;
    }
  }
}
}  // namespace

void tableCopy(const std::vector<std::vector<int64_t>>& tabs, const void* src, void* dst, std::size_t elemSize,
               const void* fill) {
  dispatchBySize(elemSize, [&](auto u) {
    using U = decltype(u);
    tableCopyT<U>(tabs, static_cast<const U*>(src), static_cast<U*>(dst), fill);
  });
}

void transposeCopy(const ir::Shape& in, const std::vector<int64_t>& perm, const void* src, void* dst,
                   std::size_t elemSize) {
  std::vector<int64_t> strides = ir::stridesOf(in);
  std::vector<std::vector<int64_t>> tabs(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    size_t p = static_cast<size_t>(perm[i]);
    tabs[i] = strideTable(in[p], strides[p]);
  }
  tableCopy(tabs, src, dst, elemSize, nullptr);
}

}  // namespace tensor_ref

void registerTensorKernels(KernelRegistry& reg) {
  tensor_ref::registerShapeKernels(reg);
  tensor_ref::registerSliceKernels(reg);
  tensor_ref::registerGatherKernels(reg);
  tensor_ref::registerResizeKernels(reg);
}

}  // namespace kiln::cpu
