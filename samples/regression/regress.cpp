// Regression sample: image -> plan -> continuous outputs, printed (and as JSON); with --keypoints the first
// output is read as (x, y) pairs in 0..1 of the image and drawn on it (PNG).
#include <cstdio>
#include <sstream>

#include "image.h"
#include "runner.h"

namespace {
const char* kUsage =
    "usage: sample_regression --plan model.plan --image image.png [options]\n"
    "  --keypoints          read the first output as (x, y) pairs, 0..1 relative to the image, and draw them\n"
    "  --output FILE        the image with the keypoints drawn (PNG; with --keypoints)\n"
    "  --radius R           keypoint radius in pixels (default 3)\n"
    "  --mean M,M,M / --std S,S,S  normalization (default ImageNet)\n"
    "  --json FILE          also write every output (and the keypoints in pixels) as JSON\n";
}  // namespace

int main(int argc, char** argv) {
  return samples::runImageSample(argc, argv, kUsage, [](samples::Args& args, samples::PlanRunner& runner,
                                                        samples::Image& image) {
    const samples::Normalization norm = samples::readNormalization(args);
    const bool keypoints = args.has("keypoints");
    if (keypoints && !args.has("output")) throw std::runtime_error("--keypoints needs --output FILE.png");

    const samples::ImageRun run = samples::runImage(runner, image, norm);
    const auto& outputs = run.outputs;

    std::printf("%s on %s (%dx%d):\n", args.required("plan").c_str(), runner.deviceName(), image.width, image.height);
    std::ostringstream json;
    json << "{\"device\": \"" << runner.deviceName() << "\", \"outputs\": {";
    bool first = true;
    for (const std::string& name : runner.outputNames()) {
      const samples::Tensor& t = outputs.at(name);
      std::printf("  %s [", name.c_str());
      for (std::size_t i = 0; i < t.shape.size(); ++i) std::printf("%s%lld", i ? "," : "", static_cast<long long>(t.shape[i]));
      std::printf("]:");
      json << (first ? "" : ", ") << samples::jsonString(name) << ": [";
      first = false;
      for (std::size_t i = 0; i < t.data.size(); ++i) {
        std::printf(" %.6f", t.data[i]);
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.9g", t.data[i]);
        json << (i ? ", " : "") << buf;
      }
      std::printf("\n");
      json << "]";
    }
    json << "}";
    if (keypoints) {
      const samples::Tensor& t = outputs.at(runner.outputNames().front());
      if (t.data.size() % 2) throw std::runtime_error("--keypoints: the first output has an odd number of values");
      const float radius = static_cast<float>(args.number("radius", 3));
      json << ", \"keypoints\": [";
      for (std::size_t i = 0; i < t.data.size() / 2; ++i) {
        const float x = t.data[2 * i] * static_cast<float>(image.width);
        const float y = t.data[2 * i + 1] * static_cast<float>(image.height);
        std::printf("  keypoint %zu: (%.2f, %.2f) px\n", i, x, y);
        char buf[64];
        std::snprintf(buf, sizeof buf, "[%.9g, %.9g]", x, y);
        json << (i ? ", " : "") << buf;
        samples::drawPoint(image, x, y, radius + 1, {255, 255, 255});
        samples::drawPoint(image, x, y, radius, samples::palette(static_cast<int>(i) + 1));
      }
      json << "]";
      samples::writePng(args.get("output"), image);
      std::printf("wrote %s\n", args.get("output").c_str());
    }
    json << "}\n";
    samples::writeText(args.get("json"), json.str());
    return 0;
  });
}
