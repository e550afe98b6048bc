#include "image.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace samples {

Image loadImage(const std::string& path) {
  int w = 0, h = 0, channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &w, &h, &channels, 3);
  if (!data) {
    const char* why = stbi_failure_reason();
    throw std::runtime_error("cannot read image '" + path + "': " + (why ? why : "unknown reason"));
  }
  Image img;
  img.width = w;
  img.height = h;
  img.pixels.assign(data, data + static_cast<std::size_t>(w) * h * 3);
  stbi_image_free(data);
  return img;
}

void writePng(const std::string& path, const Image& image) {
  if (!stbi_write_png(path.c_str(), image.width, image.height, 3, image.pixels.data(), image.width * 3))
    throw std::runtime_error("cannot write PNG '" + path + "'");
}

namespace {
struct Tap {
  int i0, i1;
  float f;
};
// Source taps along one axis: s = (o + 0.5) * in / out - 0.5, clamped to [0, in - 1].
std::vector<Tap> taps(int outN, int inN) {
  std::vector<Tap> t(outN);
  const float scale = static_cast<float>(inN) / static_cast<float>(outN);
  for (int o = 0; o < outN; ++o) {
    float s = (static_cast<float>(o) + 0.5f) * scale - 0.5f;
    s = std::clamp(s, 0.0f, static_cast<float>(inN - 1));
    const int i0 = static_cast<int>(std::floor(s));
    t[o] = {i0, std::min(i0 + 1, inN - 1), s - static_cast<float>(i0)};
  }
  return t;
}
}  // namespace

std::vector<float> resizeBilinear(const Image& image, int outWidth, int outHeight) {
  const auto ty = taps(outHeight, image.height);
  const auto tx = taps(outWidth, image.width);
  std::vector<float> out(static_cast<std::size_t>(outWidth) * outHeight * 3);
  for (int y = 0; y < outHeight; ++y) {
    for (int x = 0; x < outWidth; ++x) {
      for (int c = 0; c < 3; ++c) {
        const float a = image.at(tx[x].i0, ty[y].i0)[c], b = image.at(tx[x].i1, ty[y].i0)[c];
        const float d = image.at(tx[x].i0, ty[y].i1)[c], e = image.at(tx[x].i1, ty[y].i1)[c];
        const float top = a * (1 - tx[x].f) + b * tx[x].f;
        const float bottom = d * (1 - tx[x].f) + e * tx[x].f;
        out[(static_cast<std::size_t>(y) * outWidth + x) * 3 + c] = top * (1 - ty[y].f) + bottom * ty[y].f;
      }
    }
  }
  return out;
}

std::vector<float> toNchw(const Image& image, int width, int height, const std::array<float, 3>& mean,
                          const std::array<float, 3>& stdev) {
  const std::vector<float> resized = resizeBilinear(image, width, height);
  const std::size_t plane = static_cast<std::size_t>(width) * height;
  std::vector<float> out(plane * 3);
  for (std::size_t p = 0; p < plane; ++p)
    for (int c = 0; c < 3; ++c) out[c * plane + p] = (resized[p * 3 + c] / 255.0f - mean[c]) / stdev[c];
  return out;
}

Rgb palette(int index) {
  static const Rgb table[] = {{230, 25, 75},  {60, 180, 75},  {255, 225, 25}, {0, 130, 200},
                              {245, 130, 48}, {145, 30, 180}, {70, 240, 240}, {240, 50, 230},
                              {210, 245, 60}, {250, 190, 212}, {0, 128, 128}, {220, 190, 255}};
  if (index <= 0) return {0, 0, 0};
  return table[(index - 1) % (sizeof table / sizeof table[0])];
}

void drawRect(Image& image, int x0, int y0, int x1, int y1, Rgb color, int thickness) {
  auto put = [&](int x, int y) {
    if (x >= 0 && y >= 0 && x < image.width && y < image.height) std::copy(color.begin(), color.end(), image.at(x, y));
  };
  for (int t = 0; t < thickness; ++t) {
    const int a = x0 + t, b = y0 + t, c = x1 - t, d = y1 - t;
    if (a > c || b > d) break;
    for (int x = a; x <= c; ++x) {
      put(x, b);
      put(x, d);
    }
    for (int y = b; y <= d; ++y) {
      put(a, y);
      put(c, y);
    }
  }
}

void drawPoint(Image& image, float cx, float cy, float radius, Rgb color) {
  const int x0 = std::max(0, static_cast<int>(std::floor(cx - radius)));
  const int x1 = std::min(image.width - 1, static_cast<int>(std::ceil(cx + radius)));
  const int y0 = std::max(0, static_cast<int>(std::floor(cy - radius)));
  const int y1 = std::min(image.height - 1, static_cast<int>(std::ceil(cy + radius)));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x)
      if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= radius * radius)
        std::copy(color.begin(), color.end(), image.at(x, y));
}

void blendMask(Image& image, const std::vector<int32_t>& mask, int maskWidth, int maskHeight, float alpha) {
  for (int y = 0; y < image.height; ++y) {
    const int my = std::min(maskHeight - 1, static_cast<int>((static_cast<int64_t>(y) * maskHeight) / image.height));
    for (int x = 0; x < image.width; ++x) {
      const int mx = std::min(maskWidth - 1, static_cast<int>((static_cast<int64_t>(x) * maskWidth) / image.width));
      const int32_t cls = mask[static_cast<std::size_t>(my) * maskWidth + mx];
      if (cls == 0) continue;
      const Rgb col = palette(cls);
      uint8_t* p = image.at(x, y);
      for (int c = 0; c < 3; ++c)
        p[c] = static_cast<uint8_t>(std::lround((1 - alpha) * p[c] + alpha * static_cast<float>(col[c])));
    }
  }
}

}  // namespace samples
