// Segmentation sample: image -> plan -> per-pixel class (argmax over channels; a single-channel probability
// map is thresholded) -> class mask blended over the image (PNG); class histogram printed and as JSON.
#include <cstdio>
#include <sstream>

#include "image.h"
#include "runner.h"

namespace {
const char* kUsage =
    "usage: sample_segmentation --plan model.plan --image image.png --output overlay.png [options]\n"
    "  --mask-output FILE  also write the class mask at the model's resolution as a PNG (grey value = class)\n"
    "  --threshold T       single-channel models: class 1 where the output is > T (default 0.5)\n"
    "  --alpha A           opacity of the class colours (default 0.5)\n"
    "  --mean M,M,M / --std S,S,S  normalization (default ImageNet)\n"
    "  --json FILE         also write the class histogram as JSON\n"
    "The model's first output is [1,C,H,W]: C class scores per pixel (argmax, first on ties), or C = 1\n"
    "(e.g. a text probability map: background 0 / foreground 1).\n";
}  // namespace

int main(int argc, char** argv) {
  return samples::runImageSample(argc, argv, kUsage, [](samples::Args& args, samples::PlanRunner& runner,
                                                        samples::Image& image) {
    const std::string outPng = args.required("output");
    const samples::Normalization norm = samples::readNormalization(args);
    const float threshold = static_cast<float>(args.number("threshold", 0.5));
    const float alpha = static_cast<float>(args.number("alpha", 0.5));

    const samples::ImageRun run = samples::runImage(runner, image, norm);
    const auto& outputs = run.outputs;
    const samples::Tensor& out = outputs.at(runner.outputNames().front());
    if (out.shape.size() != 4 || out.shape[0] != 1) throw std::runtime_error("the output is not [1,C,H,W]");
    const int64_t classes = out.shape[1], h = out.shape[2], w = out.shape[3], plane = h * w;

    std::vector<int32_t> mask(static_cast<std::size_t>(plane));
    for (int64_t p = 0; p < plane; ++p) {
      if (classes == 1) {
        mask[p] = out.data[p] > threshold ? 1 : 0;
        continue;
      }
      int32_t best = 0;
      for (int64_t c = 1; c < classes; ++c)
        if (out.data[c * plane + p] > out.data[best * plane + p]) best = static_cast<int32_t>(c);
      mask[p] = best;
    }
    const int64_t nClasses = classes == 1 ? 2 : classes;
    std::vector<int64_t> histogram(static_cast<std::size_t>(nClasses), 0);
    for (int32_t c : mask) ++histogram[c];

    samples::blendMask(image, mask, static_cast<int>(w), static_cast<int>(h), alpha);
    samples::writePng(outPng, image);
    if (args.has("mask-output")) {
      samples::Image m;
      m.width = static_cast<int>(w);
      m.height = static_cast<int>(h);
      m.pixels.resize(static_cast<std::size_t>(plane) * 3);
      for (int64_t p = 0; p < plane; ++p)
        for (int c = 0; c < 3; ++c) m.pixels[p * 3 + c] = static_cast<uint8_t>(mask[p]);
      samples::writePng(args.required("mask-output"), m);
    }

    std::printf("%s on %s (%dx%d): mask %lldx%lld, pixels per class:", args.required("plan").c_str(),
                runner.deviceName(), image.width, image.height, static_cast<long long>(w), static_cast<long long>(h));
    std::ostringstream json;
    json << "{\"device\": \"" << runner.deviceName() << "\", \"width\": " << w << ", \"height\": " << h
         << ", \"histogram\": [";
    for (std::size_t c = 0; c < histogram.size(); ++c) {
      std::printf(" %zu:%lld", c, static_cast<long long>(histogram[c]));
      json << (c ? ", " : "") << histogram[c];
    }
    json << "]}\n";
    std::printf("\nwrote %s\n", outPng.c_str());
    samples::writeText(args.get("json"), json.str());
    return 0;
  });
}
