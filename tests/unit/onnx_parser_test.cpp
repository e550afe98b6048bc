// The ONNX parser: import into a network, run, and report every unsupported node at once.
#include "engine_util.h"
#include "kiln/onnx_parser.h"
#include "onnx_writer.h"

namespace kiln::test {
namespace {
using namespace onnxw;

std::string bytesOf(const Msg& m) { return m.bytes; }

struct Parsed {
  CaptureLogger logger;
  std::unique_ptr<Builder> builder = createBuilder(logger);
  std::unique_ptr<NetworkDefinition> net = builder->createNetwork();
  std::unique_ptr<onnx::Parser> parser = onnx::createParser(*net, logger);
  bool ok{false};
  explicit Parsed(const std::string& bytes) { ok = parser->parse(bytes.data(), bytes.size()); }
};

}  // namespace

TEST(OnnxParser, ImportsBuildsAndRuns) {
  GraphSpec g;
  g.inputs = {valueInfo("x", 1, {"N", "3"})};
  g.outputs = {valueInfo("y", 1, {"N", "3"})};
  g.initializers = {tensorFloats("bias", {3}, {1, 2, 3})};
  g.nodes = {node("Add", {"x", "bias"}, {"s"}, "add"), node("Relu", {"s"}, {"y"}, "relu")};
  Parsed p(bytesOf(model(graph(g), {opset("", 13)})));
  ASSERT_TRUE(p.ok) << p.logger.all();
  EXPECT_EQ(p.net->getNbInputs(), 1);
  EXPECT_EQ(p.net->getInput(0)->getDimensions(), (Dims{2, {-1, 3}}));
  auto config = p.builder->createBuilderConfig();
  auto prof = p.builder->createOptimizationProfile();
  for (auto s : {OptProfileSelector::kMIN, OptProfileSelector::kOPT, OptProfileSelector::kMAX})
    prof->setDimensions("x", s, Dims{2, {2, 3}});
  config->addOptimizationProfile(prof.get());
  auto plan = p.builder->buildSerializedNetwork(*p.net, *config);
  ASSERT_NE(plan, nullptr) << p.logger.all();
  Runtime rt(p.logger);
  auto engine = rt.deserializeEngine(plan->data(), plan->size());
  ASSERT_NE(engine, nullptr);
  auto out = runEngine(*engine, {{"x", {Dims{2, {2, 3}}, {-5, 0, 5, 1, -1, -4}}}});
  EXPECT_EQ(out["y"].data, (std::vector<float>{0, 2, 8, 2, 1, 0}));
}

TEST(OnnxParser, ReportsEveryUnsupportedNodeAtOnce) {
  GraphSpec g;
  g.inputs = {valueInfo("x", 1, {"4"})};
  g.outputs = {valueInfo("z", 1, {"4"})};
  g.nodes = {node("FancyOp", {"x"}, {"a"}, "first_bad"), node("Relu", {"a"}, {"b"}, "ok_relu"),
             node("AlsoUnknown", {"b"}, {"c"}, "second_bad", {}, "com.example"),
             node("StringNormalizer", {"c"}, {"z"}, "third_bad")};
  Parsed p(bytesOf(model(graph(g), {opset("", 17), opset("com.example", 1)})));
  EXPECT_FALSE(p.ok);
  ASSERT_EQ(p.parser->getNbErrors(), 3) << p.logger.all();
  EXPECT_STREQ(p.parser->getError(0)->nodeName(), "first_bad");
  EXPECT_STREQ(p.parser->getError(0)->nodeOperator(), "FancyOp");
  EXPECT_EQ(p.parser->getError(0)->opset(), 17);
  EXPECT_EQ(p.parser->getError(0)->code(), ErrorCode::kUNSUPPORTED_NODE);
  EXPECT_STREQ(p.parser->getError(1)->nodeDomain(), "com.example");
  EXPECT_NE(std::string(p.parser->getError(2)->desc()).find("third_bad"), std::string::npos);
  EXPECT_EQ(p.parser->getError(3), nullptr);
}

TEST(OnnxParser, NewerOpsetWarnsAndImports) {
  GraphSpec g;
  g.inputs = {valueInfo("x", 1, {"2"})};
  g.outputs = {valueInfo("y", 1, {"2"})};
  g.nodes = {node("Relu", {"x"}, {"y"}, "r")};
  Parsed p(bytesOf(model(graph(g), {opset("", 99)})));
  EXPECT_TRUE(p.ok) << p.logger.all();
  EXPECT_TRUE(p.logger.contains("newer")) << p.logger.all();
}

TEST(OnnxParser, LegacyAttributesBecomeInputs) {
  // Unsqueeze-11 takes axes as an attribute; Softmax-11 flattens at axis
  GraphSpec g;
  g.inputs = {valueInfo("x", 1, {"2", "3"})};
  g.outputs = {valueInfo("y", 1, {"2", "1", "3"})};
  g.nodes = {node("Softmax", {"x"}, {"s"}, "sm", {attrInt("axis", 1)}),
             node("Unsqueeze", {"s"}, {"y"}, "unsq", {attrInts("axes", {1})})};
  Parsed p(bytesOf(model(graph(g), {opset("", 11)})));
  ASSERT_TRUE(p.ok) << p.logger.all();
  EXPECT_EQ(p.net->getOutput(0)->getDimensions(), (Dims{3, {2, 1, 3}}));
  auto plan = buildPlan(*p.builder, *p.net);
  ASSERT_NE(plan, nullptr) << p.logger.all();
  Runtime rt(p.logger);
  auto engine = rt.deserializeEngine(plan->data(), plan->size());
  auto out = runEngine(*engine, {{"x", {Dims{2, {2, 3}}, {0, 0, 0, 1, 1, 1}}}});
  for (float v : out["y"].data) EXPECT_NEAR(v, 1.0 / 3, 1e-6);
}

TEST(OnnxParser, MalformedBytesAreErrorsNotCrashes) {
  GraphSpec g;
  g.inputs = {valueInfo("x", 1, {"2"})};
  g.outputs = {valueInfo("y", 1, {"2"})};
  g.nodes = {node("Relu", {"x"}, {"y"}, "r")};
  std::string good = bytesOf(model(graph(g)));
  int refused = 0;
  for (size_t n = 0; n < good.size(); ++n) {
    CaptureLogger logger;
    auto builder = createBuilder(logger);
    auto net = builder->createNetwork();
    auto parser = onnx::createParser(*net, logger);
    if (!parser->parse(good.data(), n)) ++refused;
  }
  EXPECT_GT(refused, 0);
  Parsed garbage("this is not an onnx model at all");
  EXPECT_FALSE(garbage.ok);
  EXPECT_GE(garbage.parser->getNbErrors(), 1);
}

}  // namespace kiln::test
