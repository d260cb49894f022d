// How well a supernet ranks architectures, apart from any search's path: trains a weight-sharing
// supernet (rec/supernet.h) as the one-shot and DNAS families' warm-up does (one epoch of the
// training split, each step a uniform random subnet of the space and the space's reference model
// on the same batch), then scores every architecture of a sampling run's report (`scaleplan nas
// --json`, whose history holds each candidate's architecture and low-fidelity NE) on it and
// prints the Spearman rank correlation of the supernet's NEs with the low-fidelity ones. One
// search's count of baselines beaten moves by several for a change of its path alone
// (docs/NAS.md); this fixed set of architectures measures the supernet itself.
//
//   scaleplan_supernet_rank REPORT.json [DATA] [SPACE] [SEED]
//   (DATA: as --data, default synthetic; SPACE: default scratch; SEED: the draws', default 1;
//   the environment's SR_EPOCHS, SR_LR and SR_ELR change the supernet's epochs (1), dense and
//   embedding learning rates (the trainer's defaults), for experiments)
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>

#include "nas/space.h"
#include "rec/data.h"
#include "rec/source.h"
#include "rec/supernet.h"

namespace {

using namespace scaleplan;

std::vector<double> Ranks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (size_t k = 0; k < order.size(); ++k) r[order[k]] = static_cast<double>(k);
  return r;
}

double Spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const std::vector<double> ra = Ranks(a), rb = Ranks(b);
  const double n = static_cast<double>(a.size()), mean = (n - 1) / 2;
  double num = 0, da = 0, db = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    num += (ra[i] - mean) * (rb[i] - mean);
    da += (ra[i] - mean) * (ra[i] - mean);
    db += (rb[i] - mean) * (rb[i] - mean);
  }
  return num / std::sqrt(da * db);
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "scaleplan_supernet_rank: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 5) {
    return Fail("usage: scaleplan_supernet_rank REPORT.json [DATA] [SPACE] [SEED]");
  }
  std::ifstream file(argv[1]);
  if (!file) return Fail(fmt::format("{}: cannot be read", argv[1]));
  nlohmann::json report;
  try {
    report = nlohmann::json::parse(file);
  } catch (const std::exception& e) {
    return Fail(fmt::format("{}: not JSON ({})", argv[1], e.what()));
  }
  rec::DataOptions data_options;
  data_options.data = argc > 2 ? argv[2] : "synthetic";
  Result<rec::LoadedData> data = rec::LoadData(data_options);
  if (!data.ok()) return Fail(data.status().message());
  Result<nas::Space> space = nas::MakeSpace(argc > 3 ? argv[3] : "scratch");
  if (!space.ok()) return Fail(space.status().message());
  uint64_t seed = 1;
  if (argc > 4) {
    char* end = nullptr;
    seed = std::strtoull(argv[4], &end, 10);
    if (end == argv[4] || *end != '\0' || argv[4][0] == '-') {
      return Fail(fmt::format("SEED = {}: not an integer (allowed: 0 to 2^64 - 1)", argv[4]));
    }
  }
  const rec::InputShape input = rec::InputOf(data->data);

  // The architectures and their low-fidelity NEs (candidates that trained; none failed).
  std::vector<rec::Arch> archs;
  std::vector<double> proxy;
  if (!report.contains("history") || !report["history"].is_array()) {
    return Fail(fmt::format("{}: no history (a `scaleplan nas --json` report)", argv[1]));
  }
  for (const auto& c : report["history"]) {
    if (c.value("failed", false) || !c.contains("arch") || !c.contains("proxy_ne")) continue;
    if (c.value("supernet_ne", 0.0) != 0.0 && !c.value("screened", false)) continue;
    Result<rec::Arch> a = rec::ParseArchJson(c["arch"].dump(), argv[1]);
    if (!a.ok()) return Fail(a.status().message());
    archs.push_back(*a);
    proxy.push_back(c["proxy_ne"].get<double>());
  }
  if (archs.size() < 3) return Fail(fmt::format("{}: fewer than 3 trained candidates", argv[1]));

  rec::TrainOptions train;
  train.seed = 1;
  const auto knob = [](const char* name, double fallback) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::atof(v) : fallback;
  };
  train.lr = knob("SR_LR", train.lr);
  train.embedding_lr = knob("SR_ELR", train.embedding_lr);
  const auto epochs = static_cast<int64_t>(knob("SR_EPOCHS", 1));
  const rec::Arch reference = space->Decode(space->reference, input);
  Result<rec::ArchInfo> reference_info = rec::Analyze(reference, input);
  if (!reference_info.ok()) return Fail(reference_info.status().message());
  std::mt19937_64 rng(seed);
  const int64_t steps = epochs * ((data->data.train.n + train.batch - 1) / train.batch);
  Result<std::unique_ptr<rec::Supernet>> made = rec::MakeSupernet(data->data, train);
  if (!made.ok()) return Fail(made.status().message());
  rec::Supernet& net = **made;
  for (int64_t step = 0; step < steps; ++step) {
    nas::Choice c(space->dims.size());
    for (size_t d = 0; d < c.size(); ++d) {
      c[d] = static_cast<uint32_t>(
          std::uniform_int_distribution<size_t>(0, space->dims[d].values.size() - 1)(rng));
    }
    const rec::Arch arch = space->Decode(c, input);
    Result<rec::ArchInfo> info = rec::Analyze(arch, input);
    if (!info.ok()) return Fail(info.status().message());
    for (const auto& [a, i] : {std::pair{&arch, &*info}, std::pair{&reference, &*reference_info}}) {
      if (Result<double> l = net.TrainStep(*a, *i, step); !l.ok()) {
        return Fail(l.status().message());
      }
    }
  }
  const int64_t n = std::min<int64_t>(20000, data->data.valid.n);
  const double entropy = rec::LabelEntropy(data->data.valid, 0, n);
  std::vector<double> supernet;
  for (const rec::Arch& a : archs) {
    Result<rec::ArchInfo> info = rec::Analyze(a, input);
    if (!info.ok()) return Fail(info.status().message());
    Result<double> l = net.Loss(a, *info, 0, n);
    if (!l.ok()) return Fail(l.status().message());
    supernet.push_back(*l / entropy);
  }
  {
    Result<double> l = net.Loss(reference, *reference_info, 0, n);
    if (!l.ok()) return Fail(l.status().message());
    std::printf("reference NE on the supernet %.4f\n", *l / entropy);
  }
  std::vector<double> sorted = supernet;
  std::sort(sorted.begin(), sorted.end());
  std::printf("architectures %zu, supernet steps %lld, supernet NE median %.4f (%.4f to %.4f)\n",
              archs.size(), static_cast<long long>(steps), sorted[sorted.size() / 2],
              sorted.front(), sorted.back());
  std::printf("spearman(supernet NE, low-fidelity NE) %.3f\n", Spearman(supernet, proxy));
  return 0;
}
