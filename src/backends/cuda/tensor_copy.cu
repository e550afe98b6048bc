// The data-movement primitives of the CUDA tensor family (see tensor_impl.h): mapped/strided copies,
// tiled transposes and batched row copies, by element size.
#include <algorithm>
#include <cstdlib>

#include "backends/cuda/tensor_impl.h"

namespace kiln::gpu::tensor {

void invalid(const std::string& msg) { throw Error(ErrorCode::kINVALID_ARGUMENT, msg); }
void unsupported(const std::string& msg) { throw Error(ErrorCode::kUNSUPPORTED_NODE, msg); }

bool constantInts(const ir::Node& node, size_t k, std::vector<int64_t>* out) {
  if (!hasInput(node, k) || !node.inputs[k]->isConstant()) return false;
  *out = node.inputs[k]->constant->toInts();
  return true;
}

bool constantDoubles(const ir::Node& node, size_t k, std::vector<double>* out) {
  if (!hasInput(node, k) || !node.inputs[k]->isConstant()) return false;
  const ir::TensorData& t = *node.inputs[k]->constant;
  out->resize(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) (*out)[static_cast<size_t>(i)] = t.floatAt(i);
  return true;
}

int64_t normAxis(int64_t axis, int64_t rank, const char* op) {
  if (axis < -rank || axis >= rank) invalid(std::string(op) + ": axis " + std::to_string(axis) + " out of range");
  return axis < 0 ? axis + rank : axis;
}

std::vector<CopyAxis> transposeAxes(const std::vector<int64_t>& in, const std::vector<int64_t>& perm) {
  std::vector<int64_t> st(in.size(), 1);
  for (size_t d = in.size(); d-- > 1;) st[d - 1] = st[d] * in[d];
  std::vector<CopyAxis> axes(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    size_t p = static_cast<size_t>(perm[i]);
    axes[i].ext = in[p];
    axes[i].inExt = in[p];
    axes[i].inStride = st[p];
  }
  return axes;
}

namespace {

constexpr int kThreads = 256;

// ---- sampling modes (host and device agree) -------------------------------------------------------------
__host__ __device__ inline int64_t sampleCoord(int64_t c, int64_t n, int32_t mode) {
  if (c >= 0 && c < n) return c;
  switch (mode) {
    case kWrap: return ((c % n) + n) % n;
    case kClamp: return c < 0 ? 0 : n - 1;
    case kReflect: {
      if (n == 1) return 0;
      int64_t period = 2 * (n - 1);
      int64_t m = ((c % period) + period) % period;
      return m < n ? m : period - m;
    }
    default: return -1;  // kFill (kAffine never gets here)
  }
}

// ---- affine copies ------------------------------------------------------------------------------------
struct Affine32 {
  int32_t rank;
  int32_t base;
  FastDiv div[kMaxDims];
  int32_t stride[kMaxDims];
};
struct Affine64 {
  int32_t rank;
  int64_t base;
  int64_t ext[kMaxDims];
  int64_t stride[kMaxDims];
};

template <class U>
__global__ void affineCopy32(const U* __restrict__ src, U* __restrict__ dst, Affine32 p, uint32_t n) {
  for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    uint32_t rem = i;
    int32_t off = p.base;
#pragma unroll
    for (int d = kMaxDims - 1; d >= 1; --d) {
      if (d < p.rank) {
        uint32_t q = p.div[d].div(rem);
        off += static_cast<int32_t>(rem - q * p.div[d].d) * p.stride[d];
        rem = q;
      }
    }
    off += static_cast<int32_t>(rem) * p.stride[0];
    dst[i] = src[off];
  }
}

template <class U>
__global__ void affineCopy64(const U* __restrict__ src, U* __restrict__ dst, Affine64 p, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t rem = i, off = p.base;
#pragma unroll
    for (int d = kMaxDims - 1; d >= 1; --d) {
      if (d < p.rank) {
        int64_t q = rem / p.ext[d];
        off += (rem - q * p.ext[d]) * p.stride[d];
        rem = q;
      }
    }
    off += rem * p.stride[0];
    dst[i] = src[off];
  }
}

// ---- tiled transpose: output dim L (last, output-contiguous) and dim A (input-contiguous) ---------------
constexpr int kTile = 32, kTileRows = 8;
struct TileArgs {
  int64_t extA, extL, inStrideL, outStrideA;
  int64_t tilesA, tilesL, numTiles;
  int64_t base;
  int32_t nb;
  int64_t bext[kMaxDims], bin[kMaxDims], bout[kMaxDims];
};

template <class U>
__global__ void tiledTranspose(const U* __restrict__ src, U* __restrict__ dst, TileArgs p) {
  __shared__ U tile[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t t = blockIdx.x; t < p.numTiles; t += gridDim.x) {
    int64_t tl = t % p.tilesL, rest = t / p.tilesL;
    int64_t ta = rest % p.tilesA, b = rest / p.tilesA;
    int64_t inOff = p.base, outOff = 0;
    for (int d = p.nb - 1; d >= 0; --d) {
      int64_t q = b / p.bext[d], c = b - q * p.bext[d];
      inOff += c * p.bin[d];
      outOff += c * p.bout[d];
      b = q;
    }
    const int64_t a0 = ta * kTile, l0 = tl * kTile;
#pragma unroll
    for (int j = ty; j < kTile; j += kTileRows) {
      int64_t a = a0 + tx, l = l0 + j;
      if (a < p.extA && l < p.extL) tile[j][tx] = src[inOff + a + l * p.inStrideL];
    }
    __syncthreads();
#pragma unroll
    for (int j = ty; j < kTile; j += kTileRows) {
      int64_t l = l0 + tx, a = a0 + j;
      if (a < p.extA && l < p.extL) dst[outOff + l + a * p.outStrideA] = tile[tx][j];
    }
    __syncthreads();
  }
}

// ---- mapped copies (sampling modes, fills) -------------------------------------------------------------
struct MappedDim {
  int64_t ext, start, step, inExt, inStride;
  int32_t mode;
};
struct MappedArgs {
  int32_t rank;
  int64_t base;
  FastDiv div[kMaxDims];
  MappedDim dim[kMaxDims];
};

template <class U, bool k32>
__global__ void mappedCopyKernel(const U* __restrict__ src, U* __restrict__ dst, MappedArgs p, int64_t n,
                                 const U* fillDev, U fillVal) {
  const U fill = fillDev ? *fillDev : fillVal;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t off = p.base;
    bool bad = false;
    uint32_t rem32 = static_cast<uint32_t>(i);
    int64_t rem = i;
#pragma unroll
    for (int d = kMaxDims - 1; d >= 0; --d) {
      if (d < p.rank) {
        int64_t co;
        if (d == 0) {
          co = k32 ? static_cast<int64_t>(rem32) : rem;
        } else if constexpr (k32) {
          uint32_t q = p.div[d].div(rem32);
          co = rem32 - q * p.div[d].d;
          rem32 = q;
        } else {
          int64_t q = rem / p.dim[d].ext;
          co = rem - q * p.dim[d].ext;
          rem = q;
        }
        const MappedDim& m = p.dim[d];
        int64_t c = m.start + co * m.step;
        if (m.mode != kAffine) c = sampleCoord(c, m.inExt, m.mode);
        if (c < 0) bad = true;
        else off += c * m.inStride;
      }
    }
    dst[i] = bad ? fill : src[off];
  }
}

struct Dim {
  int64_t ext, start, step, inExt, inStride;
  int32_t mode;  // kAffine: c = start + i*step always in range (start folded into base later)
};

unsigned gridFor(int64_t n, int64_t cap = 65535LL * 32) { return blocksFor(n, kThreads, cap); }

template <class U>
void launchAffine(std::vector<int64_t> ext, std::vector<int64_t> stride, int64_t base, const void* src, void* dst,
                  int64_t total, cudaStream_t stream) {
  const int rank = static_cast<int>(ext.size());
  int64_t bound = std::llabs(base);
  for (int d = 0; d < rank; ++d) bound += (ext[static_cast<size_t>(d)] - 1) * std::llabs(stride[static_cast<size_t>(d)]);
  if (fits32(total) && fits32(bound)) {
    Affine32 p{};
    p.rank = rank;
    p.base = static_cast<int32_t>(base);
    for (int d = 0; d < rank; ++d) {
      p.div[d] = FastDiv(static_cast<uint32_t>(ext[static_cast<size_t>(d)]));
      p.stride[d] = static_cast<int32_t>(stride[static_cast<size_t>(d)]);
    }
    affineCopy32<U><<<gridFor(total), kThreads, 0, stream>>>(static_cast<const U*>(src), static_cast<U*>(dst), p,
                                                            static_cast<uint32_t>(total));
  } else {
    Affine64 p{};
    p.rank = rank;
    p.base = base;
    for (int d = 0; d < rank; ++d) {
      p.ext[d] = ext[static_cast<size_t>(d)];
      p.stride[d] = stride[static_cast<size_t>(d)];
    }
    affineCopy64<U><<<gridFor(total), kThreads, 0, stream>>>(static_cast<const U*>(src), static_cast<U*>(dst), p, total);
  }
  launched("affine copy");
}

bool aligned(const void* p, std::size_t w) { return reinterpret_cast<uintptr_t>(p) % w == 0; }

void affineCopy(std::vector<int64_t> ext, std::vector<int64_t> stride, int64_t base, const void* src, void* dst,
                std::size_t es, int64_t total, cudaStream_t stream) {
  const size_t rank = ext.size();
  const char* s = static_cast<const char*>(src);
  if (rank == 0 || (rank == 1 && stride[0] == 1)) {
    KILN_CUDA_CHECK(cudaMemcpyAsync(dst, s + base * static_cast<int64_t>(es), static_cast<size_t>(total) * es,
                                    cudaMemcpyDeviceToDevice, stream));
    return;
  }
  if (rank > static_cast<size_t>(kMaxDims))
    unsupported("a GPU copy needs more than " + std::to_string(kMaxDims) + " dimensions after merging");
  const size_t L = rank - 1;
  if (stride[L] != 1 && es <= 8) {
    // a transpose: tile over the output's last dim and the input's contiguous dim
    size_t a = rank;
    for (size_t d = 0; d < L; ++d)
      if (stride[d] == 1) a = d;
    if (a < rank && ext[a] >= 16 && ext[L] >= 16) {
      TileArgs p{};
      p.extA = ext[a];
      p.extL = ext[L];
      p.inStrideL = stride[L];
      std::vector<int64_t> outStride(rank, 1);
      for (size_t d = rank - 1; d-- > 0;) outStride[d] = outStride[d + 1] * ext[d + 1];
      p.outStrideA = outStride[a];
      p.tilesA = (ext[a] + kTile - 1) / kTile;
      p.tilesL = (ext[L] + kTile - 1) / kTile;
      p.base = base;
      int64_t batch = 1;
      for (size_t d = 0; d < L; ++d) {
        if (d == a) continue;
        p.bext[p.nb] = ext[d];
        p.bin[p.nb] = stride[d];
        p.bout[p.nb] = outStride[d];
        ++p.nb;
        batch *= ext[d];
      }
      p.numTiles = p.tilesA * p.tilesL * batch;
      unsigned grid = static_cast<unsigned>(std::min<int64_t>(p.numTiles, 1 << 20));
      dispatchBySize(es, [&](auto u) {
        using U = decltype(u);
        tiledTranspose<U><<<grid, dim3(kTile, kTileRows), 0, stream>>>(static_cast<const U*>(src), static_cast<U*>(dst), p);
      });
      launched("tiled transpose");
      return;
    }
  }
  // widen the element when the innermost run is contiguous and everything is aligned
  if (stride[L] == 1) {
    for (std::size_t w = 16; w > es; w /= 2) {
      int64_t k = static_cast<int64_t>(w / es);
      bool ok = ext[L] % k == 0 && base % k == 0 && aligned(src, w) && aligned(dst, w);
      for (size_t d = 0; d < L && ok; ++d) ok = stride[d] % k == 0;
      if (!ok) continue;
      ext[L] /= k;
      for (size_t d = 0; d < L; ++d) stride[d] /= k;
      base /= k;
      total /= k;
      es = w;
      break;
    }
  }
  switch (es) {
    case 1: return launchAffine<uint8_t>(ext, stride, base, src, dst, total, stream);
    case 2: return launchAffine<uint16_t>(ext, stride, base, src, dst, total, stream);
    case 4: return launchAffine<uint32_t>(ext, stride, base, src, dst, total, stream);
    case 8: return launchAffine<uint64_t>(ext, stride, base, src, dst, total, stream);
    case 16: return launchAffine<uint4>(ext, stride, base, src, dst, total, stream);
    default: unsupported("unsupported element size " + std::to_string(es));
  }
}

}  // namespace

void mappedCopy(const std::vector<CopyAxis>& axes, const void* src, void* dst, std::size_t es, cudaStream_t stream,
                const void* fillDev, uint64_t fillBits) {
  int64_t total = 1;
  for (const CopyAxis& a : axes) total *= a.ext;
  if (total <= 0) return;
  // Normalize: affine dims (also mapped ones whose samples all lie inside) fold their start into the base.
  int64_t base = 0;
  std::vector<Dim> dims;
  for (const CopyAxis& a : axes) {
    Dim d{a.ext, a.start, a.step, a.inExt, a.inStride, a.mode};
    if (d.mode != kAffine) {
      int64_t first = a.start, last = a.start + (a.ext - 1) * a.step;
      if (first >= 0 && first < a.inExt && last >= 0 && last < a.inExt) d.mode = kAffine;
      else if (a.inExt <= 0 && a.mode != kFill) invalid("cannot sample an empty axis");
    }
    if (d.mode == kAffine) {
      base += d.start * d.inStride;
      d.start = 0;
      d.inStride *= d.step;
      d.step = 1;
      if (d.ext == 1) continue;
    } else if (d.ext == 1) {
      int64_t c = sampleCoord(d.start, d.inExt, d.mode);
      if (c >= 0) {
        base += c * d.inStride;
        continue;
      }
      // every element is the fill value: keep the dim
    }
    // merge with the previous affine dim when contiguous
    if (!dims.empty() && d.mode == kAffine && dims.back().mode == kAffine &&
        dims.back().inStride == d.inStride * d.ext) {
      dims.back().ext *= d.ext;
      dims.back().inStride = d.inStride;
      continue;
    }
    dims.push_back(d);
  }
  bool affine = true;
  for (const Dim& d : dims) affine = affine && d.mode == kAffine;
  if (affine) {
    std::vector<int64_t> ext, stride;
    for (const Dim& d : dims) {
      ext.push_back(d.ext);
      stride.push_back(d.inStride);
    }
    return affineCopy(ext, stride, base, src, dst, es, total, stream);
  }
  if (dims.size() > static_cast<size_t>(kMaxDims))
    unsupported("a GPU copy needs more than " + std::to_string(kMaxDims) + " dimensions after merging");
  MappedArgs p{};
  p.rank = static_cast<int32_t>(dims.size());
  p.base = base;
  for (size_t d = 0; d < dims.size(); ++d) {
    const Dim& s = dims[d];
    p.dim[d] = MappedDim{s.ext, s.start, s.step, s.inExt, s.inStride, s.mode};
    if (fits32(total)) p.div[d] = FastDiv(static_cast<uint32_t>(s.ext));
  }
  dispatchBySize(es, [&](auto u) {
    using U = decltype(u);
    U fv{};
    std::memcpy(&fv, &fillBits, sizeof(U));
    if (fits32(total))
      mappedCopyKernel<U, true><<<gridFor(total), kThreads, 0, stream>>>(
          static_cast<const U*>(src), static_cast<U*>(dst), p, total, static_cast<const U*>(fillDev), fv);
    else
      mappedCopyKernel<U, false><<<gridFor(total), kThreads, 0, stream>>>(
          static_cast<const U*>(src), static_cast<U*>(dst), p, total, static_cast<const U*>(fillDev), fv);
  });
  launched("mapped copy");
}

// ---- batched row copies (Concat, Split) ---------------------------------------------------------------
namespace {
constexpr int kMaxSegs = 32;
struct RowSeg {
  const void* src;
  void* dst;
  int64_t rowLen, srcPitch, dstPitch, n;
  FastDiv div;
};
struct RowArgs {
  RowSeg seg[kMaxSegs];
};

template <class U, bool k32>
__global__ void rowCopyKernel(RowArgs a) {
  const RowSeg& s = a.seg[blockIdx.y];
  const U* __restrict__ src = static_cast<const U*>(s.src);
  U* __restrict__ dst = static_cast<U*>(s.dst);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < s.n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    int64_t r, c;
    if constexpr (k32) {
      uint32_t q = s.div.div(static_cast<uint32_t>(i));
      r = q;
      c = static_cast<int64_t>(static_cast<uint32_t>(i) - q * s.div.d);
    } else {
      r = i / s.rowLen;
      c = i - r * s.rowLen;
    }
    dst[r * s.dstPitch + c] = src[r * s.srcPitch + c];
  }
}

template <class U>
void launchRows(const std::vector<RowCopy>& segs, std::size_t w, cudaStream_t stream) {
  for (size_t first = 0; first < segs.size(); first += kMaxSegs) {
    size_t cnt = std::min<size_t>(kMaxSegs, segs.size() - first);
    RowArgs a{};
    int64_t maxN = 0;
    bool k32 = true;
    for (size_t j = 0; j < cnt; ++j) {
      const RowCopy& c = segs[first + j];
      int64_t k = static_cast<int64_t>(w);  // the caller scaled the extents to w-byte elements
      (void)k;
      RowSeg& s = a.seg[j];
      s.src = c.src;
      s.dst = c.dst;
      s.rowLen = c.rowLen;
      s.srcPitch = c.srcPitch;
      s.dstPitch = c.dstPitch;
      s.n = c.rows * c.rowLen;
      maxN = std::max(maxN, s.n);
      k32 = k32 && fits32(s.n) && c.rowLen < (int64_t{1} << 31);
    }
    if (k32)
      for (size_t j = 0; j < cnt; ++j) a.seg[j].div = FastDiv(static_cast<uint32_t>(std::max<int64_t>(a.seg[j].rowLen, 1)));
    dim3 grid(gridFor(maxN, 8192), static_cast<unsigned>(cnt));
    if (k32) rowCopyKernel<U, true><<<grid, kThreads, 0, stream>>>(a);
    else rowCopyKernel<U, false><<<grid, kThreads, 0, stream>>>(a);
    launched("row copy");
  }
}
}  // namespace

void rowCopies(const std::vector<RowCopy>& copies, std::size_t es, cudaStream_t stream) {
  // group the copies by the widest element each allows
  std::vector<RowCopy> groups[5];  // 1, 2, 4, 8, 16 bytes
  for (const RowCopy& c : copies) {
    if (c.rows <= 0 || c.rowLen <= 0) continue;
    if (c.rows == 1 || (c.rowLen == c.srcPitch && c.rowLen == c.dstPitch)) {
      KILN_CUDA_CHECK(cudaMemcpyAsync(c.dst, c.src, static_cast<size_t>(c.rows * c.rowLen) * es,
                                      cudaMemcpyDeviceToDevice, stream));
      continue;
    }
    std::size_t w = 16;
    for (; w > es; w /= 2) {
      int64_t k = static_cast<int64_t>(w / es);
      if (c.rowLen % k == 0 && c.srcPitch % k == 0 && c.dstPitch % k == 0 && aligned(c.src, w) && aligned(c.dst, w))
        break;
    }
    RowCopy s = c;
    int64_t k = static_cast<int64_t>(w / es);
    s.rowLen /= k;
    s.srcPitch /= k;
    s.dstPitch /= k;
    int g = w == 1 ? 0 : w == 2 ? 1 : w == 4 ? 2 : w == 8 ? 3 : 4;
    groups[g].push_back(s);
  }
  if (!groups[0].empty()) launchRows<uint8_t>(groups[0], 1, stream);
  if (!groups[1].empty()) launchRows<uint16_t>(groups[1], 2, stream);
  if (!groups[2].empty()) launchRows<uint32_t>(groups[2], 4, stream);
  if (!groups[3].empty()) launchRows<uint64_t>(groups[3], 8, stream);
  if (!groups[4].empty()) launchRows<uint4>(groups[4], 16, stream);
}

}  // namespace kiln::gpu::tensor
