// The `kiln` command line: dispatch and top-level help. Each subcommand lives in tools/cmd_<name>.cpp.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli_common.h"

namespace kiln::cli {

// The dispatch table: adding a command is one line here (plus its declaration in cli_common.h).
const Command kCommands[] = {
    {"bench", "measure a plan's latency, throughput and copy/compute split", cmdBench},
    {"build", "import an ONNX model and build a plan", cmdBuild},
    {"check", "tell whether an ONNX model imports, listing what does not", cmdCheck},
    {"compare", "compare a plan layer by layer with kiln's reference kernels", cmdCompare},
    {"inspect", "show a plan's I/O, layers (precision, tactic, ONNX nodes) and memory plan", cmdInspect},
    {"run", "run a plan on .npy/.pb or random inputs, print its outputs and time it", cmdRun},
};
const std::size_t kNbCommands = sizeof(kCommands) / sizeof(kCommands[0]);

namespace {

void printUsage(std::FILE* out) {
  std::fprintf(out,
               "kiln %s: an open inference optimizer and runtime\n"
               "\n"
               "usage: kiln <command> [options]\n"
               "       kiln --help | --version\n"
               "\n"
               "commands:\n",
               versionString());
  for (std::size_t i = 0; i < kNbCommands; ++i) std::fprintf(out, "  %-10s %s\n", kCommands[i].name, kCommands[i].summary);
  std::fprintf(out,
               "\n"
               "Run 'kiln <command> --help' for a command's options and examples, e.g.\n"
               "  kiln inspect model.plan --json\n"
               "  kiln run model.plan --shapes images:1x3x224x224 --iterations 100\n"
               "  kiln bench model.plan --duration 10 --json bench.json\n"
               "  kiln compare model.onnx model.plan\n"
               "\n"
               "exit status: 0 success, 1 failure, 2 usage error\n");
}

const Command* findCommand(const std::string& name) {
  for (std::size_t i = 0; i < kNbCommands; ++i)
    if (name == kCommands[i].name) return &kCommands[i];
  return nullptr;
}

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    printUsage(stderr);
    return kExitUsage;
  }
  std::string first = argv[1];
  if (first == "-h" || first == "--help") {
    printUsage(stdout);
    return kExitOk;
  }
  if (first == "--version" || first == "-V") {
    std::printf("kiln %s\n", versionString());
    return kExitOk;
  }
  if (first == "help") {  // `kiln help` and `kiln help <command>`
    if (argc < 3) {
      printUsage(stdout);
      return kExitOk;
    }
    const Command* c = findCommand(argv[2]);
    if (!c) {
      printError("", std::string("unknown command '") + argv[2] + "'", "see 'kiln --help'");
      return kExitUsage;
    }
    return guard(Args{c->name, {"--help"}}, c->run);
  }
  if (!first.empty() && first[0] == '-') {
    printError("", "unknown option '" + first + "'", "see 'kiln --help'");
    return kExitUsage;
  }
  const Command* c = findCommand(first);
  if (!c) {
    printError("", "unknown command '" + first + "'", "see 'kiln --help' for the list of commands");
    return kExitUsage;
  }
  Args args;
  args.command = c->name;
  for (int i = 2; i < argc; ++i) args.argv.emplace_back(argv[i]);
  return guard(args, c->run);
}

}  // namespace
}  // namespace kiln::cli

int main(int argc, char** argv) {
  try {
    return kiln::cli::dispatch(argc, argv);
  } catch (...) {
    std::fprintf(stderr, "kiln: error: unexpected failure\n");
    return kiln::cli::kExitFailure;
  }
}
