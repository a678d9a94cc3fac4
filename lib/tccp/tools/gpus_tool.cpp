#include "tccp/tools/gpus_tool.hpp"

#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <unistd.h>

#include "tccp/cli/app.hpp"
#include "tccp/tools/connection.hpp"
#include "tccp/tools/gpu_guide.hpp"
#include "tccp/util/strings.hpp"
#include "tccp/util/tty.hpp"

namespace tccp::tools {

proto::Envelope gpu_guide_envelope() {
  proto::Envelope env;
  env.type = "gpu_guide";
  env.data["gpus"] = proto::Json::array();
  for (const auto& m : gpu_models()) {
    env.data["gpus"].push_back(
        {{"type", m.type}, {"vram_gb", m.vram_gb}, {"best_for", m.best_for}, {"notes", m.notes}});
  }
  env.data["rules"] = proto::Json::array();
  for (const auto& [when, pick] : gpu_rules()) {
    env.data["rules"].push_back({{"when", when}, {"suggested", pick}});
  }
  env.data["vram_estimates"] = proto::Json::array();
  for (const auto& v : vram_estimates()) {
    env.data["vram_estimates"].push_back(
        {{"task", v.task}, {"vram", v.vram}, {"suggested", v.suggested}});
  }
  return env;
}

std::string format_gpu_guide(bool colour) {
  std::vector<std::vector<std::string>> rows{{"GPU", "VRAM", "BEST FOR", "NOTES"}};
  for (const auto& m : gpu_models()) {
    rows.push_back({m.type, std::to_string(m.vram_gb) + " GB", m.best_for, m.notes});
  }
  std::string out = "GPU types, least to most powerful:\n\n" + term::format_table(rows, colour);
  out += "\nRules of thumb:\n";
  for (const auto& [when, pick] : gpu_rules()) {
    out += "  " + when + ": " + pick + "\n";
  }
  std::vector<std::vector<std::string>> est{{"TASK", "VRAM", "SUGGESTED GPU"}};
  for (const auto& v : vram_estimates()) {
    est.push_back({v.task, v.vram, v.suggested});
  }
  out += "\nVRAM for common tasks:\n\n" + term::format_table(est, colour);
  out += "\nAsk for one in tccp.yaml with `gpu: <type>` (`gpu: a100-80gb:2` for two).\n";
  return out;
}

proto::Envelope gpu_summary_envelope(const std::vector<slurm::NodeGpus>& nodes) {
  struct Totals {
    long total = 0;
    long used = 0;
    long usable_free = 0;
    std::set<std::string> nodes;
    bool default_partition = false;
  };
  std::map<std::pair<std::string, std::string>, Totals> by;
  for (const auto& n : nodes) {
    if (n.gpus_total == 0) {
      continue;
    }
    auto& t = by[{n.partition, n.gpu_type}];
    t.total += n.gpus_total;
    t.used += n.gpus_used;
    if (slurm::node_usable(n.state)) {
      t.usable_free += std::max(0L, n.gpus_total - n.gpus_used);
    }
    t.nodes.insert(n.node);
    t.default_partition = t.default_partition || n.default_partition;
  }
  proto::Envelope env;
  env.type = "gpus";
  env.data["partitions"] = proto::Json::array();
  for (const auto& [key, t] : by) {
    env.data["partitions"].push_back(
        {{"partition", key.first},
         {"gpu_type", key.second.empty() ? proto::Json(nullptr) : proto::Json(key.second)},
         {"gpus_total", t.total},
         {"gpus_used", t.used},
         {"gpus_free", t.usable_free},
         {"nodes", std::vector<std::string>(t.nodes.begin(), t.nodes.end())}});
  }
  return env;
}

proto::Envelope gpu_nodes_envelope(const std::vector<slurm::NodeGpus>& nodes,
                                   const std::string& type) {
  proto::Envelope env;
  env.type = "gpu_nodes";
  env.data["gpu_type"] = type;
  env.data["nodes"] = proto::Json::array();
  std::set<std::string> known;
  std::set<std::string> seen_nodes;
  for (const auto& n : nodes) {
    if (n.gpus_total > 0 && !n.gpu_type.empty()) {
      known.insert(n.gpu_type);
    }
    if (n.gpu_type != type || !seen_nodes.insert(n.node).second) {
      continue;
    }
    std::vector<std::string> partitions;
    for (const auto& m : nodes) {
      if (m.node == n.node && m.gpu_type == type) {
        partitions.push_back(m.partition);
      }
    }
    env.data["nodes"].push_back(
        {{"node", n.node},
         {"partitions", partitions},
         {"state", n.state},
         {"usable", slurm::node_usable(n.state)},
         {"gpus_total", n.gpus_total},
         {"gpus_used", n.gpus_used},
         {"gpus_free", std::max(0L, n.gpus_total - n.gpus_used)},
         {"cpus_idle", n.cpus_idle},
         {"cpus_total", n.cpus_total},
         {"memory_free_mb", std::max(0L, n.memory_mb - n.memory_alloc_mb)}});
  }
  if (env.data["nodes"].empty()) {
    std::string list = known.empty()
                           ? std::string("none")
                           : util::join(std::vector<std::string>(known.begin(), known.end()), ", ");
    throw Error(ExitCode::failed, "the cluster has no GPU of type '" + type + "'",
                "GPU types on this cluster: " + list);
  }
  return env;
}

std::vector<slurm::NodeGpus> query_gpu_nodes(remote::Remote& remote) {
  auto result = remote.run(slurm::gpu_query_command());
  if (result.exit_code != 0) {
    throw Error(ExitCode::failed, "sinfo failed on the cluster: " + util::trim(result.err));
  }
  return slurm::parse_gpu_nodes(result.out);
}

} // namespace tccp::tools

namespace tccp::tools {

int gpus_main(int argc, char** argv) {
  return cli::run_main(
      "tccp-gpus", "GPU availability by partition and by node, and the GPU guide", argc, argv,
      [](CLI::App& app, cli::Common&) {
        auto what = std::make_shared<std::string>();
        app.add_option("what", *what,
                       "'info' for the offline GPU guide, a GPU type for per-node detail, "
                       "nothing for availability by partition");
        app.footer("Examples:\n  tccp gpus            free GPUs by partition\n"
                   "  tccp gpus a100       nodes with a100 GPUs\n"
                   "  tccp gpus info       the GPU guide (works offline)");
        cli::set_action(app, [what](cli::Context& ctx) {
          bool colour = util::colour_wanted(STDOUT_FILENO);
          if (*what == "info") {
            ctx.emit(gpu_guide_envelope(), [&] { std::cout << format_gpu_guide(colour); });
            return 0;
          }
          auto profile = config::load_cluster_profile();
          if (profile.host.empty()) {
            throw Error(ExitCode::config, "no cluster is configured",
                        "run 'tccp setup' first ('tccp gpus info' works offline)");
          }
          auto remote = open_remote(profile);
          auto nodes = query_gpu_nodes(*remote);
          if (what->empty()) {
            auto env = gpu_summary_envelope(nodes);
            ctx.emit(env, [&] {
              std::vector<std::vector<std::string>> rows{
                  {"PARTITION", "GPU", "FREE", "USED", "TOTAL", "NODES"}};
              for (const auto& p : env.data["partitions"]) {
                rows.push_back({p["partition"].get<std::string>(),
                                p["gpu_type"].is_null() ? "gpu" : p["gpu_type"].get<std::string>(),
                                std::to_string(p["gpus_free"].get<long>()),
                                std::to_string(p["gpus_used"].get<long>()),
                                std::to_string(p["gpus_total"].get<long>()),
                                util::join(p["nodes"].get<std::vector<std::string>>(), ",")});
              }
              if (rows.size() == 1) {
                std::cout << "This cluster has no GPUs.\n";
              } else {
                std::cout << term::format_table(rows, colour);
              }
            });
            return 0;
          }
          auto env = gpu_nodes_envelope(nodes, *what);
          ctx.emit(env, [&] {
            std::vector<std::vector<std::string>> rows{
                {"NODE", "STATE", "FREE", "USED", "TOTAL", "CPUS IDLE", "MEM FREE", "PARTITIONS"}};
            for (const auto& n : env.data["nodes"]) {
              rows.push_back({n["node"].get<std::string>(), n["state"].get<std::string>(),
                              std::to_string(n["gpus_free"].get<long>()),
                              std::to_string(n["gpus_used"].get<long>()),
                              std::to_string(n["gpus_total"].get<long>()),
                              std::to_string(n["cpus_idle"].get<long>()) + "/" +
                                  std::to_string(n["cpus_total"].get<long>()),
                              term::format_bytes(n["memory_free_mb"].get<unsigned long long>() *
                                                 1024ULL * 1024ULL),
                              util::join(n["partitions"].get<std::vector<std::string>>(), ",")});
            }
            std::cout << term::format_table(rows, colour);
          });
          return 0;
        });
      });
}

} // namespace tccp::tools
