#include "tccp/slurm/state.hpp"

#include <array>
#include <utility>

#include "tccp/util/strings.hpp"

namespace tccp::slurm {

namespace {
struct StateName {
  JobState state;
  const char* name;
  const char* short_name;
};

constexpr std::array<StateName, 14> state_names{{
    {JobState::pending, "PENDING", "PD"},
    {JobState::configuring, "CONFIGURING", "CF"},
    {JobState::running, "RUNNING", "R"},
    {JobState::completing, "COMPLETING", "CG"},
    {JobState::suspended, "SUSPENDED", "S"},
    {JobState::completed, "COMPLETED", "CD"},
    {JobState::cancelled, "CANCELLED", "CA"},
    {JobState::failed, "FAILED", "F"},
    {JobState::timeout, "TIMEOUT", "TO"},
    {JobState::node_fail, "NODE_FAIL", "NF"},
    {JobState::preempted, "PREEMPTED", "PR"},
    {JobState::boot_fail, "BOOT_FAIL", "BF"},
    {JobState::deadline, "DEADLINE", "DL"},
    {JobState::out_of_memory, "OUT_OF_MEMORY", "OOM"},
}};

struct Reason {
  const char* code;
  const char* words;
  bool hopeless;
};

constexpr std::array<Reason, 24> reasons{{
    {"None", "no reason given yet", false},
    {"Priority", "waiting for jobs with a higher priority", false},
    {"Resources", "waiting for resources: the nodes it needs are busy", false},
    {"Dependency", "waiting for another job to finish", false},
    {"BeginTime", "waiting for its start time", false},
    {"QOSMaxJobsPerUserLimit", "you have as many jobs running as your QOS allows", false},
    {"QOSMaxSubmitJobPerUserLimit", "you have as many jobs queued as your QOS allows", false},
    {"QOSGrpGRES", "your QOS group has used all the GPUs it may use", false},
    {"QOSGrpCpuLimit", "your QOS group has used all the CPUs it may use", false},
    {"AssocGrpGRES", "your account has used all the GPUs it may use", false},
    {"AssocGrpCpuLimit", "your account has used all the CPUs it may use", false},
    {"AssocMaxJobsLimit", "your account has as many jobs running as it may", false},
    {"ReqNodeNotAvail", "a node it needs is unavailable (down, drained or reserved)", false},
    {"Reservation", "waiting for a reservation", false},
    {"JobHeldUser", "held by you (scontrol release)", true},
    {"JobHeldAdmin", "held by an administrator", true},
    {"PartitionTimeLimit", "its time limit is above the partition's maximum", true},
    {"PartitionNodeLimit", "it asks for more nodes than the partition allows", true},
    {"PartitionDown", "the partition is down", false},
    {"PartitionInactive", "the partition is inactive", true},
    {"BadConstraints", "no node can ever satisfy what it asks for", true},
    {"QOSMaxWallDurationPerJobLimit", "its time limit is above what your QOS allows", true},
    {"AssocMaxWallDurationPerJobLimit", "its time limit is above what your account allows", true},
    {"InvalidQOS", "its QOS is not valid for you", true},
}};
} // namespace

JobState parse_job_state(std::string_view text) {
  std::string t = util::trim(text);
  // sacct prints "CANCELLED by 1001"; squeue may add a "+" (REQUEUED+).
  if (auto sp = t.find(' '); sp != std::string::npos) {
    t.resize(sp);
  }
  while (!t.empty() && t.back() == '+') {
    t.pop_back();
  }
  for (const auto& s : state_names) {
    if (t == s.name || t == s.short_name) {
      return s.state;
    }
  }
  return JobState::other;
}

const char* job_state_name(JobState state) {
  for (const auto& s : state_names) {
    if (s.state == state) {
      return s.name;
    }
  }
  return "OTHER";
}

bool is_active(JobState state) {
  return state == JobState::running || state == JobState::configuring ||
         state == JobState::completing || state == JobState::suspended;
}

bool is_finished(JobState state) {
  return state != JobState::pending && !is_active(state) && state != JobState::other;
}

std::string describe_end(JobState state) {
  switch (state) {
  case JobState::completed: return "the allocation ended (its holder exited)";
  case JobState::cancelled: return "the allocation was cancelled outside tccp (scancel)";
  case JobState::failed: return "the allocation failed";
  case JobState::timeout: return "the allocation hit its time limit";
  case JobState::node_fail: return "the node failed";
  case JobState::preempted: return "the allocation was preempted by a higher-priority job";
  case JobState::boot_fail: return "the node failed to boot";
  case JobState::deadline: return "the allocation reached its deadline";
  case JobState::out_of_memory: return "the allocation ran out of memory";
  default: return "the allocation is gone";
  }
}

std::string describe_pending_reason(std::string_view reason) {
  std::string r = util::trim(reason);
  for (const auto& x : reasons) {
    if (r == x.code) {
      return x.words;
    }
  }
  if (util::starts_with(r, "Nodes required for job are DOWN")) {
    return "the nodes it needs are down, drained or kept for jobs of a higher-priority "
           "partition";
  }
  return r;
}

bool is_hopeless_reason(std::string_view reason) {
  std::string r = util::trim(reason);
  for (const auto& x : reasons) {
    if (r == x.code) {
      return x.hopeless;
    }
  }
  return false;
}

} // namespace tccp::slurm

namespace tccp::slurm {

std::vector<std::string> hopeless_reasons() {
  std::vector<std::string> out;
  for (const auto& x : reasons) {
    if (x.hopeless) {
      out.emplace_back(x.code);
    }
  }
  return out;
}

} // namespace tccp::slurm
