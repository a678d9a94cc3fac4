#include "tccp/slurm/gres.hpp"

#include <charconv>

#include "tccp/util/strings.hpp"

namespace tccp::slurm {

namespace {
long to_long(std::string_view s) {
  long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() ? v : 0;
}

// Splits on commas that are not inside parentheses ("gpu:a100:2(S:0,1)").
std::vector<std::string> split_top_level(std::string_view field) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : field) {
    if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    }
    if (c == ',' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) {
    out.push_back(cur);
  }
  return out;
}
} // namespace

std::vector<Gres> parse_gres(std::string_view field) {
  std::vector<Gres> out;
  for (auto entry : split_top_level(util::trim(field))) {
    if (auto paren = entry.find('('); paren != std::string::npos) {
      entry = entry.substr(0, paren);
    }
    if (entry.empty() || entry == "null") {
      continue;
    }
    auto parts = util::split(entry, ':');
    Gres g;
    g.name = parts[0];
    if (parts.size() == 2) {
      // "gpu:2" (untyped with count) or "gpu:a100" (typed, count 1).
      bool numeric =
          !parts[1].empty() && parts[1].find_first_not_of("0123456789") == std::string::npos;
      if (numeric) {
        g.count = to_long(parts[1]);
      } else {
        g.type = parts[1];
        g.count = 1;
      }
    } else if (parts.size() >= 3) {
      g.type = parts[1];
      g.count = to_long(parts[2]);
    } else {
      g.count = 1;
    }
    out.push_back(g);
  }
  return out;
}

std::string gpu_query_command() {
  // '|' after each field: no width limit and no silent truncation.
  return "sinfo -h -N -O "
         "'NodeList:|,Partition:|,StateLong:|,CPUsState:|,Gres:|,GresUsed:|,Memory:|,AllocMem:'";
}

std::vector<NodeGpus> parse_gpu_nodes(std::string_view sinfo_output) {
  std::vector<NodeGpus> out;
  for (const auto& raw : util::split(sinfo_output, '\n')) {
    auto line = util::trim(raw);
    if (line.empty()) {
      continue;
    }
    auto f = util::split(line, '|');
    if (f.size() < 8) {
      continue;
    }
    NodeGpus base;
    base.node = util::trim(f[0]);
    base.partition = util::trim(f[1]);
    if (util::ends_with(base.partition, "*")) {
      base.partition.pop_back();
      base.default_partition = true;
    }
    base.state = util::trim(f[2]);
    auto cpus = util::split(util::trim(f[3]), '/'); // allocated/idle/other/total
    if (cpus.size() == 4) {
      base.cpus_idle = to_long(cpus[1]);
      base.cpus_total = to_long(cpus[3]);
    }
    base.memory_mb = to_long(util::trim(f[6]));
    base.memory_alloc_mb = to_long(util::trim(f[7]));
    auto total = parse_gres(f[4]);
    auto used = parse_gres(f[5]);
    bool any = false;
    for (const auto& g : total) {
      if (g.name != "gpu") {
        continue;
      }
      NodeGpus n = base;
      n.gpu_type = g.type;
      n.gpus_total = g.count;
      for (const auto& u : used) {
        if (u.name == "gpu" && u.type == g.type) {
          n.gpus_used += u.count;
        }
      }
      out.push_back(n);
      any = true;
    }
    if (!any) {
      out.push_back(base);
    }
  }
  return out;
}

bool node_usable(std::string_view state) {
  auto s = util::to_lower(state);
  for (const char* bad :
       {"down", "drain", "fail", "maint", "reserved", "unknown", "not_responding"}) {
    if (s.find(bad) != std::string::npos) {
      return false;
    }
  }
  return s.find('*') == std::string::npos;
}

} // namespace tccp::slurm
