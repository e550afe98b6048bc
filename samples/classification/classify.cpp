// Classification sample: image -> plan -> top-k classes with scores (printed, and as JSON with --json).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "image.h"
#include "runner.h"

namespace {
const char* kUsage =
    "usage: sample_classification --plan model.plan --image image.png [options]\n"
    "  --labels FILE     class names, one per line (optional)\n"
    "  --top K           how many classes to print (default 5)\n"
    "  --mean M,M,M      per-channel mean of pixels scaled to 0..1 (default ImageNet 0.485,0.456,0.406)\n"
    "  --std S,S,S       per-channel std (default ImageNet 0.229,0.224,0.225)\n"
    "  --json FILE       also write the result as JSON\n"
    "The model's first output holds one score per class; it is turned into probabilities with a softmax\n"
    "unless it already is a probability vector.\n";
}  // namespace

int main(int argc, char** argv) {
  return samples::runImageSample(argc, argv, kUsage, [](samples::Args& args, samples::PlanRunner& runner,
                                                        samples::Image& image) {
    const samples::Normalization norm = samples::readNormalization(args);
    const samples::ImageRun run = samples::runImage(runner, image, norm);
    const samples::Tensor& scores = run.outputs.at(runner.outputNames().front());

    // probabilities: as they are if they already sum to 1, else a softmax
    std::vector<double> p(scores.data.begin(), scores.data.end());
    const double sum = std::accumulate(p.begin(), p.end(), 0.0);
    const bool isProb = std::all_of(p.begin(), p.end(), [](double v) { return v >= 0 && v <= 1; }) &&
                        std::fabs(sum - 1.0) < 1e-3;
    if (!isProb) {
      const double m = *std::max_element(p.begin(), p.end());
      double z = 0;
      for (double& v : p) z += (v = std::exp(v - m));
      for (double& v : p) v /= z;
    }
    std::vector<int> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
    const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(args.number("top", 5)), p.size());
    const auto labels = samples::readLabels(args.get("labels"));

    std::printf("%s on %s (%dx%d), %zu classes, top %zu:\n", args.required("plan").c_str(), runner.deviceName(),
                image.width, image.height, p.size(), k);
    std::ostringstream json;
    json << "{\"device\": \"" << runner.deviceName() << "\", \"classes\": " << p.size() << ", \"top\": [";
    for (std::size_t i = 0; i < k; ++i) {
      const int c = order[i];
      const std::string label = c < static_cast<int>(labels.size()) ? labels[c] : "class " + std::to_string(c);
      std::printf("  %zu. %-24s %.6f\n", i + 1, label.c_str(), p[c]);
      char score[32];
      std::snprintf(score, sizeof score, "%.8g", p[c]);
      json << (i ? ", " : "") << "{\"class\": " << c << ", \"label\": " << samples::jsonString(label)
           << ", \"score\": " << score << "}";
    }
    json << "]}\n";
    samples::writeText(args.get("json"), json.str());
    return 0;
  });
}
