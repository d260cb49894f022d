#include "recsys/sharding.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <cmath>
#include <set>
#include <unordered_map>

#include "core/file.h"
#include "core/json.h"
#include "core/text.h"
#include "recsys/dense.h"

namespace scaleplan::recsys {

namespace {

const std::vector<std::pair<std::string, ShardingType>>& TypeChoices() {
  static const std::vector<std::pair<std::string, ShardingType>> kChoices = {
      {"data_parallel", ShardingType::kDataParallel},  {"table_wise", ShardingType::kTableWise},
      {"column_wise", ShardingType::kColumnWise},      {"row_wise", ShardingType::kRowWise},
      {"table_row_wise", ShardingType::kTableRowWise}, {"grid", ShardingType::kGrid}};
  return kChoices;
}
const std::vector<std::pair<std::string, Kernel>>& KernelChoices() {
  static const std::vector<std::pair<std::string, Kernel>> kChoices = {
      {"fused", Kernel::kFused}, {"uvm_caching", Kernel::kUvmCaching}, {"uvm", Kernel::kUvm}};
  return kChoices;
}

// Columns of block i of k over dim: as even as possible, the first dim % k blocks one wider.
std::pair<int64_t, int64_t> ColumnSpan(int64_t dim, int64_t k, int64_t i) {
  int64_t base = dim / k;
  int64_t extra = dim % k;
  int64_t offset = i * base + std::min(i, extra);
  return {offset, base + (i < extra ? 1 : 0)};
}

Status TableError(const spec::TableSpec& table, std::string what) {
  return Status::Invalid(fmt::format("table {}: {}", Printable(table.name, 64), what))
      .WithKey("sharding." + table.name);
}

}  // namespace

std::string_view ShardingTypeName(ShardingType type) {
  for (const auto& [name, value] : TypeChoices()) {
    if (value == type) return name;
  }
  return "?";
}
std::string_view KernelName(Kernel kernel) {
  for (const auto& [name, value] : KernelChoices()) {
    if (value == kernel) return name;
  }
  return "?";
}
std::vector<std::string> ShardingTypeNames() {
  std::vector<std::string> names;
  for (const auto& [name, value] : TypeChoices()) names.push_back(name);
  return names;
}
std::vector<std::string> KernelNames() {
  std::vector<std::string> names;
  for (const auto& [name, value] : KernelChoices()) names.push_back(name);
  return names;
}

Result<RecJob> ResolveRecJob(const spec::RecJobSpec& spec) {
  SP_RETURN_IF_ERROR(spec::ValidateRankingModel(spec.model));
  SP_RETURN_IF_ERROR(spec::ValidateCluster(spec.cluster));
  SP_RETURN_IF_ERROR(spec::RecJobSchema().CheckBounds(spec));
  RecJob job;
  job.spec = spec;
  const int64_t capacity = spec.cluster.CapacityGpus();
  job.world = spec.gpus > 0 ? spec.gpus : capacity;
  if (job.world < 1 || job.world > capacity) {
    return Status::Invalid(
               fmt::format("rec_job.gpus = {} does not fit cluster {} (allowed: 1 to {})",
                           spec.gpus, Printable(spec.cluster.name, 64), capacity))
        .WithKey("rec_job.gpus");
  }
  const int64_t node = spec.cluster.tiers.front().gpus;
  job.local_world = std::min(node, job.world);
  if (job.world % job.local_world != 0) {
    return Status::Invalid(fmt::format("rec_job.gpus = {} is not a whole number of {}-GPU nodes "
                                       "(allowed: a multiple of {}, "
                                       "or fewer than {})",
                                       job.world, node, node, node))
        .WithKey("rec_job.gpus");
  }
  job.nodes = job.world / job.local_world;
  if (spec.global_batch <= 0) {
    return Status::Invalid("rec_job.global_batch is missing (allowed: integer >= 1, e.g. 55296)")
        .WithKey("rec_job.global_batch");
  }
  if (spec.global_batch % job.world != 0) {
    return Status::Invalid(fmt::format("rec_job.global_batch = {} does not divide over {} GPUs "
                                       "(allowed: a multiple of {})",
                                       spec.global_batch, job.world, job.world))
        .WithKey("rec_job.global_batch");
  }
  job.local_batch = static_cast<double>(spec.global_batch) / static_cast<double>(job.world);
  SP_ASSIGN_OR_RETURN(job.dense_ops, DenseOpsOf(spec.model));
  return job;
}

std::vector<Block> BlocksOf(const RecJob& job, const spec::TableSpec& table,
                            const TableSharding& s) {
  std::vector<Block> blocks;
  const int64_t dim = job.spec.model.DimOf(table);
  switch (s.type) {
    case ShardingType::kDataParallel:
      break;
    case ShardingType::kTableWise:
      blocks.push_back(Block{0, dim, {s.ranks.front()}, false});
      break;
    case ShardingType::kColumnWise: {
      const int64_t k = static_cast<int64_t>(s.ranks.size());
      for (int64_t i = 0; i < k; ++i) {
        auto [offset, width] = ColumnSpan(dim, k, i);
        blocks.push_back(Block{offset, width, {s.ranks[static_cast<size_t>(i)]}, false});
      }
      break;
    }
    case ShardingType::kRowWise:
      blocks.push_back(Block{0, dim, s.ranks, false});
      break;
    case ShardingType::kTableRowWise:
      blocks.push_back(Block{0, dim, s.ranks, s.ranks.size() > 1});
      break;
    case ShardingType::kGrid: {
      const int64_t k = s.column_blocks;
      const int64_t per = static_cast<int64_t>(s.ranks.size()) / k;
      for (int64_t i = 0; i < k; ++i) {
        auto [offset, width] = ColumnSpan(dim, k, i);
        std::vector<int64_t> group(s.ranks.begin() + i * per, s.ranks.begin() + (i + 1) * per);
        blocks.push_back(Block{offset, width, std::move(group), per > 1});
      }
      break;
    }
  }
  return blocks;
}

Status CheckSharding(const RecJob& job, const spec::TableSpec& table, int64_t dim,
                     const TableSharding& s) {
  std::set<int64_t> seen;
  for (int64_t r : s.ranks) {
    if (r < 0 || r >= job.world) {
      return TableError(table,
                        fmt::format("rank {} does not exist (allowed: 0 to {})", r, job.world - 1));
    }
    if (!seen.insert(r).second) {
      return TableError(table, fmt::format("rank {} is listed twice (allowed: distinct ranks)", r));
    }
  }
  auto node_of = [&](int64_t r) { return r / job.local_world; };
  switch (s.type) {
    case ShardingType::kDataParallel:
      if (s.kernel != Kernel::kFused) {
        return TableError(table,
                          fmt::format("data_parallel with compute_kernel {} (allowed: fused)",
                                      KernelName(s.kernel)));
      }
      // A data-parallel table is on every rank (the plans written list them all).
      if (!s.ranks.empty() && static_cast<int64_t>(s.ranks.size()) != job.world) {
        return TableError(table, fmt::format("data_parallel on {} of the {} ranks (allowed: every "
                                             "rank, or no ranks listed)",
                                             s.ranks.size(), job.world));
      }
      break;
    case ShardingType::kTableWise:
      if (s.ranks.size() != 1) {
        return TableError(
            table, fmt::format("table_wise on {} ranks (allowed: exactly one)", s.ranks.size()));
      }
      break;
    case ShardingType::kColumnWise: {
      const int64_t k = static_cast<int64_t>(s.ranks.size());
      if (k < 1 || dim % k != 0 || dim / k < 4) {
        return TableError(table, fmt::format("column_wise into {} blocks of a dim-{} table "
                                             "(allowed: a divisor of {} leaving >= 4 columns)",
                                             k, dim, dim));
      }
      break;
    }
    case ShardingType::kRowWise:
      if (s.ranks.empty()) return TableError(table, "row_wise on no ranks (allowed: >= 1 rank)");
      if (static_cast<int64_t>(s.ranks.size()) > table.rows) {
        return TableError(table, fmt::format("row_wise over {} ranks of a {}-row table (allowed: "
                                             "at most one rank per row)",
                                             s.ranks.size(), table.rows));
      }
      break;
    case ShardingType::kTableRowWise: {
      if (table.rows < job.local_world) {
        return TableError(table, fmt::format("table_row_wise over {} ranks of a {}-row table "
                                             "(allowed: at most one rank per row)",
                                             job.local_world, table.rows));
      }
      if (static_cast<int64_t>(s.ranks.size()) != job.local_world) {
        return TableError(table, fmt::format("table_row_wise on {} ranks (allowed: the {} ranks "
                                             "of one node)",
                                             s.ranks.size(), job.local_world));
      }
      for (int64_t r : s.ranks) {
        if (node_of(r) != node_of(s.ranks.front())) {
          return TableError(table, fmt::format("table_row_wise ranks {} and {} are on different "
                                               "nodes (allowed: the ranks of one node)",
                                               s.ranks.front(), r));
        }
      }
      break;
    }
    case ShardingType::kGrid: {
      const int64_t k = s.column_blocks;
      if (k < 1 || dim % k != 0 || dim / k < 4 ||
          static_cast<int64_t>(s.ranks.size()) != k * job.local_world) {
        return TableError(
            table, fmt::format("grid of {} column blocks on {} ranks (allowed: column_blocks "
                               "dividing the dim {} into >= 4 columns, each on a whole node of "
                               "{} ranks)",
                               k, s.ranks.size(), dim, job.local_world));
      }
      if (table.rows < job.local_world) {
        return TableError(table, fmt::format("grid blocks over {} ranks of a {}-row table "
                                             "(allowed: at most one rank per row)",
                                             job.local_world, table.rows));
      }
      for (int64_t i = 0; i < k; ++i) {
        int64_t first = s.ranks[static_cast<size_t>(i * job.local_world)];
        for (int64_t j = 0; j < job.local_world; ++j) {
          if (node_of(s.ranks[static_cast<size_t>(i * job.local_world + j)]) != node_of(first)) {
            return TableError(table, fmt::format("grid block {} spans nodes (allowed: each "
                                                 "block's ranks on one node)",
                                                 i));
          }
        }
      }
      break;
    }
  }
  if (s.type != ShardingType::kGrid && s.column_blocks != 1) {
    return TableError(table, fmt::format("column_blocks = {} with {} (allowed: only with grid)",
                                         s.column_blocks, ShardingTypeName(s.type)));
  }
  if (s.type != ShardingType::kDataParallel && s.ranks.empty()) {
    return TableError(table, fmt::format("{} with no ranks (allowed: a list of ranks)",
                                         ShardingTypeName(s.type)));
  }
  if (s.kernel == Kernel::kUvmCaching && !(s.cache_ratio > 0 && s.cache_ratio <= 1)) {
    return TableError(
        table,
        fmt::format("uvm_caching with cache_ratio {} (allowed: 0 < ratio <= 1)", s.cache_ratio));
  }
  if (s.kernel != Kernel::kUvmCaching && s.cache_ratio != 0) {
    return TableError(table, fmt::format("cache_ratio {} with compute_kernel {} (allowed: only "
                                         "with uvm_caching)",
                                         s.cache_ratio, KernelName(s.kernel)));
  }
  return Status::Ok();
}

Status CheckPlan(const RecJob& job, const ShardingPlan& plan) {
  const auto& tables = job.spec.model.tables;
  if (plan.tables.size() != tables.size()) {
    return Status::Invalid(
        fmt::format("the sharding plan has {} tables, the model {} (allowed: "
                    "one entry per table)",
                    plan.tables.size(), tables.size()));
  }
  for (size_t i = 0; i < tables.size(); ++i) {
    SP_RETURN_IF_ERROR(
        CheckSharding(job, tables[i], job.spec.model.DimOf(tables[i]), plan.tables[i]));
  }
  return Status::Ok();
}

nlohmann::json PlanJson(const RecJob& job, const ShardingPlan& plan) {
  nlohmann::json tables = nlohmann::json::array();
  for (size_t i = 0; i < plan.tables.size(); ++i) {
    const TableSharding& s = plan.tables[i];
    nlohmann::json t = {{"name", job.spec.model.tables[i].name},
                        {"sharding_type", ShardingTypeName(s.type)},
                        {"compute_kernel", KernelName(s.kernel)}};
    if (s.type == ShardingType::kDataParallel) {
      std::vector<int64_t> all(static_cast<size_t>(job.world));
      for (int64_t r = 0; r < job.world; ++r) all[static_cast<size_t>(r)] = r;
      t["ranks"] = all;
    } else {
      t["ranks"] = s.ranks;
    }
    if (s.type == ShardingType::kGrid) t["column_blocks"] = s.column_blocks;
    if (s.kernel == Kernel::kUvmCaching) t["cache_ratio"] = s.cache_ratio;
    tables.push_back(std::move(t));
  }
  return {{"world_size", job.world}, {"tables", tables}};
}

Result<ShardingPlan> ParsePlanJson(const RecJob& job, std::string_view text,
                                   const std::string& origin) {
  SP_ASSIGN_OR_RETURN(nlohmann::json root, ParseJson(text, origin));
  if (!root.is_object() || !root.contains("tables") || !root["tables"].is_array()) {
    return Status::Parse(
        fmt::format("{}: expected an object with a list \"tables\" (allowed: "
                    "{{\"tables\": [{{\"name\", \"sharding_type\", \"ranks\", "
                    "\"compute_kernel\"}}, ...]}})",
                    origin));
  }
  for (const auto& [key, value] : root.items()) {
    if (key != "tables" && key != "world_size" && key != "rank_stats") {
      return Status::Invalid(
          fmt::format("{}: unknown key '{}' (allowed: tables, world_size, "
                      "rank_stats)",
                      origin, Printable(key, 64)));
    }
  }
  if (root.contains("world_size")) {
    const nlohmann::json& w = root["world_size"];
    if (!w.is_number_integer() || w.get<int64_t>() != job.world) {
      return Status::Invalid(fmt::format("{}: world_size = {} (allowed: {}, the job's GPUs)",
                                         origin, JsonShown(w), job.world));
    }
  }
  const auto& tables = job.spec.model.tables;
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < tables.size(); ++i) index[tables[i].name] = i;
  ShardingPlan plan;
  plan.tables.resize(tables.size());
  std::vector<bool> given(tables.size(), false);
  size_t item_index = 0;
  for (const nlohmann::json& item : root["tables"]) {
    std::string where = fmt::format("{}: tables[{}]", origin, item_index++);
    if (!item.is_object()) {
      return Status::Parse(fmt::format("{} is {} (allowed: an object)", where, JsonShown(item)));
    }
    for (const auto& [key, value] : item.items()) {
      static const std::set<std::string> kKeys = {"name",  "sharding_type", "compute_kernel",
                                                  "ranks", "column_blocks", "cache_ratio"};
      if (!kKeys.count(key)) {
        return Status::Invalid(
            fmt::format("{}: unknown key '{}' (allowed: name, sharding_type, "
                        "compute_kernel, ranks, column_blocks, cache_ratio)",
                        where, Printable(key, 64)));
      }
    }
    if (!item.contains("name")) {
      return Status::Invalid(
          fmt::format("{}: \"name\" is missing (allowed: a table of the model)", where));
    }
    if (!item["name"].is_string()) {
      return Status::Invalid(fmt::format("{}: name = {} (allowed: the name of a table of the model)",
                                         where, JsonShown(item["name"])));
    }
    std::string name = item["name"].get<std::string>();
    auto it = index.find(name);
    if (it == index.end()) {
      return Status::Invalid(
          fmt::format("{}: table '{}' is not in model {} (allowed: its {} "
                      "tables, e.g. {})",
                      where, Printable(name, 64), Printable(job.spec.model.name, 64), tables.size(),
                      Printable(tables.front().name, 64)));
    }
    if (given[it->second]) {
      return Status::Invalid(
          fmt::format("{}: table '{}' is given twice (allowed: once)", where, Printable(name, 64)));
    }
    given[it->second] = true;
    TableSharding s;
    if (!item.contains("sharding_type") || !item["sharding_type"].is_string()) {
      return Status::Invalid(fmt::format("{}: \"sharding_type\" is missing (allowed: {})", where,
                                         Join(ShardingTypeNames(), ", ")));
    }
    bool known = false;
    for (const auto& [tname, type] : TypeChoices()) {
      if (tname == item["sharding_type"].get<std::string>()) {
        s.type = type;
        known = true;
      }
    }
    if (!known) {
      return Status::Invalid(fmt::format("{}: sharding_type = {} (allowed: {})", where,
                                         JsonShown(item["sharding_type"]),
                                         Join(ShardingTypeNames(), ", ")));
    }
    if (item.contains("compute_kernel")) {
      known = false;
      if (item["compute_kernel"].is_string()) {
        for (const auto& [kname, kernel] : KernelChoices()) {
          if (kname == item["compute_kernel"].get<std::string>()) {
            s.kernel = kernel;
            known = true;
          }
        }
      }
      if (!known) {
        return Status::Invalid(fmt::format("{}: compute_kernel = {} (allowed: {})", where,
                                           JsonShown(item["compute_kernel"]),
                                           Join(KernelNames(), ", ")));
      }
    }
    if (item.contains("ranks")) {
      const nlohmann::json& ranks = item["ranks"];
      if (!ranks.is_array() || static_cast<int64_t>(ranks.size()) > job.world) {
        return Status::Invalid(fmt::format("{}: ranks = {} (allowed: a list of up to {} ranks)",
                                           where, JsonShown(ranks), job.world));
      }
      for (const nlohmann::json& r : ranks) {
        // (An unsigned JSON integer past int64 would read as a negative rank: refused here.)
        if (!r.is_number_integer() ||
            (r.is_number_unsigned() &&
             r.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))) {
          return Status::Invalid(fmt::format("{}: rank {} (allowed: integers 0 to {})", where,
                                             JsonShown(r), job.world - 1));
        }
        s.ranks.push_back(r.get<int64_t>());
      }
    }
    if (item.contains("column_blocks")) {
      const nlohmann::json& k = item["column_blocks"];
      if (!k.is_number_integer() || k.get<int64_t>() < 1 || k.get<int64_t>() > job.world) {
        return Status::Invalid(fmt::format("{}: column_blocks = {} (allowed: integer 1 to {})",
                                           where, JsonShown(k), job.world));
      }
      s.column_blocks = k.get<int64_t>();
    }
    if (item.contains("cache_ratio")) {
      const nlohmann::json& c = item["cache_ratio"];
      if (!c.is_number() || !std::isfinite(c.get<double>())) {
        return Status::Invalid(fmt::format("{}: cache_ratio = {} (allowed: a number 0 < r <= 1)",
                                           where, JsonShown(c)));
      }
      s.cache_ratio = c.get<double>();
    }
    // Data parallel lists every rank (TorchRec's plans do) or none; the ranks carry no choice,
    // and are dropped once checked (each rank once, all of them).
    const spec::TableSpec& table = tables[it->second];
    Status ok = CheckSharding(job, table, job.spec.model.DimOf(table), s);
    if (!ok.ok()) return ok.WithContext(where);
    if (s.type == ShardingType::kDataParallel) s.ranks.clear();
    plan.tables[it->second] = std::move(s);
  }
  for (size_t i = 0; i < tables.size(); ++i) {
    if (!given[i]) {
      return Status::Invalid(
          fmt::format("{}: table '{}' has no sharding (allowed: every table of "
                      "the model once)",
                      origin, Printable(tables[i].name, 64)));
    }
  }
  return plan;
}

Result<ShardingPlan> LoadPlan(const RecJob& job, const std::string& path) {
  SP_ASSIGN_OR_RETURN(std::string text, ReadInputFile(path, kMaxSpecFileBytes));
  return ParsePlanJson(job, text, path);
}

}  // namespace scaleplan::recsys
