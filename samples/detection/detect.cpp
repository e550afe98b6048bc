// Detection sample: image -> plan -> SSD-style anchor decode -> score threshold -> per-class NMS -> boxes
// drawn on the image (PNG), printed, and as JSON with --json.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "image.h"
#include "runner.h"

namespace {
const char* kUsage =
    "usage: sample_detection --plan model.plan --image image.png --output boxes.png [options]\n"
    "  --anchor-sizes A,B,...  anchor sizes in input pixels, one anchor per size per cell (default 16,32)\n"
    "  --score-threshold T     keep (anchor, class) pairs with sigmoid(logit) > T (default 0.5)\n"
    "  --iou-threshold T       NMS: drop a box whose IoU with a kept box of its class is > T (default 0.45)\n"
    "  --max-detections N      (default 100)\n"
    "  --labels FILE           class names, one per line\n"
    "  --mean M,M,M / --std S,S,S  normalization (default ImageNet)\n"
    "  --json FILE             also write the boxes as JSON\n"
    "The model has two outputs: deltas [1,A,4] (dx, dy, dw, dh against the anchors) and logits [1,A,C].\n"
    "Anchors lie on a square grid of S x S cells over the input (S = sqrt(A / #sizes), stride = width / S),\n"
    "index (row * S + col) * #sizes + k, centred in their cell; a box is centre + (dx, dy) * 0.1 * size and\n"
    "extent size * exp((dw, dh) * 0.2).\n";

struct Box {
  float x0, y0, x1, y1, score;
  int cls;
  int anchor;
};

float iou(const Box& a, const Box& b) {
  const float iw = std::max(0.0f, std::min(a.x1, b.x1) - std::max(a.x0, b.x0));
  const float ih = std::max(0.0f, std::min(a.y1, b.y1) - std::max(a.y0, b.y0));
  const float inter = iw * ih;
  const float uni = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

//! Greedy NMS per class: highest score first (ties: lower anchor index first).
std::vector<Box> nms(std::vector<Box> boxes, float iouThreshold, std::size_t maxDetections) {
  std::stable_sort(boxes.begin(), boxes.end(), [](const Box& a, const Box& b) {
    return a.score != b.score ? a.score > b.score : a.anchor < b.anchor;
  });
  std::vector<Box> kept;
  for (const Box& b : boxes) {
    bool keep = true;
    for (const Box& k : kept)
      if (k.cls == b.cls && iou(k, b) > iouThreshold) {
        keep = false;
        break;
      }
    if (keep) kept.push_back(b);
    if (kept.size() == maxDetections) break;
  }
  return kept;
}
}  // namespace

int main(int argc, char** argv) {
  return samples::runImageSample(argc, argv, kUsage, [](samples::Args& args, samples::PlanRunner& runner,
                                                        samples::Image& image) {
    const std::string outPng = args.required("output");
    const samples::Normalization norm = samples::readNormalization(args);
    const auto sizes = samples::parseFloats(args.get("anchor-sizes", "16,32"), 0);
    const float scoreThreshold = static_cast<float>(args.number("score-threshold", 0.5));
    const float iouThreshold = static_cast<float>(args.number("iou-threshold", 0.45));
    const auto maxDet = static_cast<std::size_t>(args.number("max-detections", 100));
    const auto labels = samples::readLabels(args.get("labels"));

    samples::ImageRun run = samples::runImage(runner, image, norm);
    const int inH = run.inH, inW = run.inW;
    const auto& outputs = run.outputs;

    // deltas: the output whose last extent is 4 (the first one if both are); logits: the other
    if (outputs.size() != 2) throw std::runtime_error("the detector needs two outputs (deltas, logits)");
    const samples::Tensor* deltas = nullptr;
    const samples::Tensor* logits = nullptr;
    for (const std::string& n : runner.outputNames()) {
      const samples::Tensor& t = outputs.at(n);
      if (!deltas && t.shape.size() == 3 && t.shape[2] == 4)
        deltas = &t;
      else
        logits = &t;
    }
    if (!deltas || !logits || logits->shape.size() != 3 || logits->shape[1] != deltas->shape[1])
      throw std::runtime_error("expected outputs deltas [1,A,4] and logits [1,A,C]");
    const int64_t anchors = deltas->shape[1], classes = logits->shape[2];
    const int64_t k = static_cast<int64_t>(sizes.size());
    const auto grid = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(anchors / k))));
    if (k == 0 || grid * grid * k != anchors)
      throw std::runtime_error(std::to_string(anchors) + " anchors do not form a square grid with " +
                               std::to_string(k) + " anchor sizes (--anchor-sizes)");
    const float strideX = static_cast<float>(inW) / grid, strideY = static_cast<float>(inH) / grid;
    const float sx = static_cast<float>(image.width) / inW, sy = static_cast<float>(image.height) / inH;

    std::vector<Box> candidates;
    for (int64_t a = 0; a < anchors; ++a) {
      const int64_t cell = a / k, row = cell / grid, col = cell % grid;
      const float size = sizes[a % k];
      const float* d = deltas->data.data() + a * 4;
      const float cx = (static_cast<float>(col) + 0.5f) * strideX + d[0] * 0.1f * size;
      const float cy = (static_cast<float>(row) + 0.5f) * strideY + d[1] * 0.1f * size;
      const float w = size * std::exp(std::min(d[2] * 0.2f, 4.0f));
      const float h = size * std::exp(std::min(d[3] * 0.2f, 4.0f));
      for (int64_t c = 0; c < classes; ++c) {
        const float score = 1.0f / (1.0f + std::exp(-logits->data[a * classes + c]));
        if (score > scoreThreshold)
          candidates.push_back({(cx - w / 2) * sx, (cy - h / 2) * sy, (cx + w / 2) * sx, (cy + h / 2) * sy, score,
                                static_cast<int>(c), static_cast<int>(a)});
      }
    }
    const std::vector<Box> kept = nms(candidates, iouThreshold, maxDet);

    std::printf("%s on %s (%dx%d): %zu candidates above %.2f, %zu boxes after NMS (IoU %.2f)\n",
                args.required("plan").c_str(), runner.deviceName(), image.width, image.height, candidates.size(),
                scoreThreshold, kept.size(), iouThreshold);
    std::ostringstream json;
    json << "{\"device\": \"" << runner.deviceName() << "\", \"candidates\": " << candidates.size()
         << ", \"boxes\": [";
    for (std::size_t i = 0; i < kept.size(); ++i) {
      const Box& b = kept[i];
      const std::string label = b.cls < static_cast<int>(labels.size()) ? labels[b.cls] : "class " + std::to_string(b.cls);
      std::printf("  %-12s %.4f  [%.1f, %.1f, %.1f, %.1f]\n", label.c_str(), b.score, b.x0, b.y0, b.x1, b.y1);
      char buf[256];
      std::snprintf(buf, sizeof buf, "{\"class\": %d, \"score\": %.8g, \"box\": [%.6g, %.6g, %.6g, %.6g]}", b.cls,
                    b.score, b.x0, b.y0, b.x1, b.y1);
      json << (i ? ", " : "") << buf;
      samples::drawRect(image, static_cast<int>(std::lround(b.x0)), static_cast<int>(std::lround(b.y0)),
                        static_cast<int>(std::lround(b.x1)), static_cast<int>(std::lround(b.y1)),
                        samples::palette(b.cls + 1), 2);
    }
    json << "]}\n";
    samples::writePng(outPng, image);
    samples::writeText(args.get("json"), json.str());
    std::printf("wrote %s\n", outPng.c_str());
    return 0;
  });
}
