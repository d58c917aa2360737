// The table of every subcommand, in the order `llmrca --help` lists them.
#include "cli/chaos_command.h"
#include "cli/command.h"
#include "cli/eval_command.h"
#include "cli/graph_command.h"
#ifdef LLMRCA_WITH_LOAD
#include "cli/load_command.h"
#endif
#include "cli/methods_command.h"
#include "cli/rca_command.h"
#include "cli/serve_sim_command.h"
#include "cli/sim_command.h"
#include "cli/version_command.h"

namespace llmrca::cli {

namespace {
constexpr Command kCommands[] = {
    {"rca", AddRcaCommand},
    {"eval", AddEvalCommand},
    {"graph", AddGraphCommand},
#ifdef LLMRCA_WITH_LOAD
    {"load", AddLoadCommand},
#endif
    {"methods", AddMethodsCommand},
    {"sim", AddSimCommand},
    {"serve-sim", AddServeSimCommand},
    {"chaos", AddChaosCommand},
    {"version", AddVersionCommand},
};
}  // namespace

std::span<const Command> Commands() { return kCommands; }

}  // namespace llmrca::cli
