// Shared helpers of the C++ samples: images (load with stb, resize, normalize to NCHW float, write PNG) and
// drawing (rectangles, points, class-mask blending, a colour palette).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace samples {

using Rgb = std::array<uint8_t, 3>;

//! An 8-bit RGB image, rows top to bottom, pixels interleaved (r, g, b).
struct Image {
  int width{0};
  int height{0};
  std::vector<uint8_t> pixels;  // width * height * 3
  uint8_t* at(int x, int y) { return pixels.data() + (static_cast<std::size_t>(y) * width + x) * 3; }
  const uint8_t* at(int x, int y) const { return pixels.data() + (static_cast<std::size_t>(y) * width + x) * 3; }
};

//! Reads PNG, JPEG, BMP, ... (anything stb_image reads) as RGB. Throws std::runtime_error with stb's reason.
Image loadImage(const std::string& path);
//! Writes an 8-bit RGB PNG. Throws std::runtime_error on failure.
void writePng(const std::string& path, const Image& image);

//! Bilinear resize with half-pixel centres, no antialiasing, float result (h * w * 3, interleaved). The same
//! arithmetic as sample_common.py's resize_bilinear.
std::vector<float> resizeBilinear(const Image& image, int outWidth, int outHeight);
//! Resize to width x height, scale to 0..1, (v - mean[c]) / std[c] per channel, planar NCHW (N = 1).
std::vector<float> toNchw(const Image& image, int width, int height, const std::array<float, 3>& mean,
                          const std::array<float, 3>& stdev);

//! A fixed colour per class/instance index; 0 (background) is black.
Rgb palette(int index);
//! Rectangle outline, clipped to the image; corners inclusive.
void drawRect(Image& image, int x0, int y0, int x1, int y1, Rgb color, int thickness = 2);
//! Filled disc.
void drawPoint(Image& image, float x, float y, float radius, Rgb color);
//! Blends palette(mask) over the image where mask != 0: out = (1 - alpha) * image + alpha * colour.
//! mask has maskWidth x maskHeight entries and is scaled to the image with nearest-neighbour sampling.
void blendMask(Image& image, const std::vector<int32_t>& mask, int maskWidth, int maskHeight, float alpha);

}  // namespace samples
