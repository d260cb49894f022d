// How well a supernet ranks architectures, apart from any search's path: trains a weight-sharing
// supernet (rec/supernet.h) on the warm-up's draws of the one-shot and DNAS families (each step a
// uniform random subnet of the space and the space's reference model on the same batch) for the
// families' whole budget of steps (one epoch of the training split), then scores every trained
// candidate of a sampling run's report (`scaleplan nas --json`, whose history holds each
// candidate's architecture and low-fidelity NE) on it as the one-shot family scores its answers
// (after NasOptions::tune_steps steps of their own, rec::Supernet::TunedLoss) and prints the
// Spearman rank correlation of the supernet's NEs with the low-fidelity ones. One search's count of
// baselines beaten moves by several for a change of its path alone (docs/NAS.md); a fixed set of
// architectures measures the supernet itself.
//
//   scaleplan_supernet_rank REPORT.json [DATA] [SPACE] [SEED]
//   (DATA, SPACE: as `scaleplan nas --data, --space`, by default the report's own; SEED: the
//   subnets' draws, default 1; the environment's SR_EPOCHS, SR_LR and SR_ELR, positive numbers,
//   change the supernet's epochs (1) and its dense and embedding learning rates (the trainer's
//   defaults), SR_TUNE the steps of its own each architecture takes before its score (0 and up;
//   one-shot's default), SR_DISTILL the weight of the reference model's probabilities in the
//   other subnets' targets (0 to 1; one-shot's default), for experiments; with SR_LIST set, a line
//   per architecture: its name, FLOPs and both NEs)
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "nas/nas.h"
#include "nas/space.h"
#include "rec/data.h"
#include "rec/source.h"
#include "rec/supernet.h"
#include "validate/validate.h"

namespace {

using namespace scaleplan;

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
  const auto field = [&](const char* key) -> std::string {
    return report.contains(key) && report[key].is_string() ? report[key].get<std::string>() : "";
  };
  rec::DataOptions data_options;
  data_options.data = argc > 2 ? argv[2] : field("data");
  const std::string space_name = argc > 3 ? argv[3] : field("space");
  if (data_options.data.empty() || space_name.empty()) {
    return Fail(fmt::format("{}: names no data or space (give DATA and SPACE)", argv[1]));
  }
  uint64_t seed = 1;
  if (argc > 4) {
    char* end = nullptr;
    seed = std::strtoull(argv[4], &end, 10);
    if (end == argv[4] || *end != '\0' || argv[4][0] == '-') {
      return Fail(fmt::format("SEED = {}: not an integer (allowed: 0 to 2^64 - 1)", argv[4]));
    }
  }
  rec::TrainOptions train;
  train.seed = 1;
  double epochs = 1;
  for (auto [name, value] : {std::pair{"SR_EPOCHS", &epochs}, std::pair{"SR_LR", &train.lr},
                             std::pair{"SR_ELR", &train.embedding_lr}}) {
    const char* text = std::getenv(name);
    if (text == nullptr) continue;
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(v > 0) || !std::isfinite(v) ||
        (value == &epochs && (v != std::floor(v) || v > 1000))) {
      return Fail(fmt::format("{} = {}: allowed: a positive number{}", name, text,
                              value == &epochs ? " (an integer up to 1000)" : ""));
    }
    *value = v;
  }
  const bool list = std::getenv("SR_LIST") != nullptr;  // a line per architecture
  int64_t tune = nas::NasOptions{}.tune_steps;
  if (const char* text = std::getenv("SR_TUNE"); text != nullptr) {
    char* end = nullptr;
    const long long v = std::strtoll(text, &end, 10);
    if (end == text || *end != '\0' || v < 0 || v > rec::kMaxTuneSteps) {
      return Fail(
          fmt::format("SR_TUNE = {}: allowed: an integer from 0 to {}", text, rec::kMaxTuneSteps));
    }
    tune = v;
  }
  double distill = nas::NasOptions{}.distill;
  if (const char* text = std::getenv("SR_DISTILL"); text != nullptr) {
    char* end = nullptr;
    distill = std::strtod(text, &end);
    if (end == text || *end != '\0' || !(distill >= 0 && distill <= 1)) {
      return Fail(fmt::format("SR_DISTILL = {}: allowed: a number from 0 to 1", text));
    }
  }
  Result<rec::LoadedData> data = rec::LoadData(data_options);
  if (!data.ok()) return Fail(data.status().message());
  Result<nas::Space> space = nas::MakeSpace(space_name);
  if (!space.ok()) return Fail(space.status().message());
  const rec::InputShape input = rec::InputOf(data->data);

  // The architectures and their low-fidelity NEs: the candidates that trained (failed ones and
  // those scored on a supernet alone left out).
  std::vector<rec::Arch> archs;
  std::vector<double> proxy;
  if (!report.contains("history") || !report["history"].is_array()) {
    return Fail(fmt::format("{}: no history (a `scaleplan nas --json` report)", argv[1]));
  }
  try {
    for (const auto& c : report["history"]) {
      if (c.value("failed", false) || !c.contains("arch") || !c.contains("proxy_ne")) continue;
      if (c.value("supernet_ne", 0.0) != 0.0 && !c.value("screened", false)) continue;
      Result<rec::Arch> a = rec::ParseArchJson(c["arch"].dump(), argv[1]);
      if (!a.ok()) return Fail(a.status().message());
      archs.push_back(*a);
      proxy.push_back(c["proxy_ne"].get<double>());
    }
  } catch (const nlohmann::json::exception& e) {
    return Fail(fmt::format("{}: history: {}", argv[1], e.what()));
  }
  if (archs.size() < 3) return Fail(fmt::format("{}: fewer than 3 trained candidates", argv[1]));

  const rec::Arch reference = space->Decode(space->reference, input);
  Result<rec::ArchInfo> reference_info = rec::Analyze(reference, input);
  if (!reference_info.ok()) return Fail(reference_info.status().message());
  std::mt19937_64 rng(seed);
  const int64_t steps =
      static_cast<int64_t>(epochs) * ((data->data.train.n + train.batch - 1) / train.batch);
  Result<std::unique_ptr<rec::Supernet>> made = rec::MakeSupernet(data->data, train);
  if (!made.ok()) return Fail(made.status().message());
  rec::Supernet& net = **made;
  if (Status s = net.SetTeacher(reference, *reference_info, distill); !s.ok()) {
    return Fail(s.message());
  }
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
  const int64_t n = std::min(nas::NasOptions{}.proxy_eval, data->data.valid.n);  // as a search
  const double entropy = rec::LabelEntropy(data->data.valid, 0, n);
  std::vector<double> supernet;
  for (const rec::Arch& a : archs) {
    Result<rec::ArchInfo> info = rec::Analyze(a, input);
    if (!info.ok()) return Fail(info.status().message());
    Result<double> l = net.TunedLoss(a, *info, 0, n, tune, nas::kTuneLrScale);
    if (!l.ok()) return Fail(l.status().message());
    supernet.push_back(*l / entropy);
    if (list) {
      std::printf("%s %.0f FLOPs: supernet NE %.4f, low-fidelity NE %.4f\n", a.name.c_str(),
                  info->flops, supernet.back(), proxy[supernet.size() - 1]);
    }
  }
  {
    Result<double> l = net.TunedLoss(reference, *reference_info, 0, n, tune, nas::kTuneLrScale);
    if (!l.ok()) return Fail(l.status().message());
    std::printf("reference NE on the supernet %.4f (steps of its own before each score: %lld)\n",
                *l / entropy, static_cast<long long>(tune));
  }
  std::vector<double> sorted = supernet;
  std::sort(sorted.begin(), sorted.end());
  std::printf(
      "architectures %zu, supernet steps %lld, supernet NE median %.4f (%.4f to %.4f; "
      "the upper of two middle values)\n",
      archs.size(), static_cast<long long>(steps), sorted[sorted.size() / 2], sorted.front(),
      sorted.back());
  const auto constant = [](const std::vector<double>& v) {
    return std::all_of(v.begin(), v.end(), [&](double x) { return x == v.front(); });
  };
  if (constant(supernet) || constant(proxy)) {
    std::printf("spearman(supernet NE, low-fidelity NE) undefined: one side's NEs are all equal\n");
  } else {
    std::printf("spearman(supernet NE, low-fidelity NE) %.3f\n",
                validate::Spearman(supernet, proxy));
  }
  return 0;
}
